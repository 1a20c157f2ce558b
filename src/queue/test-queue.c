/*
 * test-queue - unit tests for src/queue: submit, take_due order, report
 * and backoff, lifetime expiry, restart recovery, torn and damaged
 * records, del, flush, list, flags, the schedule and the record parser.
 *
 * Trust: test code. Each test gets a fresh data_dir under $TMPDIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "queue/queue_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define T0	((time_t)1700000000)

static struct loop *tloop;
static char *tdir;

/* ---- fixtures --------------------------------------------------------- */

static void teardown(void);

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
setup(unsigned retry_base, unsigned lifetime)
{
	char tmpl[] = "/tmp/tem-test-queue.XXXXXX";
	char *err = NULL;

	if (tdir)		/* the last test failed half way */
		teardown();
	if (mkdtemp(tmpl) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	tdir = xstrdup(tmpl);
	if (queue_init(tdir, retry_base, lifetime, &err) < 0)
		log_fatal("queue_init: %s", err);
}

static void
teardown(void)
{
	queue_shutdown();
	nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	XFREE(&tdir);
}

/* Stops and starts the queue on the same dir, as after kill -9 (the
 * in-memory schedule is lost; nothing else is done in between). */
static int
restart(void)
{
	char *err = NULL;
	int r;

	queue_shutdown();
	r = queue_init(tdir, 60, 5 * 86400, &err);
	free(err);
	return r;
}

static char *
path_of(const char *sub, const char *id)
{
	return xasprintf("%s/queue/%s/%s", tdir, sub, id);
}

static bool
exists(const char *sub, const char *id)
{
	char *p = path_of(sub, id);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static off_t
file_size(const char *id)
{
	char *p = path_of("msg", id);
	struct stat st;
	off_t r = stat(p, &st) == 0 ? st.st_size : -1;

	free(p);
	return r;
}

struct sub {
	int	error;
	bool	done;
};

static void
on_done(struct queue_new *m, int error, void *arg)
{
	struct sub *s = arg;

	(void)m;
	s->error = error;
	s->done = true;
	loop_break(tloop);
}

/* Submits a message through the committer and waits on the loop.
 * rcpts: NULL-terminated. Returns the error; the id in id_r. */
static int
submit(time_t arrival, const char *sender, const char *const *rcpts,
    const char *content, char id_r[17])
{
	struct queue_new m;
	struct sub s = { 0, false };
	int n = 0;

	memset(&m, 0, sizeof(m));
	while (rcpts[n])
		n++;
	m.msg.arrival = arrival;
	m.msg.sender = xstrdup(sender);
	m.msg.envid = xstrdup("env-1");
	m.msg.ret = QUEUE_RET_HDRS;
	m.msg.eightbit = true;
	m.msg.nrcpt = n;
	m.msg.rcpts = n ? xcalloc((size_t)n, sizeof(*m.msg.rcpts)) : NULL;
	for (int i = 0; i < n; i++) {
		m.msg.rcpts[i].address = xstrdup(rcpts[i]);
		m.msg.rcpts[i].notify = QUEUE_NOTIFY_FAILURE;
		if (i == 0)
			m.msg.rcpts[i].orcpt = xasprintf("rfc822;%s", rcpts[i]);
	}
	m.content = content;
	m.content_len = strlen(content);
	queue_submit(&m, tloop, on_done, &s);
	loop_run(tloop);
	if (id_r)
		memcpy(id_r, m.msg.id, 17);
	queue_msg_clear(&m.msg);
	return s.done ? s.error : -1;
}

static const char *const two[] = { "bob@b.test", "carol@c.test", NULL };
static const char *const one[] = { "dave@d.test", NULL };
static const char *const three[] = { "x@x.test", "y@y.test", "z@z.test",
    NULL };
static const char body[] = "Subject: hi\n\nhello\n.dot line\n";

/* Takes exactly one message due at now; NULL when it is not one. */
static struct queue_msg *
take1(time_t now)
{
	struct queue_msg *m[1];

	return queue_take_due(now, m, 1) == 1 ? m[0] : NULL;
}

static bool
wait_gone(const char *id)
{
	for (int i = 0; i < 300 && exists("msg", id); i++)
		usleep(10000);
	return !exists("msg", id);
}

/* ---- tests ----------------------------------------------------------- */

static void
scan_append(const char *p, size_t n, void *arg)
{
	buf_append(arg, p, n);
}

/* The streaming view of a content: the scan sees every byte once, in
 * order; pieces read back at any offset; reads past the end fail. */
static void
check_open_content(const char *id, const char *want)
{
	struct queue_content qc;
	struct buf seen;
	char piece[4];
	size_t len = strlen(want);

	buf_init(&seen, 0);
	TEST_ASSERT(queue_open_content(id, scan_append, &seen, &qc) == 0);
	TEST_ASSERT(qc.fd >= 0 && qc.len == len);
	TEST_ASSERT(seen.len == len && memcmp(seen.data, want, len) == 0);
	TEST_ASSERT(len > 4 && queue_content_read(&qc, 1, piece, 3) == 0 &&
	    memcmp(piece, want + 1, 3) == 0);
	TEST_ASSERT(queue_content_read(&qc, len - 2, piece, 3) < 0 &&
	    errno == EINVAL);
	queue_content_close(&qc);
	TEST_ASSERT(qc.fd == -1);
	buf_free(&seen);
	TEST_ASSERT(queue_open_content("0000000000000000", NULL, NULL,
	    &qc) < 0 && errno == ENOENT && qc.fd == -1);
}

static void
test_submit_read(void)
{
	char id[17], *c = NULL;
	size_t len;
	struct queue_msg *m;

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "", two, body, id) == 0);
	TEST_ASSERT(queue_id_valid(id));
	TEST_ASSERT(exists("msg", id));
	TEST_ASSERT(queue_count() == 1);
	TEST_ASSERT(queue_next_due() == T0);
	m = take1(T0);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT_STREQ(m->id, id);
	TEST_ASSERT_STREQ(m->sender, "");
	TEST_ASSERT_STREQ(m->envid, "env-1");
	TEST_ASSERT(m->ret == QUEUE_RET_HDRS && m->eightbit && !m->smtputf8);
	TEST_ASSERT(m->arrival == T0 && m->size == strlen(body));
	TEST_ASSERT(m->nrcpt == 2);
	TEST_ASSERT_STREQ(m->rcpts[0].address, "bob@b.test");
	TEST_ASSERT_STREQ(m->rcpts[0].orcpt, "rfc822;bob@b.test");
	TEST_ASSERT(m->rcpts[1].orcpt == NULL);
	TEST_ASSERT(m->rcpts[1].notify == QUEUE_NOTIFY_FAILURE);
	TEST_ASSERT(m->rcpts[1].state == QUEUE_STATE_PENDING);
	TEST_ASSERT(m->rcpts[1].next_try == T0 && m->rcpts[1].attempts == 0);
	TEST_ASSERT(queue_read_content(id, &c, &len) == 0);
	TEST_ASSERT(len == strlen(body) && memcmp(c, body, len) == 0);
	free(c);
	check_open_content(id, body);
	/* in flight: not handed out twice; freed unreported: ready again */
	TEST_ASSERT(take1(T0 + 1000) == NULL);
	TEST_ASSERT(queue_next_due() == 0);
	queue_msg_free(&m);
	TEST_ASSERT(m == NULL);
	m = take1(T0);
	TEST_ASSERT(m != NULL);
	queue_msg_free(&m);
	TEST_ASSERT(queue_read_content("0000000000000000", &c, &len) < 0 &&
	    errno == ENOENT);
	teardown();
}

