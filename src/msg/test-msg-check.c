/*
 * test-msg-check - unit tests for the checks runner (check.c) with fake
 * checks: which checks start, recipients fanned out, verdicts merged
 * (strongest action, first reply, headers in registration order, the
 * first rewritten header section), answers in any order or from inside
 * end(), cancellation (nothing answers after msg_checks_free), and the
 * final phase after the filters (only for a filtered transaction).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg/check.h"
#include "msg/spool.h"
#include "msg/test-feeder.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* ---- a fake check: answers what the test told it, when told -------------- */

struct fake {
	const char	*name;
	bool		 skip;		/* start() returns NULL */
	bool		 sync;		/* answers inside end() */
	enum msg_action	 action;
	const char	*status, *text;
	const char	*header;
	const char	*head;		/* rewrites the header section */
	bool		 body;		/* wants the body (tap) */
	const char	*final_header;	/* final(): answers this, in it */
	/* what happened */
	struct buf	*tap_got;	/* the tap object end() got back */
	const struct msg_check_msg *final_got;
	struct msg_check *chk;
	bool		 started, ended, freed;
	char		 rcpts[64];
};

static struct fake fakes[4];
static int nfakes;
static char order[16];		/* the order in which fakes answered */

static void *
fake_start(const struct msg_check_env *env, struct msg_check *chk)
{
	struct fake *f = NULL;

	(void)env;
	for (int i = 0; i < nfakes; i++)
		if (!fakes[i].started) {
			f = &fakes[i];
			break;
		}
	if (f == NULL)
		abort();
	f->started = true;
	if (f->skip)
		return NULL;
	f->chk = chk;
	return f;
}

static void
fake_rcpt(void *st, const char *addr)
{
	struct fake *f = st;

	strcat(f->rcpts, addr);
	strcat(f->rcpts, ";");
}

static void
fake_answer(struct fake *f)
{
	struct msg_verdict v;

	msg_verdict_init(&v);
	v.action = f->action;
	v.status = f->status;
	v.text = f->text;
	if (f->header)
		buf_puts(&v.headers, f->header);
	if (f->head) {
		buf_puts(&v.head, f->head);
		v.head_set = true;
	}
	strncat(order, f->name, 1);
	msg_check_done(f->chk, &v);
}

static void
fake_end(void *st, void *tap, const struct msg_check_msg *m)
{
	struct fake *f = st;

	(void)m;
	f->tap_got = tap;
	f->ended = true;
	if (f->sync)
		fake_answer(f);
}

static void
fake_free(void *st)
{
	struct fake *f = st;

	f->freed = true;
}

static void *
fake_tap_begin(void *st, const char *head, size_t hlen)
{
	struct fake *f = st;
	struct buf *b;

	(void)head;
	(void)hlen;
	if (!f->body)
		return NULL;
	b = xmalloc(sizeof(*b));
	buf_init(b, 0);
	return b;
}

/* The spool writer's thread. */
static void
fake_tap(void *tap, const char *p, size_t n)
{
	buf_append(tap, p, n);
}

static int taps_freed;

static void
fake_tap_free(void *tap)
{
	buf_free(tap);
	free(tap);
	taps_freed++;
}

static const struct msg_check_ops fake_ops = {
	.name = "fake",
	.start = fake_start,
	.rcpt = fake_rcpt,
	.tap_begin = fake_tap_begin,
	.tap = fake_tap,
	.tap_free = fake_tap_free,
	.end = fake_end,
	.free = fake_free,
};

/* The final phase: answers final_header at once. */
static void
fake_final(void *st, const struct msg_check_msg *m)
{
	struct fake *f = st;
	struct msg_verdict v;

	f->final_got = m;
	if (f->final_header == NULL)
		return;		/* answers later (or never: freed) */
	msg_verdict_init(&v);
	buf_puts(&v.headers, f->final_header);
	msg_check_done(f->chk, &v);
}

static const struct msg_check_ops fake_final_ops = {
	.name = "fake-final",
	.start = fake_start,
	.end = fake_end,
	.final = fake_final,
	.free = fake_free,
};

/* ---- the protocol's side ------------------------------------------------ */

