/*
 * control_client - the admin commands' side of the control socket (see
 * control.h): one request, one reply, within a deadline.
 *
 * Trust: the reply comes from the server on data_dir (root or run_as owns
 * the socket); it is still read bounded (CONTROL_LINE_MAX) and parsed
 * strictly. Blocking, for the command-line tools only: the socket's send
 * and receive timeouts bound every wait, connect() included (a server
 * that no longer accepts fills the backlog; connect then waits for the
 * send timeout on Linux).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/control.h"
#include "util/clock.h"
#include "util/xmalloc.h"

/* Sets both socket timeouts to what is left until deadline; false when
 * nothing is left. */
static bool
set_timeouts(int fd, uint64_t deadline)
{
	uint64_t now = clock_mono_ms(), left;
	struct timeval tv;

	if (now >= deadline)
		return false;
	left = deadline - now;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

static const char *
io_error_text(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS ?
	    "no answer in time" : strerror(err);
}

/* Connects to data_dir's socket. -1 with *result_r NO_SERVER (nothing
 * listens there) or FAILED + *error_r. */
static int
control_connect(const char *data_dir, uint64_t deadline,
    enum control_result *result_r, char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *path = xasprintf("%s/%s", data_dir, CONTROL_SOCKET);
	int fd = -1;

	*result_r = CONTROL_FAILED;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		/* the server could not bind it either: it polls instead */
		*result_r = CONTROL_NO_SERVER;
		goto fail;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !set_timeouts(fd, deadline)) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		free(path);
		return fd;
	}
	if (errno == ENOENT || errno == ECONNREFUSED)
		*result_r = CONTROL_NO_SERVER;	/* not running, or stale */
	else
		*error_r = xasprintf("%s: %s", path, io_error_text(errno));
fail:
	if (fd >= 0)
		close(fd);
	free(path);
	return -1;
}

/* Reads one reply line (without LF) into line[CONTROL_LINE_MAX]. */
static int
read_reply(int fd, uint64_t deadline, char *line, char **error_r)
{
	size_t n = 0;
	ssize_t r;

	while (n < CONTROL_LINE_MAX - 1) {
		if (!set_timeouts(fd, deadline)) {
			*error_r = xstrdup("no answer in time");
			return -1;
		}
		r = read(fd, line + n, CONTROL_LINE_MAX - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*error_r = r == 0 ? xstrdup("the server closed the "
			    "connection") : xstrdup(io_error_text(errno));
			return -1;
		}
		n += (size_t)r;
		line[n] = '\0';
		if (memchr(line, '\n', n) != NULL) {
			*strchr(line, '\n') = '\0';
			return 0;
		}
	}
	*error_r = xstrdup("reply too long");
	return -1;
}

/* Sends one request line req (with its LF) and reads the reply into
 * line[CONTROL_LINE_MAX], all before deadline. */
static enum control_result
request(const char *data_dir, uint64_t deadline, const char *req,
    char *line, char **error_r)
{
	enum control_result res;
	int fd = control_connect(data_dir, deadline, &res, error_r);
	ssize_t n = (ssize_t)strlen(req);

	if (fd < 0)
		return res;
	/* MSG_NOSIGNAL: a server dying now must not kill the command with
	 * SIGPIPE after its change was committed */
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		*error_r = xasprintf("cannot send the request: %s",
		    io_error_text(errno));
		close(fd);
		return CONTROL_FAILED;
	}
	res = read_reply(fd, deadline, line, error_r) < 0 ? CONTROL_FAILED :
	    CONTROL_OK;
	close(fd);
	return res;
}

enum control_result
control_reload_accounts(const char *data_dir, uint64_t serial,
    unsigned timeout_ms, char **error_r)
{
	uint64_t deadline = clock_mono_ms() + timeout_ms, live;
	enum control_result res;
	char req[64], line[CONTROL_LINE_MAX];

	snprintf(req, sizeof(req), "reload accounts %llu\n",
	    (unsigned long long)serial);
	if ((res = request(data_dir, deadline, req, line, error_r)) !=
	    CONTROL_OK)
		return res;
	if (control_parse_ok(line, strlen(line), &live) && live >= serial)
		return CONTROL_OK;
	*error_r = xasprintf("the server answered \"%.80s\"", line);
	return CONTROL_FAILED;
}

enum control_result
control_report_run(const char *data_dir, const char *day, char **reply_r,
    char **error_r)
{
	uint64_t deadline = clock_mono_ms() +
	    (CONTROL_REPORT_WAIT_SEC + 10) * 1000;
	enum control_result res;
	char req[64], line[CONTROL_LINE_MAX];

	snprintf(req, sizeof(req), "report run%s%.10s\n", day ? " " : "",
	    day ? day : "");
	if ((res = request(data_dir, deadline, req, line, error_r)) !=
	    CONTROL_OK)
		return res;
	if (strncmp(line, "ok report ", 10) == 0) {
		*reply_r = xstrdup(line + 10);
		return CONTROL_OK;
	}
	*error_r = xasprintf("the server answered \"%.100s\"", line);
	return CONTROL_FAILED;
}
