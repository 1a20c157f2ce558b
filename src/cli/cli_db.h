/*
 * cli_db - `tem db status|init|upgrade`: the PostgreSQL schema of a
 * cluster (storage = postgresql), at postgresql_dsn; `tem migrate`.
 */
#ifndef TEM_CLI_DB_H
#define TEM_CLI_DB_H

struct conf;

/* argv[0] is "db". Returns the exit status. */
int cli_db(const struct conf *c, int argc, char **argv);
/* `tem migrate`: argv[0] is "migrate" (pg/pg_migrate.h). */
int cli_migrate(const struct conf *c, int argc, char **argv);

#endif
