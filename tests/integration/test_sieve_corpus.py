"""test_sieve_corpus - tem's Sieve agrees with Pigeonhole (issue 13's
proof): every case of tests/sieve-corpus/ (NAME.sieve, NAME.eml, optional
NAME.args with `tem sieve test` options, optional NAME.inc/ include dir
with global/ inside, optional NAME.before run first as sieve_before) runs through `tem sieve test` and through Dovecot
Pigeonhole's `sieve-test` (tests/lib/pigeonhole.py maps its report to the
same canonical lines), and the two sets of actions must be equal.

Except: DISAGREE lists the cases where Pigeonhole deviates from the RFC
or the RFC leaves the choice open (tests/sieve-corpus/DISAGREEMENTS.md
quotes the RFC and says what each side does); such a case must still
disagree (an entry that has come to agree fails, so the table stays
true); TEM_BUGS lists the cases where tem is wrong, found by this
corpus and not yet fixed (same rule). TEM_ONLY lists cases sieve-test
cannot express (its options have no null sender, no duplicate history). Every case's tem output must also
equal NAME.expect, so a change in tem shows without sieve-test;
TEM_SIEVE_CORPUS_UPDATE=1 rewrites the .expect files (review the diff).

Compared: the action lines sorted (Sieve executes actions at the end of
the script, RFC 5228 2.10.1, so their order in the report is not
meaningful), a vacation's handle only where the script names one (the
default handle is implementation-defined, RFC 5230 4.2), run-time and
compile errors by line only (the wording differs), fileinto "INBOX" as
keep (Pigeonhole reports both as a store into INBOX), encoded words in
edited header fields decoded (B or Q encoding is the encoder's choice).
"""

import email.header
import os
import re
import shlex
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "lib"))
import pigeonhole                               # noqa: E402
from temserver import REPO, tem_bin             # noqa: E402

CORPUS = os.path.join(REPO, "tests", "sieve-corpus")
CASES = sorted(n[:-len(".sieve")] for n in os.listdir(CORPUS)
               if n.endswith(".sieve"))

# Cases where tem and Pigeonhole differ on purpose (DISAGREEMENTS.md).
DISAGREE = {
    "ereject-basic":
        "Pigeonhole 0.5.19 has no ereject (RFC 5429 2.1): compile error",
    "duplicate-twice":
        "Pigeonhole aborts a second duplicate test with the same handle",
    "include-missing":
        "a missing include: Pigeonhole's compile error, tem's run-time one",
    "include-recursive":
        "an include loop: Pigeonhole's compile error, tem's run-time one",
    "include-depth":
        "6 nested includes: over tem's limit (5), within Pigeonhole's (10)",
    "match-question-before-star":
        "Pigeonhole's :matches ignores the text between '?' and a later '*'",
    "editheader-protected":
        "addheader \"Received\": Pigeonhole adds it, tem ignores it",
    "flags-keep-flags":
        "keywords a and A: Pigeonhole keeps both, tem the first",
}

# tem bugs the corpus found (DISAGREEMENTS.md): they must disagree until
# fixed, then move out of here.
TEM_BUGS = {
    # (none open: editheader-delete-index-value and editheader-protected,
    # a compile error for deleteheader "received", were fixed in sieve-lang)
}

# Cases sieve-test cannot run: checked against NAME.expect only.
TEM_ONLY = {
    "vacation-null-sender": "sieve-test -f refuses an empty sender",
    "duplicate-seen": "sieve-test has no way to preload duplicate ids",
    "vacation-account-alias":
        "sieve-test has no list of the user's own addresses (--address)",
}

# Every extension of issue 13 appears in some case's require.
EXTENSIONS = ("fileinto", "reject", "ereject", "envelope", "imap4flags",
              "variables", "relational", "subaddress", "body", "copy",
              "date", "index", "encoded-character", "editheader",
              "duplicate", "vacation", "vacation-seconds", "include",
              "mailbox", "comparator-i;octet", "comparator-i;ascii-numeric")


def path(case, ext):
    return os.path.join(CORPUS, case + ext)


def tem_args(case):
    """tem sieve test's options for a case."""
    args = pigeonhole.parse_args(path(case, ".args"))
    if os.path.exists(path(case, ".before")):
        args += ["--before", path(case, ".before")]
    if os.path.isdir(path(case, ".inc")):
        args += ["--include-dir", path(case, ".inc"),
                 "--global-dir", os.path.join(path(case, ".inc"), "global")]
    return args


