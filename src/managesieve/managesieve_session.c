/*
 * managesieve_session - the ManageSieve session core (RFC 5804): accept,
 * the capability greeting, gathering input into whole commands, dispatch
 * by state, STARTTLS, CAPABILITY, NOOP, LOGOUT, timeouts and shutdown.
 * AUTHENTICATE is in managesieve_auth.c, the script commands in
 * managesieve_cmds.c; the execution model in managesieve_session.h.
 *
 * Trust: everything read here is untrusted. Limits: the parser's (line,
 * string, literal sizes; managesieve_parser.h), MS_MAX_BAD refused
 * commands (then BYE and close), MS_IDLE_TIMEOUT of silence (BYE),
 * output: no command is read while more than MS_OUT_HIGH octets wait
 * for the client; at most max_sessions_per_ip sessions per address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/crypto.h>

#include "conf/conf.h"
#include "managesieve/managesieve_session.h"
#include "sieve/sieve.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

/* Input held at most: two literals (RENAMESCRIPT, PUTSCRIPT's name and
 * script) with their lines, and one read beyond. */
#define MS_IN_MAX	(2 * (size_t)MS_LITERAL_MAX + 4 * MS_LINE_MAX + \
			    IO_INPUT_MAX)

/* ---- output ---- */

void
ms_send_buf(struct ms_session *c, const struct buf *b)
{
	if (!session_closed(&c->base))
		io_write(c->base.io, b->data, b->len);
}

void
ms_reply(struct ms_session *c, const char *status, const char *code,
    const char *text)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, status);
	if (code != NULL)
		buf_printf(&b, " (%s)", code);
	if (text != NULL) {
		buf_putc(&b, ' ');
		ms_put_string(&b, text, strlen(text));
	}
	buf_puts(&b, "\r\n");
	ms_send_buf(c, &b);
	buf_free(&b);
}

static void
ms_pause(struct ms_session *c)
{
	if (!c->paused && c->base.io) {
		c->paused = true;
		io_pause_read(c->base.io);
	}
}

void
ms_bad(struct ms_session *c, const char *text)
{
	if (++c->bad_count < MS_MAX_BAD) {
		ms_reply(c, "NO", NULL, text);
		return;
	}
	ms_reply(c, "BYE", NULL, "Too many invalid commands.");
	log_info("%s managesieve too-many-errors addr=%s errors=%u",
	    c->base.id, c->base.ip, c->bad_count);
	session_close(&c->base);
}

bool
ms_plaintext_ok(const struct ms_session *c)
{
	return c->base.tls || c->conf->auth_allow_cleartext;
}

void
ms_job_start(struct ms_session *c)
{
	TEM_ASSERT(!c->job);
	c->job = true;
	session_ref(&c->base);
	session_busy(&c->base);
	c->paused = true;
}

bool
ms_job_end(struct ms_session *c)
{
	c->job = false;
	session_unref(&c->base);	/* the free, if last, comes later */
	return c->base.state == SESSION_ACTIVE;
}

void
ms_done(struct ms_session *c)
{
	c->paused = false;		/* session_resume reads again */
	session_resume(&c->base);	/* or says goodbye: server stopping */
}

/* ---- the commands answered here ---- */

void
ms_capabilities(struct ms_session *c, struct buf *b)
{
	struct sieve_limits l;

	sieve_limits_default(&l);
	buf_puts(b, "\"IMPLEMENTATION\" \"tem\"\r\n");
	buf_printf(b, "\"SASL\" \"%s\"\r\n", c->user == NULL &&
	    ms_plaintext_ok(c) ? "PLAIN" : "");
	buf_puts(b, "\"SIEVE\" \"" MS_SIEVE_EXTENSIONS "\"\r\n");
	if (!c->base.tls && c->user == NULL && tls_available())
		buf_puts(b, "\"STARTTLS\"\r\n");
	buf_printf(b, "\"MAXREDIRECTS\" \"%u\"\r\n", l.max_redirects);
	if (c->user != NULL) {
		buf_puts(b, "\"OWNER\" ");
		ms_put_string(b, c->user, strlen(c->user));
		buf_puts(b, "\r\n");
	}
	buf_puts(b, "\"UNAUTHENTICATE\"\r\n\"VERSION\" \"1.0\"\r\n");
}

/* The listing and then status line "OK text". */
static void
ms_send_capabilities(struct ms_session *c, const char *text)
{
	struct buf b;

	buf_init(&b, 0);
	ms_capabilities(c, &b);
	ms_send_buf(c, &b);
	buf_free(&b);
	ms_reply(c, "OK", NULL, text);
}

