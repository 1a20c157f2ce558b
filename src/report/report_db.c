/*
 * report_db - the report counters on disk: data_dir/reports/reports.db
 * (SQLite), one row per counter of report_int.h, plus the reports sent.
 * The report thread alone opens it.
 *
 * Limits per day: REPORT_DOMAINS_MAX domains of each kind,
 * REPORT_TLS_POLICIES_MAX policies per TLS domain, REPORT_DETAILS_MAX
 * failure rows per policy, REPORT_DMARC_ROWS_MAX rows per DMARC domain;
 * a new counter past them is dropped (counted by the caller). Days older
 * than REPORT_KEEP_DAYS are deleted by report_db_prune.
 *
 * Trust: the keys were cleaned by report_note.c; everything goes through
 * bound parameters.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report.h"
#include "report/report_int.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct report_db {
	sqlite3		*db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS tls_policy(day TEXT, domain TEXT, "
    " policy TEXT, success INTEGER, failure INTEGER,"
    " PRIMARY KEY(day, domain, policy));"
    "CREATE TABLE IF NOT EXISTS tls_detail(day TEXT, domain TEXT, "
    " policy TEXT, result TEXT, sip TEXT, rmx TEXT, rhelo TEXT, rip TEXT,"
    " addl TEXT, n INTEGER, PRIMARY KEY(day, domain, policy, result, sip,"
    " rmx, rhelo, rip, addl));"
    "CREATE TABLE IF NOT EXISTS dmarc_policy(day TEXT, domain TEXT, "
    " policy TEXT, PRIMARY KEY(day, domain));"
    "CREATE TABLE IF NOT EXISTS dmarc_row(day TEXT, domain TEXT, ip TEXT,"
    " disp TEXT, dkim_eval TEXT, spf_eval TEXT, hfrom TEXT, efrom TEXT,"
    " dkim TEXT, spf TEXT, n INTEGER, PRIMARY KEY(day, domain, ip, disp,"
    " dkim_eval, spf_eval, hfrom, efrom, dkim, spf));"
    "CREATE TABLE IF NOT EXISTS sent(kind TEXT, day TEXT, domain TEXT,"
    " PRIMARY KEY(kind, day, domain));";

/* One kind of counter: how it is added to an existing row, what the
 * limits count ((x, y), see ok()), and how a new row is inserted. */
struct kind_sql {
	char		 kind;
	int		 nkey;		/* key fields after the kind letter */
	int		 ncount;	/* 2: a, b; 1: a; 0: extra */
	const char	*update, *check, *insert;
};

static const struct kind_sql kinds[] = {
	{ 'P', 3, 2,
	  "UPDATE tls_policy SET success=success+?4, failure=failure+?5 "
	  "WHERE day=?1 AND domain=?2 AND policy=?3",
	  "SELECT (SELECT count(DISTINCT domain) FROM tls_policy WHERE "
	  "day=?1), (SELECT count(*) FROM tls_policy WHERE day=?1 AND "
	  "domain=?2)",
	  "INSERT INTO tls_policy VALUES(?1, ?2, ?3, ?4, ?5)" },
	{ 'D', 2, 0,
	  "UPDATE dmarc_policy SET policy=?3 WHERE day=?1 AND domain=?2",
	  "SELECT (SELECT count(*) FROM dmarc_policy WHERE day=?1), 0",
	  "INSERT INTO dmarc_policy VALUES(?1, ?2, ?3)" },
	{ 'F', 9, 1,
	  "UPDATE tls_detail SET n=n+?10 WHERE day=?1 AND domain=?2 AND "
	  "policy=?3 AND result=?4 AND sip=?5 AND rmx=?6 AND rhelo=?7 AND "
	  "rip=?8 AND addl=?9",
	  "SELECT (SELECT count(*) FROM tls_policy WHERE day=?1 AND "
	  "domain=?2 AND policy=?3), (SELECT count(*) FROM tls_detail WHERE "
	  "day=?1 AND domain=?2 AND policy=?3)",
	  "INSERT INTO tls_detail VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	  "?10)" },
	{ 'R', 10, 1,
	  "UPDATE dmarc_row SET n=n+?11 WHERE day=?1 AND domain=?2 AND "
	  "ip=?3 AND disp=?4 AND dkim_eval=?5 AND spf_eval=?6 AND hfrom=?7 "
	  "AND efrom=?8 AND dkim=?9 AND spf=?10",
	  "SELECT (SELECT count(*) FROM dmarc_policy WHERE day=?1 AND "
	  "domain=?2), (SELECT count(*) FROM dmarc_row WHERE day=?1 AND "
	  "domain=?2)",
	  "INSERT INTO dmarc_row VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	  "?10, ?11)" },
};

