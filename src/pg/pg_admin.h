/*
 * pg_admin - schema management of a tem PostgreSQL database, for the
 * `tem db` commands: status, init and upgrade (pg_schema.h's
 * migrations). Blocking libpq calls: command-line use only, never on a
 * server loop.
 *
 * Trust: the DSN is the administrator's; the server's answers are
 * trusted (it is our database) but every call's failure is reported.
 */
#ifndef TEM_PG_ADMIN_H
#define TEM_PG_ADMIN_H

#include <stdio.h>

/* What `tem db status` prints. */
struct pg_admin_status {
	int	 version;	/* 0: not initialised (no tem_schema) */
	int	 latest;	/* what this tem knows */
	char	*server;	/* "15.18" */
};

/* Connects to dsn and reads the schema version. 0, or -1 with
 * *error_r (free it). Free st->server. */
int pg_admin_status(const char *dsn, struct pg_admin_status *st,
    char **error_r);

/*
 * Brings the database to the newest version. init: the database must not
 * hold a tem schema yet (else -1 "already initialised"); !init: it must
 * (else -1 "not initialised"). A database newer than this tem is refused.
 * Each migration runs in its own transaction under an advisory lock with
 * its tem_schema row; one line per migration applied goes to out.
 * Returns the number applied (0: already current), or -1 with *error_r.
 * For tests only, the environment variable TEM_TEST_PG_SCHEMA_TO=N stops
 * at version N (a database as an older tem made it, to upgrade later).
 */
int pg_admin_migrate(const char *dsn, int init, FILE *out, char **error_r);

#endif
