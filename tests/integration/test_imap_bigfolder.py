"""Big folders: the header-field cache in the index (SEARCH on SUBJECT,
FROM..., SORT and THREAD answer from it as they would from the files, an
index from before the cache gets it) and the memory a big folder costs
(the RSS growth of the process, bounded per message). Speed lives in
bench/imap/bigfolder.py."""

import imaplib
import os
import sqlite3
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import PASSWORDS  # noqa: E402

# tem-index.sqlite and Maildir files written straight into the folder
pytestmark = pytest.mark.embedded_only

ALICE = "alice@a.test"
BIG = 20000                 # messages: enough to dwarf fixed costs
BYTES_PER_MSG = 168         # 16 MB per 100,000 messages (the bound)
SORT_BYTES_PER_MSG = 256    # a SORT's items and keys, while it runs
FIXED_KB = 6 * 1024         # SQLite page cache, worker stacks, buffers
ASAN_FACTOR = 6             # the ASan build: its allocator's redzones,
                            # headers and shadow memory, and freed blocks
                            # it keeps mapped; the true bounds are checked
                            # by the release run (tests/run.sh, build/tem)


def imap_tem(make_tem):
    return make_tem(services=("smtp", "imap"),
                    extra_conf={"auth_allow_cleartext": "yes"})


def login(tem):
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    m.login(ALICE, PASSWORDS[ALICE])
    return m


def put_files(tem, msgs, t0=1700000000):
    """MSGS (bytes, LF line ends) as files in ALICE's cur/, in order."""
    cur = os.path.join(tem.maildir(ALICE), "cur")
    os.makedirs(cur, exist_ok=True)
    for i, data in enumerate(msgs):
        path = os.path.join(cur, "%d.M%dP9.test,S=%d:2," % (
            t0 + i, i, len(data)))
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (t0 + i, t0 + i))


def nums(dat):
    return [int(x) for x in (dat[0] or b"").split()]


SPECIAL = [
    # 1: folded, encoded Subject; From with a comment
    b"From: Carol (the boss) <carol@x.test>\nTo: a@x.test\n"
    b"Subject: =?UTF-8?Q?J=C3=BCrgen?=\n and the budget\n"
    b"Date: Mon, 6 Nov 2023 10:00:00 +0000\nMessage-ID: <m1@x.test>\n"
    b"X-Tag: alpha\n\nbody one\n",
    # 2: a reply, the same base subject
    b"From: Bob <bob@x.test>\nTo: a@x.test\nCc: Dave <dave@x.test>\n"
    b"Subject: Re: J\xc3\xbcrgen and the budget\n"
    b"Date: Mon, 6 Nov 2023 09:00:00 +0000\nMessage-ID: <m2@x.test>\n"
    b"In-Reply-To: <m1@x.test>\nReferences: <m1@x.test>\n\nbody two\n",
    # 3: a Subject too long for the cache (the file is read instead)
    b"From: Alice <alice@x.test>\nTo: a@x.test\nSubject: "
    + b"long " * 2000 + b"needle\n"
    b"Date: Mon, 6 Nov 2023 11:00:00 +0000\nMessage-ID: <m3@x.test>\n"
    b"\nbody three\n",
    # 4: no header fields at all the cache keeps
    b"X-Tag: beta\n\nbody four budget\n",
]


def check_special(m):
    m.select("INBOX")
    assert nums(m.search(None, "SUBJECT", "budget")[1]) == [1, 2]
    assert nums(m.search(None, "CHARSET", "UTF-8", "SUBJECT",
                         '"j\u00fcrgen"'.encode())[1]) == [1, 2]
    assert nums(m.search(None, "SUBJECT", "needle")[1]) == [3]
    assert nums(m.search(None, "FROM", "carol@")[1]) == [1]
    assert nums(m.search(None, "CC", "dave")[1]) == [2]
    assert nums(m.search(None, "HEADER", "Message-ID", "m2@")[1]) == [2]
    # a field the cache does not keep: from the files
    assert nums(m.search(None, "HEADER", "X-Tag", "beta")[1]) == [4]
    assert nums(m.search(None, "SENTON", "6-Nov-2023")[1]) == [1, 2, 3]
    assert nums(m.search(None, "BODY", "budget")[1]) == [4]
    typ, dat = m.sort("(DATE)", "UTF-8", "ALL")
    assert nums(dat) == [2, 1, 3, 4]     # 4 has no Date: its arrival
    typ, dat = m.sort("(FROM)", "UTF-8", "ALL")
    assert nums(dat) == [4, 3, 2, 1]
    typ, dat = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK" and b"(1 2)" in dat[0]


