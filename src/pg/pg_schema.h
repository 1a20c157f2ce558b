/*
 * pg_schema - the PostgreSQL schema of a tem cluster (storage =
 * postgresql), as numbered migrations: migration N turns a version N-1
 * database into version N. `tem db init` makes a new database current,
 * `tem db upgrade` brings an old one up; both run every missing migration
 * in order, each in its own transaction together with its row in
 * tem_schema, under an advisory lock, so two nodes upgrading at once
 * cannot run one twice. docs/DESIGN.md ("PostgreSQL storage") gives the
 * reason for every table and index.
 *
 * Trust: constant data.
 */
#ifndef TEM_PG_SCHEMA_H
#define TEM_PG_SCHEMA_H

struct pg_migration {
	int		 version;	/* 1, 2, ... in order */
	const char	*what;		/* one line, for logs and `db status` */
	const char	*sql;		/* statements, run in one transaction */
};

/* The migrations, in order, ended by a { 0, NULL, NULL } entry. */
extern const struct pg_migration pg_migrations[];

/* The newest version (the last migration's). */
int pg_schema_latest(void);

/* The advisory lock every schema step runs under (pg_advisory_lock,
   taken before its transaction begins: pg_admin.c). */
#define PG_SCHEMA_LOCK_KEY	0x74656d0001LL	/* "tem" 1 */

#endif