struct outcome {
	int		 calls;
	enum msg_action	 action;
	char		 status[16], text[64], headers[256], head[64];
	bool		 head_set;
	struct msg_checks **free_cs;	/* frees the runner from done */
};

static void
on_done(const struct msg_verdict *v, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->action = v->action;
	snprintf(o->status, sizeof(o->status), "%s", v->status ? v->status :
	    "");
	snprintf(o->text, sizeof(o->text), "%s", v->text ? v->text : "");
	snprintf(o->headers, sizeof(o->headers), "%.*s", (int)v->headers.len,
	    v->headers.data ? v->headers.data : "");
	snprintf(o->head, sizeof(o->head), "%.*s", (int)v->head.len,
	    v->head.data ? v->head.data : "");
	o->head_set = v->head_set;
	if (o->free_cs)
		msg_checks_free(o->free_cs);
}

static const struct msg_check_env env = { .proto = "test", .logid = "id" };
static const struct msg_check_msg tmsg = { .head = "", .spool_head = "" };

/* n fakes named "a", "b", ... registered in order. */
static void
setup(int n)
{
	static const char *const names[] = { "a", "b", "c", "d" };

	msg_check_unregister_all();
	memset(fakes, 0, sizeof(fakes));
	order[0] = '\0';
	nfakes = n;
	for (int i = 0; i < n; i++) {
		fakes[i].name = names[i];
		msg_check_register(&fake_ops);
	}
}

static void
test_none_wanted(void)
{
	setup(2);
	fakes[0].skip = fakes[1].skip = true;
	TEST_ASSERT(msg_checks_new(&env) == NULL);
	TEST_ASSERT(fakes[0].started && fakes[1].started);
	setup(0);
	TEST_ASSERT(msg_checks_new(&env) == NULL);
}

static void
test_accept_headers_in_order(void)
{
	struct outcome o = { 0 };
	struct msg_checks *cs;

	setup(3);
	fakes[0].header = "X-A: 1\n";
	fakes[1].skip = true;		/* not asked, not answering */
	fakes[2].header = "X-C: 3\n";
	cs = msg_checks_new(&env);
	TEST_ASSERT(cs != NULL);
	msg_checks_rcpt(cs, "x@y");
	msg_checks_rcpt(cs, "z@y");
	TEST_ASSERT_STREQ(fakes[0].rcpts, "x@y;z@y;");
	TEST_ASSERT_STREQ(fakes[2].rcpts, "x@y;z@y;");
	msg_checks_end(cs, NULL, &tmsg, on_done, &o);
	TEST_ASSERT(fakes[0].ended && !fakes[1].ended && fakes[2].ended);
	/* the last answers first: the headers keep registration order */
	fake_answer(&fakes[2]);
	TEST_ASSERT(o.calls == 0);
	fake_answer(&fakes[0]);
	TEST_ASSERT(o.calls == 1);
	TEST_ASSERT_STREQ(order, "ca");
	TEST_ASSERT(o.action == MSG_ACCEPT);
	TEST_ASSERT_STREQ(o.headers, "X-A: 1\nX-C: 3\n");
	TEST_ASSERT(!o.head_set);
	msg_checks_free(&cs);
	TEST_ASSERT(cs == NULL && fakes[0].freed && fakes[2].freed);
}

static void
test_reject_wins(void)
{
	struct outcome o = { 0 };
	struct msg_checks *cs;

	setup(4);
	fakes[0].action = MSG_QUARANTINE;
	fakes[1].action = MSG_REJECT;
	fakes[1].status = "5.7.1";
	fakes[1].text = "first reject";
	fakes[2].action = MSG_TEMPFAIL;
	fakes[2].status = "4.7.0";
	fakes[2].text = "later";
	fakes[3].action = MSG_REJECT;
	fakes[3].status = "5.7.2";
	fakes[3].text = "second reject";
	cs = msg_checks_new(&env);
	msg_checks_end(cs, NULL, &tmsg, on_done, &o);
	for (int i = 3; i >= 0; i--)
		fake_answer(&fakes[i]);
	TEST_ASSERT(o.calls == 1 && o.action == MSG_REJECT);
	TEST_ASSERT_STREQ(o.status, "5.7.1");
	TEST_ASSERT_STREQ(o.text, "first reject");
	msg_checks_free(&cs);
}

