"""conftest - pytest fixtures shared by tests/integration and tests/interop.

`tem` is a fresh server (domain a.test, users alice@a.test and bob@a.test,
passwords in temserver.PASSWORDS) listening for SMTP on a free loopback
port; `make_tem(**kwargs)` starts one with other settings (see TemServer).
When a test fails, the tail of each of its servers' logs is added to the
report and the server's temp dir is kept.

Strict mode (always on): a skipped test or test file is reported as FAILED
unless its reason is on tests/skips-allowed.txt (tests/lib/skips.py): a
skip must never hide a missing package, binary or feature that `make test`
installs or builds.

TEM_TEST_STORAGE=postgresql (make test-pg) runs the servers on
PostgreSQL (tests/lib/temserver.py) and deselects the tests marked
`embedded_only` (they look at the embedded store's files); nothing else.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

import skips  # noqa: E402
from pgserver import PgServer  # noqa: E402
from temserver import STORAGE, TemServer  # noqa: E402

_ALLOWED_SKIPS = skips.load()


def _strict(rep):
    """Turns REP (a test or collection report) from skipped into failed
    when its reason is not on the allow-list."""
    if not rep.skipped or hasattr(rep, "wasxfail"):
        return
    reason = skips.reason_of(rep.longrepr)
    if skips.allowed(reason, _ALLOWED_SKIPS) is None:
        rep.outcome = "failed"
        rep.longrepr = ("strict mode: skipped (%s); that reason is not in "
                        "tests/skips-allowed.txt - install or build what the "
                        "test needs (scripts/deps.sh, Makefile), or fix the "
                        "test" % reason)


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL storage: deselects the embedded_only tests."""
    if STORAGE == "embedded":
        return
    if STORAGE != "postgresql":
        raise pytest.UsageError("TEM_TEST_STORAGE=%s: embedded or "
                                "postgresql" % STORAGE)
    keep = [i for i in items if i.get_closest_marker("embedded_only") is None]
    gone = [i for i in items if i.get_closest_marker("embedded_only")]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _strict(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    _strict(rep)
    setattr(item, "tem_rep_" + rep.when, rep)
    if rep.failed:
        for srv in getattr(item, "tem_servers", []):
            srv.keep = True
            rep.sections.append(("tem server " + (srv.dir or "?"),
                                 srv.log_tail()))


@pytest.fixture
def make_tem(request):
    """Factory: make_tem(**TemServer kwargs) -> a started TemServer, stopped
    (SIGTERM, exit 0 and a clean log asserted) when the test ends."""
    started = []
    request.node.tem_servers = []

    def make(**kwargs):
        srv = TemServer(**kwargs)
        request.node.tem_servers.append(srv)
        srv.__enter__()
        started.append(srv)
        return srv

    yield make
    errors = []
    for srv in reversed(started):
        rep = getattr(request.node, "tem_rep_call", None)
        if rep is not None and rep.failed:
            srv.keep = True
        try:
            srv.__exit__(None, None, None)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="module")
def pg():
    """A throw-away PostgreSQL 15 for the module's tests (pgserver.py);
    tests make their own databases in it (pg.init_db, pg.fresh_db)."""
    with PgServer() as s:
        yield s


@pytest.fixture
def tem(make_tem):
    """A fresh server: domain a.test, users alice@a.test and bob@a.test."""
    return make_tem()
