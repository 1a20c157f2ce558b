/*
 * test-msg - unit tests for the message sink (spool.c) and the commit
 * stage (commit.c), on a real loop, worker pool and committers in a
 * temp dir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg/commit.h"
#include "msg/spool.h"
#include "msg/test-feeder.h"
#include "queue/queue.h"
#include "store/maildir.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* The writer's thread: collects what the tap sees. */
static void
tap_into(void *arg, const char *p, size_t n)
{
	buf_append(arg, p, n);
}

static char *tdir;

/* The first piece after the header: the body is tapped into f->arg. */
static void
tap_once(struct feeder *f)
{
	if (!f->tap_set && msg_spool_head_done(f->sp)) {
		msg_spool_tap(f->sp, tap_into, NULL, f->arg);
		f->tap_set = true;
	}
}

/* Spools data[0..len) in steps of step bytes; returns the spool. */
static struct msg_spool *
spool_tapped(const char *dir, const char *data, size_t len, size_t step,
    unsigned *waits, struct buf *tapped)
{
	return spool_feed(dir, data, len, step, waits,
	    tapped ? tap_once : NULL, tapped);
}

static struct msg_spool *
spool_all(const char *dir, const char *data, size_t len, size_t step,
    unsigned *waits)
{
	return spool_tapped(dir, data, len, step, waits, NULL);
}

static char *
read_fd(int fd, uint64_t off, size_t len)
{
	char *p = xmalloc(len + 1);
	ssize_t r = pread(fd, p, len, (off_t)off);

	if (r != (ssize_t)len) {
		free(p);
		return NULL;
	}
	return p;
}

static char *
make_message(size_t hdr_lines, size_t body)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < hdr_lines; i++)
		buf_printf(&b, "X-Field-%zu: value %zu\n", i, i);
	buf_puts(&b, "\n");
	for (size_t i = 0; b.len < hdr_lines * 20 + body; i++)
		buf_printf(&b, "line %zu of the body, some text to fill it\n", i);
	return buf_steal(&b, NULL);
}

static void
test_spool_roundtrip(void)
{
	char *dir = xasprintf("%s/spool", tdir);	/* made on first write */
	char *msg = make_message(5, 3 << 20), *got;
	size_t len = strlen(msg), hlen;
	const char *head;
	unsigned waits;
	struct msg_spool *sp = spool_all(dir, msg, len, 7777, &waits);

	TEST_ASSERT(msg_spool_error(sp) == 0);
	TEST_ASSERT(msg_spool_size(sp) == len);
	TEST_ASSERT(msg_spool_fd(sp) >= 0);
	got = read_fd(msg_spool_fd(sp), 0, len);
	TEST_ASSERT(got != NULL && memcmp(got, msg, len) == 0);
	head = msg_spool_head(sp, &hlen);
	TEST_ASSERT(hlen == (size_t)(strstr(msg, "\n\n") - msg) + 2);
	TEST_ASSERT(memcmp(head, msg, hlen) == 0);
	msg_spool_free(&sp);
	TEST_ASSERT(sp == NULL);
	free(got);
	free(msg);
	free(dir);
}

/* The tap sees exactly the body, in order, whatever the pieces. */
static void
test_spool_tap(void)
{
	char *msg = make_message(40, 700000);
	size_t len = strlen(msg), hlen;
	struct buf got;
	struct msg_spool *sp;

	buf_init(&got, 0);
	sp = spool_tapped(tdir, msg, len, 333, NULL, &got);
	msg_spool_head(sp, &hlen);
	TEST_ASSERT(msg_spool_untap(sp) == &got);
	TEST_ASSERT(got.len == len - hlen);
	TEST_ASSERT(memcmp(got.data, msg + hlen, got.len) == 0);
	msg_spool_free(&sp);
	buf_free(&got);
	free(msg);
}

/* A header section longer than MSG_HEAD_MAX: the head stops there. */
static void
test_spool_long_header(void)
{
	char *msg = make_message(MSG_HEAD_MAX / 20 + 100, 1000);
	size_t hlen;
	struct msg_spool *sp = spool_all(tdir, msg, strlen(msg), 65536, NULL);

	msg_spool_head(sp, &hlen);
	TEST_ASSERT(hlen == MSG_HEAD_MAX);
	TEST_ASSERT(msg_spool_size(sp) == strlen(msg));
	msg_spool_free(&sp);
	free(msg);
}