static void
test_action_order(void)
{
	static const enum msg_action weak_strong[] = { MSG_ACCEPT,
		MSG_QUARANTINE, MSG_DISCARD, MSG_TEMPFAIL, MSG_REJECT };

	for (size_t i = 0; i + 1 < 5; i++) {
		struct outcome o = { 0 };
		struct msg_checks *cs;

		setup(2);
		fakes[0].action = weak_strong[i + 1];
		fakes[1].action = weak_strong[i];
		fakes[0].sync = fakes[1].sync = true;
		cs = msg_checks_new(&env);
		msg_checks_end(cs, NULL, &tmsg, on_done, &o);
		TEST_ASSERT(o.calls == 1 && o.action == weak_strong[i + 1]);
		msg_checks_free(&cs);
	}
	TEST_ASSERT_STREQ(msg_action_name(MSG_QUARANTINE), "quarantine");
}

static void
test_sync_answers_and_free_in_done(void)
{
	struct outcome o = { 0 };
	struct msg_checks *cs;

	setup(2);
	fakes[0].sync = fakes[1].sync = true;
	fakes[0].head = "Subject: a\n";
	fakes[1].head = "Subject: b\n";
	fakes[1].header = "X-B: 2\n";
	cs = msg_checks_new(&env);
	o.free_cs = &cs;	/* the protocol frees the runner in done */
	msg_checks_end(cs, NULL, &tmsg, on_done, &o);
	TEST_ASSERT(o.calls == 1 && cs == NULL);
	TEST_ASSERT(o.head_set);
	TEST_ASSERT_STREQ(o.head, "Subject: a\n");	/* the first wins */
	TEST_ASSERT_STREQ(o.headers, "X-B: 2\n");
	TEST_ASSERT(fakes[0].freed && fakes[1].freed);
}

/* One answers, then the session closes: the other never calls back and
 * done never runs. */
static void
test_cancel(void)
{
	struct outcome o = { 0 };
	struct msg_checks *cs;

	setup(2);
	fakes[0].sync = true;
	fakes[0].header = "X-A: 1\n";	/* freed with the runner */
	cs = msg_checks_new(&env);
	msg_checks_end(cs, NULL, &tmsg, on_done, &o);
	TEST_ASSERT(o.calls == 0);
	msg_checks_free(&cs);
	TEST_ASSERT(fakes[0].freed && fakes[1].freed && o.calls == 0);
	/* and before the end: nothing was asked to end */
	setup(1);
	cs = msg_checks_new(&env);
	msg_checks_free(&cs);
	TEST_ASSERT(fakes[0].freed && !fakes[0].ended);
	msg_checks_free(&cs);		/* idempotent */
}

/* "a" has a final() hook (answering final_header, or later when NULL),
 * "b" not; both answer end() at once. */
static void
final_setup(const char *final_header)
{
	setup(0);
	nfakes = 2;
	fakes[0].name = "a";
	fakes[1].name = "b";
	msg_check_register(&fake_final_ops);
	msg_check_register(&fake_ops);
	fakes[0].sync = fakes[1].sync = true;
	fakes[0].header = "X-End: a\n";
	fakes[1].header = "X-End: b\n";
	fakes[0].final_header = final_header;
}

/* Only a filtered transaction waits for final(); the final verdict holds
 * the final answers only. */
