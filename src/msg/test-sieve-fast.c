/*
 * test-sieve-fast - unit tests for msg/sieve_fast.c, the Sieve stage's
 * run on the loop: it runs only with fresh knowledge of every user (an
 * unknown, forgotten, stale or broken script goes to the job), settles
 * KEEP (INBOX, no flags), DISCARD and REJECT as the job would, and sends
 * to the job, leaving the stage untouched, a run over its budget (in
 * steps, or steps x octets of the message), one whose callbacks need the
 * disk (include, mailboxexists, duplicate, a
 * body in a file), and fileinto, flags, redirect, vacation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/resolve.h"
#include "msg/sieve_stage.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char tmpdir[] = "/tmp/tem-test-fast.XXXXXX";
static unsigned nscript;

static const char head[] = "From: a@b.test\r\nTo: u@d.test\r\n"
    "Subject: hello\r\nMessage-ID: <1@b.test>\r\n\r\n";

/* Remembers text (compiled) as address's active script, as a job does;
 * text NULL: the user has none; "!" a script that did not compile. */
static void
learn(const char *address, const char *text)
{
	struct sieve_error err;
	struct cscript *cs;
	char *path;
	FILE *f;

	if (text == NULL || strcmp(text, "!") == 0) {
		sieve_stage_seen(address, text != NULL, NULL);
		return;
	}
	path = xasprintf("%s/s%u.sieve", tmpdir, nscript++);
	f = fopen(path, "w");
	TEST_ASSERT(f != NULL);
	fputs(text, f);
	fclose(f);
	cs = sieve_stage_script(path, &err);
	TEST_ASSERT(cs != NULL);
	sieve_stage_seen(address, true, cs);
	sieve_stage_script_unref(cs);
	unlink(path);
	free(path);
}

/* One local recipient, address of d.test. */
static void
add(struct sieve_stage *st, const char *address)
{
	char *a = xstrdup(address), *dom = xstrdup("d.test");
	char *lp = xstrndup(address, strcspn(address, "@"));
	struct acct_target t = { ACCT_TARGET_LOCAL, a, dom, lp };
	struct acct_resolution res = { 1, &t };

	sieve_stage_add(st, address, &res);
	free(a);
	free(dom);
	free(lp);
}

/* A stage for one message to the users addr[0..n) (all of domain d.test),
 * its body in memory, or in file fd when fd >= 0. */
static struct sieve_stage *
stage(const char *const *addr, size_t n, int fd)
{
	struct sieve_stage_in in;
	struct sieve_stage *st;

	memset(&in, 0, sizeof(in));
	in.logid = "test";
	in.msgid = "m1";
	in.data_dir = "/data";
	in.hostname = "mx.d.test";
	in.env_from = "a@b.test";
	in.head = head;
	in.head_len = sizeof(head) - 1;
	in.body_fd = fd;
	if (fd >= 0)
		in.body_len = 6;
	else {
		in.body_mem = "hello\n";
		in.body_mem_len = 6;
	}
	st = sieve_stage_new(&in);
	for (size_t i = 0; i < n; i++)
		add(st, addr[i]);
	return st;
}

/* Whether the loop takes the message for one user with script text;
 * when it does, the single action's type is *type. */
static bool
fast1(const char *text, enum sieve_action_type *type)
{
	static const char *const u[] = { "u@d.test" };
	struct sieve_stage *st;
	bool ok;

	learn(u[0], text);
	st = stage(u, 1, -1);
	ok = sieve_fast_run(st);
	if (ok && st->users[0].ran && st->users[0].r.nactions == 1)
		*type = st->users[0].r.actions[0].type;
	else if (ok || st->users[0].ran || st->users[0].copies != NULL)
		*type = SIEVE_VACATION;		/* fails the callers' checks */
	sieve_stage_free(&st);
	return ok;
}

static void
test_results(void)
{
	enum sieve_action_type t = SIEVE_VACATION;
	static const char *const u[] = { "u@d.test" };
	struct sieve_stage *st;

	TEST_ASSERT(fast1("discard;", &t) && t == SIEVE_DISCARD);
	TEST_ASSERT(fast1("require \"reject\"; reject \"no\";", &t) &&
	    t == SIEVE_REJECT);
	TEST_ASSERT(fast1("if header :is \"subject\" \"x\" { discard; }", &t) &&
	    t == SIEVE_KEEP);
	/* the copy goes where the job would put it */
	learn(u[0], "keep;");
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && st->users[0].ran);
	TEST_ASSERT_STREQ(st->users[0].copies[0].dir, "/data/mail/d.test/u");
	TEST_ASSERT(st->users[0].copies[0].info == NULL);
	TEST_ASSERT(!st->users[0].drop[0]);
	sieve_stage_free(&st);
	/* a user known to have no script: nothing runs, no job */
	learn(u[0], NULL);
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && !st->users[0].ran);
	sieve_stage_free(&st);
}