static void
test_submit_invalid(void)
{
	const char *const none[] = { NULL };
	char id[17];

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "a@a.test", none, body, id) == EINVAL);
	TEST_ASSERT(!exists("msg", id));
	TEST_ASSERT(queue_count() == 0);
	teardown();
}

static void
on_done_direct(struct queue_new *m, int error, void *arg)
{
	(void)m;
	*(int *)arg = error;
}

/* A submit racing with shutdown is refused, never lost or stuck. */
static void
test_submit_stopped(void)
{
	struct queue_new m;
	struct queue_rcpt r = { 0 };
	int error = -1;

	setup(60, 3600);
	queue_shutdown();
	memset(&m, 0, sizeof(m));
	r.address = "x@x.test";		/* not freed: queue_msg_clear unused */
	m.msg.sender = "";
	m.msg.nrcpt = 1;
	m.msg.rcpts = &r;
	m.content = body;
	m.content_len = strlen(body);
	queue_submit(&m, NULL, on_done_direct, &error);
	TEST_ASSERT(error == ESHUTDOWN);
	teardown();
}

static void
test_take_order(void)
{
	char a[17], b[17], c[17];
	struct queue_msg *m[8];

	setup(60, 3600);
	TEST_ASSERT(submit(T0 + 30, "a@a.test", one, body, a) == 0);
	TEST_ASSERT(submit(T0 + 10, "a@a.test", one, body, b) == 0);
	TEST_ASSERT(submit(T0 + 20, "a@a.test", one, body, c) == 0);
	TEST_ASSERT(queue_next_due() == T0 + 10);
	TEST_ASSERT(queue_take_due(T0 + 5, m, 8) == 0);
	TEST_ASSERT(queue_take_due(T0 + 15, m, 8) == 1);
	TEST_ASSERT_STREQ(m[0]->id, b);
	queue_msg_free(&m[0]);
	TEST_ASSERT(queue_take_due(T0 + 100, m, 2) == 2);
	TEST_ASSERT_STREQ(m[0]->id, b);
	TEST_ASSERT_STREQ(m[1]->id, c);
	TEST_ASSERT(queue_next_due() == T0 + 30);
	TEST_ASSERT(queue_take_due(T0 + 100, m + 2, 8) == 1);
	TEST_ASSERT_STREQ(m[2]->id, a);
	for (int i = 0; i < 3; i++)
		queue_msg_free(&m[i]);
	teardown();
}