def test_search_sort_thread_from_the_cache_as_from_the_files(make_tem):
    tem = imap_tem(make_tem)
    put_files(tem, SPECIAL)
    m = login(tem)
    check_special(m)
    # the cache holds what the files say, the long Subject marked "read
    # the file"
    db = sqlite3.connect(os.path.join(tem.maildir(ALICE),
                                      "tem-index.sqlite"))
    rows = dict(db.execute("SELECT uid, fields FROM hdrcache").fetchall())
    db.close()
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[3] is None and rows[4] == b""
    assert rows[1].startswith(b"From: Carol") and b"X-Tag" not in rows[1]
    assert b"Subject: =?UTF-8?Q?J=C3=BCrgen?=\n and the budget\n" in rows[1]
    # APPEND fills it too, in the same transaction as the UID
    m.append("INBOX", None, None,
             b"From: Eve <eve@x.test>\r\nSubject: appended budget\r\n\r\nx\r\n")
    m.select("INBOX")
    assert nums(m.search(None, "SUBJECT", "budget")[1]) == [1, 2, 5]
    m.logout()


def test_an_index_from_before_the_cache_gets_it(make_tem):
    tem = imap_tem(make_tem)
    put_files(tem, SPECIAL)
    m = login(tem)
    m.select("INBOX")
    m.logout()
    tem.stop()
    path = os.path.join(tem.maildir(ALICE), "tem-index.sqlite")
    db = sqlite3.connect(path)
    # as an index of version 3 (before the cache) left it
    db.executescript("DROP TRIGGER hdrcache_drop; DROP TABLE hdrcache; "
                     "UPDATE meta SET value = 3 WHERE key = 'version';")
    db.commit()
    db.close()
    tem.start()
    m = login(tem)
    check_special(m)        # rows made on the way, then used
    m.logout()
    db = sqlite3.connect(path)
    n = db.execute("SELECT count(*) FROM hdrcache").fetchone()[0]
    ver = db.execute("SELECT value FROM meta WHERE key = 'version'"
                     ).fetchone()[0]
    db.close()
    assert n == 4 and ver >= 4
    # an expunge drops the message's row with it
    m = login(tem)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    m.logout()
    db = sqlite3.connect(path)
    uids = [r[0] for r in db.execute("SELECT uid FROM hdrcache")]
    db.close()
    assert uids == [2, 3, 4]


def status_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def is_asan(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


@pytest.mark.release
def test_big_folder_memory_is_bounded_per_message(make_tem):
    """The folder's memory (RSS growth once its commands are done) stays
    under the issue's 16 MB per 100,000 messages, and the peak under that
    plus what one SORT over every message holds while it runs. The ASan
    build (its quarantine turned off here, or it would keep every freed
    block) gets ASAN_FACTOR times the bounds: a guard against gross
    growth; `make test` runs this again against build/tem (release
    marker), where the bounds are the real ones."""
    tem = imap_tem(make_tem)
    asan = is_asan(tem.bin)
    if asan:
        tem.stop()
        tem.env["ASAN_OPTIONS"] = tem.env["ASAN_OPTIONS"] + (
            ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
            ":allocator_release_to_os_interval_ms=0")
        tem.start()
    body = b"".join(b"line %d of a small message body\n" % i
                    for i in range(20))
    msgs = [b"From: Sender %d <s%d@x.test>\nTo: a@x.test\n"
            b"Subject: report %d budget\nDate: Mon, 6 Nov 2023 10:%02d:00 "
            b"+0000\nMessage-ID: <b%d@x.test>\n\n" % (
                i % 50, i % 50, i, i % 60, i) + body for i in range(BIG)]
    put_files(tem, msgs)
    m = login(tem)
    pid = tem.proc.pid
    before = status_kb(pid)["VmRSS"]
    try:        # the peak from here on (root may reset VmHWM)
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass
    typ, dat = m.select("INBOX")
    assert int(dat[0]) == BIG
    m.logout()
    m = login(tem)          # the folder again, now from the index
    m.select("INBOX")
    typ, dat = m.uid("FETCH", "1:*", "(FLAGS)")
    assert len(dat) == BIG
    assert len(nums(m.search(None, "SUBJECT", "report 1999")[1])) == 1
    assert len(nums(m.search(None, "FROM", "s7@")[1])) == BIG // 50
    assert len(nums(m.sort("(SUBJECT)", "UTF-8", "ALL")[1])) == BIG
    assert len(nums(m.sort("(FROM)", "UTF-8", "ALL")[1])) == BIG
    assert len(nums(m.sort("(REVERSE DATE)", "UTF-8", "ALL")[1])) == BIG
    after = status_kb(pid)
    m.logout()
    bound = BIG * BYTES_PER_MSG // 1024 + FIXED_KB
    peak_bound = bound + BIG * SORT_BYTES_PER_MSG // 1024
    if asan:
        bound = int(bound * ASAN_FACTOR)
        peak_bound = int(peak_bound * ASAN_FACTOR)
    growth = after["VmRSS"] - before
    peak = after["VmHWM"] - before
    print("RSS growth %d KB, peak %d KB (bounds %d, %d KB)" % (
        growth, peak, bound, peak_bound))
    assert growth < bound, "RSS grew %d KB for %d messages (bound %d KB)" \
        % (growth, BIG, bound)
    assert peak < peak_bound, "peak RSS grew %d KB for %d messages " \
        "(bound %d KB)" % (peak, BIG, peak_bound)