/* No header end at all, and the empty message. */
static void
test_spool_edges(void)
{
	size_t hlen;
	struct msg_spool *sp = spool_all(tdir, "Subject: x\n", 11, 3, NULL);

	msg_spool_head(sp, &hlen);
	TEST_ASSERT(hlen == 11);
	msg_spool_free(&sp);
	sp = spool_all(tdir, "", 0, 1, NULL);
	TEST_ASSERT(msg_spool_size(sp) == 0 && msg_spool_fd(sp) < 0);
	TEST_ASSERT(msg_spool_error(sp) == 0);
	msg_spool_free(&sp);
	sp = spool_all(tdir, "\nbody\n", 6, 1, NULL);
	msg_spool_head(sp, &hlen);
	TEST_ASSERT(hlen == 1);
	msg_spool_free(&sp);
}

/* A spool that cannot be written: the error is kept, input still taken. */
static void
test_spool_error(void)
{
	char *msg = make_message(2, 200000);
	char *dir = xasprintf("%s/nodir/deeper", tdir);
	struct msg_spool *sp = spool_all(dir, msg, strlen(msg), 50000, NULL);

	TEST_ASSERT(msg_spool_error(sp) == ENOENT);
	TEST_ASSERT(msg_spool_size(sp) == strlen(msg));
	msg_spool_free(&sp);
	free(dir);
	free(msg);
}

/* Freed while a write is in flight: the write finishes alone. */
static void
test_spool_free_in_flight(void)
{
	struct msg_spool *sp = msg_spool_new(tloop, tdir, feed_ready, NULL);
	struct buf *b;
	size_t room, old;

	b = msg_spool_buf(sp, &room);
	old = b->len;
	while (b->len < MSG_SPOOL_BUF - 10)
		buf_puts(b, "0123456789");
	msg_spool_wrote(sp, old);
	TEST_ASSERT(msg_spool_flush(sp));	/* the write starts */
	msg_spool_free(&sp);
	worker_pool_stop();			/* runs it; done is posted */
	worker_pool_start(2);
	loop_post(tloop, (void (*)(void *))loop_break, tloop);
	loop_run(tloop);			/* leak check: it was freed */
}

/* ---- the commit stage -------------------------------------------------- */

struct done_rec {
	bool	done;
	int	error;
};

static void
commit_done(struct msg_commit *c, int error, void *arg)
{
	struct done_rec *d = arg;

	msg_commit_free(&c);
	d->done = true;
	d->error = error;
	loop_break(tloop);
}

static char *
slurp(const char *path, size_t *len_r)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *p;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = read_fd(fd, 0, (size_t)st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return p;
}

/* One new file in dir/new: its content. */
static char *
the_new_file(const char *box, size_t *len_r)
{
	char *path = xasprintf("%s/new", box), *f = NULL, *c = NULL;
	struct dirent *e;
	DIR *d = opendir(path);

	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			free(f);
			f = xasprintf("%s/%s", path, e->d_name);
		}
	if (d)
		closedir(d);
	if (f)
		c = slurp(f, len_r);
	free(f);
	free(path);
	return c;
}

