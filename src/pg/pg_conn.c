/*
 * pg_conn - one blocking PostgreSQL connection per thread, with error
 * classes, reconnect and back-off, and transactions that retry
 * serialization failures (see pg_conn.h for the rules).
 *
 * Trust: the DSN is the administrator's; results are checked for their
 * status before use; parameters never enter the SQL text.
 */
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/pg_conn.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* This thread's connection and its reconnect state. */
struct pg_thread {
	PGconn		*conn;
	unsigned	 gen;		/* the DSN generation of conn, backoff */
	bool		 in_tx;		/* inside pg_tx's BEGIN ... COMMIT */
	unsigned	 backoff_ms;	/* 0: the last connect worked */
	struct timespec	 retry_at;	/* no connect before this */
	char		*last_error;	/* the failed connect's message */
	char		 sqlstate[6];
};

static pthread_mutex_t dsn_lock = PTHREAD_MUTEX_INITIALIZER;
static char *dsn_global;
static unsigned dsn_gen;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;

static void
thread_free(void *p)
{
	struct pg_thread *th = p;

	if (th->conn != NULL)
		PQfinish(th->conn);
	free(th->last_error);
	free(th);
}

static void
key_make(void)
{
	pthread_key_create(&thread_key, thread_free);
}

static struct pg_thread *
thread_get(void)
{
	struct pg_thread *th;

	pthread_once(&key_once, key_make);
	if ((th = pthread_getspecific(thread_key)) == NULL) {
		th = xcalloc(1, sizeof(*th));
		pthread_setspecific(thread_key, th);
	}
	return th;
}

void
pg_conn_setup(const char *dsn)
{
	pthread_mutex_lock(&dsn_lock);
	if (dsn_global == NULL || dsn == NULL ||
	    strcmp(dsn_global, dsn) != 0) {
		free(dsn_global);
		dsn_global = dsn != NULL ? xstrdup(dsn) : NULL;
		dsn_gen++;
	}
	pthread_mutex_unlock(&dsn_lock);
}

static void
drop_conn(struct pg_thread *th)
{
	if (th->conn != NULL)
		PQfinish(th->conn);
	th->conn = NULL;
	th->in_tx = false;
}

void
pg_conn_close(void)
{
	struct pg_thread *th;

	pthread_once(&key_once, key_make);
	if ((th = pthread_getspecific(thread_key)) == NULL)
		return;
	pthread_setspecific(thread_key, NULL);
	thread_free(th);
}

void
pg_conn_cleanup(void)
{
	pg_conn_close();
	pthread_mutex_lock(&dsn_lock);
	free(dsn_global);
	dsn_global = NULL;
	dsn_gen++;
	pthread_mutex_unlock(&dsn_lock);
}

const char *
pg_conn_sqlstate(void)
{
	return thread_get()->sqlstate;
}

/* ---- messages and classes ------------------------------------------- */

/* prefix + text with every run of white space (libpq's messages have
 * newlines and tabs) made one space, trimmed. */
static char *
one_line(const char *prefix, const char *text)
{
	size_t plen = strlen(prefix), n = 0;
	char *out = xmalloc(plen + strlen(text) + 1);
	bool space = false;

	memcpy(out, prefix, plen);
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
			space = n > 0;
			continue;
		}
		if (space)
			out[plen + n++] = ' ';
		space = false;
		out[plen + n++] = *p;
	}
	out[plen + n] = '\0';
	return out;
}

static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* SQLSTATEs that mean "the database cannot answer now". */
static bool
state_unavailable(const char *s)
{
	return strncmp(s, "08", 2) == 0 ||	/* connection exception */
	    strncmp(s, "53", 2) == 0 ||		/* insufficient resources */
	    strcmp(s, "57P01") == 0 ||		/* admin_shutdown */
	    strcmp(s, "57P02") == 0 ||		/* crash_shutdown */
	    strcmp(s, "57P03") == 0 ||		/* cannot_connect_now */
	    strcmp(s, "25006") == 0;		/* read-only: a standby */
}