static void
test_backoff(void)
{
	static const time_t want[] = { 60, 120, 240, 480, 960, 1920, 3600,
	    3600 };
	int res[1] = { QUEUE_RCPT_DEFERRED };
	char *text[1] = { "host mx.d.test[127.0.0.3] said: 451 4.3.0 later" };
	char id[17];
	struct queue_msg *m;
	time_t now = T0;

	setup(60, 30 * 86400);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, id) == 0);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		m = take1(now);
		TEST_ASSERT(m != NULL);
		TEST_ASSERT(queue_report_at(m, res, text, now) == 1);
		TEST_ASSERT(m->rcpts[0].attempts == i + 1);
		TEST_ASSERT(m->rcpts[0].next_try == now + want[i]);
		TEST_ASSERT_STREQ(m->rcpts[0].last_error, text[0]);
		TEST_ASSERT(queue_next_due() == now + want[i]);
		queue_msg_free(&m);
		TEST_ASSERT(take1(now + want[i] - 1) == NULL);
		now += want[i];
	}
	/* the reply text is kept, cut to QUEUE_TEXT_MAX */
	m = take1(now);
	TEST_ASSERT(m != NULL);
	text[0] = xmalloc(5000);
	memset(text[0], 'x', 4999);
	TEST_ASSERT(queue_report_at(m, res, text, now) == 1);
	TEST_ASSERT(strlen(m->rcpts[0].last_error) == QUEUE_TEXT_MAX);
	free(text[0]);
	queue_msg_free(&m);
	teardown();
}

static void
test_expiry(void)
{
	int res[1] = { QUEUE_RCPT_DEFERRED };
	char *text[1] = { "451 4.3.0 try later" };
	char id[17];
	struct queue_msg *m;

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, id) == 0);
	m = take1(T0 + 3590);
	TEST_ASSERT(m != NULL);
	/* the backoff would pass arrival + lifetime: one last try then */
	TEST_ASSERT(queue_report_at(m, res, text, T0 + 3590) == 1);
	TEST_ASSERT(m->rcpts[0].next_try == T0 + 3600);
	queue_msg_free(&m);
	m = take1(T0 + 3600);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(queue_report_at(m, res, text, T0 + 3600) == 0);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_FAILED);
	TEST_ASSERT_STREQ(m->rcpts[0].last_error, "delivery time expired; "
	    "last error: 451 4.3.0 try later");
	/* finished: stays in flight until freed, then removed */
	TEST_ASSERT(take1(T0 + 99999) == NULL);
	TEST_ASSERT(exists("msg", id));
	queue_msg_free(&m);
	TEST_ASSERT(queue_count() == 0);
	TEST_ASSERT(wait_gone(id));
	teardown();
}