static void
test_to_job(void)
{
	enum sieve_action_type t;

#define TO_JOB(text) do { t = SIEVE_KEEP; \
	TEST_ASSERT(!fast1((text), &t) && t == SIEVE_KEEP); } while (0)

	/* needs the disk or the queue */
	TO_JOB("require \"fileinto\"; fileinto \"A\";");
	TO_JOB("require \"imap4flags\"; addflag \"\\\\Seen\";");
	TO_JOB("redirect \"x@y.test\";");
	TO_JOB("require \"vacation\"; vacation \"away\";");
	/* callbacks */
	TO_JOB("require \"include\"; include \"other\";");
	TO_JOB("require [\"mailbox\", \"fileinto\"];\n"
	    "if mailboxexists \"A\" { discard; }");
	TO_JOB("require \"duplicate\";\n"
	    "if duplicate { discard; }");
	/* a script that did not compile: the job files the notice */
	TO_JOB("!");
}

/* fileinto and flags on the loop once a job resolved the same folder
 * and flag set (sieve_folder.c); anything else still goes to the job. */
static void
test_folder_memory(void)
{
	static const char *const u[] = { "u@d.test" };
	static const char *const seen[] = { "\\Seen" };
	static const char *const kw[] = { "work", "\\Seen" };
	const char *root = "/data/mail/d.test/u";
	struct sieve_stage *st;
	enum sieve_action_type t;

	sieve_folder_remember(root, "A", false, "/data/mail/d.test/u/.A");
	sieve_info_remember(root, seen, 1, "S");
	sieve_info_remember("/data/mail/d.test/u/.A", kw, 2, "Sa");
	learn(u[0], "require \"fileinto\"; fileinto \"A\";");
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && st->users[0].ran);
	TEST_ASSERT_STREQ(st->users[0].copies[0].dir,
	    "/data/mail/d.test/u/.A");
	TEST_ASSERT(st->users[0].copies[0].info == NULL);
	sieve_stage_free(&st);
	learn(u[0], "require \"imap4flags\"; addflag \"\\\\Seen\";");
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && st->users[0].ran);
	TEST_ASSERT_STREQ(st->users[0].copies[0].dir, root);
	TEST_ASSERT_STREQ(st->users[0].copies[0].info, "S");
	sieve_stage_free(&st);
	learn(u[0], "require [\"fileinto\", \"imap4flags\"];\n"
	    "fileinto :flags [\"work\", \"\\\\Seen\"] \"A\";");
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && st->users[0].ran);
	TEST_ASSERT_STREQ(st->users[0].copies[0].info, "Sa");
	sieve_stage_free(&st);
	/* not known: another folder, :create, a new keyword */
	TEST_ASSERT(!fast1("require \"fileinto\"; fileinto \"B\";", &t));
	TEST_ASSERT(!fast1("require [\"fileinto\", \"mailbox\"];\n"
	    "fileinto :create \"A\";", &t));
	TEST_ASSERT(!fast1("require \"imap4flags\"; addflag \"new\";", &t));
}

static void
test_budget(void)
{
	enum sieve_action_type t;
	struct buf b;

	/* over the loop's budget, far under the job's: the job runs it */
	buf_init(&b, 0);
	for (int i = 0; i < SIEVE_FAST_STEPS; i++)
		buf_puts(&b, "if header :is \"x\" \"y\" { stop; }\n");
	buf_append(&b, "", 1);
	t = SIEVE_KEEP;
	TEST_ASSERT(!fast1(b.data, &t) && t == SIEVE_KEEP);
	buf_free(&b);
}

static void
test_budget_octets(void)
{
	static const char *const u[] = { "u@d.test" };
	struct sieve_stage_in in;
	struct sieve_stage *st;
	struct buf b, h;

	/* 40 header tests are few steps, but on a 64 KB header they would
	 * scan 2.5 MB on the loop: over SIEVE_FAST_SCAN, the job runs */
	buf_init(&b, 0);
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "if header :contains \"x-h\" \"nomatch\" { stop; }\n");
	buf_append(&b, "", 1);
	learn(u[0], b.data);
	buf_free(&b);
	buf_init(&h, 0);
	for (int i = 0; i < 1024; i++)
		buf_puts(&h, "X-H: 0123456789012345678901234567890123456789"
		    "012345678901234\r\n");
	buf_puts(&h, "\r\n");
	memset(&in, 0, sizeof(in));
	in.logid = in.msgid = "big";
	in.data_dir = "/data";
	in.hostname = "mx";
	in.env_from = "a@b.test";
	in.head = h.data;
	in.head_len = h.len;
	in.body_fd = -1;
	st = sieve_stage_new(&in);
	add(st, u[0]);
	TEST_ASSERT(!sieve_fast_run(st) && !st->users[0].ran);
	sieve_stage_free(&st);
	/* the same script on a small header runs on the loop */
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && st->users[0].ran);
	sieve_stage_free(&st);
	buf_free(&h);
}

