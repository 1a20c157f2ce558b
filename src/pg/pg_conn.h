/*
 * pg_conn - how tem code talks to PostgreSQL (storage = postgresql).
 *
 * Thread rules:
 *  - Every call here BLOCKS (libpq's synchronous API). Call it only from
 *    a worker thread (util/worker.c), a thread of its own, or the main
 *    thread of a command-line tool; never from an event-loop thread.
 *  - Each thread that calls here gets its own connection, made on its
 *    first call and kept for the thread's life (a thread-local; closed
 *    by a pthread key destructor when the thread exits, or by
 *    pg_conn_close()). No pool, so no locking: N worker threads hold at
 *    most N connections per process (size max_connections for that).
 *  - One transaction at a time per thread; a body run by pg_tx() must not
 *    start another or hand its connection to another thread.
 *
 * The DSN is process-wide: pg_conn_setup() before the first query (calling
 * it again with another DSN makes every thread reconnect at its next
 * call). Each new connection runs `SET synchronous_commit = on` (a commit
 * returns only once durable, and confirmed by a synchronous standby when
 * the cluster has one), `client_min_messages = warning` and sets
 * application_name = tem; a DSN without connect_timeout gets
 * PG_CONN_CONNECT_TIMEOUT, and TCP keepalives are on (a silent peer is
 * found in about half a minute) unless the DSN sets its own.
 *
 * Reconnecting: an idle connection is checked (without blocking) before
 * each use and silently remade when the server closed it (a restart, a
 * failover, an idle timeout). A connect that fails starts a back-off:
 * this thread's next attempts within PG_CONN_BACKOFF_MIN_MS, doubling to
 * PG_CONN_BACKOFF_MAX_MS, fail at once as PG_UNAVAILABLE without touching
 * the network, so a dead database costs callers no connect timeout each;
 * the first success resets it. A database back for PG_CONN_BACKOFF_MAX_MS
 * is used again by every thread's next call.
 *
 * Errors are classified, so callers answer without knowing SQLSTATEs:
 *  - PG_UNAVAILABLE: the database cannot answer now (connect refused or
 *    timed out, connection lost, admin/crash shutdown, too many
 *    connections, a read-only standby after a failover, serialization
 *    failure or deadlock that pg_tx's retries did not get past). Try
 *    later: SMTP 451 4.3.0, IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP].
 *    A connection-level failure also drops the connection. A COMMIT that
 *    fails this way may or may not have happened: callers that
 *    acknowledge must not, and the client's retry must be harmless.
 *  - PG_ERROR: the statement was refused for what it is (constraint,
 *    syntax, data): a bug or a conflict the caller checks for with
 *    pg_conn_sqlstate() (e.g. "23505" unique_violation). A body's own
 *    refusal ("already exists") returns PG_ERROR too.
 * Every failure comes with one malloc'd line in *error_r ("database
 * unavailable: ..." or "database error: ..."), ready for one log line.
 *
 * Trust: the DSN is the administrator's; the server's answers are trusted
 * (it is our database) but every result's status is checked. Parameters
 * are always sent apart from the SQL text (PQexecParams), never spliced.
 */
#ifndef TEM_PG_CONN_H
#define TEM_PG_CONN_H

#include <stdbool.h>

#include <libpq-fe.h>

#define PG_CONN_CONNECT_TIMEOUT	"5"	/* seconds, unless the DSN says */
#define PG_CONN_KEEPALIVE_IDLE	"10"	/* seconds, unless the DSN says */
#define PG_CONN_BACKOFF_MIN_MS	100
#define PG_CONN_BACKOFF_MAX_MS	2000
/* Times pg_tx() runs a body that hit a serialization failure/deadlock. */
#define PG_TX_ATTEMPTS		5
/* Parameters one pg_query() takes. */
#define PG_PARAMS_MAX		16
/* Bytes one bytea value holds at most (PostgreSQL's 1 GiB field limit);
 * below it a length fits pg_query_bin's int. */
#define PG_BYTEA_MAX		((size_t)1 << 30)