static void
test_mixed_results(void)
{
	int res[3] = { QUEUE_RCPT_DELIVERED, QUEUE_RCPT_FAILED,
	    QUEUE_RCPT_DEFERRED };
	char *text[3] = { "250 ok", "550 5.1.1 no such user", NULL };
	char id[17];
	struct queue_msg *m;

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "a@a.test", three, body, id) == 0);
	m = take1(T0);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(queue_report_at(m, res, text, T0) == 1);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_DELIVERED);
	TEST_ASSERT(m->rcpts[1].state == QUEUE_STATE_FAILED);
	TEST_ASSERT_STREQ(m->rcpts[1].last_error, "550 5.1.1 no such user");
	TEST_ASSERT(m->rcpts[2].state == QUEUE_STATE_PENDING);
	TEST_ASSERT(m->rcpts[2].last_error == NULL);
	queue_msg_free(&m);
	/* results for final recipients are ignored */
	m = take1(T0 + 60);
	TEST_ASSERT(m != NULL);
	res[0] = res[1] = QUEUE_RCPT_DEFERRED;
	res[2] = QUEUE_RCPT_NONE;
	TEST_ASSERT(queue_report_at(m, res, text, T0 + 60) == 1);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_DELIVERED);
	TEST_ASSERT(m->rcpts[0].attempts == 1);
	TEST_ASSERT(m->rcpts[2].attempts == 1);
	/* unattempted pending recipient keeps its time: due again */
	TEST_ASSERT(queue_next_due() == T0 + 60);
	queue_msg_free(&m);
	teardown();
}

static void
test_restart(void)
{
	int res[2] = { QUEUE_RCPT_DELIVERED, QUEUE_RCPT_DEFERRED };
	char *text[2] = { "250 2.0.0 ok", "451 4.3.0 later" };
	char id[17], id2[17];
	struct queue_msg *m, *two_m[4];
	int fd;
	char *p;

	setup(60, 5 * 86400);
	TEST_ASSERT(submit(T0, "a@a.test", two, body, id) == 0);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, id2) == 0);
	m = take1(T0);
	TEST_ASSERT(m != NULL && strcmp(m->id, id) == 0);
	TEST_ASSERT(queue_report_at(m, res, text, T0) == 1);
	queue_msg_free(&m);
	/* both in flight when the "crash" comes */
	m = take1(T0 + 60);
	TEST_ASSERT(m != NULL);
	queue_msg_clear(m);
	free(m);
	m = take1(T0 + 60);
	TEST_ASSERT(m != NULL);
	queue_msg_clear(m);
	free(m);
	TEST_ASSERT(queue_next_due() == 0);
	p = path_of("tmp", "1111111111111111");	/* an unfinished submit */
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	TEST_ASSERT(fd >= 0);
	close(fd);
	free(p);
	TEST_ASSERT(restart() == 0);
	TEST_ASSERT(!exists("tmp", "1111111111111111"));
	TEST_ASSERT(queue_count() == 2);
	TEST_ASSERT(queue_next_due() == T0);	/* id2, never attempted */
	TEST_ASSERT(queue_take_due(T0 + 60, two_m, 4) == 2);
	TEST_ASSERT_STREQ(two_m[0]->id, id2);
	queue_msg_free(&two_m[0]);
	m = two_m[1];
	TEST_ASSERT_STREQ(m->id, id);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_DELIVERED);
	TEST_ASSERT_STREQ(m->rcpts[0].last_error, "250 2.0.0 ok");
	TEST_ASSERT(m->rcpts[1].state == QUEUE_STATE_PENDING);
	TEST_ASSERT(m->rcpts[1].attempts == 1);
	TEST_ASSERT(m->rcpts[1].next_try == T0 + 60);
	/* delivered is not attempted again: a report for it changes nothing */
	res[0] = QUEUE_RCPT_FAILED;
	res[1] = QUEUE_RCPT_DELIVERED;
	TEST_ASSERT(queue_report_at(m, res, text, T0 + 60) == 0);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_DELIVERED);
	queue_msg_clear(m);	/* "crash" before the removal */
	free(m);
	TEST_ASSERT(restart() == 0);
	/* none pending: due at once (at start), for the caller to finish */
	TEST_ASSERT(queue_take_due(time(NULL), two_m, 4) == 2);
	TEST_ASSERT_STREQ(two_m[0]->id, id2);
	queue_msg_free(&two_m[0]);
	m = two_m[1];
	TEST_ASSERT_STREQ(m->id, id);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_DELIVERED &&
	    m->rcpts[1].state == QUEUE_STATE_DELIVERED);
	queue_msg_free(&m);
	TEST_ASSERT(wait_gone(id));
	teardown();
}

