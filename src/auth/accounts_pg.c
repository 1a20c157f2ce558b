/*
 * accounts_pg - the PostgreSQL accounts backend (storage = postgresql):
 * the same operations, checks, case rules and messages as the embedded
 * one (accounts.c), on the cluster tables of pg/pg_schema.c. accounts.c
 * parses and canonicalises the arguments and hashes passwords, then
 * hands over here; everything below takes canonical input.
 *
 * Each change is one pg_tx transaction that first bumps accounts_serial
 * (the row lock orders concurrent admin commands on every node, as the
 * flock does on one host, so check-then-write is race-free under READ
 * COMMITTED), then checks and writes, then NOTIFYs tem_accounts with the
 * new serial, so every node's listener reloads its snapshot.
 * Addresses are matched by tem_fold(address) (ASCII letters folded only),
 * the SQL twin of SQLite's NOCASE.
 *
 * DKIM keys stay files under data_dir for now (cli_dkim.c); the
 * dkim_keys table waits for the signer's PostgreSQL side.
 *
 * Trust: as accounts.c: administrator input, validated before it gets
 * here; parameters are never spliced into SQL. Blocking: command line
 * (or a worker thread), per pg_conn.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts.h"
#include "auth/accounts_int.h"
#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "pg/pg_schema.h"
#include "util/array.h"
#include "util/xmalloc.h"

#define FOLD_EQ(col, n) "tem_fold(" col ") = tem_fold($" #n ")"

/* One change: fn runs inside the serial-bumping transaction. */
struct change {
	struct accounts	*a;
	const char	*s1, *s2, *s3;	/* fn's canonical arguments */
	char *const	*targets;
	size_t		 n;
	uint64_t	 storage, messages;
	int		 set;
	enum pg_rc	(*fn)(struct change *, char **error_r);
	uint64_t	 serial;		/* out: the new serial */
};

static enum pg_rc
change_body(void *arg, char **error_r)
{
	struct change *c = arg;
	char *serial = NULL;
	enum pg_rc rc;

	rc = pg_query_value(&serial, error_r, "UPDATE accounts_serial SET "
	    "serial = serial + 1 RETURNING serial", 0);
	if (rc == PG_OK && serial == NULL) {
		*error_r = xstrdup("database error: accounts_serial has no "
		    "row");
		rc = PG_ERROR;
	}
	if (rc == PG_OK)
		rc = c->fn(c, error_r);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "SELECT pg_notify('tem_accounts', "
		    "$1)", 1, serial);
	if (rc == PG_OK)
		c->serial = strtoull(serial, NULL, 10);
	free(serial);
	return rc;
}

static int
change(struct change *c, char **error_r)
{
	if (pg_tx(change_body, c, error_r) != PG_OK)
		return -1;
	c->a->changed = true;
	c->a->serial = c->serial;
	return 0;
}

/* The number in the first column of sql's one row; -1 + error. */
static int64_t
count(char **error_r, const char *sql, const char *arg)
{
	char *v = NULL;
	int64_t n;

	if (pg_query_value(&v, error_r, sql, 1, arg) != PG_OK)
		return -1;
	n = v != NULL ? strtoll(v, NULL, 10) : 0;
	free(v);
	return n;
}

