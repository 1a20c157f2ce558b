/*
 * test-control - the control socket's request and reply grammar, and the
 * admin side's client against fake servers: none, a stale socket file,
 * one that never answers, one that answers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/control.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char dir[64];

static void
test_parse(void)
{
	static const char *const bad[] = {
		"", "reload", "reload accounts", "reload accounts ",
		"reload accounts -1", "reload accounts +1", "reload accounts 1 ",
		"reload accounts 0x10", "Reload accounts 1", "reload  accounts 1",
		"reload accounts 18446744073709551616",
		"reload accounts 000000000000000000001",
		"reload dkim 1", "ok accounts 1",
	};
	uint64_t v = 7;

	TEST_ASSERT(control_parse("reload accounts 0", 17, &v) ==
	    CONTROL_RELOAD_ACCOUNTS && v == 0);
	TEST_ASSERT(control_parse("reload accounts 18446744073709551615", 36,
	    &v) == CONTROL_RELOAD_ACCOUNTS && v == UINT64_MAX);
	/* a NUL inside is not a digit */
	TEST_ASSERT(control_parse("reload accounts 1\0002", 19, &v) ==
	    CONTROL_BAD);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		TEST_ASSERT(control_parse(bad[i], strlen(bad[i]), &v) ==
		    CONTROL_BAD);
		TEST_ASSERT(v == 7);
	}
	TEST_ASSERT(control_parse_ok("ok accounts 42", 14, &v) && v == 42);
	TEST_ASSERT(!control_parse_ok("ok accounts", 11, &v));
	TEST_ASSERT(!control_parse_ok("error ok accounts 1", 19, &v));
}

static int
listen_at(const char *path, bool do_listen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (do_listen && listen(fd, 4) < 0))
		abort();
	return fd;
}

/* A fake server: takes one connection, reads one request, says reply. */
struct fake {
	int		 fd;
	const char	*reply;
};

static void *
answer_once(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->fd, NULL, NULL);
	char req[CONTROL_LINE_MAX];

	if (c < 0 || read(c, req, sizeof(req)) <= 0 ||
	    send(c, f->reply, strlen(f->reply), MSG_NOSIGNAL) < 0)
		abort();
	close(c);
	return NULL;
}

static void
test_client(void)
{
	char *path = xasprintf("%s/%s", dir, CONTROL_SOCKET), *err = NULL;
	struct timespec t0, t1;
	pthread_t th;
	struct fake f;
	int fd;

	/* no server */
	TEST_ASSERT(control_reload_accounts(dir, 1, 1000, &err) ==
	    CONTROL_NO_SERVER);
	/* a stale socket file from a server that died */
	fd = listen_at(path, false);
	close(fd);
	TEST_ASSERT(control_reload_accounts(dir, 1, 1000, &err) ==
	    CONTROL_NO_SERVER);
	/* one that takes the connection but never answers: bounded */
	fd = listen_at(path, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	TEST_ASSERT(control_reload_accounts(dir, 1, 200, &err) ==
	    CONTROL_FAILED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TEST_ASSERT_STREQ(err, "no answer in time");
	XFREE(&err);
	TEST_ASSERT(t1.tv_sec - t0.tv_sec < 5);
	close(fd);
	/* one that answers: serial 9 covers 9, not 10 */
	fd = listen_at(path, true);
	f.fd = fd;
	f.reply = "ok accounts 9\n";
	pthread_create(&th, NULL, answer_once, &f);
	TEST_ASSERT(control_reload_accounts(dir, 9, 5000, &err) == CONTROL_OK);
	pthread_join(th, NULL);
	pthread_create(&th, NULL, answer_once, &f);
	TEST_ASSERT(control_reload_accounts(dir, 10, 5000, &err) ==
	    CONTROL_FAILED);
	pthread_join(th, NULL);
	TEST_ASSERT_STREQ(err, "the server answered \"ok accounts 9\"");
	XFREE(&err);
	/* one that closes without a word */
	f.reply = "";
	pthread_create(&th, NULL, answer_once, &f);
	TEST_ASSERT(control_reload_accounts(dir, 1, 5000, &err) ==
	    CONTROL_FAILED);
	pthread_join(th, NULL);
	TEST_ASSERT_STREQ(err, "the server closed the connection");
	XFREE(&err);
	close(fd);
	unlink(path);
	free(path);
}

/* "report run [YYYY-MM-DD]": the request, and the client's reading of
 * the answer. */
static void
test_report(void)
{
	static const char *const bad[] = { "report run ", "report run x",
	    "report run 2026-12-7", "report run 2026/12/07",
	    "report run 2026-12-077", "report  run", "report run 20261207xx",
	    "report run\n", "report" };
	char *path = xasprintf("%s/%s", dir, CONTROL_SOCKET), *err = NULL;
	char *reply = NULL, day[11];
	pthread_t th;
	struct fake f;

	TEST_ASSERT(control_parse_report("report run", 10, day) &&
	    day[0] == '\0');
	TEST_ASSERT(control_parse_report("report run 2026-12-07", 21, day));
	TEST_ASSERT_STREQ(day, "2026-12-07");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TEST_ASSERT(!control_parse_report(bad[i], strlen(bad[i]), day));
	TEST_ASSERT(control_report_run(dir, NULL, &reply, &err) ==
	    CONTROL_NO_SERVER);
	f.fd = listen_at(path, true);
	f.reply = "ok report jobs=3 queued=2 posted=0\n";
	pthread_create(&th, NULL, answer_once, &f);
	TEST_ASSERT(control_report_run(dir, "2026-12-07", &reply, &err) ==
	    CONTROL_OK);
	pthread_join(th, NULL);
	TEST_ASSERT_STREQ(reply, "jobs=3 queued=2 posted=0");
	XFREE(&reply);
	f.reply = "error reports are not running\n";
	pthread_create(&th, NULL, answer_once, &f);
	TEST_ASSERT(control_report_run(dir, NULL, &reply, &err) ==
	    CONTROL_FAILED);
	pthread_join(th, NULL);
	TEST_ASSERT_STREQ(err, "the server answered \"error reports are not "
	    "running\"");
	XFREE(&err);
	close(f.fd);
	unlink(path);
	free(path);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tem-test-control-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	TEST_RUN(test_parse);
	TEST_RUN(test_client);
	TEST_RUN(test_report);
	rmdir(dir);
	return test_done("test-control");
}