static void
cmd_starttls(struct ms_session *c)
{
	if (c->base.tls) {
		ms_bad(c, "TLS is already active.");
		return;
	}
	if (c->user != NULL || !tls_available()) {
		ms_reply(c, "NO", NULL, "STARTTLS is not available now.");
		return;
	}
	ms_reply(c, "OK", NULL, "Begin TLS negotiation now.");
	/* pipelined input was sent in clear: dropped (CVE-2011-0411) */
	buf_reset(&c->in);
	c->need = 0;
	c->starttls = true;
	session_starttls(&c->base);
	c->paused = true;
}

static void
cmd_noop(struct ms_session *c, struct ms_command *cmd)
{
	struct buf b;

	if (cmd->nargs == 0) {
		ms_reply(c, "OK", NULL, "NOOP completed.");
		return;
	}
	/* RFC 5804 2.13: the argument comes back as a TAG response code */
	buf_init(&b, 0);
	buf_puts(&b, "OK (TAG ");
	ms_put_string(&b, cmd->args[0].s, cmd->args[0].len);
	buf_puts(&b, ") \"Done\"\r\n");
	ms_send_buf(c, &b);
	buf_free(&b);
}

/* ---- dispatch ---- */

static void
ms_command(struct ms_session *c, struct ms_command *cmd)
{
	bool authed = c->user != NULL;

	c->ncommands++;
	switch (cmd->verb) {
	case MS_CAPABILITY:
		ms_send_capabilities(c, "Capability completed.");
		return;
	case MS_NOOP:
		cmd_noop(c, cmd);
		return;
	case MS_LOGOUT:
		ms_reply(c, "OK", NULL, "Logout completed.");
		session_close(&c->base);
		return;
	case MS_STARTTLS:
		cmd_starttls(c);
		return;
	case MS_AUTHENTICATE:
		if (authed)
			ms_bad(c, "Already authenticated.");
		else
			ms_cmd_authenticate(c, cmd);
		return;
	case MS_SASL_RESPONSE:
		ms_auth_response(c, cmd);
		return;
	case MS_UNAUTHENTICATE:
		if (!authed)
			ms_bad(c, "Not authenticated.");
		else
			ms_cmd_unauthenticate(c, cmd);
		return;
	default:
		if (!authed)
			ms_bad(c, "Authenticate first.");
		else
			ms_cmd_script(c, cmd);
		return;
	}
}

/* A command the parser refused: the answer, and what to drop. */
static void
ms_refused(struct ms_session *c, const struct ms_parse_res *res)
{
	char text[128];

	buf_consume(&c->in, res->used);
	c->skip = res->skip;
	c->to_eol = true;
	c->need = 0;
	if (c->sasl) {
		c->sasl = false;
		ms_bad(c, "Invalid SASL response.");
		return;
	}
	if (res->error == MS_ERR_TOO_BIG && res->verb_known &&
	    c->user != NULL && (res->verb == MS_PUTSCRIPT ||
	    res->verb == MS_CHECKSCRIPT)) {
		snprintf(text, sizeof(text), "Script too big (max %d octets).",
		    SIEVE_STORE_SIZE_MAX);
		ms_reply(c, "NO", "QUOTA/MAXSIZE", text);
		return;
	}
	if (res->verb_known && res->error != MS_ERR_UNKNOWN)
		snprintf(text, sizeof(text), "%s: %s.",
		    ms_verb_name(res->verb), res->msg);
	else
		snprintf(text, sizeof(text), "%s.", res->msg);
	ms_bad(c, text);
}

/* Drops what a refused command left (a literal, the rest of its line)
 * from c->in, then from the socket's input; true when done. */
static bool
ms_discard(struct ms_session *c)
{
	const char *p, *lf;
	size_t n, k;

	while (c->skip > 0 || c->to_eol) {
		bool own = c->in.len > 0;
		if (own) {
			p = c->in.data;
			n = c->in.len;
		} else if ((p = io_peek(c->base.io, &n)) == NULL || n == 0)
			return false;
		if (c->skip > 0)
			k = c->skip < n ? (size_t)c->skip : n;
		else if ((lf = memchr(p, '\n', n)) != NULL)
			k = (size_t)(lf - p) + 1;
		else
			k = n;
		if (c->skip > 0)
			c->skip -= k;
		else if (k < n || p[k - 1] == '\n')
			c->to_eol = false;
		if (own)
			buf_consume(&c->in, k);
		else
			io_drain(c->base.io, k);
	}
	return true;
}

