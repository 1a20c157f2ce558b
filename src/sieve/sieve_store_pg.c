/*
 * sieve_store_pg - users' Sieve scripts in PostgreSQL (contract:
 * sieve_store_pg.h, sieve_store.h), table sieve_scripts(user_id, name,
 * script, active) with the unique partial index sieve_one_active: the
 * database itself keeps at most one active script a user.
 *
 * Every change is one pg_tx transaction that first locks the user's row
 * (SELECT ... FOR NO KEY UPDATE: it does not conflict with the KEY SHARE
 * locks of foreign keys, so deliveries writing Sieve state go on), then
 * checks and writes: the count limit, "exists" and "is active" checks
 * are race-free across nodes under READ COMMITTED, as the flock on the
 * user's directory makes them on one host, and an activation (clear the
 * old mark, set the new) is atomic. Readers take no lock.
 *
 * Trust: as sieve_store.c: names checked and texts compiled by it before
 * they come here; the user is canonicalised (accounts_address_parse) and
 * looked up by tem_fold(address); parameters are never spliced into SQL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts_addr.h"
#include "pg/pg_conn.h"
#include "sieve/sieve_store.h"
#include "sieve/sieve_store_pg.h"
#include "util/array.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)
#define USER_ID "(SELECT id FROM users WHERE tem_fold(address) = " \
	"tem_fold($1))"

/* One operation: its arguments and what it found. */
struct op {
	const char	*user;		/* canonical "local@domain" */
	const char	*a, *b;		/* names, text */
	int		 err;		/* errno for a refusal (PG_ERROR) */
	char		*uid;		/* the locked user's id */
};

/* errno for rc (PG_ERROR with o->err set: that refusal), logging a
 * database failure as one line. */
static int
fail(const struct op *o, enum pg_rc rc, char *error)
{
	if (rc == PG_ERROR && o->err != 0) {
		free(error);
		return o->err;
	}
	log_warn("sieve store-db user=%s error=\"%s\"", o->user,
	    error != NULL ? error : "?");
	free(error);
	return rc == PG_ERROR ? EIO : EAGAIN;
}

/* "local@domain" canonical (malloc'd), or NULL with EINVAL. */
static char *
canonical(const char *user)
{
	char *lp, *dom, *err = NULL, *s;

	if (accounts_address_parse(user, true, &lp, &dom, &err) < 0) {
		free(err);
		errno = EINVAL;
		return NULL;
	}
	s = xasprintf("%s@%s", lp, dom);
	free(lp);
	free(dom);
	return s;
}

/* Locks the user's row, o->uid its id; no such account: EINVAL. */
static enum pg_rc
lock_user(struct op *o, char **error_r)
{
	enum pg_rc rc;

	free(o->uid);
	o->uid = NULL;
	rc = pg_query_value(&o->uid, error_r, "SELECT id FROM users WHERE "
	    "tem_fold(address) = tem_fold($1) FOR NO KEY UPDATE", 1, o->user);
	if (rc == PG_OK && o->uid == NULL) {
		o->err = EINVAL;
		return PG_ERROR;
	}
	return rc;
}

/* 1: the row (uid, name) exists and is active, 0: inactive, ENOENT as a
 * refusal when absent. */
static enum pg_rc
script_state(struct op *o, const char *name, bool *active, char **error_r)
{
	char *v = NULL;
	enum pg_rc rc;

	rc = pg_query_value(&v, error_r, "SELECT active FROM sieve_scripts "
	    "WHERE user_id = $1 AND name = $2", 2, o->uid, name);
	if (rc == PG_OK && v == NULL) {
		o->err = ENOENT;
		return PG_ERROR;
	}
	if (rc == PG_OK)
		*active = strcmp(v, "t") == 0;
	free(v);
	return rc;
}

/* Locks the user's row and finds script name (ENOENT when absent). */
static enum pg_rc
lock_find(struct op *o, const char *name, bool *active, char **error_r)
{
	enum pg_rc rc;

	o->err = 0;
	if ((rc = lock_user(o, error_r)) != PG_OK)
		return rc;
	return script_state(o, name, active, error_r);
}

/* Runs body in one transaction for user: 0 or -1 with errno. */
static int
run(const char *user, const char *a, const char *b,
    enum pg_rc (*body)(void *, char **))
{
	struct op o = { .a = a, .b = b };
	char *error = NULL, *canon = canonical(user);
	enum pg_rc rc;
	int e = 0;

	if (canon == NULL)
		return -1;
	o.user = canon;
	if ((rc = pg_tx(body, &o, &error)) != PG_OK)
		e = fail(&o, rc, error);
	free(o.uid);
	free(canon);
	errno = e;
	return e == 0 ? 0 : -1;
}

static enum pg_rc
put_body(void *arg, char **error_r)
{
	struct op *o = arg;
	char *v = NULL;
	enum pg_rc rc;

	o->err = 0;
	if ((rc = lock_user(o, error_r)) != PG_OK)
		return rc;
	/* a new name must fit under the count limit */
	rc = pg_query_value(&v, error_r, "SELECT count(*) FILTER (WHERE "
	    "name = $2) = 0 AND count(*) >= $3 FROM sieve_scripts WHERE "
	    "user_id = $1", 3, o->uid, o->a,
	    STR(SIEVE_STORE_SCRIPTS_MAX));
	if (rc == PG_OK && v != NULL && strcmp(v, "t") == 0) {
		o->err = EDQUOT;
		rc = PG_ERROR;
	}
	free(v);
	if (rc != PG_OK)
		return rc;
	return pg_query(NULL, error_r, "INSERT INTO sieve_scripts (user_id, "
	    "name, script) VALUES ($1, $2, $3) ON CONFLICT (user_id, name) "
	    "DO UPDATE SET script = EXCLUDED.script", 3, o->uid, o->a, o->b);
}