/* May a new counter of kind k get a row, given the check's (x, y)? */
static bool
ok(char k, sqlite3_int64 x, sqlite3_int64 y)
{
	switch (k) {
	case 'P':	/* x domains that day, y policies of this domain */
		return y > 0 ? y < REPORT_TLS_POLICIES_MAX :
		    x < REPORT_DOMAINS_MAX;
	case 'D':
		return x < REPORT_DOMAINS_MAX;
	case 'F':	/* x: the policy row exists; y its detail rows */
		return x > 0 && y < REPORT_DETAILS_MAX;
	default:	/* 'R' */
		return x > 0 && y < REPORT_DMARC_ROWS_MAX;
	}
}

struct report_db *
report_db_open(const char *data_dir, char **error_r)
{
	char *dir = xasprintf("%s/reports", data_dir);
	char *path = xasprintf("%s/reports.db", dir);
	struct report_db *r = xcalloc(1, sizeof(*r));
	char *err = NULL;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		*error_r = xasprintf("%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(r->db, "PRAGMA journal_mode=WAL;", NULL, NULL,
	    &err) != SQLITE_OK ||
	    sqlite3_exec(r->db, schema, NULL, NULL, &err) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path, err ? err :
		    sqlite3_errmsg(r->db));
		sqlite3_free(err);
		goto fail;
	}
	free(dir);
	free(path);
	return r;
fail:
	sqlite3_close(r->db);
	free(r);
	free(dir);
	free(path);
	return NULL;
}

void
report_db_close(struct report_db **rp)
{
	if (*rp == NULL)
		return;
	sqlite3_close((*rp)->db);
	free(*rp);
	*rp = NULL;
}

static int
run(sqlite3 *db, const char *sql, const char *const *f, int nf,
    const struct report_count *c, int ncount, sqlite3_int64 *x,
    sqlite3_int64 *y)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (int i = 0; i < nf && i < sqlite3_bind_parameter_count(st); i++)
		sqlite3_bind_text(st, i + 1, f[i], -1, SQLITE_STATIC);
	if (ncount >= 1 && sqlite3_bind_parameter_count(st) > nf)
		sqlite3_bind_int64(st, nf + 1, (sqlite3_int64)c->a);
	if (ncount == 2 && sqlite3_bind_parameter_count(st) > nf + 1)
		sqlite3_bind_int64(st, nf + 2, (sqlite3_int64)c->b);
	if (ncount == 0 && sqlite3_bind_parameter_count(st) > nf)
		sqlite3_bind_text(st, nf + 1, c->extra ? c->extra : "{}", -1,
		    SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && x != NULL) {
		*x = sqlite3_column_int64(st, 0);
		*y = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Adds one counter; 1 when dropped over a limit. */
static int
flush_one(sqlite3 *db, const struct kind_sql *k, const char *key,
    const struct report_count *c)
{
	const char *f[12];
	char *copy = xstrdup(key + 2), *p = copy;
	sqlite3_int64 x = 0, y = 0;
	int nf = 0, r = -1;

	while (nf < 12) {
		f[nf++] = p;
		if ((p = strchr(p, REPORT_SEP)) == NULL)
			break;
		*p++ = '\0';
	}
	if (nf != k->nkey)
		goto out;
	if (run(db, k->update, f, nf, c, k->ncount, NULL, NULL) < 0)
		goto out;
	r = 0;
	if (sqlite3_changes(db) > 0)
		goto out;
	if (run(db, k->check, f, nf, c, k->ncount, &x, &y) < 0 ||
	    !ok(k->kind, x, y))
		r = 1;
	else if (run(db, k->insert, f, nf, c, k->ncount, NULL, NULL) < 0)
		r = -1;
out:
	free(copy);
	return r;
}

int
report_db_flush(struct report_db *r, struct hashmap *m, uint64_t *dropped_r)
{
	struct hashmap_iter it;
	const char *key;
	void *v;
	int rc = 0;

	*dropped_r = 0;
	if (hashmap_count(m) == 0)
		return 0;
	if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	/* parents (P, D) before the rows that need them (F, R) */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		memset(&it, 0, sizeof(it));
		while (hashmap_next(m, &it, &key, &v)) {
			int x;

			if (key[0] != kinds[i].kind || key[1] != REPORT_SEP)
				continue;
			x = flush_one(r->db, &kinds[i], key, v);
			if (x < 0)
				rc = -1;
			else
				*dropped_r += (uint64_t)x;
		}
	}
	if (sqlite3_exec(r->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL) != SQLITE_OK)
		rc = -1;
	if (rc < 0)
		log_error("- report flush-failed error=\"%s\"",
		    sqlite3_errmsg(r->db));
	return rc;
}

