"""test_pg_imap_extra - IMAP ACL (RFC 4314), METADATA (RFC 5464) and
QUOTA (RFC 9208) on PostgreSQL (store/mailbox_acl_pg.c, metadata_pg.c,
quota_pg.c) against a real PostgreSQL 15 (tests/lib/pgserver.py):

- the C unit tests (build/asan/tests/pg/test-pg-extra, which needs
  TEM_TEST_PG_DSN and is therefore run here, not in tests/run.sh's unit
  pass): one ACL script and one METADATA script played on the embedded
  files and on the database give the same transcript (rights, negative
  rights, shares, the identifier and entry limits, rename and delete),
  rows going with their account, and the usage pg_ms_usage counts.
"""

import pytest

from pgserver import PgServer, pg_init_conf, pg_unit_check


@pytest.fixture(scope="module")
def pg():
    with PgServer() as s:
        yield s


@pytest.fixture(scope="module")
def dsn(pg, tmp_path_factory):
    pg_init_conf(tmp_path_factory.mktemp("extra"), pg.dsn)
    return pg.dsn


def test_unit(dsn):
    pg_unit_check("test-pg-extra", dsn)
