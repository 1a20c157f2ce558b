/*
 * fuzz-session - whole protocol sessions from bytes: the real SMTP
 * submission, IMAP, POP3 and ManageSieve session code, command handlers,
 * store and queue included, not only their parsers.
 *
 * Input: byte 0 picks the service (submission, IMAP, POP3 by its value
 * modulo 3; 0xff: ManageSieve, added later, so the corpus kept its
 * meaning); the rest is
 * what the client sends. Each input gets a fresh connection: one end of a
 * socketpair goes to the service's accept function (smtp_accept,
 * imap_accept, pop3_accept, ms_accept - the entry points `tem serve` registers, so
 * the target does not depend on how sessions are built inside) on loop
 * thread 0, whose loop this thread runs; the other end is the client. The
 * client writes the input, reads and drops every reply, and when the
 * server has read everything, runs no worker job and has said nothing for
 * QUIET_MS, it closes its sending side; the input is done when the server has closed the
 * connection and removed the session. A session still alive SESSION_MAX_S
 * seconds after that is a hang: abort.
 *
 * Set up once per process: a data_dir in /tmp/tem-fuzz-session.PID (removed
 * at exit; after a crash, by the next run) with the domain a.test and
 * the user alice@a.test (password "pw"; the dictionary fuzz/session.dict
 * holds the base64 forms), cleartext logins allowed, no TLS, no DNS (only
 * submission, whose authenticated mail needs no SPF/DKIM/DMARC look-ups;
 * mail to other domains waits in the queue, which nothing delivers), the
 * worker pool and the Maildir committer running. Each input comes from its
 * own client address, so that failed logins of one input do not lock out
 * the next (the fuzz build makes their delay milliseconds: TEM_FUZZING).
 * The mailbox keeps what earlier inputs stored, as a real one would.
 *
 * FUZZ_SESSION_ECHO=1 in the environment copies the server's replies and
 * its log (at info) to stderr, to see what an input reaches.
 *
 * Trust: test code.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/resolve.h"
#include "conf/conf.h"
#include "imap/imap_client.h"
#include "managesieve/managesieve_session.h"
#include "msg/check.h"
#include "policy/check_auth.h"
#include "policy/psl.h"
#include "pop3/pop3_session.h"
#include "queue/queue.h"
#include "server/server.h"
#include "server/state.h"
#include "smtp/smtp_session.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TICK_MS		2
#define QUIET_MS	20
#define SESSION_MAX_S	60

static struct server_thread *thr;
static char datadir[64];	/* /tmp/tem-fuzz-session.PID */
static unsigned inputs;
static bool echo;		/* FUZZ_SESSION_ECHO=1: replies to stderr */

struct client {
	int		 fd;
	const uint8_t	*in;
	size_t		 len, off;
	bool		 eof_sent, closed;
	struct timespec	 start, last;	/* last: when something happened */
	struct loop_timer *tick;
};

static double
since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	    (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void
remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-session: cannot remove %s\n", dir);
	free(cmd);
}

static void
cleanup(void)
{
	remove_tree(datadir);
}

/* A crash (abort, sanitizer report) skips atexit: the next run removes
 * the folders of processes that are gone. */
static void
remove_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end, *path;
		long pid;

		if (strncmp(e->d_name, "tem-fuzz-session.", 17) != 0)
			continue;
		pid = strtol(e->d_name + 17, &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		path = xasprintf("/tmp/%s", e->d_name);
		remove_tree(path);
		free(path);
	}
	closedir(d);
}