/* A report finishing on a worker after shutdown still lands on disk. */
static void
test_report_after_shutdown(void)
{
	int res[1] = { QUEUE_RCPT_DEFERRED };
	char *text[1] = { "451 late" };
	char id[17];
	struct queue_msg *m;

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, id) == 0);
	m = take1(T0);
	TEST_ASSERT(m != NULL);
	queue_shutdown();
	TEST_ASSERT(queue_report_at(m, res, text, T0) == 1);
	queue_msg_free(&m);
	TEST_ASSERT(queue_count() == 0);
	TEST_ASSERT(restart() == 0);
	m = take1(T0 + 60);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(m->rcpts[0].attempts == 1);
	TEST_ASSERT_STREQ(m->rcpts[0].last_error, "451 late");
	queue_msg_free(&m);
	teardown();
}

/* Appends bytes to a message file, as a crash mid-append leaves it. */
static void
append_raw(const char *id, const void *p, size_t n)
{
	char *path = path_of("msg", id);
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		log_fatal("append_raw %s", path);
	close(fd);
	free(path);
}

static void
test_torn_tail(void)
{
	int res[1] = { QUEUE_RCPT_DEFERRED }, idx[1] = { 0 };
	char *text[1] = { "451 first" };
	char id[17];
	struct queue_msg *m;
	struct buf b;
	off_t good;

	setup(60, 5 * 86400);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, id) == 0);
	m = take1(T0);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(queue_report_at(m, res, text, T0) == 1);
	good = file_size(id);
	/* a second record marking it delivered, torn half way */
	m->rcpts[0].state = QUEUE_STATE_DELIVERED;
	buf_init(&b, 0);
	queue_state_encode(&b, m, idx, 1);
	append_raw(id, b.data, b.len / 2);
	queue_msg_clear(m);
	free(m);
	TEST_ASSERT(restart() == 0);
	TEST_ASSERT(file_size(id) == good);	/* cut back at start */
	m = take1(T0 + 60);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(m->rcpts[0].state == QUEUE_STATE_PENDING);
	TEST_ASSERT(m->rcpts[0].attempts == 1);
	TEST_ASSERT_STREQ(m->rcpts[0].last_error, "451 first");
	/* a whole record with a bad checksum is torn as well */
	b.data[b.len - 1] ^= 0x55;
	append_raw(id, b.data, b.len);
	/* the next report goes after the good records, not the garbage */
	text[0] = "451 second";
	TEST_ASSERT(queue_report_at(m, res, text, T0 + 60) == 1);
	queue_msg_clear(m);
	free(m);
	buf_free(&b);
	TEST_ASSERT(restart() == 0);
	m = take1(T0 + 1000);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(m->rcpts[0].attempts == 2);
	TEST_ASSERT_STREQ(m->rcpts[0].last_error, "451 second");
	queue_msg_free(&m);
	teardown();
}

static void
test_damaged(void)
{
	static const char junk[] = "not a queue file at all\n";
	char id[17], *p, *c;
	size_t len;
	struct queue_listing *list;
	size_t n;
	char *err = NULL;
	int fd;

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, id) == 0);
	p = path_of("msg", "00000000000000aa");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	TEST_ASSERT(fd >= 0 && write(fd, junk, sizeof(junk)) > 0);
	close(fd);
	free(p);
	/* list shows it as damaged, without touching it */
	TEST_ASSERT(queue_admin_list(tdir, &list, &n, &err) == 0);
	TEST_ASSERT(n == 2);
	TEST_ASSERT_STREQ(list[0].msg.id, id);
	TEST_ASSERT(list[0].damaged == NULL);
	TEST_ASSERT_STREQ(list[1].msg.id, "00000000000000aa");
	TEST_ASSERT(list[1].damaged != NULL);
	queue_listing_free(list, n);
	TEST_ASSERT(restart() == 0);
	TEST_ASSERT(queue_count() == 1);
	TEST_ASSERT(exists("corrupt", "00000000000000aa"));
	/* a flipped content byte: detected on read, moved away */
	p = path_of("msg", id);
	fd = open(p, O_RDWR);
	TEST_ASSERT(fd >= 0);
	TEST_ASSERT(pwrite(fd, "X", 1, file_size(id) - 6) == 1);
	close(fd);
	free(p);
	TEST_ASSERT(queue_read_content(id, &c, &len) < 0 && errno == EBADMSG);
	TEST_ASSERT(exists("corrupt", id) && !exists("msg", id));
	TEST_ASSERT(queue_count() == 0);
	teardown();
}