def run_tem(case):
    """tem's canonical lines for a case, as printed (compile errors as
    'compile-error line=N "msg"')."""
    cmd = [tem_bin(), "sieve", "test"] + tem_args(case) + [
        path(case, ".sieve"), path(case, ".eml")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
        assert mark not in p.stderr, p.stderr
    if p.returncode == 1:
        m = re.match(r"^.*\.sieve:(\d+): (.*)$", p.stderr.strip())
        assert m, "compile error without SCRIPT:LINE: %r" % p.stderr
        return ["compile-error line=%s %s" % (m.group(1),
                                              pigeonhole.quote(m.group(2)))]
    assert p.returncode == 0, (p.returncode, p.stderr)
    return p.stdout.splitlines()


def normalize(lines, script):
    """The lines both sides are compared by (see the module comment)."""
    explicit_handle = ":handle" in script
    out = []
    for ln in lines:
        ln = ln.replace("\\r\\n", "\\n")
        m = re.match(r'^(compile-error|error) (?:line=(\d+)|"line (\d+):)', ln)
        if m:
            ln = "%s line=%s" % (m.group(1), m.group(2) or m.group(3))
        if ln.startswith("vacation ") and not explicit_handle:
            ln = re.sub(r' handle="(?:[^"\\]|\\.)*"', "", ln)
        if ln.startswith('header "') and "=?" in ln:
            # an added 8-bit value is one RFC 2047 word: B or Q, either
            ln = str(email.header.make_header(email.header.decode_header(ln)))
        m = re.match(r'^fileinto "INBOX"(?: create)?(?: copy)?(.*)$', ln)
        if m:
            ln = "keep" + m.group(1)
        out.append(ln)
    return sorted(out)


def test_corpus_covers_every_extension():
    assert len(CASES) >= 70, len(CASES)
    required = set()
    for case in CASES:
        with open(path(case, ".sieve")) as f:
            text = f.read()
        for req in re.findall(r'require\s+(\[[^\]]*\]|"[^"]*")', text):
            required.update(re.findall(r'"([^"]*)"', req))
    assert set(EXTENSIONS) - required == set()
    for case in CASES:
        assert os.path.exists(path(case, ".eml")), case
    for case in list(DISAGREE) + list(TEM_BUGS) + list(TEM_ONLY):
        assert case in CASES, case
    # bench-rules-*: the bench's 20-rule script (bench/smtp --sieve) on
    # messages that take its branches, so both tools vouch for it
    with open(os.path.join(REPO, "bench", "data",
                           "sieve-20-rules.sieve")) as f:
        bench = f.read()
    copies = [c for c in CASES if c.startswith("bench-rules-")]
    assert copies
    for case in copies:
        with open(path(case, ".sieve")) as f:
            assert f.read() == bench, case + " differs from bench/data"


@pytest.mark.parametrize("case", CASES)
def test_tem_output_is_the_expected(case):
    got = run_tem(case)
    expect = path(case, ".expect")
    if os.environ.get("TEM_SIEVE_CORPUS_UPDATE"):
        with open(expect, "w") as f:
            f.write("".join(ln + "\n" for ln in got))
    with open(expect) as f:
        assert got == f.read().splitlines()


@pytest.mark.parametrize("case", [c for c in CASES if c not in TEM_ONLY])
def test_tem_agrees_with_pigeonhole(case):
    assert pigeonhole.available(), "dovecot-sieve (scripts/deps.sh) missing"
    with open(path(case, ".sieve")) as f:
        script = f.read()
    ph = normalize(pigeonhole.canonical(path(case, ".sieve"),
                                        path(case, ".eml"),
                                        path(case, ".args")), script)
    tem = normalize(run_tem(case), script)
    if case in DISAGREE or case in TEM_BUGS:
        assert tem != ph, ("listed as disagreeing but agrees now: remove "
                           "it from the table", tem)
    else:
        assert tem == ph, "tem %s\npigeonhole %s\n(args: %s)" % (
            tem, ph, shlex.join(tem_args(case)))


def test_cli_usage_and_errors(tmp_path):
    """tem sieve test's exit codes: 0 with --help, 2 on a usage error, 1
    with "SCRIPT:LINE: msg" for a script that does not compile or a file
    that cannot be read."""
    def tem(*args):
        return subprocess.run([tem_bin(), "sieve", "test"] + list(args),
                              capture_output=True, text=True, timeout=60)
    p = tem("--help")
    assert p.returncode == 0 and "SCRIPT MESSAGE" in p.stdout, p
    assert tem().returncode == 2
    assert tem("--bogus", "x", "a", "b").returncode == 2
    assert tem("--zone", "+99999", "a", "b").returncode == 2
    bad = tmp_path / "bad.sieve"
    bad.write_text('require "fileinto";\n\nfilein "X";\n')
    msg = path("base-keep", ".eml")
    p = tem(str(bad), msg)
    assert p.returncode == 1 and p.stdout == "", p
    assert p.stderr.startswith(str(bad) + ":3: "), p.stderr
    p = tem(str(tmp_path / "missing.sieve"), msg)
    assert p.returncode == 1 and p.stderr.startswith("tem: "), p.stderr
    # --now/--zone reach currentdate
    cur = tmp_path / "cur.sieve"
    cur.write_text('require ["date", "fileinto", "variables"];\n'
                   'if currentdate :matches "iso8601" "*" '
                   '{ fileinto "${1}"; }\n')
    p = tem("--now", "1796600000", "--zone", "+0100", str(cur), msg)
    assert p.stdout == 'fileinto "2026-12-07T00:33:20+01:00"\n', p