enum pg_rc
pg_conn_classify(PGconn *conn, const PGresult *res, char **error_r)
{
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *text = primary != NULL ? primary :
	    conn != NULL ? PQerrorMessage(conn) : "no connection";
	enum pg_rc rc;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD ||
	    state == NULL || state_unavailable(state))
		rc = PG_UNAVAILABLE;
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		rc = PG_RETRY;
	else
		rc = PG_ERROR;
	if (rc == PG_ERROR) {
		char *line = one_line("database error: ", text);

		*error_r = xasprintf("%s (SQLSTATE %s)", line, state);
		free(line);
	} else {
		*error_r = one_line("database unavailable: ", *text != '\0' ?
		    text : "connection lost");
	}
	return rc;
}

/* ---- connecting ----------------------------------------------------- */

PGconn *
pg_conn_open(const char *dsn, char **error_r)
{
	/* dbname last: what the DSN says overrides our defaults. The
	 * keepalives find a peer gone without a word (a failover, a cut
	 * network) in about PG_CONN_KEEPALIVE_IDLE + 3 * 5 s, for the
	 * listener that otherwise waits on its socket forever. */
	static const char *const kw[] = { "connect_timeout",
	    "application_name", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "dbname", NULL };
	const char *val[] = { PG_CONN_CONNECT_TIMEOUT, "tem", "1",
	    PG_CONN_KEEPALIVE_IDLE, "5", "3", dsn, NULL };
	PGconn *conn;
	PGresult *r;

	if (dsn == NULL || *dsn == '\0') {
		*error_r = xstrdup("postgresql_dsn is not set in the config");
		return NULL;
	}
	conn = PQconnectdbParams(kw, val, 1);
	if (conn == NULL) {
		*error_r = xstrdup("database unavailable: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		*error_r = one_line("database unavailable: ",
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	r = PQexec(conn, "SET synchronous_commit = on;"
	    "SET client_min_messages = warning");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_conn_classify(conn, r, error_r);
		PQclear(r);
		PQfinish(conn);
		return NULL;
	}
	PQclear(r);
	return conn;
}

static bool
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * An idle connection the server closed (restart, failover, terminate)
 * shows it here, without blocking: its socket is readable with the
 * server's FATAL message (libpq takes it as a notice while idle) and then
 * the end of the stream, which makes PQconsumeInput fail. A few rounds
 * at most: an idle connection gets little else (NOTIFY, parameter
 * changes).
 */
static bool
idle_conn_alive(PGconn *conn)
{
	struct pollfd p = { .fd = PQsocket(conn), .events = POLLIN };

	for (int i = 0; i < 4 && poll(&p, 1, 0) > 0; i++)
		if (PQconsumeInput(conn) == 0)
			return false;
	return PQstatus(conn) == CONNECTION_OK;
}

/* A usable connection in th->conn, or PG_UNAVAILABLE / PG_ERROR. */
static enum pg_rc
ensure_conn(struct pg_thread *th, char **error_r)
{
	struct timespec now;
	unsigned gen;
	char *dsn;

	pthread_mutex_lock(&dsn_lock);
	gen = dsn_gen;
	dsn = dsn_global != NULL ? xstrdup(dsn_global) : NULL;
	pthread_mutex_unlock(&dsn_lock);
	if (th->gen != gen) {	/* a new DSN: a new connection, no wait */
		drop_conn(th);
		th->backoff_ms = 0;
		th->gen = gen;
	}
	if (th->conn != NULL && !th->in_tx && !idle_conn_alive(th->conn))
		drop_conn(th);
	if (th->conn != NULL) {
		free(dsn);
		return PG_OK;
	}
	if (dsn == NULL) {
		*error_r = xstrdup("postgresql_dsn is not set in the config");
		return PG_ERROR;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (th->backoff_ms > 0 && before(&now, &th->retry_at)) {
		free(dsn);
		*error_r = xstrdup(th->last_error);
		return PG_UNAVAILABLE;
	}
	free(th->last_error);
	th->last_error = NULL;
	th->conn = pg_conn_open(dsn, &th->last_error);
	free(dsn);
	if (th->conn == NULL) {
		th->backoff_ms = th->backoff_ms == 0 ? PG_CONN_BACKOFF_MIN_MS :
		    th->backoff_ms * 2 > PG_CONN_BACKOFF_MAX_MS ?
		    PG_CONN_BACKOFF_MAX_MS : th->backoff_ms * 2;
		clock_gettime(CLOCK_MONOTONIC, &th->retry_at);
		th->retry_at.tv_sec += th->backoff_ms / 1000;
		th->retry_at.tv_nsec += (long)(th->backoff_ms % 1000) *
		    1000000L;
		if (th->retry_at.tv_nsec >= 1000000000L) {
			th->retry_at.tv_sec++;
			th->retry_at.tv_nsec -= 1000000000L;
		}
		*error_r = xstrdup(th->last_error);
		return PG_UNAVAILABLE;
	}
	th->backoff_ms = 0;
	return PG_OK;
}

/* ---- queries -------------------------------------------------------- */

/* A statement's failure: its pg_rc and *error_r, the SQLSTATE kept,
 * res and what else the connection returns cleared, a broken
 * connection dropped. */
static enum pg_rc
query_failed(struct pg_thread *th, PGresult *res, char **error_r)
{
	enum pg_rc rc = pg_conn_classify(th->conn, res, error_r);

	if (res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
		snprintf(th->sqlstate, sizeof(th->sqlstate), "%s",
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
	PQclear(res);
	while (th->conn != NULL && (res = PQgetResult(th->conn)) != NULL)
		PQclear(res);
	if (PQstatus(th->conn) != CONNECTION_OK)
		drop_conn(th);
	if (rc == PG_RETRY && !th->in_tx)
		rc = PG_UNAVAILABLE;
	return rc;
}

enum pg_rc
pg_query_bin(PGresult **res_r, char **error_r, const char *sql, int n,
    const char *const *params, const int *lens, bool binary_result)
{
	struct pg_thread *th = thread_get();
	int formats[PG_PARAMS_MAX];
	PGresult *res;
	enum pg_rc rc;
	ExecStatusType st;

	if (res_r != NULL)
		*res_r = NULL;
	th->sqlstate[0] = '\0';
	if (n < 0 || n > PG_PARAMS_MAX) {
		*error_r = xasprintf("database error: %d parameters", n);
		return PG_ERROR;
	}
	for (int i = 0; i < n; i++)
		formats[i] = lens != NULL && lens[i] >= 0;
	if ((rc = ensure_conn(th, error_r)) != PG_OK)
		return rc;
	res = PQexecParams(th->conn, sql, n, NULL, params, lens,
	    lens != NULL ? formats : NULL, binary_result);
	st = PQresultStatus(res);
	if (res != NULL && (st == PGRES_TUPLES_OK ||
	    st == PGRES_COMMAND_OK)) {
		if (res_r != NULL)
			*res_r = res;
		else
			PQclear(res);
		return PG_OK;
	}
	return query_failed(th, res, error_r);
}

enum pg_rc
pg_queryv(PGresult **res_r, char **error_r, const char *sql, int n,
    const char *const *params)
{
	return pg_query_bin(res_r, error_r, sql, n, params, NULL, false);
}

/* pg_queryv with the parameters from ap. */
static enum pg_rc
query_va(PGresult **res_r, char **error_r, const char *sql, int n,
    va_list ap)
{
	const char *params[PG_PARAMS_MAX];

	if (n < 0 || n > PG_PARAMS_MAX) {
		*error_r = xasprintf("database error: %d parameters", n);
		return PG_ERROR;
	}
	for (int i = 0; i < n; i++)
		params[i] = va_arg(ap, const char *);
	return pg_queryv(res_r, error_r, sql, n, params);
}

enum pg_rc
pg_query(PGresult **res_r, char **error_r, const char *sql, int n, ...)
{
	enum pg_rc rc;
	va_list ap;

	va_start(ap, n);
	rc = query_va(res_r, error_r, sql, n, ap);
	va_end(ap);
	return rc;
}

enum pg_rc
pg_query_value(char **value_r, char **error_r, const char *sql, int n, ...)
{
	PGresult *res;
	enum pg_rc rc;
	va_list ap;

	*value_r = NULL;
	va_start(ap, n);
	rc = query_va(&res, error_r, sql, n, ap);
	va_end(ap);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		*value_r = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return PG_OK;
}

/* ---- COPY FROM STDIN ------------------------------------------------ */

struct pg_copy {
	PGconn	*conn;
	bool	 failed;
};

int
pg_copy_put(struct pg_copy *c, const void *p, size_t n)
{
	const char *s = p;

	while (!c->failed && n > 0) {
		int part = n > INT_MAX ? INT_MAX : (int)n;

		if (PQputCopyData(c->conn, s, part) != 1)
			c->failed = true;
		s += part;
		n -= (size_t)part;
	}
	return c->failed ? -1 : 0;
}

enum pg_rc
pg_copy_in(char **error_r, const char *sql,
    char *(*feed)(void *arg, struct pg_copy *c), void *arg)
{
	struct pg_thread *th = thread_get();
	struct pg_copy c = { NULL, false };
	PGresult *res;
	enum pg_rc rc;
	char *why;

	th->sqlstate[0] = '\0';
	if ((rc = ensure_conn(th, error_r)) != PG_OK)
		return rc;
	c.conn = th->conn;
	res = PQexec(c.conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		return query_failed(th, res, error_r);
	PQclear(res);
	why = feed(arg, &c);
	(void)PQputCopyEnd(c.conn, why);	/* a failure: in the result */
	res = PQgetResult(c.conn);
	if (why != NULL) {	/* the transaction is aborted: PG_ERROR */
		PQclear(res);
		while ((res = PQgetResult(c.conn)) != NULL)
			PQclear(res);
		*error_r = why;
		return PG_ERROR;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return query_failed(th, res, error_r);
	PQclear(res);
	while ((res = PQgetResult(c.conn)) != NULL)
		PQclear(res);
	return PG_OK;
}

/* ---- transactions --------------------------------------------------- */

/* BEGIN, reconnecting once when a connection that looked alive was not:
 * nothing of this transaction was sent yet, so that is safe. */
static enum pg_rc
tx_begin(struct pg_thread *th, char **error_r)
{
	bool had = th->conn != NULL;
	enum pg_rc rc = pg_query(NULL, error_r, "BEGIN", 0);

	if (rc == PG_UNAVAILABLE && had && th->conn == NULL) {
		free(*error_r);
		*error_r = NULL;
		rc = pg_query(NULL, error_r, "BEGIN", 0);
	}
	if (rc == PG_OK)
		th->in_tx = true;
	return rc;
}

/* COMMIT; a transaction the server had aborted answers "ROLLBACK". */
static enum pg_rc
tx_commit(char **error_r)
{
	PGresult *res;
	enum pg_rc rc = pg_query(&res, error_r, "COMMIT", 0);

	if (rc != PG_OK)
		return rc;
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		*error_r = xstrdup("database error: the transaction was "
		    "rolled back");
		rc = PG_ERROR;
	}
	PQclear(res);
	return rc;
}

enum pg_rc
pg_tx(enum pg_rc (*body)(void *arg, char **error_r), void *arg,
    char **error_r)
{
	struct pg_thread *th = thread_get();
	enum pg_rc rc = PG_RETRY;
	char *err = NULL;

	TEM_ASSERT(!th->in_tx);		/* one transaction at a time */
	for (int attempt = 0; attempt < PG_TX_ATTEMPTS; attempt++) {
		free(err);
		err = NULL;
		if ((rc = tx_begin(th, &err)) != PG_OK)
			break;
		rc = body(arg, &err);
		if (rc == PG_OK)
			rc = tx_commit(&err);
		if (rc != PG_OK && th->conn != NULL &&
		    PQtransactionStatus(th->conn) != PQTRANS_IDLE)
			PQclear(PQexec(th->conn, "ROLLBACK"));
		th->in_tx = false;
		if (rc != PG_RETRY)
			break;
	}
	if (rc == PG_RETRY) {
		*error_r = xasprintf("database unavailable: %d attempts: %s",
		    PG_TX_ATTEMPTS, err);
		free(err);
		return PG_UNAVAILABLE;
	}
	if (rc != PG_OK)
		*error_r = err;
	else
		free(err);
	return rc;
}
