/*
 * learn_http - one HTTP/1.1 POST of a message file to rspamd's controller
 * (`/learnspam`, `/learnham`), with blocking-style code on a non-blocking
 * socket: every wait is a poll() on the socket and a cancel descriptor,
 * bounded by a timeout.
 *
 * Trust: the controller's address and password come from the config
 * (the administrator); the answer comes from the network and is parsed
 * defensively (at most LEARN_HTTP_ANSWER_MAX octets, the status line
 * strictly). The password is sent as the `Password:` header and never
 * appears in a result or a log line.
 *
 * Only the learner thread (learn.c) calls learn_http_post; the parsers
 * are pure and unit-tested (test-learn-http.c).
 */
#ifndef TEM_SPAM_LEARN_HTTP_H
#define TEM_SPAM_LEARN_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* rspamd's controller port, when rspamd_controller names none. */
#define LEARN_HTTP_DEFAULT_PORT	"11334"
/* Limits: connecting, then each wait for the socket to take or give
 * bytes (rspamd learns a message in well under a second; 30 s covers a
 * busy one without holding the queue for minutes). */
#define LEARN_HTTP_CONNECT_MS	5000
#define LEARN_HTTP_IO_MS	30000
/* The answer is a short JSON object; more is not read. */
#define LEARN_HTTP_ANSWER_MAX	8192
/* rspamd's own default limit of a message it scans or learns (50 MB). */
#define LEARN_HTTP_BODY_MAX	(50ULL * 1024 * 1024)

/*
 * Splits "host", "host:port", "[v6]:port" or a bare IPv6 address into
 * host and port (LEARN_HTTP_DEFAULT_PORT when none). 0, or -1 for a value
 * that does not fit or has an empty part.
 */
int learn_http_target(const char *s, char *host, size_t host_size,
    char *port, size_t port_size);

/*
 * The request head for a body of len octets, malloc'd; NULL when the
 * password holds a CR, LF or NUL (it would end the header).
 * hostport is the configured value (the Host header).
 */
char *learn_http_head(const char *path, const char *hostport,
    const char *password, uint64_t len);

/*
 * Parses an answer (head and body as read so far, n octets). Returns 1
 * when it is complete (Content-Length reached, or at_eof), 0 when more
 * is needed, -1 when it is no HTTP/1.x answer. On 1: *status the code,
 * *body and *body_len the body (inside buf).
 */
int learn_http_answer(const char *buf, size_t n, int at_eof, int *status,
    const char **body, size_t *body_len);

/*
 * The answer's body as one log value: printable ASCII only (others as
 * '?'), '"' and '\\' escaped, at most max octets of it (then "...").
 * Writes a NUL-terminated string of at most out_size octets.
 */
void learn_http_log_value(const char *p, size_t n, size_t max, char *out,
    size_t out_size);

/* One POST's outcome. */
struct learn_http_result {
	int	status;		/* HTTP status; 0 when none came */
	char	answer[256];	/* the body as a log value (above) */
	char	error[160];	/* why there is no answer: "" when there is */
};

/*
 * BLOCKING (up to the timeouts above). POSTs the file fd (from offset 0,
 * its size at fstat) to http://hostport/path with the password header.
 * cancel_fd: readable means stop now (error "cancelled"). Returns 0 when
 * an answer came (any status), -1 with r->error set otherwise.
 */
int learn_http_post(const char *hostport, const char *path,
    const char *password, int fd, int cancel_fd,
    struct learn_http_result *r);

#endif