/* Runs a parsed command that took used octets of c->in. */
static void
ms_run(struct ms_session *c, struct ms_command *cmd, size_t used)
{
	bool secret = cmd->verb == MS_AUTHENTICATE ||
	    cmd->verb == MS_SASL_RESPONSE;

	if (secret)	/* a password: wiped wherever it was copied */
		OPENSSL_cleanse(c->in.data, used);
	buf_consume(&c->in, used);
	c->need = 0;
	c->sasl = false;
	ms_command(c, cmd);
	for (unsigned i = 0; secret && i < cmd->nargs; i++)
		OPENSSL_cleanse(cmd->args[i].s, cmd->args[i].len);
	ms_command_free(cmd);
}

static enum ms_mode
ms_mode(const struct ms_session *c)
{
	if (c->sasl)
		return MS_MODE_SASL;
	return c->user != NULL ? MS_MODE_COMMAND : MS_MODE_LOGIN;
}

static void
ms_process(struct ms_session *c)
{
	struct ms_command cmd;
	struct ms_parse_res res;
	const char *p;
	size_t n;

	while (!c->base.busy && c->base.state == SESSION_ACTIVE && !c->job) {
		if (io_outlen(c->base.io) > MS_OUT_HIGH) {
			c->out_wait = true;	/* pipelining, not reading */
			ms_pause(c);
			return;
		}
		if (!ms_discard(c))
			return;
		if (c->in.len >= c->need && c->in.len > 0) {
			switch (ms_parse(c->in.data, c->in.len, ms_mode(c),
			    &cmd, &res)) {
			case MS_PARSE_DONE:
				ms_run(c, &cmd, res.used);
				continue;
			case MS_PARSE_ERROR:
				ms_refused(c, &res);
				continue;
			case MS_PARSE_MORE:
				c->need = res.need;
				break;
			}
		}
		if ((p = io_peek(c->base.io, &n)) == NULL || n == 0)
			return;
		if (buf_append(&c->in, p, n) < 0) {
			/* cannot happen within the parser's limits */
			log_error("%s managesieve input-overflow addr=%s",
			    c->base.id, c->base.ip);
			session_abort(&c->base);
			return;
		}
		io_drain(c->base.io, n);
	}
}

/* ---- the connection (session core hooks) ---- */

static void
ms_greet(struct session *base)
{
	ms_send_capabilities((struct ms_session *)base,
	    "tem ManageSieve ready.");
}

static void
ms_input(struct session *base)
{
	struct ms_session *c = (struct ms_session *)base;

	c->paused = false;	/* the core reads again */
	if (c->starttls && c->base.tls) {
		/* RFC 5804 2.2: the capabilities again, over TLS */
		c->starttls = false;
		ms_send_capabilities(c, "TLS negotiation successful.");
	}
	ms_process(c);
}

static void
ms_drained(struct session *base)
{
	struct ms_session *c = (struct ms_session *)base;

	if (c->out_wait) {
		c->out_wait = false;
		c->paused = false;
		io_resume_read(c->base.io);
		ms_process(c);
	}
}

static void
ms_timeout(struct session *base)
{
	ms_reply((struct ms_session *)base, "BYE", NULL,
	    "Disconnected for inactivity.");
}

static void
ms_shutdown(struct session *base)
{
	ms_reply((struct ms_session *)base, "BYE", "TRYLATER",
	    "Server shutting down.");
}

static void
ms_session_free(struct session *base)
{
	struct ms_session *c = (struct ms_session *)base;

	log_info("%s managesieve disconnect addr=%s user=%s commands=%u "
	    "duration=%lds", c->base.id, c->base.ip,
	    c->user ? c->user : "-", c->ncommands,
	    (long)(time(NULL) - c->base.started));
	loop_timer_free(&c->timer);
	if (c->in.data)		/* may have held a password */
		OPENSSL_cleanse(c->in.data, c->in.cap);
	buf_free(&c->in);
	free(c->user);
	free(c);
}

static const struct session_proto ms_proto = {
	.name = "managesieve",
	.greet = ms_greet,
	.input = ms_input,
	.drained = ms_drained,
	.timeout = ms_timeout,
	.shutdown = ms_shutdown,
	.free = ms_session_free,
};

void
ms_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc)
{
	struct ms_session *c = xmalloc(sizeof(*c));

	(void)len;
	if (!server_session_add(t, &c->base, svc, sa)) {
		server_refuse(fd, svc, "BYE (TRYLATER) \"Too many connections "
		    "from your address.\"\r\n");
		free(c);
		return;
	}
	c->conf = c->base.run->conf;
	buf_init(&c->in, MS_IN_MAX);
	session_start(&c->base, &ms_proto, fd, false, MS_IDLE_TIMEOUT);
}
