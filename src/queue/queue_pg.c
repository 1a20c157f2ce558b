/*
 * queue_pg - the shared outbound queue on PostgreSQL: the node id, the
 * lease renewer, submit, and take with leases (see queue_pg.h; content:
 * queue_pg_content.c; reports, removal, admin: queue_pg_report.c).
 *
 * Trust: envelopes come from validated SMTP transactions and are checked
 * against queue.h's limits again (queue_msg_check) before they are
 * written; rows read back are range-checked; every value travels as a
 * query parameter, never in the SQL text.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_int.h"
#include "queue/queue_pg_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* queue.flags bits */
#define QF_8BIT		1
#define QF_SMTPUTF8	2
#define QF_REQUIRETLS	4
#define QF_TLSOPT	8

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	pthread_t	 renewer;
	bool		 running;
	char		 node[QUEUE_PG_NODE_MAX];
	char		*tmpdir;
	unsigned	 retry_base, lifetime, lease;
	char		**held;		/* ids leased to this node, in flight */
	size_t		 nheld, capheld;
} qp = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* ---- the held set and the renewer -------------------------------------- */

static void
held_add(const char *id)
{
	pthread_mutex_lock(&qp.lock);
	if (qp.nheld == qp.capheld) {
		qp.capheld = qp.capheld ? qp.capheld * 2 : 16;
		qp.held = xrealloc(qp.held, qp.capheld * sizeof(*qp.held));
	}
	qp.held[qp.nheld++] = xstrdup(id);
	pthread_mutex_unlock(&qp.lock);
}

void
queue_pg_held_drop(const char *id)
{
	pthread_mutex_lock(&qp.lock);
	for (size_t i = 0; i < qp.nheld; i++)
		if (strcmp(qp.held[i], id) == 0) {
			free(qp.held[i]);
			qp.held[i] = qp.held[--qp.nheld];
			break;
		}
	pthread_mutex_unlock(&qp.lock);
}

/* Extends every lease this node holds: one UPDATE for all of them. */
static void
renew(void)
{
	struct buf ids;
	char secs[16], *err = NULL;
	enum pg_rc rc;

	buf_init(&ids, 0);
	pthread_mutex_lock(&qp.lock);
	if (qp.nheld > 0)
		queue_pg_array(&ids, qp.held, (int)qp.nheld);
	snprintf(secs, sizeof(secs), "%u", qp.lease);
	pthread_mutex_unlock(&qp.lock);
	if (ids.len == 0) {
		buf_free(&ids);
		return;
	}
	rc = pg_query(NULL, &err, "UPDATE queue SET lease_until = now() + "
	    "make_interval(secs => $2::int), next_attempt = now() + "
	    "make_interval(secs => $2::int) WHERE lease_owner = $1 AND "
	    "id = ANY($3::text[])", 3, qp.node, secs, buf_cstr(&ids));
	if (rc != PG_OK)
		log_warn("queue pg lease renewal failed node=%s error=\"%s\"",
		    qp.node, err);
	free(err);
	buf_free(&ids);
}

static void *
renewer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&qp.lock);
	while (qp.running) {
		struct timespec at = clock_real_after(qp.lease * 1000 / 3);

		pthread_cond_timedwait(&qp.cond, &qp.lock, &at);
		if (!qp.running)
			break;
		pthread_mutex_unlock(&qp.lock);
		renew();
		pthread_mutex_lock(&qp.lock);
	}
	pthread_mutex_unlock(&qp.lock);
	pg_conn_close();
	return NULL;
}

/* At a clean stop, leases still held (deliveries abandoned: the caller
 * stopped its delivery threads first) go back at once, due now, instead
 * of keeping other nodes waiting until they run out. */
static void
release_all(void)
{
	struct buf ids;
	char *err = NULL;

	if (qp.nheld == 0)
		return;
	buf_init(&ids, 0);
	queue_pg_array(&ids, qp.held, (int)qp.nheld);
	if (pg_query(NULL, &err, "UPDATE queue SET lease_owner = NULL, "
	    "lease_until = NULL, next_attempt = now() WHERE lease_owner = $1 "
	    "AND id = ANY($2::text[])", 2, qp.node, buf_cstr(&ids)) != PG_OK)
		log_warn("queue pg release at stop failed (the leases run "
		    "out) node=%s error=\"%s\"", qp.node, err);
	free(err);
	buf_free(&ids);
}