/* Every row as "c0" or "c0 c1". */
static int
list_rows(PGresult *res, struct accounts_list *l)
{
	size_t cap = 0;

	memset(l, 0, sizeof(*l));
	for (int i = 0; i < PQntuples(res); i++) {
		char **item = ARRAY_PUSH(l->items, l->n, cap);

		if (PQnfields(res) > 1)
			*item = xasprintf("%s %s", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1));
		else
			*item = xstrdup(PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return 0;
}

/* ---- open --------------------------------------------------------- */

int
accounts_pg_open(struct accounts *a, const char *dsn, char **error_r)
{
	char *v = NULL;
	enum pg_rc rc;
	int version;

	a->pg = true;
	pg_conn_setup(dsn);
	rc = pg_query_value(&v, error_r, "SELECT coalesce(max(version), 0) "
	    "FROM tem_schema", 0);
	if (rc == PG_ERROR && strcmp(pg_conn_sqlstate(), "42P01") == 0) {
		free(*error_r);		/* undefined_table */
		*error_r = xstrdup("the database holds no tem schema; run tem "
		    "db init first");
		return -1;
	}
	if (rc != PG_OK)
		return -1;
	version = v != NULL ? atoi(v) : 0;
	free(v);
	if (version != pg_schema_latest()) {
		*error_r = xasprintf("the database schema is at version %d, "
		    "this tem needs %d: run tem db %s", version,
		    pg_schema_latest(), version < pg_schema_latest() ?
		    "upgrade" : "upgrade with a newer tem");
		return -1;
	}
	return 0;
}

int
accounts_open_conf(const struct conf *c, struct accounts **a_r,
    char **error_r)
{
	struct accounts *a;

	if (c->storage != CONF_STORAGE_POSTGRESQL)
		return accounts_open(c->data_dir, c->run_as, a_r, error_r);
	a = xmalloc(sizeof(*a));
	a->lock_fd = -1;
	a->data_dir = xstrdup(c->data_dir);
	if (accounts_pg_open(a, c->postgresql_dsn, error_r) < 0) {
		accounts_close(&a);
		return -1;
	}
	*a_r = a;
	return 0;
}

/* ---- domains ------------------------------------------------------ */

int
accounts_pg_domain_lookup(struct accounts *a, const char *d, char **error_r)
{
	int64_t n = count(error_r, "SELECT count(*) FROM domains WHERE "
	    "name = $1", d);

	(void)a;
	return n < 0 ? -1 : n > 0;
}

static enum pg_rc
domain_add(struct change *c, char **error_r)
{
	int r = accounts_pg_domain_lookup(c->a, c->s1, error_r);

	if (r != 0) {
		if (r > 0)
			*error_r = xasprintf("domain %s already exists", c->s1);
		return PG_ERROR;
	}
	return pg_query(NULL, error_r, "INSERT INTO domains(name) VALUES ($1)",
	    1, c->s1);
}

int
accounts_pg_domain_add(struct accounts *a, const char *d, char **error_r)
{
	struct change c = { .a = a, .s1 = d, .fn = domain_add };

	return change(&c, error_r);
}

static enum pg_rc
domain_del(struct change *c, char **error_r)
{
	const char *d = c->s1;
	int64_t users, aliases;
	int r = accounts_pg_domain_lookup(c->a, d, error_r);

	if (r <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", d);
		return PG_ERROR;
	}
	if ((users = count(error_r, "SELECT count(*) FROM users WHERE "
	    "domain = $1", d)) < 0 ||
	    (aliases = count(error_r, "SELECT count(*) FROM aliases WHERE "
	    "domain = $1", d)) < 0)
		return PG_ERROR;
	if (users > 0 || aliases > 0) {
		*error_r = xasprintf("domain %s still has %lld user%s and "
		    "%lld alias%s; delete them first", d, (long long)users,
		    users == 1 ? "" : "s", (long long)aliases,
		    aliases == 1 ? "" : "es");
		return PG_ERROR;
	}
	return pg_query(NULL, error_r, "DELETE FROM domains WHERE name = $1",
	    1, d);
}

int
accounts_pg_domain_del(struct accounts *a, const char *d, char **error_r)
{
	struct change c = { .a = a, .s1 = d, .fn = domain_del };

	return change(&c, error_r);
}

int
accounts_pg_domain_list(struct accounts *a, struct accounts_list *list_r,
    char **error_r)
{
	PGresult *res;

	(void)a;
	if (pg_query(&res, error_r, "SELECT name FROM domains ORDER BY "
	    "name COLLATE \"C\"", 0) != PG_OK)
		return -1;
	return list_rows(res, list_r);
}

/* ---- users -------------------------------------------------------- */

static enum pg_rc
user_add(struct change *c, char **error_r)
{
	const char *lp = c->s1, *dom = c->s2;
	char *addr = xasprintf("%s@%s", lp, dom);
	enum pg_rc rc = PG_ERROR;
	int64_t n;
	int r;

	if ((r = accounts_pg_domain_lookup(c->a, dom, error_r)) <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", dom);
	} else if ((n = count(error_r, "SELECT count(*) FROM users WHERE "
	    FOLD_EQ("address", 1), addr)) != 0) {
		if (n > 0)
			*error_r = xasprintf("user %s already exists", addr);
	} else {
		rc = pg_query(NULL, error_r, "INSERT INTO users(address, "
		    "domain, hash) VALUES ($1, $2, $3)", 3, addr, dom, c->s3);
	}
	free(addr);
	return rc;
}

int
accounts_pg_user_add(struct accounts *a, const char *lp, const char *dom,
    const char *hash, char **error_r)
{
	struct change c = { .a = a, .s1 = lp, .s2 = dom, .s3 = hash,
	    .fn = user_add };

	return change(&c, error_r);
}

/* Runs sql (address $1, maybe $2 $3) and fails with "WHAT ADDR does not
 * exist" when it touched no row. */
static enum pg_rc
touch(struct change *c, const char *what, const char *sql, int n,
    const char *p2, const char *p3, char **error_r)
{
	PGresult *res;
	enum pg_rc rc = pg_query(&res, error_r, sql, n, c->s1, p2, p3);

	if (rc != PG_OK)
		return rc;
	if (strcmp(PQcmdTuples(res), "0") == 0) {
		*error_r = xasprintf("%s %s does not exist", what, c->s1);
		rc = PG_ERROR;
	}
	PQclear(res);
	return rc;
}

static enum pg_rc
user_del(struct change *c, char **error_r)
{
	return touch(c, "user", "DELETE FROM users WHERE " FOLD_EQ("address", 1),
	    1, NULL, NULL, error_r);
}

int
accounts_pg_user_del(struct accounts *a, const char *addr, char **error_r)
{
	struct change c = { .a = a, .s1 = addr, .fn = user_del };

	return change(&c, error_r);
}

static enum pg_rc
user_passwd(struct change *c, char **error_r)
{
	return touch(c, "user", "UPDATE users SET hash = $2 WHERE "
	    FOLD_EQ("address", 1), 2, c->s2, NULL, error_r);
}

int
accounts_pg_user_passwd(struct accounts *a, const char *addr,
    const char *hash, char **error_r)
{
	struct change c = { .a = a, .s1 = addr, .s2 = hash,
	    .fn = user_passwd };

	return change(&c, error_r);
}

int
accounts_pg_user_list(struct accounts *a, const char *addr, const char *dom,
    struct accounts_list *list_r, char **error_r)
{
	PGresult *res;
	enum pg_rc rc;

	(void)a;
	if (addr != NULL)
		rc = pg_query(&res, error_r, "SELECT address FROM users WHERE "
		    FOLD_EQ("address", 1), 1, addr);
	else if (dom != NULL)
		rc = pg_query(&res, error_r, "SELECT address FROM users WHERE "
		    "domain = $1 ORDER BY address COLLATE \"C\"", 1, dom);
	else
		rc = pg_query(&res, error_r, "SELECT address FROM users "
		    "ORDER BY address COLLATE \"C\"", 0);
	return rc != PG_OK ? -1 : list_rows(res, list_r);
}

/* ---- quotas ------------------------------------------------------- */

static enum pg_rc
quota_change(struct change *c, char **error_r)
{
	char s[24], m[24];

	if (!c->set)
		return touch(c, "user", "UPDATE users SET quota_storage = NULL, "
		    "quota_messages = NULL WHERE " FOLD_EQ("address", 1), 1,
		    NULL, NULL, error_r);
	snprintf(s, sizeof(s), "%" PRIu64, c->storage);
	snprintf(m, sizeof(m), "%" PRIu64, c->messages);
	return touch(c, "user", "UPDATE users SET quota_storage = $2, "
	    "quota_messages = $3 WHERE " FOLD_EQ("address", 1), 3, s, m,
	    error_r);
}

int
accounts_pg_quota_change(struct accounts *a, const char *addr, bool set,
    uint64_t storage, uint64_t messages, char **error_r)
{
	struct change c = { .a = a, .s1 = addr, .set = set,
	    .storage = storage, .messages = messages, .fn = quota_change };

	return change(&c, error_r);
}

int
accounts_pg_quota_get(struct accounts *a, const char *addr,
    uint64_t *storage_r, uint64_t *messages_r, char **error_r)
{
	PGresult *res;
	int ret;

	(void)a;
	if (pg_query(&res, error_r, "SELECT quota_storage, quota_messages "
	    "FROM users WHERE " FOLD_EQ("address", 1), 1, addr) != PG_OK)
		return -1;
	if (PQntuples(res) == 0) {
		*error_r = xasprintf("user %s does not exist", addr);
		ret = -1;
	} else if (PQgetisnull(res, 0, 0)) {
		ret = 0;
	} else {
		*storage_r = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		*messages_r = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
		ret = 1;
	}
	PQclear(res);
	return ret;
}

/* ---- aliases ------------------------------------------------------ */

static enum pg_rc
alias_add(struct change *c, char **error_r)
{
	const char *lp = c->s1, *dom = c->s2;
	char *addr = xasprintf("%s@%s", lp, dom), *old = NULL, *merged = NULL;
	enum pg_rc rc = PG_ERROR;
	PGresult *res;
	int r;

	if ((r = accounts_pg_domain_lookup(c->a, dom, error_r)) <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", dom);
		goto out;
	}
	if ((rc = pg_query(&res, error_r, "SELECT array_to_string(targets, "
	    "',') FROM aliases WHERE " FOLD_EQ("address", 1), 1, addr)) !=
	    PG_OK)
		goto out;
	if (PQntuples(res) > 0)
		old = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	rc = PG_ERROR;
	if ((merged = accounts_alias_merge(c->a, old, c->targets, c->n,
	    error_r)) == NULL)
		goto out;
	if (old != NULL)
		rc = pg_query(NULL, error_r, "UPDATE aliases SET targets = "
		    "string_to_array($2, ',') WHERE " FOLD_EQ("address", 1), 2,
		    addr, merged);
	else
		rc = pg_query(NULL, error_r, "INSERT INTO aliases(address, "
		    "domain, targets) VALUES ($1, $2, string_to_array($3, "
		    "','))", 3, addr, dom, merged);
out:
	free(addr);
	free(old);
	free(merged);
	return rc;
}

int
accounts_pg_alias_add(struct accounts *a, const char *lp, const char *dom,
    char *const *targets, size_t n, char **error_r)
{
	struct change c = { .a = a, .s1 = lp, .s2 = dom, .targets = targets,
	    .n = n, .fn = alias_add };

	return change(&c, error_r);
}

static enum pg_rc
alias_del(struct change *c, char **error_r)
{
	return touch(c, "alias", "DELETE FROM aliases WHERE "
	    FOLD_EQ("address", 1), 1, NULL, NULL, error_r);
}

int
accounts_pg_alias_del(struct accounts *a, const char *addr, char **error_r)
{
	struct change c = { .a = a, .s1 = addr, .fn = alias_del };

	return change(&c, error_r);
}

int
accounts_pg_alias_list(struct accounts *a, const char *addr,
    struct accounts_list *list_r, char **error_r)
{
	PGresult *res;
	enum pg_rc rc;

	(void)a;
	if (addr == NULL)
		rc = pg_query(&res, error_r, "SELECT address, array_to_string("
		    "targets, ',') FROM aliases ORDER BY address COLLATE \"C\"",
		    0);
	else
		rc = pg_query(&res, error_r, "SELECT address, array_to_string("
		    "targets, ',') FROM aliases WHERE " FOLD_EQ("address", 1),
		    1, addr);
	return rc != PG_OK ? -1 : list_rows(res, list_r);
}