static void
test_del(void)
{
	int res[1] = { QUEUE_RCPT_DELIVERED };
	char a[17], b[17], up[17], *err = NULL;
	struct queue_msg *m;

	setup(60, 3600);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, a) == 0);
	TEST_ASSERT(submit(T0, "a@a.test", one, body, b) == 0);
	TEST_ASSERT(queue_admin_del(tdir, a, &err) == 0);
	TEST_ASSERT(!exists("msg", a));
	m = take1(T0);		/* a is dropped when taken */
	TEST_ASSERT(m != NULL && strcmp(m->id, b) == 0);
	TEST_ASSERT(queue_count() == 1);
	TEST_ASSERT(queue_admin_del(tdir, a, &err) < 0);
	TEST_ASSERT(strstr(err, "no message") != NULL);
	XFREE(&err);
	TEST_ASSERT(queue_admin_del(tdir, "xyz", &err) < 0);
	XFREE(&err);
	/* deleted while in flight: the report says so, it is dropped */
	for (int i = 0; i < 17; i++)
		up[i] = (b[i] >= 'a' && b[i] <= 'f') ? (char)(b[i] - 32) : b[i];
	TEST_ASSERT(queue_admin_del(tdir, up, &err) == 0);
	TEST_ASSERT(queue_report_at(m, res, NULL, T0) < 0 && errno == ENOENT);
	TEST_ASSERT(queue_count() == 0);
	queue_msg_free(&m);
	teardown();
}

static atomic_int wakeups;

static void
on_wakeup(void *arg)
{
	(void)arg;
	atomic_fetch_add(&wakeups, 1);
}

static void
test_flush(void)
{
	int res[1] = { QUEUE_RCPT_DEFERRED };
	char id[17], *err = NULL;
	struct queue_msg *m;
	time_t now = time(NULL);
	bool seen = false;

	setup(60, 3600);
	queue_set_wakeup(on_wakeup, NULL);
	TEST_ASSERT(submit(now, "a@a.test", one, body, id) == 0);
	TEST_ASSERT(atomic_load(&wakeups) == 1);
	m = take1(now);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(queue_report_at(m, res, NULL, now) == 1);
	queue_msg_free(&m);
	TEST_ASSERT(take1(now) == NULL);
	TEST_ASSERT(queue_admin_flush(tdir, &err) == 0);
	for (int i = 0; i < 300 && !seen; i++) {
		usleep(10000);
		seen = queue_flush_requested();
	}
	TEST_ASSERT(seen);	/* within a second or so */
	/* the committer marks the request, then wakes: wait for both */
	for (int i = 0; i < 300 && atomic_load(&wakeups) < 2; i++)
		usleep(10000);
	TEST_ASSERT(atomic_load(&wakeups) == 2);
	TEST_ASSERT(!exists("", "flush"));
	m = take1(time(NULL));
	TEST_ASSERT(m != NULL);
	queue_msg_free(&m);
	teardown();
}