static void
setup(void)
{
	struct accounts *a = NULL;
	struct acct_snapshot *snap;
	struct conf *c = NULL;
	char *err = NULL, *path, *text;
	FILE *f;

	remove_stale();
	snprintf(datadir, sizeof(datadir), "/tmp/tem-fuzz-session.%d",
	    (int)getpid());
	remove_tree(datadir);
	if (mkdir(datadir, 0700) < 0)
		abort();
	atexit(cleanup);
	path = xasprintf("%s/tem.conf", datadir);
	text = xasprintf("hostname = mx.a.test\ndata_dir = %s/data\nrun_as =\n"
	    "auth_allow_cleartext = yes\nmax_connections_per_minute = 0\n"
	    "log_level = error\n", datadir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	free(text);
	if (conf_load(path, false, &c, &err) < 0) {
		fprintf(stderr, "fuzz-session: %s\n", err);
		abort();
	}
	free(path);
	echo = getenv("FUZZ_SESSION_ECHO") != NULL;
	log_init(echo ? LOG_INFO : LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if (accounts_open(c->data_dir, NULL, &a, &err) < 0 ||
	    accounts_domain_add(a, "a.test", &err) < 0 ||
	    accounts_user_add(a, "alice@a.test", "pw", &err) < 0) {
		fprintf(stderr, "fuzz-session: accounts: %s\n", err);
		abort();
	}
	accounts_close(&a);
	loop_global_init();
	server_init(c, 1);
	thr = server_thread_at(0);
	if ((snap = acct_snapshot_load(c->data_dir, &err)) == NULL) {
		fprintf(stderr, "fuzz-session: snapshot: %s\n", err);
		abort();
	}
	server_state_set_accounts(snap);
	server_state_set_psl(psl_load(NULL));
	msg_check_register(&policy_check_auth);
	msg_check_register(&policy_check_sign);
	worker_pool_start(2);
	maildir_committer_start(c->hostname);
	if (queue_init(c->data_dir, c->queue_retry_base, c->queue_lifetime,
	    &err) < 0) {
		fprintf(stderr, "fuzz-session: queue: %s\n", err);
		abort();
	}
}

/* Every TICK_MS: write what the socket takes, read and drop replies,
 * close the sending side once the server is quiet, stop when it is gone. */
static void
tick(void *arg)
{
	struct client *cl = arg;
	char buf[65536];
	ssize_t n;
	int unread = 0;

	while (!cl->eof_sent && cl->off < cl->len) {
		n = write(cl->fd, cl->in + cl->off, cl->len - cl->off);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN)
				cl->off = cl->len;	/* server closed */
			break;
		}
		cl->off += (size_t)n;
		clock_gettime(CLOCK_MONOTONIC, &cl->last);
	}
	while (!cl->closed) {
		n = read(cl->fd, buf, sizeof(buf));
		if (n > 0) {
			clock_gettime(CLOCK_MONOTONIC, &cl->last);
			if (echo)
				fwrite(buf, 1, (size_t)n, stderr);
			continue;
		}
		if (n == 0 || errno != EAGAIN)
			cl->closed = true;
		break;
	}
	/* bytes the server has not read yet */
	if (ioctl(cl->fd, SIOCOUTQ, &unread) < 0)
		unread = 0;
	/* a worker job (a password check, a mailbox job) counts as activity */
	if (worker_jobs_pending() > 0)
		clock_gettime(CLOCK_MONOTONIC, &cl->last);
	if (!cl->eof_sent && (cl->closed || (cl->off == cl->len &&
	    unread == 0 && since(&cl->last) * 1000 >= QUIET_MS))) {
		shutdown(cl->fd, SHUT_WR);
		cl->eof_sent = true;
		clock_gettime(CLOCK_MONOTONIC, &cl->last);
	}
	if (cl->eof_sent && cl->closed && server_thread_sessions(thr) == 0) {
		loop_break(server_thread_loop(thr));
		return;
	}
	if (cl->eof_sent && since(&cl->last) > SESSION_MAX_S) {
		fprintf(stderr, "fuzz-session: the session did not end %d s "
		    "after the client closed (closed=%d sessions=%u)\n",
		    SESSION_MAX_S, cl->closed, server_thread_sessions(thr));
		abort();
	}
	loop_timer_add(cl->tick, TICK_MS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static server_accept_fn *const accept_fn[] = {
		smtp_accept, imap_accept, pop3_accept, ms_accept
	};
	static const enum service svc[] = {
		SVC_SUBMISSION, SVC_IMAP, SVC_POP3, SVC_MANAGESIEVE
	};
	struct client cl;
	struct sockaddr_in sa;
	int sv[2];
	unsigned which;

	if (size < 1)
		return 0;
	if (thr == NULL)
		setup();
	which = data[0] == 0xff ? 3 : data[0] % 3;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) < 0)
		abort();
	/* a new client address per input: 10.x.y.z */
	inputs++;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(40000);
	sa.sin_addr.s_addr = htonl(0x0a000000u | (inputs & 0xffffffu));
	memset(&cl, 0, sizeof(cl));
	cl.fd = sv[1];
	cl.in = data + 1;
	cl.len = size - 1;
	clock_gettime(CLOCK_MONOTONIC, &cl.start);
	cl.last = cl.start;
	cl.tick = loop_timer_new(server_thread_loop(thr), tick, &cl);
	accept_fn[which](thr, sv[0], (struct sockaddr *)&sa, sizeof(sa),
	    svc[which]);
	loop_timer_add(cl.tick, 0);
	loop_run(server_thread_loop(thr));
	loop_timer_free(&cl.tick);
	close(sv[1]);
	return 0;
}
