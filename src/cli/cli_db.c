/*
 * cli_db - `tem db status|init|upgrade` (see cli_db.h): thin wrappers
 * around pg/pg_admin.c that print one line per step.
 *
 * Trust: run by the administrator; the DSN comes from the config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_commands.h"
#include "cli/cli_db.h"
#include "conf/conf.h"
#include "pg/pg_admin.h"
#include "pg/pg_migrate.h"
#include "pg/pg_schema.h"
#include "util/xmalloc.h"

#define EXIT_USAGE 2

static int
db_status(const struct conf *c)
{
	struct pg_admin_status st;
	char *err = NULL;

	if (pg_admin_status(c->postgresql_dsn, &st, &err) < 0)
		return cli_fail(1, err);
	printf("schema version %d (this tem: %d), PostgreSQL %s%s\n",
	    st.version, st.latest, st.server, st.version == 0 ?
	    ", not initialised: run tem db init" : st.version < st.latest ?
	    ", run tem db upgrade" : "");
	free(st.server);
	return st.version == st.latest ? 0 : 1;
}

static int
db_migrate(const struct conf *c, int init)
{
	char *err = NULL;
	int n = pg_admin_migrate(c->postgresql_dsn, init, stdout, &err);

	if (n < 0)
		return cli_fail(1, err);
	if (n == 0)
		printf("schema already at version %d\n", pg_schema_latest());
	else
		printf("schema at version %d\n", pg_schema_latest());
	return 0;
}

int
cli_db(const struct conf *c, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, "db");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "status") == 0)
		return db_status(c);
	if (argc == 2 && strcmp(argv[1], "init") == 0)
		return db_migrate(c, 1);
	if (argc == 2 && strcmp(argv[1], "upgrade") == 0)
		return db_migrate(c, 0);
	cli_help(stderr, "db");
	return EXIT_USAGE;
}

int
cli_migrate(const struct conf *c, int argc, char **argv)
{
	char *err = NULL;
	int rc;

	(void)argv;
	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, "migrate");
		return 0;
	}
	if (argc != 1) {
		cli_help(stderr, "migrate");
		return EXIT_USAGE;
	}
	rc = pg_migrate(c, stdout, &err);
	fflush(stdout);
	return rc < 0 ? cli_fail(1, err) : rc;
}