enum pg_rc {
	PG_OK		= 0,
	PG_UNAVAILABLE	= -1,	/* try again later (4xx) */
	PG_ERROR	= -2,	/* refused: constraint, syntax, caller's check */
	PG_RETRY	= -3,	/* serialization failure/deadlock inside a
				   pg_tx body: return it; pg_tx runs the body
				   again. Outside pg_tx it is PG_UNAVAILABLE. */
};

/* Sets the DSN for every thread (copied). NULL or "": queries fail with
 * PG_ERROR "postgresql_dsn is not set". */
void pg_conn_setup(const char *dsn);
/* Closes this thread's connection (the main thread gets no thread-exit
 * destructor: a CLI command calls this when done); the next call
 * reconnects. */
void pg_conn_close(void);
/* pg_conn_close() and forgets the DSN: at the end of main(). */
void pg_conn_cleanup(void);

/*
 * Runs sql with n text parameters ($1..$n, NULL for SQL NULL), in the
 * current transaction if any. res_r NULL: any result is discarded;
 * else *res_r gets it (PGRES_TUPLES_OK or PGRES_COMMAND_OK; PQclear it).
 * Returns PG_OK, or PG_UNAVAILABLE / PG_ERROR / PG_RETRY (see above)
 * with *error_r. n <= PG_PARAMS_MAX.
 */
enum pg_rc pg_query(PGresult **res_r, char **error_r, const char *sql,
    int n, ...);
/* Like pg_query, parameters in an array. */
enum pg_rc pg_queryv(PGresult **res_r, char **error_r, const char *sql,
    int n, const char *const *params);
/*
 * Like pg_queryv, for bytes: a parameter with lens[i] >= 0 goes as
 * lens[i] raw octets in binary form (for a $i::bytea: the message as it
 * is, no hex text of twice its size; lens NULL or lens[i] < 0: text).
 * binary_result asks for every column of the result in binary form: a
 * bytea's octets at PQgetvalue, PQgetlength of them (no
 * PQunescapeBytea); only for results whose columns are all bytea.
 */
enum pg_rc pg_query_bin(PGresult **res_r, char **error_r, const char *sql,
    int n, const char *const *params, const int *lens, bool binary_result);
/* Runs sql expecting at most one row of one column: *value_r gets a
 * malloc'd copy of it, or NULL when no row (or SQL NULL). */
enum pg_rc pg_query_value(char **value_r, char **error_r, const char *sql,
    int n, ...);

/*
 * COPY ... FROM STDIN: runs sql (a COPY statement), then feed(arg, c),
 * which sends the data with pg_copy_put (pieces of any size: libpq's
 * buffer stays a few KB, as it flushes as it goes) and returns 0 or a
 * message for the log (malloc'd: the COPY is cancelled, PG_ERROR).
 */
struct pg_copy;
enum pg_rc pg_copy_in(char **error_r, const char *sql,
    char *(*feed)(void *arg, struct pg_copy *c), void *arg);
/* 0, or -1 with the copy failed (the connection's error reported by
 * pg_copy_in). */
int pg_copy_put(struct pg_copy *c, const void *p, size_t n);

/*
 * Runs body(arg, error_r) inside BEGIN ... COMMIT (READ COMMITTED). body
 * returns PG_OK to commit, anything else to roll back and return it
 * (with its *error_r). PG_RETRY from the body or the COMMIT runs the body
 * again (at most PG_TX_ATTEMPTS times; the body must be repeatable: its
 * effects outside the database are its own business). A BEGIN that finds
 * the connection dead reconnects once first (nothing had been sent).
 */
enum pg_rc pg_tx(enum pg_rc (*body)(void *arg, char **error_r), void *arg,
    char **error_r);

/* The SQLSTATE of this thread's last failed statement ("" when the
 * failure was not the server's answer, e.g. a lost connection). */
const char *pg_conn_sqlstate(void);

/*
 * For pg_listen and pg_admin-like callers that keep a connection of
 * their own: connects to dsn with the settings above (synchronous_commit
 * on, application_name, connect_timeout). NULL with *error_r.
 */
PGconn *pg_conn_open(const char *dsn, char **error_r);
/* Classifies a failed result (NULL: a lost connection): PG_UNAVAILABLE,
 * PG_RETRY or PG_ERROR; *error_r gets the one-line message. */
enum pg_rc pg_conn_classify(PGconn *conn, const PGresult *res,
    char **error_r);

#endif
