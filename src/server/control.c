/*
 * control - the control socket's request parser and server side (see
 * control.h; the admin commands' side is control_client.c).
 *
 * Trust: peers are root or run_as (the socket is 0600), but a request is
 * still handled like network input: one line of at most CONTROL_LINE_MAX
 * octets, a strict grammar, CONTROL_TIMEOUT_SEC to send it, at most
 * CONTROL_CONN_MAX connections at once. Runs on the main thread's loop,
 * which may wait on the disk (it reloads the accounts); no session does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/control.h"
#include "util/buf.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct control_conn {
	struct control		*ctl;
	struct io		*io;
	struct buf		 line;
	bool			 answered;
	bool			 peer_done;	/* EOF: it sends no more */
	struct control_conn	*prev, *next;
};

struct control {
	struct loop		*loop;
	struct loop_listener	*listener;
	char			*path;
	control_reload_fn	*reload;
	control_report_fn	*report;
	struct control_conn	*conns;
	unsigned		 nconns;
};

/* ---- the request line -------------------------------------------- */

/* The decimal number after prefix in line, exactly (no sign, no
 * space, no overflow); false otherwise. */
static bool
parse_tail(const char *line, size_t len, const char *prefix, uint64_t *v_r)
{
	size_t n = strlen(prefix);
	uint64_t v = 0;

	if (len <= n || len - n > 20 || memcmp(line, prefix, n) != 0)
		return false;
	for (size_t i = n; i < len; i++) {
		unsigned d = (unsigned char)line[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*v_r = v;
	return true;
}

enum control_verb
control_parse(const char *line, size_t len, uint64_t *serial_r)
{
	return parse_tail(line, len, "reload accounts ", serial_r) ?
	    CONTROL_RELOAD_ACCOUNTS : CONTROL_BAD;
}

bool
control_parse_report(const char *line, size_t len, char day_r[11])
{
	static const char verb[] = "report run";
	size_t n = sizeof(verb) - 1;

	if (len < n || memcmp(line, verb, n) != 0)
		return false;
	day_r[0] = '\0';
	if (len == n)
		return true;
	if (len != n + 11 || line[n] != ' ')
		return false;
	for (size_t i = 0; i < 10; i++) {
		char c = line[n + 1 + i];

		if (i == 4 || i == 7 ? c != '-' : c < '0' || c > '9')
			return false;
	}
	memcpy(day_r, line + n + 1, 10);
	day_r[10] = '\0';
	return true;
}

bool
control_parse_ok(const char *line, size_t len, uint64_t *live_r)
{
	return parse_tail(line, len, "ok accounts ", live_r);
}

/* ---- connections ------------------------------------------------- */

static void
conn_free(struct control_conn *cc)
{
	struct control *ctl = cc->ctl;

	if (cc->prev)
		cc->prev->next = cc->next;
	else
		ctl->conns = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	ctl->nconns--;
	io_free(&cc->io);
	buf_free(&cc->line);
	free(cc);
}

/* Answers the one request this connection may make. Later input is read
 * and dropped: closing a unix socket with unread input resets it, and the
 * reply could be lost. The connection ends when the peer has closed and
 * the reply is written, or at the timeout. */
static void
conn_answer(struct control_conn *cc, int r)
{
	uint64_t want = 0, live = 0;
	char day[11], *reply;

	cc->answered = true;
	if (r < 0) {
		io_printf(cc->io, "error line too long\n");
		return;
	}
	if (control_parse_report(cc->line.data, cc->line.len, day)) {
		/* the main loop waits: it only serves signals and reloads */
		reply = cc->ctl->report == NULL ?
		    xstrdup("error reports are not available") :
		    cc->ctl->report(day[0] ? day : NULL,
		    CONTROL_REPORT_WAIT_SEC * 1000);
		log_info("- control report-run day=%s reply=\"%s\"",
		    day[0] ? day : "finished", reply);
		io_printf(cc->io, "%s\n", reply);
		free(reply);
		return;
	}
	if (control_parse(cc->line.data, cc->line.len, &want) == CONTROL_BAD) {
		log_warn("- control bad-request len=%zu", cc->line.len);
		io_printf(cc->io, "error unknown request\n");
		return;
	}
	if (cc->ctl->reload(want, &live) < 0 || live < want) {
		io_printf(cc->io, "error cannot load the accounts (see the "
		    "server log)\n");
		return;
	}
	io_printf(cc->io, "ok accounts %llu\n", (unsigned long long)live);
}

static void
conn_io(struct io *io, enum io_event ev, void *arg)
{
	struct control_conn *cc = arg;
	int r;

	(void)io;
	switch (ev) {
	case IO_EV_DATAIN:
		if (cc->answered) {
			io_drain_all(cc->io);
			break;
		}
		r = io_getline(cc->io, CONTROL_LINE_MAX - 1, &cc->line);
		if (r != 0)
			conn_answer(cc, r);
		break;
	case IO_EV_DRAINED:
		if (cc->answered && cc->peer_done)
			conn_free(cc);
		break;
	case IO_EV_EOF:
		cc->peer_done = true;
		if (!cc->answered || io_outlen(cc->io) == 0)
			conn_free(cc);	/* no request, or answered */
		break;
	default:	/* timeout, error: nothing more to say */
		conn_free(cc);
		break;
	}
}

static void
control_accept(int fd, const struct sockaddr *sa, socklen_t len, void *arg)
{
	struct control *ctl = arg;
	struct control_conn *cc;

	(void)sa;
	(void)len;
	if (ctl->nconns >= CONTROL_CONN_MAX) {
		log_warn("- control refused connections=%u", ctl->nconns);
		close(fd);
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->ctl = ctl;
	buf_init(&cc->line, CONTROL_LINE_MAX);
	cc->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = cc;
	ctl->conns = cc;
	ctl->nconns++;
	cc->io = io_new(ctl->loop, fd, conn_io, cc);
	io_set_timeout(cc->io, CONTROL_TIMEOUT_SEC);
}

/* ---- the socket -------------------------------------------------- */

/* A listening socket at path, mode 0600: bound under a temporary name,
 * chmod'ed, then renamed over path, so no client ever finds it wider
 * open or half made. -1 with errno. */
static int
bind_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *tmp = xasprintf("%s.%ld", path, (long)getpid());
	int fd = -1, saved;

	if (strlen(tmp) >= sizeof(sun.sun_path)) {
		free(tmp);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(tmp, 0600) < 0 || listen(fd, CONTROL_CONN_MAX) < 0 ||
	    rename(tmp, path) < 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(tmp);
	return fd;
}

struct control *
control_start(struct loop *l, const char *data_dir, control_reload_fn *reload)
{
	struct control *ctl;
	char *path = xasprintf("%s/%s", data_dir, CONTROL_SOCKET);
	int fd = bind_socket(path);

	if (fd < 0) {
		log_warn("- control unavailable path=%s error=\"%s\" (admin "
		    "changes apply within a second instead)", path,
		    strerror(errno));
		free(path);
		return NULL;
	}
	ctl = xcalloc(1, sizeof(*ctl));
	ctl->loop = l;
	ctl->path = path;
	ctl->reload = reload;
	ctl->listener = loop_listener_new(l, fd, control_accept, ctl);
	log_info("- control listen path=%s", path);
	return ctl;
}

void
control_set_report(struct control *ctl, control_report_fn *fn)
{
	if (ctl != NULL)
		ctl->report = fn;
}

void
control_stop(struct control **cp)
{
	struct control *ctl = *cp;

	if (ctl == NULL)
		return;
	*cp = NULL;
	loop_listener_free(&ctl->listener);
	while (ctl->conns)
		conn_free(ctl->conns);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