static void
test_commit_local_and_queue(void)
{
	char *msg = make_message(3, 1 << 20), *box, *want, *got, *qc = NULL;
	size_t len = strlen(msg), hlen, glen, qlen;
	struct msg_spool *sp = spool_all(tdir, msg, len, 65536, NULL);
	struct done_rec d = { 0 };
	struct msg_commit *c;
	struct buf front;
	const char *head;
	char id[17];

	head = msg_spool_head(sp, &hlen);
	buf_init(&front, 0);
	buf_puts(&front, "Received: by test\n");
	buf_append(&front, head, hlen);
	box = xasprintf("%s/mail/a.test/alice", tdir);
	c = msg_commit_new("test", "0123456789abcdef", "s@x.test");
	msg_commit_local(c, box, "alice@a.test");
	msg_commit_local(c, box, "alias@a.test");	/* same folder: once */
	msg_commit_remote(c, "far@b.test", NULL, 0);
	msg_commit_remote(c, "FAR@b.test", NULL, 0);	/* same: once */
	TEST_ASSERT(msg_commit_nlocal(c) == 1 && msg_commit_nremote(c) == 1);
	msg_commit_start(c, &front, msg_spool_fd(sp), hlen, len - hlen, tloop,
	    commit_done, &d);
	TEST_ASSERT(front.len == 0);		/* taken */
	msg_spool_free(&sp);			/* the commit has its own fd */
	loop_run(tloop);
	TEST_ASSERT(d.done && d.error == 0);
	want = xasprintf("Return-Path: <s@x.test>\nDelivered-To: "
	    "alice@a.test\nReceived: by test\n%s", msg);
	got = the_new_file(box, &glen);
	TEST_ASSERT(got != NULL && glen == strlen(want) &&
	    memcmp(got, want, glen) == 0);
	/* the queue file holds one content record: front + range */
	{
		struct queue_msg *m[2];
		int n = queue_take_due(time(NULL) + 1, m, 2);

		TEST_ASSERT(n == 1);
		memcpy(id, m[0]->id, sizeof(id));
		queue_msg_free(&m[0]);
	}
	TEST_ASSERT(queue_read_content(id, &qc, &qlen) == 0);
	TEST_ASSERT(qlen == glen - strlen("Return-Path: <s@x.test>\n"
	    "Delivered-To: alice@a.test\n"));
	TEST_ASSERT(memcmp(qc, want + glen - qlen, qlen) == 0);
	free(qc);
	free(got);
	free(want);
	free(box);
	free(msg);
	buf_free(&front);
}

/* Sieve's per-copy decisions: a copy with its own header and flags (in
 * cur/), a forward with its own header, a notice, and a held job the
 * reply waits for. */
static void
release_later(void *arg)
{
	msg_commit_release(arg);
}

static void
test_commit_copies(void)
{
	const char *head = "Subject: old\n\n", *body = "the body\n";
	char *box = xasprintf("%s/mail/a.test/bob", tdir), *path, *got, *qc;
	size_t glen, qlen;
	struct done_rec d = { 0 };
	struct msg_commit *c;
	struct buf front;
	struct dirent *e;
	DIR *dir;
	int files = 0;
	char id[17];

	buf_init(&front, 0);
	buf_puts(&front, "Received: by test\n");
	buf_puts(&front, head);
	c = msg_commit_new("test", "0123456789abcdef", "s@x.test");
	msg_commit_head_len(c, front.len);
	buf_puts(&front, body);
	msg_commit_local_copy(c, box, "bob@a.test", "Subject: new\n\n", 14,
	    "FS");
	msg_commit_forward(c, "bob@a.test", "far@b.test",
	    "X-Sieve-Redirected-From: bob@a.test\n", "Subject: fwd\n\n", 14);
	msg_commit_notice(c, box, "bob@a.test", xstrdup("Subject: n\n\nx\n"),
	    15);
	msg_commit_hold(c);
	TEST_ASSERT(msg_commit_nlocal(c) == 1 && msg_commit_nremote(c) == 0);
	msg_commit_start(c, &front, -1, 0, 0, tloop, commit_done, &d);
	loop_post(tloop, release_later, c);
	loop_run(tloop);
	TEST_ASSERT(d.done && d.error == 0);
	/* the copy: its own header, no shared one, flags in its name */
	path = xasprintf("%s/cur", box);
	dir = opendir(path);
	while (dir && (e = readdir(dir)) != NULL) {
		char *f;
		if (e->d_name[0] == '.')
			continue;
		files++;
		TEST_ASSERT(strstr(e->d_name, ":2,FS") != NULL);
		f = xasprintf("%s/%s", path, e->d_name);
		got = slurp(f, &glen);
		TEST_ASSERT_STREQ(got, "Return-Path: <s@x.test>\nDelivered-To: "
		    "bob@a.test\nSubject: new\n\nthe body\n");
		free(got);
		free(f);
	}
	if (dir)
		closedir(dir);
	TEST_ASSERT(files == 1);
	free(path);
	/* the notice, in new/ */
	got = the_new_file(box, &glen);
	TEST_ASSERT_STREQ(got, "Return-Path: <>\nDelivered-To: bob@a.test\n"
	    "Subject: n\n\nx\n");
	free(got);
	/* the forward: a queue file of its own from bob */
	{
		struct queue_msg *m[4];
		int n = queue_take_due(time(NULL) + 1, m, 4), found = 0;

		for (int i = 0; i < n; i++) {
			if (strcmp(m[i]->sender, "bob@a.test") == 0) {
				memcpy(id, m[i]->id, sizeof(id));
				found++;
			}
			queue_msg_free(&m[i]);
		}
		TEST_ASSERT(found == 1);
	}
	TEST_ASSERT(queue_read_content(id, &qc, &qlen) == 0);
	TEST_ASSERT_STREQ(qc, "X-Sieve-Redirected-From: bob@a.test\n"
	    "Subject: fwd\n\nthe body\n");
	free(qc);
	free(box);
}