/* ---- reading back ----------------------------------------------------- */

static sqlite3_stmt *
prep(struct report_db *r, const char *sql, const char *a, const char *b,
    const char *c)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	if (c)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_TRANSIENT);
	return st;
}

static char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return xstrdup(s ? (const char *)s : "");
}

int
report_db_jobs(struct report_db *r, const char *before, const char *only,
    struct report_job **jobs_r, size_t *n_r)
{
	static const char *const sql[2] = {
	    "SELECT DISTINCT day, domain FROM tls_policy t WHERE "
	    "(?2 IS NULL AND day < ?1 OR day = ?2) AND NOT EXISTS (SELECT 1 "
	    "FROM sent s WHERE s.kind='tls' AND s.day=t.day AND "
	    "s.domain=t.domain) ORDER BY day, domain",
	    "SELECT day, domain FROM dmarc_policy t WHERE "
	    "(?2 IS NULL AND day < ?1 OR day = ?2) AND NOT EXISTS (SELECT 1 "
	    "FROM sent s WHERE s.kind='dmarc' AND s.day=t.day AND "
	    "s.domain=t.domain) ORDER BY day, domain" };
	struct report_job *j = NULL;
	size_t n = 0;

	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *st = prep(r, sql[k], before, only, NULL);

		if (st == NULL)
			break;
		while (sqlite3_step(st) == SQLITE_ROW) {
			j = xrealloc(j, (n + 1) * sizeof(*j));
			j[n].kind = k == 0 ? REPORT_TLS : REPORT_DMARC;
			snprintf(j[n].day, sizeof(j[n].day), "%s",
			    (const char *)sqlite3_column_text(st, 0));
			j[n].domain = col(st, 1);
			n++;
		}
		sqlite3_finalize(st);
	}
	*jobs_r = j;
	*n_r = n;
	return 0;
}

void
report_jobs_free(struct report_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(jobs[i].domain);
	free(jobs);
}

int
report_db_tls(struct report_db *r, const char *day, const char *domain,
    struct report_tls *t)
{
	sqlite3_stmt *st = prep(r, "SELECT policy, success, failure FROM "
	    "tls_policy WHERE day=?1 AND domain=?2 ORDER BY policy", day,
	    domain, NULL);

	memset(t, 0, sizeof(*t));
	snprintf(t->day, sizeof(t->day), "%s", day);
	t->domain = xstrdup(domain);
	if (st == NULL)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct report_tls_policy *p;
		sqlite3_stmt *d;

