"""test_man - the manual pages tem(8) and tem.conf(5), and `tem COMMAND
--help`, all printed by the binary under test from the tables it runs on.

Both pages render with man -l, groff -ww and mandoc -Tlint without a
warning; every config key (`tem man keys`, the parser's own table) has its
entry in tem.conf(5) with a default and an example, every command
(`tem man commands`, the dispatch table) its section in tem(8) and a
--help that exits 0 with its synopsis; the keys SPEC names that tem has
are documented; and the Makefile's build/man pages are what tem prints.
"""

import os
import re
import subprocess

import pytest

from temserver import REPO, tem_bin

SPEC = "/work/shared/SPEC.md"


def tem(*args, check=True):
    p = subprocess.run([tem_bin()] + list(args), capture_output=True,
                       text=True, timeout=60,
                       env=dict(os.environ, TEM_CONFIG="/nonexistent"))
    if check:
        assert p.returncode == 0, p
    return p


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("man")
    out = {}
    for sect, name in (("8", "tem.8"), ("5", "tem.conf.5")):
        path = d / name
        path.write_text(tem("man", sect).stdout)
        out[sect] = str(path)
    return out


def rendered(path):
    """The page as man shows it, with man's and groff's warnings on."""
    p = subprocess.run(["man", "--warnings=all", "-l", path],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                PAGER="cat", LC_ALL="C.UTF-8"))
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return p.stdout


@pytest.mark.parametrize("sect", ["8", "5"])
def test_pages_render_without_warnings(pages, sect):
    path = pages[sect]
    text = rendered(path)
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "SEE ALSO"):
        assert "\n" + heading + "\n" in text, heading
    p = subprocess.run(["groff", "-man", "-ww", "-z", path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    p = subprocess.run(["mandoc", "-Tlint", path], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and p.stdout + p.stderr == "", p.stdout


def key_entries(text):
    """{key: entry text} of tem.conf(5)'s KEYS section as rendered."""
    entries, cur = {}, None
    keys = text[text.index("\nKEYS\n"):]
    keys = keys[:re.search(r"\n[A-Z]", keys[1:]).start() + 1]
    for line in keys.splitlines():
        m = re.match(r"^ {7}([a-z0-9_]+) = ", line)
        if m:
            cur = m.group(1)
            entries[cur] = ""
        elif cur and line.startswith("  "):
            entries[cur] += line.strip() + "\n"
        elif line and not line.startswith(" "):
            cur = None
    return entries


def test_every_key_documented(pages):
    keys = tem("man", "keys").stdout.split()
    assert len(keys) >= 40 and len(set(keys)) == len(keys)
    entries = key_entries(rendered(pages["5"]))
    assert sorted(entries) == sorted(keys)
    for k in keys:
        e = entries[k]
        assert "Default: " in e and "Example:" in e, (k, e)
        assert re.search(r"^%s = \S" % k, e, re.M), (k, e)
        assert len(e.split("Default:")[0].split()) >= 3, (k, e)


def test_page_describes_the_format_and_areas(pages):
    text = rendered(pages["5"])
    for word in ("FILE FORMAT", "Lists", "Sizes", "Durations", "Listeners",
                 "Booleans", "comments", "Server", "TLS", "Limits", "SMTP",
                 "Milters", "Sieve", "Spam"):
        assert word in text, word


def spec_keys():
    """Config keys SPEC names: the first column of its key tables and the
    `names` of "The next capabilities"."""
    text = open(SPEC).read()
    names = set(re.findall(r"^\|\s*`?([a-z][a-z0-9_]+)`?\s*\|", text, re.M))
    nxt = text[text.index("The next capabilities"):]
    names |= set(re.findall(r"`([a-z][a-z0-9]*_[a-z0-9_]+)`", nxt))
    return names


def test_spec_keys_that_exist_are_documented(pages):
    keys = set(tem("man", "keys").stdout.split())
    entries = key_entries(rendered(pages["5"]))
    have = spec_keys() & keys
    assert len(have) >= 20, have   # the SPEC's table is found at all
    assert have <= set(entries)


def test_every_command_in_tem8_and_its_help(pages):
    names = tem("man", "commands").stdout.splitlines()
    assert {"serve", "check", "domain", "user", "alias", "queue", "dkim",
            "dns-records", "sieve", "sieve test"} <= set(names)
    text = rendered(pages["8"])
    usage = tem("--help").stdout
    for name in names:
        assert "\n   " + name + "\n" in text, name     # its subsection
        assert "tem [-c FILE] " + name in text or "tem " + name in text
        assert "  " + name in usage, name
        p = tem(*name.split(), "--help")
        first = p.stdout.splitlines()[0]
        assert first.startswith("usage: tem ") and name in first, first
        assert p.stderr == ""
        # every synopsis line of the page is in the help
        for line in text.splitlines():
            line = line.strip()
            if re.match(r"tem (\[-c FILE\] )?%s( |$)" % re.escape(name),
                        line) and not (name == "sieve" and "test" in line):
                assert line in p.stdout, (name, line)


def test_help_is_exit_0_and_usage_errors_stay_2():
    assert tem("-h").stdout == tem("--help").stdout
    assert tem(check=False).returncode == 2
    p = tem("frobnicate", check=False)
    assert p.returncode == 2 and "unknown command 'frobnicate'" in p.stderr
    p = tem("man", "9", check=False)
    assert p.returncode == 2 and "usage: tem man" in p.stderr
    assert "man" not in tem("man", "commands").stdout.split()


def test_build_man_is_what_tem_prints(pages):
    """`make` saves the pages with build/tem; the same tables, so the
    same text as the binary under test."""
    for sect, name in (("8", "tem.8"), ("5", "tem.conf.5")):
        built = os.path.join(REPO, "build", "man", name)
        assert os.path.exists(built), "make did not build " + built
        assert open(built).read() == open(pages[sect]).read(), name