int
sieve_store_pg_put(const char *user, const char *name, const char *text,
    size_t len)
{
	/* A text column holds UTF-8 without NUL (RFC 5228 scripts are
	 * UTF-8); the compiler lets other octets through in comments, which
	 * the files keep but the database would refuse or cut short. */
	if (memchr(text, '\0', len) != NULL || !utf8_valid(text, len)) {
		errno = EILSEQ;
		return -1;
	}
	return run(user, name, text, put_body);
}

static enum pg_rc
activate_body(void *arg, char **error_r)
{
	struct op *o = arg;
	bool active = false;
	enum pg_rc rc;

	o->err = 0;
	if ((rc = lock_user(o, error_r)) != PG_OK) {
		/* deactivating for no account: none was active */
		if (o->a == NULL && o->err == EINVAL) {
			o->err = 0;
			rc = PG_OK;
		}
		return rc;
	}
	if (o->a != NULL &&
	    (rc = script_state(o, o->a, &active, error_r)) != PG_OK)
		return rc;
	if (active)
		return PG_OK;
	/* clear the old mark first: the unique index allows one */
	rc = pg_query(NULL, error_r, "UPDATE sieve_scripts SET active = false "
	    "WHERE user_id = $1 AND active", 1, o->uid);
	if (rc == PG_OK && o->a != NULL)
		rc = pg_query(NULL, error_r, "UPDATE sieve_scripts SET active "
		    "= true WHERE user_id = $1 AND name = $2", 2, o->uid, o->a);
	return rc;
}

int
sieve_store_pg_activate(const char *user, const char *name)
{
	return run(user, name, NULL, activate_body);
}

static enum pg_rc
delete_body(void *arg, char **error_r)
{
	struct op *o = arg;
	bool active;
	enum pg_rc rc;

	if ((rc = lock_find(o, o->a, &active, error_r)) != PG_OK)
		return rc;
	if (active) {
		o->err = EBUSY;
		return PG_ERROR;
	}
	return pg_query(NULL, error_r, "DELETE FROM sieve_scripts WHERE "
	    "user_id = $1 AND name = $2", 2, o->uid, o->a);
}

int
sieve_store_pg_delete(const char *user, const char *name)
{
	return run(user, name, NULL, delete_body);
}

static enum pg_rc
rename_body(void *arg, char **error_r)
{
	struct op *o = arg;
	bool active;
	enum pg_rc rc;

	if ((rc = lock_find(o, o->a, &active, error_r)) != PG_OK)
		return rc;
	rc = script_state(o, o->b, &active, error_r);
	if (rc == PG_OK) {
		o->err = EEXIST;
		return PG_ERROR;
	}
	if (o->err != ENOENT)
		return rc;
	free(*error_r);
	*error_r = NULL;
	o->err = 0;
	/* the active mark is a column: it follows the row */
	return pg_query(NULL, error_r, "UPDATE sieve_scripts SET name = $3 "
	    "WHERE user_id = $1 AND name = $2", 3, o->uid, o->a, o->b);
}

int
sieve_store_pg_rename(const char *user, const char *oldname,
    const char *newname)
{
	return run(user, oldname, newname, rename_body);
}

/* ---- readers: one statement each, no transaction ------------------- */

/* Runs sql ($1 the user's address, $2 name when not NULL): the result
 * or NULL with errno. */
static PGresult *
read_rows(const char *user, const char *name, const char *sql)
{
	struct op o = { 0 };
	char *canon = canonical(user), *error = NULL;
	PGresult *res = NULL;
	enum pg_rc rc;

	if (canon == NULL)
		return NULL;
	o.user = canon;
	rc = pg_query(&res, &error, sql, name != NULL ? 2 : 1, canon, name);
	if (rc != PG_OK)
		errno = fail(&o, rc, error);
	free(canon);
	return res;
}

/* Column col of res's first row (malloc'd), *len its length; NULL with
 * ENOENT when there is no row. Clears res. */
static char *
first_value(PGresult *res, int col, size_t *len)
{
	char *v = NULL;

	if (PQntuples(res) > 0) {
		v = xstrdup(PQgetvalue(res, 0, col));
		if (len != NULL)
			*len = (size_t)PQgetlength(res, 0, col);
	}
	PQclear(res);
	if (v == NULL)
		errno = ENOENT;
	return v;
}

char *
sieve_store_pg_active(const char *user, size_t *len, char **name_r)
{
	PGresult *res = read_rows(user, NULL, "SELECT script, name FROM "
	    "sieve_scripts WHERE user_id = " USER_ID " AND active");

	if (res == NULL)
		return NULL;
	if (name_r != NULL && PQntuples(res) > 0)
		*name_r = xstrdup(PQgetvalue(res, 0, 1));
	return first_value(res, 0, len);
}

char *
sieve_store_pg_get(const char *user, const char *name, size_t *len)
{
	PGresult *res = read_rows(user, name, "SELECT script FROM "
	    "sieve_scripts WHERE user_id = " USER_ID " AND name = $2");

	return res != NULL ? first_value(res, 0, len) : NULL;
}

int
sieve_store_pg_list(const char *user, char ***names, size_t *n,
    char **active)
{
	/* COLLATE "C": octet order, as the embedded store sorts */
	PGresult *res = read_rows(user, NULL, "SELECT name, active FROM "
	    "sieve_scripts WHERE user_id = " USER_ID " ORDER BY name "
	    "COLLATE \"C\"");
	size_t cap = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		*ARRAY_PUSH(*names, *n, cap) = xstrdup(PQgetvalue(res, i, 0));
		if (strcmp(PQgetvalue(res, i, 1), "t") == 0)
			*active = xstrdup(PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return 0;
}