		t->p = xrealloc(t->p, (t->np + 1) * sizeof(*t->p));
		p = &t->p[t->np++];
		memset(p, 0, sizeof(*p));
		p->policy = col(st, 0);
		p->success = (uint64_t)sqlite3_column_int64(st, 1);
		p->failure = (uint64_t)sqlite3_column_int64(st, 2);
		d = prep(r, "SELECT result, sip, rmx, rhelo, rip, addl, n FROM "
		    "tls_detail WHERE day=?1 AND domain=?2 AND policy=?3 "
		    "ORDER BY n DESC, result", day, domain, p->policy);
		while (d != NULL && sqlite3_step(d) == SQLITE_ROW) {
			struct report_tls_detail *x;

			p->d = xrealloc(p->d, (p->nd + 1) * sizeof(*p->d));
			x = &p->d[p->nd++];
			x->result = col(d, 0);
			x->sending_ip = col(d, 1);
			x->receiving_mx = col(d, 2);
			x->receiving_helo = col(d, 3);
			x->receiving_ip = col(d, 4);
			x->additional = col(d, 5);
			x->count = (uint64_t)sqlite3_column_int64(d, 6);
		}
		sqlite3_finalize(d);
	}
	sqlite3_finalize(st);
	return 0;
}

int
report_db_dmarc(struct report_db *r, const char *day, const char *domain,
    struct report_dmarc *dm)
{
	sqlite3_stmt *st = prep(r, "SELECT policy FROM dmarc_policy WHERE "
	    "day=?1 AND domain=?2", day, domain, NULL);

	memset(dm, 0, sizeof(*dm));
	snprintf(dm->day, sizeof(dm->day), "%s", day);
	dm->domain = xstrdup(domain);
	if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -1;
	}
	dm->policy = col(st, 0);
	sqlite3_finalize(st);
	st = prep(r, "SELECT ip, disp, dkim_eval, spf_eval, hfrom, efrom, "
	    "dkim, spf, n FROM dmarc_row WHERE day=?1 AND domain=?2 ORDER BY "
	    "n DESC, ip", day, domain, NULL);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		struct report_dmarc_row *x;

		dm->r = xrealloc(dm->r, (dm->nr + 1) * sizeof(*dm->r));
		x = &dm->r[dm->nr++];
		x->source_ip = col(st, 0);
		x->disposition = col(st, 1);
		x->dkim_eval = col(st, 2);
		x->spf_eval = col(st, 3);
		x->header_from = col(st, 4);
		x->envelope_from = col(st, 5);
		x->dkim = col(st, 6);
		x->spf = col(st, 7);
		x->count = (uint64_t)sqlite3_column_int64(st, 8);
	}
	sqlite3_finalize(st);
	return 0;
}

int
report_db_mark_sent(struct report_db *r, enum report_kind kind,
    const char *day, const char *domain)
{
	sqlite3_stmt *st = prep(r, "INSERT OR IGNORE INTO sent VALUES(?1, "
	    "?2, ?3)", kind == REPORT_TLS ? "tls" : "dmarc", day, domain);
	int rc = st != NULL && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;

	sqlite3_finalize(st);
	return rc;
}

void
report_db_prune(struct report_db *r, const char *before)
{
	static const char *const t[] = { "tls_policy", "tls_detail",
	    "dmarc_policy", "dmarc_row", "sent" };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *sql = xasprintf("DELETE FROM %s WHERE day < ?1", t[i]);
		sqlite3_stmt *st = prep(r, sql, before, NULL, NULL);

		if (st != NULL)
			sqlite3_step(st);
		sqlite3_finalize(st);
		free(sql);
	}
}

/* ---- the structures' frees ------------------------------------------ */

void
report_tls_clear(struct report_tls *t)
{
	for (size_t i = 0; i < t->np; i++) {
		for (size_t j = 0; j < t->p[i].nd; j++) {
			struct report_tls_detail *x = &t->p[i].d[j];

			free(x->result), free(x->sending_ip);
			free(x->receiving_mx), free(x->receiving_helo);
			free(x->receiving_ip), free(x->additional);
		}
		free(t->p[i].d);
		free(t->p[i].policy);
	}
	free(t->p);
	free(t->domain);
	memset(t, 0, sizeof(*t));
}

void
report_dmarc_clear(struct report_dmarc *d)
{
	for (size_t i = 0; i < d->nr; i++) {
		struct report_dmarc_row *x = &d->r[i];

		free(x->source_ip), free(x->disposition), free(x->dkim_eval);
		free(x->spf_eval), free(x->header_from);
		free(x->envelope_from), free(x->dkim), free(x->spf);
	}
	free(d->r);
	free(d->policy);
	free(d->domain);
	memset(d, 0, sizeof(*d));
}