static void
test_final_phase(void)
{
	static const struct msg_check_env fenv = { .proto = "test",
		.logid = "id", .filtered = true };
	struct msg_check_msg fmsg = { .head = "Subject: x\n", .hlen = 11,
		.spool_head = "", .body_replaced = true, .body_fd = -1 };
	struct outcome o = { 0 }, fo = { 0 };
	struct msg_checks *cs;

	final_setup("X-Final: a\n");	/* not filtered: no final phase */
	cs = msg_checks_new(&env);
	TEST_ASSERT(!msg_checks_final_wanted(cs));
	msg_checks_free(&cs);
	TEST_ASSERT(!msg_checks_final_wanted(NULL));
	final_setup("X-Final: a\n");
	cs = msg_checks_new(&fenv);
	msg_checks_end(cs, NULL, &tmsg, on_done, &o);
	TEST_ASSERT(o.calls == 1);
	TEST_ASSERT_STREQ(o.headers, "X-End: a\nX-End: b\n");
	TEST_ASSERT(msg_checks_final_wanted(cs));
	msg_checks_final(cs, &fmsg, on_done, &fo);
	TEST_ASSERT(fakes[0].final_got == &fmsg && fo.calls == 1);
	TEST_ASSERT_STREQ(fo.headers, "X-Final: a\n");
	TEST_ASSERT(fo.action == MSG_ACCEPT && o.calls == 1);
	TEST_ASSERT(!msg_checks_final_wanted(cs));	/* once */
	msg_checks_free(&cs);
	/* freed while final() runs: nothing calls back */
	memset(&fo, 0, sizeof(fo));
	final_setup(NULL);
	cs = msg_checks_new(&fenv);
	msg_checks_end(cs, NULL, &tmsg, on_done, &o);
	msg_checks_final(cs, &fmsg, on_done, &fo);
	TEST_ASSERT(fakes[0].final_got != NULL && fo.calls == 0);
	msg_checks_free(&cs);
	TEST_ASSERT(fakes[0].freed && fakes[1].freed && fo.calls == 0);
}

/* ---- the body tap, through a real spool -------------------------------- */

static const char *tdir;

/* After each piece, as a protocol does. */
static void
checks_tap(struct feeder *f)
{
	msg_checks_tap(f->arg, f->sp);
}

static char *
big_message(size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "From: a@b\nSubject: big\n\n");
	for (size_t i = 0; b.len < 600000; i++)
		buf_printf(&b, "line %zu of the body\n", i);
	return buf_steal(&b, len_r);
}

/* Spools data[0..len) with cs tapping it; returns the spool. */
static struct msg_spool *
spool_through(struct msg_checks *cs, const char *data, size_t len)
{
	return spool_feed(tdir, data, len, 4321, NULL, checks_tap, cs);
}

static void
test_tap(void)
{
	struct outcome o = { 0 };
	struct msg_checks *cs;
	struct msg_spool *sp;
	size_t len, hlen;
	char *data = big_message(&len);

	setup(3);		/* a and c want the body, b does not */
	fakes[0].body = fakes[2].body = true;
	fakes[0].sync = fakes[1].sync = fakes[2].sync = true;
	cs = msg_checks_new(&env);
	sp = spool_through(cs, data, len);
	TEST_ASSERT(msg_spool_error(sp) == 0 && msg_spool_fd(sp) >= 0);
	msg_spool_head(sp, &hlen);
	msg_checks_end(cs, sp, &tmsg, on_done, &o);
	TEST_ASSERT(o.calls == 1);
	TEST_ASSERT(fakes[1].tap_got == NULL);
	for (int i = 0; i < 3; i += 2) {
		struct buf *got = fakes[i].tap_got;

		TEST_ASSERT(got != NULL && got->len == len - hlen);
		TEST_ASSERT(memcmp(got->data, data + hlen, got->len) == 0);
		fake_tap_free(got);
	}
	msg_checks_free(&cs);
	msg_spool_free(&sp);
	/* the runner and the spool go before the end: the spool frees the
	 * taps it holds */
	taps_freed = 0;
	setup(2);
	fakes[0].body = fakes[1].body = true;
	cs = msg_checks_new(&env);
	sp = spool_through(cs, data, len);
	msg_checks_free(&cs);
	TEST_ASSERT(taps_freed == 0);
	msg_spool_free(&sp);
	TEST_ASSERT(taps_freed == 2);
	free(data);
}

int
main(void)
{
	char tmpl[] = "/tmp/tem-test-msg-check.XXXXXX";

	log_init(LOG_ERROR);
	loop_global_init();
	tloop = loop_new();
	if (mkdtemp(tmpl) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	tdir = tmpl;
	worker_pool_start(2);
	TEST_RUN(test_none_wanted);
	TEST_RUN(test_accept_headers_in_order);
	TEST_RUN(test_reject_wins);
	TEST_RUN(test_action_order);
	TEST_RUN(test_sync_answers_and_free_in_done);
	TEST_RUN(test_cancel);
	TEST_RUN(test_final_phase);
	TEST_RUN(test_tap);
	msg_check_unregister_all();
	worker_pool_stop();
	loop_free(&tloop);
	rmdir(tmpl);
	return test_done("test-msg-check");
}
