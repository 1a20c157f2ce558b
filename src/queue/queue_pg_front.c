/*
 * queue_pg_front - queue.h in front of the PostgreSQL queue: with storage
 * = postgresql every queue.h call of the server (submits from SMTP,
 * bounces, DSNs, Sieve; the delivery engine's take, read, report, flags
 * and release) goes to queue_pg_* instead of the files, so the callers
 * stay as they are and both backends share one retry rule
 * (queue_rcpt_apply), one bounce path and one set of log lines.
 *
 * What differs from the files, and how it is hidden:
 *  - queue_pg_submit blocks (a transaction): queue_submit runs it on a
 *    worker and calls done() on the origin loop, 0 only once COMMIT
 *    returned (the 250 waits for it).
 *  - queue_pg_msg_free blocks (delete, or hand the lease back): it runs
 *    on a worker too; queue_shutdown waits for those before the leases
 *    still held are handed back.
 *  - queue_next_due cannot ask the database from a loop: the earliest
 *    next_attempt is read back after each take that got fewer than it
 *    asked for (nothing due left), and the answer is capped at
 *    QUEUE_PG_POLL seconds so a node re-checks every few seconds
 *    anyway (another node's hand-back, clocks that differ a little, a
 *    lost notification).
 *  - New mail of any node and `tem queue flush` arrive as NOTIFY
 *    tem_queue: queue_listen() hears them on the engine's loop and calls
 *    the wake-up function; each (re)LISTEN wakes it too.
 *
 * Errors become errno values for queue.h's callers: QUEUE_PG_GONE →
 * ENOENT (deleted by the admin), PG_UNAVAILABLE → EAGAIN (SMTP: 451
 * 4.3.0), PG_ERROR → EIO; the database's text goes to the debug log (the
 * caller writes the one line with its session or queue id).
 *
 * Trust: as queue.h; NOTIFY payloads are not read (any notification just
 * means "look again").
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "queue/queue_int.h"
#include "queue/queue_pg.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

static struct {
	atomic_bool	 on, running;
	atomic_llong	 due;		/* earliest next_attempt read, 0 none */
	atomic_size_t	 count;
	unsigned	 lease;
	char		*dsn;
	struct pg_listen *listen;
	pthread_mutex_t	 lock;
	pthread_cond_t	 idle;
	unsigned	 frees;		/* releases running on workers */
	time_t		 take_failed;	/* last said, 0 while takes work */
} f = { .lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER };

bool
queue_on_pg(void)
{
	return atomic_load(&f.on);
}

/* The errno for a queue_pg_* result; the text goes to the debug log
 * (a message deleted by the admin: the file queue's info line). */
static int
pg_errno(const char *id, int rc, char **err)
{
	int e = rc == QUEUE_PG_GONE ? ENOENT : rc == PG_UNAVAILABLE ?
	    EAGAIN : EIO;

	if (rc == QUEUE_PG_GONE)	/* the file queue's line */
		log_info("%s queue gone (deleted by the admin)", id);
	else
		log_debug("%s queue pg error=\"%s\"", id && *id ? id : "-",
		    *err ? *err : "");
	XFREE(err);
	return e;
}

/* ---- start, stop -------------------------------------------------------- */

