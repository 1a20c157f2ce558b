"""skips - the strict-mode allow-list of pytest skips (tests/skips-allowed.txt).

Trust: test code only. Used by tests/conftest.py (a skip whose reason is
not allowed becomes a failure) and by tests/run.sh (lists the allowed
skips of a run at the end). Format: see the file's header.
"""

import os
import re

ALLOW_FILE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "skips-allowed.txt")


def load(path=ALLOW_FILE):
    """[(compiled regex, why)] from the allow-list; a malformed entry raises."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            pattern, sep, why = line.partition(" -- ")
            if not sep or not why.strip():
                raise ValueError("%s:%d: want 'REGEX -- why'" % (path, n))
            out.append((re.compile(pattern), why.strip()))
    return out


def reason_of(longrepr):
    """The reason text of a skip report's longrepr (tuple or str)."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = longrepr[2]
    else:
        reason = str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") \
        else reason


def allowed(reason, entries=None):
    """The allow-list's why for REASON, or None when it is not allowed."""
    for rx, why in load() if entries is None else entries:
        if rx.search(reason):
            return why
    return None