static void
test_list_flags(void)
{
	int idx[1] = { 1 };
	char a[17], b[17], *err = NULL;
	struct queue_listing *list;
	struct queue_msg *m;
	size_t n;

	setup(60, 3600);
	TEST_ASSERT(queue_admin_list(tdir, &list, &n, &err) == 0 && n == 0);
	queue_listing_free(list, n);
	TEST_ASSERT(submit(T0 + 5, "a@a.test", one, body, a) == 0);
	TEST_ASSERT(submit(T0, "b@a.test", two, body, b) == 0);
	TEST_ASSERT(queue_admin_list(tdir, &list, &n, &err) == 0 && n == 2);
	TEST_ASSERT_STREQ(list[0].msg.id, b);	/* by arrival */
	TEST_ASSERT_STREQ(list[0].msg.sender, "b@a.test");
	TEST_ASSERT(list[0].msg.nrcpt == 2);
	TEST_ASSERT_STREQ(list[1].msg.id, a);
	queue_listing_free(list, n);
	m = take1(T0);
	TEST_ASSERT(m != NULL && strcmp(m->id, b) == 0);
	TEST_ASSERT(queue_set_rcpt_flags(m, idx, 1, QUEUE_RF_DELAY_DSN) == 0);
	TEST_ASSERT(m->rcpts[1].flags == QUEUE_RF_DELAY_DSN);
	idx[0] = 2;
	TEST_ASSERT(queue_set_rcpt_flags(m, idx, 1, QUEUE_RF_DELAY_DSN) < 0);
	queue_msg_clear(m);
	free(m);
	TEST_ASSERT(restart() == 0);
	m = take1(T0);
	TEST_ASSERT(m != NULL && strcmp(m->id, b) == 0);
	TEST_ASSERT(m->rcpts[1].flags == QUEUE_RF_DELAY_DSN);
	TEST_ASSERT(m->rcpts[0].flags == 0);
	queue_msg_free(&m);
	teardown();
}

/* The schedule alone: many keys, removals, order, flush. */
static void
test_sched(void)
{
	enum { N = 20000 };
	uint64_t *keys = xcalloc(N, sizeof(*keys)), k[64];
	uint32_t g[64];
	time_t last = 0;
	int got = 0, n;
	unsigned x = 12345;

	queue_sched_init();
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		keys[i] = ((uint64_t)x << 32) ^ (uint64_t)i * 0x9e3779b97f4a7c15ULL;
		queue_sched_add(keys[i], 1000 + (time_t)(x % 5000));
	}
	TEST_ASSERT(queue_sched_count() == N);
	for (int i = 0; i < N; i += 2)
		queue_sched_remove(keys[i]);
	TEST_ASSERT(queue_sched_count() == N / 2);
	queue_sched_flush(3000);
	TEST_ASSERT(queue_sched_next() >= 1000 && queue_sched_next() <= 3000);
	while ((n = queue_sched_take(1 << 30, k, g, 64)) > 0)
		got += n;
	TEST_ASSERT(got == N / 2);
	TEST_ASSERT(queue_sched_next() == 0);
	/* released ones come back; order is by time */
	for (int i = 1; i < N; i += 2)
		queue_sched_remove(keys[i]);
	for (int i = 0; i < 1000; i++)
		queue_sched_add(keys[i], 5000 - i);
	for (int i = 0; i < 1000; i++) {
		time_t t = queue_sched_next();
		TEST_ASSERT(queue_sched_take(1 << 30, k, g, 1) == 1);
		TEST_ASSERT(t >= last);
		last = t;
		if (i == 0)
			TEST_ASSERT(!queue_sched_release(k[0], g[0] + 1, 1));
	}
	free(keys);
	queue_sched_free();
}

/* Builds a file image: head, content, two state records. */
static void
make_image(struct buf *b, struct queue_msg *m)
{
	uint8_t hdr[QUEUE_REC_HDR];
	int idx[2] = { 0, 1 };

	memset(m, 0, sizeof(*m));
	memcpy(m->id, "0123456789abcdef", 17);
	m->arrival = T0;
	m->sender = xstrdup("s@a.test");
	m->nrcpt = 2;
	m->rcpts = xcalloc(2, sizeof(*m->rcpts));
	m->rcpts[0].address = xstrdup("r0@b.test");
	m->rcpts[1].address = xstrdup("r1@b.test");
	buf_init(b, 0);
	buf_append(b, QUEUE_MAGIC, QUEUE_MAGIC_LEN);
	queue_envelope_encode(b, m);
	queue_rec_append(b, QUEUE_REC_CONTENT, body, strlen(body));
	(void)hdr;
	m->rcpts[0].state = QUEUE_STATE_DELIVERED;
	m->rcpts[0].attempts = 1;
	m->rcpts[0].last_error = xstrdup("250 ok");
	queue_state_encode(b, m, idx, 1);
	m->rcpts[1].attempts = 1;
	m->rcpts[1].next_try = T0 + 60;
	queue_state_encode(b, m, idx + 1, 1);
}