int
queue_open(const struct conf *c, char **error_r)
{
	char *tmp;
	int r;

	*error_r = NULL;
	if (c->storage != CONF_STORAGE_POSTGRESQL)
		return queue_init(c->data_dir, c->queue_retry_base,
		    c->queue_lifetime, error_r);
	if (queue_lock_data_dir(c->data_dir, error_r) < 0)
		return -1;
	/* content is spooled here for delivery (O_TMPFILE, never named) */
	tmp = xasprintf("%s/spool", c->data_dir);
	if (mkdir(tmp, 0750) < 0 && errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", tmp,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	queue_configure(c->queue_retry_base, c->queue_lifetime);
	f.lease = c->queue_lease_time;
	r = queue_pg_init(c->queue_retry_base, c->queue_lifetime, f.lease,
	    tmp, error_r);
	free(tmp);
	if (r < 0)
		return -1;
	free(f.dsn);
	f.dsn = xstrdup(c->postgresql_dsn ? c->postgresql_dsn : "");
	atomic_store(&f.due, 0);
	atomic_store(&f.on, true);
	atomic_store(&f.running, true);
	log_info("- queue started storage=postgresql node=%s lease=%us",
	    queue_pg_node(), f.lease);
	return 0;
}

void
queue_pgf_shutdown(void)
{
	if (!atomic_exchange(&f.running, false))
		return;
	pthread_mutex_lock(&f.lock);
	while (f.frees > 0)
		pthread_cond_wait(&f.idle, &f.lock);
	pthread_mutex_unlock(&f.lock);
	queue_pg_shutdown();
	XFREE(&f.dsn);
}

void
queue_pgf_configure(unsigned retry_base, unsigned lifetime)
{
	queue_pg_configure(retry_base, lifetime, f.lease);
}

/* ---- wake-ups ----------------------------------------------------------- */

static void
on_notify(void *arg, const char *channel, const char *payload)
{
	(void)arg;
	(void)channel;
	(void)payload;
	atomic_store(&f.due, (long long)time(NULL));
	queue_wake();
}

static void
on_resync(void *arg, const char *channel)
{
	on_notify(arg, channel, "");
}

int
queue_listen(struct loop *loop, char **error_r)
{
	*error_r = NULL;
	if (!queue_on_pg() || f.listen != NULL)
		return 0;
	f.listen = pg_listen_start(f.dsn, error_r);
	if (f.listen == NULL)
		return -1;
	if (pg_listen_add(f.listen, QUEUE_PG_CHANNEL, loop, on_notify,
	    on_resync, NULL, error_r) < 0) {
		pg_listen_free(&f.listen);
		return -1;
	}
	return 0;
}

void
queue_unlisten(void)
{
	if (f.listen != NULL)
		pg_listen_free(&f.listen);
}

/* ---- submit ------------------------------------------------------------- */

static void
submit_work(void *arg)
{
	struct queue_new *m = arg;
	char *err = NULL;
	int rc;

	if (!atomic_load(&f.running))
		m->error = ESHUTDOWN;
	else if ((rc = queue_pg_submit(m, &err)) != PG_OK)
		m->error = pg_errno(m->msg.id, rc, &err);
	else {
		m->error = 0;
		queue_wake();	/* this node's engine, before the NOTIFY */
	}
	if (m->origin == NULL && m->done != NULL)
		m->done(m, m->error, m->arg);
}

static void
submit_done(void *arg)
{
	struct queue_new *m = arg;

	m->done(m, m->error, m->arg);
}

void
queue_pgf_submit(struct queue_new *m, struct loop *origin,
    void (*done)(struct queue_new *m, int error, void *arg), void *arg)
{
	if (m->msg.id[0] == '\0')	/* the caller may log it right away */
		log_new_id(m->msg.id);
	m->origin = origin;
	m->done = done;
	m->arg = arg;
	m->error = 0;
	worker_submit(origin, submit_work, origin ? submit_done : NULL, m);
}

int
queue_pgf_submit_sync(struct queue_new *m)
{
	m->origin = NULL;
	m->done = NULL;
	submit_work(m);
	return m->error;
}

/* ---- delivery ----------------------------------------------------------- */

int
queue_pgf_take_due(struct queue_msg **msgs, int max)
{
	char *err = NULL;
	time_t due;
	size_t count;
	int n;

	if (!atomic_load(&f.running))
		return 0;
	n = queue_pg_take_due(msgs, max, &err);
	if (n < 0) {
		/* the engine asks again in a second, not at once; said on
		 * the first failure and then once a minute */
		time_t now = time(NULL);

		atomic_store(&f.due, (long long)now + 1);
		if (f.take_failed == 0 || now - f.take_failed >= 60) {
			log_warn("- queue pg take-failed error=\"%s\"", err);
			f.take_failed = now;
		}
		free(err);
		errno = n == PG_UNAVAILABLE ? EAGAIN : EIO;
		return -1;
	}
	if (f.take_failed != 0) {
		log_info("- queue pg take-resumed");
		f.take_failed = 0;
	}
	if (n < max) {	/* nothing due left behind: when is the next? */
		if (queue_pg_next_due(&due, &count, &err) == PG_OK) {
			atomic_store(&f.due, (long long)due);
			atomic_store(&f.count, count);
		}
		free(err);
	}
	return n;
}

int
queue_pgf_open_content(const char *id, queue_scan_fn *scan, void *arg,
    struct queue_content *c)
{
	char *err = NULL;
	int rc = queue_pg_open_content(id, scan, arg, c, &err);

	if (rc == PG_OK)
		return 0;
	errno = pg_errno(id, rc, &err);
	return -1;
}

int
queue_pgf_report(struct queue_msg *m, const int *results,
    char *const *texts, time_t now)
{
	char *err = NULL;
	int rc = queue_pg_report_at(m, results, texts, now, &err);

	if (rc >= 0)
		return rc;
	errno = pg_errno(m->id, rc, &err);
	return -1;
}

int
queue_pgf_set_rcpt_flags(struct queue_msg *m, const int *idx, int n,
    unsigned flags)
{
	char *err = NULL;
	int rc = queue_pg_set_rcpt_flags(m, idx, n, flags, &err);

	if (rc == PG_OK)
		return 0;
	errno = pg_errno(m->id, rc, &err);
	return -1;
}

static void
free_work(void *arg)
{
	struct queue_msg *m = arg;

	queue_pg_msg_free(&m);
	pthread_mutex_lock(&f.lock);
	if (--f.frees == 0)
		pthread_cond_broadcast(&f.idle);
	pthread_mutex_unlock(&f.lock);
}

void
queue_pgf_msg_free(struct queue_msg **m)
{
	if (*m == NULL)
		return;
	pthread_mutex_lock(&f.lock);
	f.frees++;
	pthread_mutex_unlock(&f.lock);
	worker_submit(NULL, free_work, NULL, *m);
	*m = NULL;
}

/* ---- schedule ----------------------------------------------------------- */

time_t
queue_pgf_next_due(void)
{
	time_t due = (time_t)atomic_load(&f.due), poll;

	poll = time(NULL) + QUEUE_PG_POLL;
	return due == 0 || due > poll ? poll : due;
}

size_t
queue_pgf_count(void)
{
	return atomic_load(&f.count);
}

/* Only wakes this node: making every message due is `tem queue flush`
 * (queue_pg_admin_flush, a transaction), whose NOTIFY wakes all nodes. */
void
queue_pgf_flush(void)
{
	atomic_store(&f.due, (long long)time(NULL));
	queue_wake();
}