int
queue_pg_init(unsigned retry_base, unsigned lifetime, unsigned lease_time,
    const char *tmpdir, char **error_r)
{
	char host[64] = "";
	const char *t = tmpdir ? tmpdir : getenv("TMPDIR");

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "unknown");
	snprintf(qp.node, sizeof(qp.node), "%s:%ld:%lld", host,
	    (long)getpid(), (long long)time(NULL));
	free(qp.tmpdir);
	qp.tmpdir = xstrdup(t != NULL && *t != '\0' ? t : "/tmp");
	queue_pg_configure(retry_base, lifetime, lease_time);
	qp.running = true;
	if ((errno = pthread_create(&qp.renewer, NULL, renewer_main,
	    NULL)) != 0) {
		qp.running = false;
		*error_r = xasprintf("queue lease renewer: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
queue_pg_shutdown(void)
{
	pthread_mutex_lock(&qp.lock);
	if (!qp.running) {
		pthread_mutex_unlock(&qp.lock);
		return;
	}
	qp.running = false;
	pthread_cond_signal(&qp.cond);
	pthread_mutex_unlock(&qp.lock);
	pthread_join(qp.renewer, NULL);
	release_all();
	for (size_t i = 0; i < qp.nheld; i++)
		free(qp.held[i]);
	free(qp.held);
	qp.held = NULL;
	qp.nheld = qp.capheld = 0;
	free(qp.tmpdir);
	qp.tmpdir = NULL;
}

void
queue_pg_configure(unsigned retry_base, unsigned lifetime,
    unsigned lease_time)
{
	pthread_mutex_lock(&qp.lock);
	qp.retry_base = retry_base ? retry_base : 1;
	qp.lifetime = lifetime;
	qp.lease = lease_time ? lease_time : 1;
	pthread_mutex_unlock(&qp.lock);
}

const char *
queue_pg_tmpdir(void)
{
	return qp.tmpdir;
}

const char *
queue_pg_node(void)
{
	return qp.node;
}

void
queue_pg_settings(unsigned *retry_base, unsigned *lifetime)
{
	pthread_mutex_lock(&qp.lock);
	*retry_base = qp.retry_base;
	*lifetime = qp.lifetime;
	pthread_mutex_unlock(&qp.lock);
}

/* ---- helpers ------------------------------------------------------------ */

void
queue_pg_msg_drop(struct queue_msg **m)
{
	if (*m == NULL)
		return;
	queue_msg_clear(*m);
	free(*m);
	*m = NULL;
}

void
queue_pg_array(struct buf *b, char *const *s, int n)
{
	buf_putc(b, '{');
	for (int i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		if (s[i] == NULL) {
			buf_puts(b, "NULL");
			continue;
		}
		buf_putc(b, '"');
		for (const char *p = s[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *p);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

static long long
num(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 :
	    strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static char *
str_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL :
	    xstrdup(PQgetvalue(res, row, col));
}

void
queue_pg_envelope(struct queue_msg *m, const PGresult *res, int row)
{
	long long flags = num(res, row, 4);

	snprintf(m->id, sizeof(m->id), "%s", PQgetvalue(res, row, 0));
	m->sender = xstrdup(PQgetvalue(res, row, 1));
	m->envid = str_or_null(res, row, 2);
	m->ret = (int)num(res, row, 3);
	if (m->ret < 0 || m->ret > QUEUE_RET_HDRS)
		m->ret = 0;
	m->eightbit = (flags & QF_8BIT) != 0;
	m->smtputf8 = (flags & QF_SMTPUTF8) != 0;
	m->requiretls = (flags & QF_REQUIRETLS) != 0;
	m->tls_optional = (flags & QF_TLSOPT) != 0;
	m->arrival = (time_t)num(res, row, 5);
	m->size = (size_t)num(res, row, 6);
}

int
queue_pg_load_rcpts(struct queue_msg **msgs, int n, char **error_r)
{
	char **ids = xcalloc((size_t)n + 1, sizeof(*ids));
	struct buf arr;
	PGresult *res;
	int rc;

	for (int i = 0; i < n; i++)
		ids[i] = msgs[i]->id;
	buf_init(&arr, 0);
	queue_pg_array(&arr, ids, n);
	free(ids);
	rc = pg_query(&res, error_r, "SELECT queue_id, idx, address, orcpt, "
	    "notify, state, flags, attempts, "
	    "extract(epoch FROM next_try)::bigint, last_text "
	    "FROM queue_rcpts WHERE queue_id = ANY($1::text[]) "
	    "ORDER BY queue_id, idx", 1, buf_cstr(&arr));
	buf_free(&arr);
	if (rc != PG_OK)
		return rc;
	/* count first, then fill: rows come grouped by id, idx ascending */
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0, k = 0; r < PQntuples(res); r++) {
			const char *qid = PQgetvalue(res, r, 0);
			struct queue_msg *m;
			struct queue_rcpt *rc_;
			long long idx = num(res, r, 1);

			for (k = 0; k < n && strcmp(msgs[k]->id, qid); k++)
				;
			if (k == n || idx < 0 || idx >= QUEUE_RCPT_MAX)
				continue;
			m = msgs[k];
			if (pass == 0) {
				if (idx + 1 > m->nrcpt)
					m->nrcpt = (int)idx + 1;
				continue;
			}
			if (m->rcpts == NULL)
				m->rcpts = xcalloc((size_t)m->nrcpt,
				    sizeof(*m->rcpts));
			rc_ = &m->rcpts[idx];
			rc_->address = xstrdup(PQgetvalue(res, r, 2));
			rc_->orcpt = str_or_null(res, r, 3);
			rc_->notify = (unsigned)num(res, r, 4) & 15u;
			rc_->state = (int)num(res, r, 5);
			if (rc_->state < QUEUE_STATE_PENDING ||
			    rc_->state > QUEUE_STATE_FAILED)
				rc_->state = QUEUE_STATE_FAILED;
			rc_->flags = (unsigned)num(res, r, 6);
			rc_->attempts = (unsigned)num(res, r, 7);
			rc_->next_try = (time_t)num(res, r, 8);
			rc_->last_error = str_or_null(res, r, 9);
		}
	/* a gap in idx (not written by us): an empty recipient, failed */
	for (int k = 0; k < n; k++)
		for (int i = 0; i < msgs[k]->nrcpt; i++)
			if (msgs[k]->rcpts[i].address == NULL) {
				msgs[k]->rcpts[i].address = xstrdup("");
				msgs[k]->rcpts[i].state = QUEUE_STATE_FAILED;
			}
	PQclear(res);
	return PG_OK;
}

/* ---- submit ------------------------------------------------------------- */

struct submit {
	struct queue_new *m;
	const char	*data;		/* the content, len bytes */
	int		 len;
	struct buf	 copy;		/* data, when it had a file part */
	struct buf	 addrs, orcpts, notifies;
	char		 size[24], ret[8], flags[8], arrival[24];
};

/* The content (memory part, then file part) as one run of bytes, sent
 * as a binary bytea (no hex text of twice its size): the memory part as
 * it is when there is no file part, else both copied into s->copy. */
static int
content_bytes(struct submit *s)
{
	struct queue_new *m = s->m;
	uint64_t done = 0;

	if (m->content_file_len == 0) {
		s->data = m->content != NULL ? m->content : "";
		s->len = (int)m->content_len;
		return 0;
	}
	buf_append(&s->copy, m->content, m->content_len);
	while (done < m->content_file_len) {
		char chunk[65536];
		size_t n = m->content_file_len - done < sizeof(chunk) ?
		    (size_t)(m->content_file_len - done) : sizeof(chunk);

		if (fsutil_pread_all(m->content_fd, chunk, n,
		    m->content_file_off + done) < 0)
			return -1;
		buf_append(&s->copy, chunk, n);
		done += n;
	}
	s->data = s->copy.data;
	s->len = (int)s->copy.len;
	return 0;
}

static enum pg_rc
submit_body(void *arg, char **error_r)
{
	struct submit *s = arg;
	struct queue_msg *m = &s->m->msg;
	char *blob = NULL;
	enum pg_rc rc;

	const char *params[2] = { s->size, s->data };
	const int lens[2] = { -1, s->len };
	PGresult *res;

	rc = pg_query_bin(&res, error_r, "INSERT INTO blobs(size, data) "
	    "VALUES ($1, $2::bytea) RETURNING id", 2, params, lens, false);
	if (rc == PG_OK) {
		blob = xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "INSERT INTO queue(id, sender, "
		    "envid, ret, flags, received, blob_id) VALUES ($1, $2, $3, "
		    "$4, $5, to_timestamp($6::bigint), $7)", 7, m->id,
		    m->sender, m->envid, s->ret, s->flags, s->arrival, blob);
	free(blob);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "INSERT INTO queue_rcpts(queue_id, "
		    "idx, address, orcpt, notify) SELECT $1, u.n - 1, u.a, "
		    "u.o, u.f FROM unnest($2::text[], $3::text[], "
		    "$4::smallint[]) WITH ORDINALITY AS u(a, o, f, n)", 4,
		    m->id, buf_cstr(&s->addrs), buf_cstr(&s->orcpts),
		    buf_cstr(&s->notifies));
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "SELECT pg_notify($1, $2)", 2,
		    QUEUE_PG_CHANNEL, m->id);
	return rc;
}

int
queue_pg_submit(struct queue_new *m, char **error_r)
{
	struct submit s = { .m = m };
	struct queue_msg *msg = &m->msg;
	char **a, **o;
	int rc;

	if (msg->id[0] == '\0')
		log_new_id(msg->id);
	if (msg->arrival == 0)
		msg->arrival = time(NULL);
	msg->size = m->content_len + m->content_file_len;
	if (m->content_len + m->content_file_len > QUEUE_CONTENT_MAX ||
	    queue_msg_check(msg, msg->size) < 0 ||
	    (m->content == NULL && m->content_len > 0)) {
		*error_r = xstrdup("queue: a bad message (id, recipients or "
		    "a size past the limits)");
		return PG_ERROR;
	}
	if (msg->size > PG_BYTEA_MAX) {
		*error_r = xasprintf("queue: %zu bytes are more than a bytea "
		    "holds", msg->size);
		return PG_ERROR;
	}
	buf_init(&s.copy, 0);
	if (content_bytes(&s) < 0) {
		*error_r = xasprintf("queue: reading the content: %s",
		    strerror(errno));
		buf_free(&s.copy);
		return PG_ERROR;
	}
	a = xcalloc((size_t)msg->nrcpt, sizeof(*a));
	o = xcalloc((size_t)msg->nrcpt, sizeof(*o));
	buf_init(&s.addrs, 0);
	buf_init(&s.orcpts, 0);
	buf_init(&s.notifies, 0);
	buf_putc(&s.notifies, '{');
	for (int i = 0; i < msg->nrcpt; i++) {
		a[i] = msg->rcpts[i].address;
		o[i] = msg->rcpts[i].orcpt;
		buf_printf(&s.notifies, "%s%u", i ? "," : "",
		    msg->rcpts[i].notify);
	}
	buf_putc(&s.notifies, '}');
	queue_pg_array(&s.addrs, a, msg->nrcpt);
	queue_pg_array(&s.orcpts, o, msg->nrcpt);
	free(a);
	free(o);
	snprintf(s.size, sizeof(s.size), "%zu", msg->size);
	snprintf(s.ret, sizeof(s.ret), "%d", msg->ret);
	snprintf(s.flags, sizeof(s.flags), "%d",
	    (msg->eightbit ? QF_8BIT : 0) | (msg->smtputf8 ? QF_SMTPUTF8 : 0) |
	    (msg->requiretls ? QF_REQUIRETLS : 0) |
	    (msg->tls_optional ? QF_TLSOPT : 0));
	snprintf(s.arrival, sizeof(s.arrival), "%lld",
	    (long long)msg->arrival);
	rc = pg_tx(submit_body, &s, error_r);
	buf_free(&s.copy);
	buf_free(&s.addrs);
	buf_free(&s.orcpts);
	buf_free(&s.notifies);
	return rc;
}

/* ---- take --------------------------------------------------------------- */

struct take {
	struct queue_msg **msgs;
	int		 max, n;
};

static void
take_clear(struct take *t)
{
	for (int i = 0; i < t->n; i++)
		queue_pg_msg_drop(&t->msgs[i]);
	t->n = 0;
}

static enum pg_rc
take_body(void *arg, char **error_r)
{
	struct take *t = arg;
	char max[16], secs[16];
	PGresult *res;
	enum pg_rc rc;

	take_clear(t);		/* a retried body starts over */
	snprintf(max, sizeof(max), "%d", t->max);
	pthread_mutex_lock(&qp.lock);
	snprintf(secs, sizeof(secs), "%u", qp.lease);
	pthread_mutex_unlock(&qp.lock);
	rc = pg_query(&res, error_r, "WITH due AS (SELECT id FROM queue "
	    "WHERE next_attempt <= now() AND (lease_until IS NULL OR "
	    "lease_until < now()) ORDER BY next_attempt LIMIT $1 "
	    "FOR UPDATE SKIP LOCKED) "
	    "UPDATE queue q SET lease_owner = $2, lease_until = now() + "
	    "make_interval(secs => $3::int), next_attempt = now() + "
	    "make_interval(secs => $3::int) FROM due WHERE q.id = due.id "
	    "RETURNING " QUEUE_PG_ENV_COLS, 3, max, qp.node, secs);
	if (rc != PG_OK)
		return rc;
	for (int r = 0; r < PQntuples(res) && t->n < t->max; r++) {
		struct queue_msg *m = xcalloc(1, sizeof(*m));

		queue_pg_envelope(m, res, r);
		t->msgs[t->n++] = m;
	}
	PQclear(res);
	return t->n > 0 ? queue_pg_load_rcpts(t->msgs, t->n, error_r) : PG_OK;
}

int
queue_pg_take_due(struct queue_msg **msgs, int max, char **error_r)
{
	struct take t = { .msgs = msgs, .max = max };
	int rc;

	if (max <= 0)
		return 0;
	rc = pg_tx(take_body, &t, error_r);
	if (rc != PG_OK) {
		take_clear(&t);
		return rc;
	}
	for (int i = 0; i < t.n; i++)
		held_add(msgs[i]->id);
	return t.n;
}