/* No recipient at all (aliases to nowhere): done still runs, later. */
static void
test_commit_nothing(void)
{
	struct done_rec d = { 0 };
	struct msg_commit *c = msg_commit_new("test", "id", "");
	struct buf front;

	buf_init(&front, 0);
	msg_commit_start(c, &front, -1, 0, 0, tloop, commit_done, &d);
	TEST_ASSERT(!d.done);
	loop_run(tloop);
	TEST_ASSERT(d.done && d.error == 0);
}

/* ---- fsutil ------------------------------------------------------------- */

static void
test_fsutil(void)
{
	char *a = xasprintf("%s/a", tdir), *got;
	size_t len;
	int in, out;

	TEST_ASSERT(fsutil_atomic_write(tdir, "f", "hello", 5) == 0);
	got = xasprintf("%s/f", tdir);
	free(got);
	in = open(a, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(in >= 0);
	TEST_ASSERT(fsutil_write_all(in, "0123456789", 10) == 0);
	out = open(tdir, O_TMPFILE | O_RDWR, 0600);
	TEST_ASSERT(out >= 0);
	TEST_ASSERT(fsutil_copy_range(out, in, 3, 4, NULL, NULL) == 0);
	got = read_fd(out, 0, 4);
	TEST_ASSERT(got != NULL && memcmp(got, "3456", 4) == 0);
	free(got);
	/* past the end of the source: EIO, not a short copy */
	TEST_ASSERT(fsutil_copy_range(out, in, 8, 5, NULL, NULL) < 0 &&
	    errno == EIO);
	TEST_ASSERT(fsutil_fsync_dir(tdir) == 0);
	TEST_ASSERT(fsutil_fsync_parent(a) == 0);
	close(in);
	close(out);
	got = xasprintf("%s/f", tdir);
	{
		char *c = slurp(got, &len);
		TEST_ASSERT(c != NULL && len == 5 && memcmp(c, "hello", 5) == 0);
		free(c);
	}
	free(got);
	free(a);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

int
main(void)
{
	char tmpl[] = "/tmp/tem-test-msg.XXXXXX";
	char *err = NULL;

	log_init(LOG_ERROR);
	loop_global_init();
	tloop = loop_new();
	if (mkdtemp(tmpl) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	tdir = xstrdup(tmpl);
	worker_pool_start(2);
	maildir_committer_start("test.host");
	if (queue_init(tdir, 60, 86400, &err) < 0)
		log_fatal("queue_init: %s", err);
	TEST_RUN(test_spool_roundtrip);
	TEST_RUN(test_spool_tap);
	TEST_RUN(test_spool_long_header);
	TEST_RUN(test_spool_edges);
	TEST_RUN(test_spool_error);
	TEST_RUN(test_spool_free_in_flight);
	TEST_RUN(test_commit_local_and_queue);
	TEST_RUN(test_commit_copies);
	TEST_RUN(test_commit_nothing);
	TEST_RUN(test_fsutil);
	queue_shutdown();
	maildir_committer_stop();
	worker_pool_stop();
	loop_free(&tloop);
	nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tdir);
	return test_done("test-msg");
}