static void
test_body(void)
{
	static const char *const u[] = { "u@d.test" };
	static const char script[] = "require \"body\";\n"
	    "if body :contains \"hello\" { discard; }";
	struct sieve_stage *st;
	char path[] = "/tmp/tem-test-fast-body.XXXXXX";
	int fd = mkstemp(path);

	TEST_ASSERT(fd >= 0);
	unlink(path);
	TEST_ASSERT(write(fd, "hello\n", 6) == 6);
	learn(u[0], script);
	/* in memory: read on the loop */
	st = stage(u, 1, -1);
	TEST_ASSERT(sieve_fast_run(st) && st->users[0].ran);
	TEST_ASSERT(st->users[0].r.actions[0].type == SIEVE_DISCARD);
	sieve_stage_free(&st);
	/* in a file: the job reads it */
	st = stage(u, 1, fd);
	TEST_ASSERT(!sieve_fast_run(st) && !st->users[0].ran);
	sieve_stage_free(&st);
	close(fd);
}

static void
test_fresh(void)
{
	static const char *const two[] = { "u@d.test", "v@d.test" };
	struct sieve_stage *st;
	uint64_t t0;

	/* one of two users unknown, or with a result for the job: the
	 * other's run is undone too */
	learn(two[0], "discard;");
	sieve_stage_forget(two[1]);
	st = stage(two, 2, -1);
	TEST_ASSERT(!sieve_fast_run(st));
	TEST_ASSERT(!st->users[0].ran && !st->users[1].ran);
	sieve_stage_free(&st);
	learn(two[1], "require \"fileinto\"; fileinto \"A\";");
	st = stage(two, 2, -1);
	TEST_ASSERT(!sieve_fast_run(st));
	TEST_ASSERT(!st->users[0].ran && st->users[0].copies == NULL);
	sieve_stage_free(&st);
	learn(two[1], "keep;");
	st = stage(two, 2, -1);
	TEST_ASSERT(sieve_fast_run(st));
	TEST_ASSERT(st->users[0].ran && st->users[1].ran);
	sieve_stage_free(&st);
	/* forgotten (ManageSieve changed the scripts): the job */
	sieve_stage_forget(two[0]);
	st = stage(two, 1, -1);
	TEST_ASSERT(!sieve_fast_run(st));
	sieve_stage_free(&st);
	/* stale after SIEVE_STAGE_FRESH_MS: the job checks the disk again */
	learn(two[0], "discard;");
	t0 = clock_mono_ms();
	st = stage(two, 1, -1);
	TEST_ASSERT(sieve_fast_run(st));
	sieve_stage_free(&st);
	while (clock_mono_ms() - t0 <= SIEVE_STAGE_FRESH_MS)
		usleep(50 * 1000);
	st = stage(two, 1, -1);
	TEST_ASSERT(!sieve_fast_run(st));
	sieve_stage_free(&st);
}

static void
test_queued(void)
{
	static const char *const u[] = { "u@d.test" };
	struct sieve_stage_in in;
	struct sieve_stage *st;

	/* queued mail whose header the job reads from the file */
	learn(u[0], "discard;");
	memset(&in, 0, sizeof(in));
	in.logid = in.msgid = "q";
	in.data_dir = "/data";
	in.hostname = "mx";
	in.env_from = "";
	in.body_fd = 0;
	in.body_len = 10;
	st = sieve_stage_new(&in);
	add(st, u[0]);
	TEST_ASSERT(!sieve_fast_run(st) && !st->users[0].ran);
	sieve_stage_free(&st);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_results);
	TEST_RUN(test_to_job);
	TEST_RUN(test_folder_memory);
	TEST_RUN(test_budget);
	TEST_RUN(test_budget_octets);
	TEST_RUN(test_body);
	TEST_RUN(test_queued);
	TEST_RUN(test_fresh);
	sieve_stage_shutdown();
	rmdir(tmpdir);
	return test_done("test-sieve-fast");
}