static void
test_parser(void)
{
	struct queue_msg m, p;
	struct queue_file_info info;
	const char *why;
	struct buf b;
	size_t full_ok = 0;

	make_image(&b, &m);
	TEST_ASSERT(queue_file_parse((uint8_t *)b.data, b.len, &p, &info,
	    &why) == 0);
	TEST_ASSERT(!info.torn && info.nstate == 2 && info.valid_end == b.len);
	TEST_ASSERT(p.rcpts[0].state == QUEUE_STATE_DELIVERED);
	TEST_ASSERT_STREQ(p.rcpts[0].last_error, "250 ok");
	TEST_ASSERT(p.rcpts[1].next_try == T0 + 60);
	queue_msg_clear(&p);
	/* every prefix: a clean error, or a shorter log marked torn */
	for (size_t n = 0; n < b.len; n++) {
		uint8_t *copy = xmemdup(b.data, n ? n : 1);
		if (queue_file_parse(copy, n, &p, &info, &why) == 0) {
			TEST_ASSERT(info.valid_end <= n);
			TEST_ASSERT(info.torn == (info.valid_end != n));
			full_ok++;
			queue_msg_clear(&p);
		}
		free(copy);
	}
	TEST_ASSERT(full_ok > 0);
	/* every byte flipped: never a crash; a damaged head fails */
	for (size_t i = 0; i < b.len; i++) {
		uint8_t *copy = xmemdup(b.data, b.len);
		int r;
		copy[i] ^= 0x41;
		r = queue_file_parse(copy, b.len, &p, &info, &why);
		if (r == 0) {
			TEST_ASSERT(i >= info.tail_off);
			TEST_ASSERT(info.torn);
			queue_msg_clear(&p);
		}
		free(copy);
	}
	queue_msg_clear(&m);
	buf_free(&b);
}

/* The RFC 8689 bits of the envelope (4 REQUIRETLS, 8 TLS-Required: No)
 * round-trip; bits 1|2 alone are what files written before them hold. */
static void
test_tls_flags(void)
{
	struct queue_msg m, p;
	struct queue_file_info info;
	const char *why;
	struct buf b;

	for (int v = 0; v < 16; v++) {
		make_image(&b, &m);
		buf_free(&b);
		m.smtputf8 = v & 1;
		m.eightbit = (v & 2) != 0;
		m.requiretls = (v & 4) != 0;
		m.tls_optional = (v & 8) != 0;
		buf_init(&b, 0);
		buf_append(&b, QUEUE_MAGIC, QUEUE_MAGIC_LEN);
		queue_envelope_encode(&b, &m);
		queue_rec_append(&b, QUEUE_REC_CONTENT, body, strlen(body));
		TEST_ASSERT(queue_file_parse((uint8_t *)b.data, b.len, &p,
		    &info, &why) == 0);
		TEST_ASSERT(p.smtputf8 == m.smtputf8 &&
		    p.eightbit == m.eightbit);
		TEST_ASSERT(p.requiretls == m.requiretls &&
		    p.tls_optional == m.tls_optional);
		queue_msg_clear(&p);
		queue_msg_clear(&m);
		buf_free(&b);
	}
}

int
main(void)
{
	log_init(LOG_ERROR);
	loop_global_init();
	tloop = loop_new();
	TEST_RUN(test_submit_read);
	TEST_RUN(test_submit_invalid);
	TEST_RUN(test_submit_stopped);
	TEST_RUN(test_take_order);
	TEST_RUN(test_backoff);
	TEST_RUN(test_expiry);
	TEST_RUN(test_mixed_results);
	TEST_RUN(test_restart);
	TEST_RUN(test_report_after_shutdown);
	TEST_RUN(test_torn_tail);
	TEST_RUN(test_damaged);
	TEST_RUN(test_del);
	TEST_RUN(test_flush);
	TEST_RUN(test_list_flags);
	TEST_RUN(test_sched);
	TEST_RUN(test_parser);
	TEST_RUN(test_tls_flags);
	loop_free(&tloop);
	return test_done("test-queue");
}
