/*
 * dsn - builds RFC 3464 delivery status notifications (see dsn.h).
 *
 * Trust: the reasons, diagnostics, ORCPT and ENVID values come from remote
 * servers or clients. Each goes through dsn_clean() (control characters
 * and, outside SMTPUTF8 reports, 8-bit octets become '?'), is cut at
 * DSN_DIAG_MAX and folded, so no input can end a header field, add one,
 * or reach the MIME boundary. The original message is copied as data
 * behind a boundary that is checked not to occur in it.
 *
 * Callers: the delivery engine (bounces after 5xx or queue_lifetime,
 * delay warnings), tests/data/dsn golden tests, fuzz-smtp-reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dsn.h"
#include "mail/mime_encode.h"
#include "mail/rfc5322.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DSN_FOLD_AT	76	/* fold header fields before this column */

const char *
dsn_action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_ACTION_FAILED:
		return "failed";
	case DSN_ACTION_DELAYED:
		return "delayed";
	case DSN_ACTION_DELIVERED:
		return "delivered";
	case DSN_ACTION_RELAYED:
		return "relayed";
	case DSN_ACTION_EXPANDED:
		return "expanded";
	}
	return "failed";
}

/* ------------------------------------------------------------------ */
/* Status codes */

static bool
dsn_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "c.s.d" at s with class cls (any of 2/4/5 when cls is 0), ending at
   the end, a space or a tab; its length or 0. */
static size_t
dsn_scan_status(const char *s, char cls)
{
	size_t i = 2, n;

	if ((cls ? s[0] != cls : (s[0] != '2' && s[0] != '4' &&
	    s[0] != '5')) || s[1] != '.')
		return 0;
	for (n = 0; dsn_digit(s[i]); i++)
		n++;
	if (n == 0 || n > 3 || s[i] != '.')
		return 0;
	for (i++, n = 0; dsn_digit(s[i]); i++)
		n++;
	if (n == 0 || n > 3 || (s[i] != '\0' && s[i] != ' ' && s[i] != '\t'))
		return 0;
	return i;
}

/* Skips "host NAME[ADDR] said: " when text starts with it. */
static const char *
dsn_skip_host_said(const char *text)
{
	const char *said;

	if (strncmp(text, "host ", 5) != 0 ||
	    (said = strstr(text, " said: ")) == NULL)
		return text;
	return said + 7;
}

int
dsn_status_from_reply(const char *reply_text, char status[16])
{
	const char *s;
	size_t n;

	status[0] = '\0';
	if (reply_text == NULL)
		return -1;
	s = dsn_skip_host_said(reply_text);
	if ((s[0] == '2' || s[0] == '4' || s[0] == '5') && dsn_digit(s[1]) &&
	    dsn_digit(s[2]) && (s[3] == '\0' || s[3] == ' ' || s[3] == '-')) {
		if (s[3] != '\0' && (n = dsn_scan_status(s + 4, s[0])) > 0) {
			memcpy(status, s + 4, n);	/* n <= 9 */
			status[n] = '\0';
		} else
			snprintf(status, 16, "%c.0.0", s[0]);
		return s[0] - '0';
	}
	if ((n = dsn_scan_status(s, 0)) > 0) {
		memcpy(status, s, n);
		status[n] = '\0';
		return s[0] - '0';
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Text helpers */

/* A copy of s[0..len) with control characters (and 8-bit octets unless
   allow8) replaced by '?', cut at max octets (0: no cut). */
static char *
dsn_clean(const char *s, size_t len, bool allow8, size_t max)
{
	char *out;
	size_t i;

	if (max && len > max)
		len = max;
	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c == 0x7f || (c >= 0x80 && !allow8) ?
		    '?' : (char)c;
	}
	out[len] = '\0';
	return out;
}

/* xtext's hex is upper case (RFC 3461 4). */
static int
dsn_hexval(char c)
{
	return c >= 'a' && c <= 'f' ? -1 : hex_value(c);
}

/* xtext (RFC 3461 4) decoded; a bad "+XX" is kept as is. */
static char *
dsn_xtext_decode(const char *s)
{
	struct buf b;
	int hi, lo;

	buf_init(&b, 0);
	for (; *s; s++) {
		if (*s == '+' && (hi = dsn_hexval(s[1])) >= 0 &&
		    (lo = dsn_hexval(s[2])) >= 0) {
			buf_putc(&b, (char)(hi * 16 + lo));
			s += 2;
		} else
			buf_putc(&b, *s);
	}
	return buf_steal(&b, NULL);
}

/* "Name: value\n", value already clean, folded before DSN_FOLD_AT. */
static void
dsn_field(struct buf *b, const char *name, const char *value)
{
	mime_fold_field(b, name, value, strlen(value), DSN_FOLD_AT);
}

/* Appends text wrapped at DSN_FOLD_AT columns, lines after the first
   indented by four spaces (for the human-readable part). */
static void
dsn_wrap(struct buf *b, const char *text)
{
	size_t col = 0, wlen;
	const char *w = text;

	while (*w) {
		while (*w == ' ')
			w++;
		if (*w == '\0')
			break;
		wlen = strcspn(w, " ");
		if (col > 0 && col + 1 + wlen > DSN_FOLD_AT) {
			buf_puts(b, "\n   ");
			col = 3;
		}
		if (col > 0) {
			buf_putc(b, ' ');
			col++;
		}
		buf_append(b, w, wlen);
		col += wlen;
		w += wlen;
	}
	buf_putc(b, '\n');
}

/* ------------------------------------------------------------------ */
/* One recipient, cleaned up */

struct dsn_rc {
	char		*addr;
	char		*orcpt;		/* "rfc822; decoded" or NULL */
	char		 status[16];
	char		*reason;	/* part 1; never NULL */
	char		*remote;	/* Remote-MTA name or NULL */
	char		*diag;		/* Diagnostic-Code reply or NULL */
};

/* From "host NAME[ADDR] said: REPLY (in reply to X command)": NAME and
   REPLY, or false. */
static bool
dsn_split_reason(const char *reason, char **remote_r, char **diag_r)
{
	const char *name, *end, *reply, *tail;
	size_t rlen;

	if (strncmp(reason, "host ", 5) != 0)
		return false;
	reply = dsn_skip_host_said(reason);
	if (reply == reason)
		return false;
	name = reason + 5;
	end = name + strcspn(name, "[ ");
	if (end == name)
		return false;
	rlen = strlen(reply);
	tail = strstr(reply, " (in reply to ");
	if (tail && reply[rlen - 1] == ')')
		rlen = (size_t)(tail - reply);
	*remote_r = dsn_clean(name, (size_t)(end - name), false, 255);
	*diag_r = dsn_clean(reply, rlen, false, DSN_DIAG_MAX);
	return true;
}

/* "rfc822;xtext" → "rfc822; decoded", or NULL when malformed. */
static char *
dsn_orcpt(const char *orcpt, bool allow8)
{
	const char *semi = strchr(orcpt, ';');
	char *type, *addr, *clean, *out;

	if (semi == NULL || semi == orcpt)
		return NULL;
	type = dsn_clean(orcpt, (size_t)(semi - orcpt), false, 32);
	addr = dsn_xtext_decode(semi + 1);
	clean = dsn_clean(addr, strlen(addr), allow8, 500);
	out = xasprintf("%s; %s", type, clean);
	free(type);
	free(addr);
	free(clean);
	return out;
}

static void
dsn_rc_init(struct dsn_rc *rc, const struct dsn_rcpt *r, bool allow8)
{
	const char *addr = r->addr ? r->addr : "";
	const char *defstatus;

	memset(rc, 0, sizeof(*rc));
	rc->addr = dsn_clean(addr, strlen(addr), allow8, 500);
	if (r->orcpt)
		rc->orcpt = dsn_orcpt(r->orcpt, allow8);
	rc->reason = r->reason ? dsn_clean(r->reason, strlen(r->reason),
	    false, DSN_DIAG_MAX) : NULL;
	if (r->diagnostic)
		rc->diag = dsn_clean(r->diagnostic, strlen(r->diagnostic),
		    false, DSN_DIAG_MAX);
	if (r->remote_mta)
		rc->remote = dsn_clean(r->remote_mta, strlen(r->remote_mta),
		    false, 255);
	if (r->reason && rc->diag == NULL && rc->remote == NULL)
		dsn_split_reason(r->reason, &rc->remote, &rc->diag);
	if ((r->status == NULL ||
	    dsn_status_from_reply(r->status, rc->status) < 0) &&
	    dsn_status_from_reply(rc->diag, rc->status) < 0 &&
	    dsn_status_from_reply(rc->reason, rc->status) < 0) {
		defstatus = r->action == DSN_ACTION_FAILED ? "5.0.0" :
		    r->action == DSN_ACTION_DELAYED ? "4.0.0" : "2.0.0";
		memcpy(rc->status, defstatus, 6);
	}
	if (rc->reason == NULL)
		rc->reason = xstrdup(rc->diag ? rc->diag : rc->status);
}

static void
dsn_rc_free(struct dsn_rc *rc)
{
	free(rc->addr);
	free(rc->orcpt);
	free(rc->reason);
	free(rc->remote);
	free(rc->diag);
}

/* ------------------------------------------------------------------ */
/* The parts */

struct dsn_ctx {
	const struct dsn_params	*p;
	struct dsn_rc		*rc;
	bool			 global;	/* RFC 6533 types */
	bool			 eightbit;	/* the result holds 8-bit */
	bool			 full;		/* whole original, not headers */
	size_t			 hdr_len;	/* original's header block */
	char			 boundary[80];
	char			*host;		/* cleaned hostname */
	const char		*content;	/* p->content, never NULL */
	size_t			 len;
};

static bool
dsn_any(const struct dsn_ctx *c, enum dsn_action a)
{
	for (int i = 0; i < c->p->nrcpt; i++)
		if (c->p->rcpts[i].action == a)
			return true;
	return false;
}

static const char *
dsn_subject(const struct dsn_ctx *c)
{
	if (dsn_any(c, DSN_ACTION_FAILED))
		return "Undelivered Mail Returned to Sender";
	if (dsn_any(c, DSN_ACTION_DELAYED))
		return "Delayed Mail (still being retried)";
	return "Successful Mail Delivery Report";
}

static void
dsn_header(struct buf *b, const struct dsn_ctx *c)
{
	const struct dsn_params *p = c->p;
	char date[RFC5322_DATE_MAX], id[17], *to, *mid;

	rfc5322_date_format(p->now ? p->now : time(NULL), date);
	to = dsn_clean(p->sender, strlen(p->sender), c->global, 500);
	if (p->message_id)
		mid = dsn_clean(p->message_id, strlen(p->message_id), false,
		    255);
	else {
		log_new_id(id);
		mid = xasprintf("%s.dsn@%s", id, c->host);
	}
	buf_printf(b, "From: \"Mail Delivery System\" <MAILER-DAEMON@%s>\n",
	    c->host);
	buf_printf(b, "To: <%s>\n", to);
	buf_printf(b, "Subject: %s\n", dsn_subject(c));
	buf_printf(b, "Date: %s\n", date);
	buf_printf(b, "Message-ID: <%s>\n", mid);
	buf_puts(b, "Auto-Submitted: auto-replied\n");
	buf_puts(b, "MIME-Version: 1.0\n");
	buf_printf(b, "Content-Type: multipart/report; report-type=%s;\n"
	    "\tboundary=\"%s\"\n", c->global ? "global-delivery-status" :
	    "delivery-status", c->boundary);
	buf_printf(b, "Content-Transfer-Encoding: %s\n",
	    c->eightbit ? "8bit" : "7bit");
	buf_puts(b, "\nThis is a MIME-encapsulated message.\n\n");
	free(to);
	free(mid);
}

static void
dsn_human_group(struct buf *b, const struct dsn_ctx *c, enum dsn_action a,
    const char *intro)
{
	char date[RFC5322_DATE_MAX];
	char *line;

	if (!dsn_any(c, a))
		return;
	buf_printf(b, "%s\n\n", intro);
	for (int i = 0; i < c->p->nrcpt; i++) {
		if (c->p->rcpts[i].action != a)
			continue;
		line = xasprintf("<%s>: %s", c->rc[i].addr, c->rc[i].reason);
		dsn_wrap(b, line);
		free(line);
		if (a == DSN_ACTION_DELAYED && c->p->rcpts[i].retry_until) {
			rfc5322_date_format(c->p->rcpts[i].retry_until, date);
			buf_printf(b, "    (retried until %s)\n", date);
		}
	}
	buf_putc(b, '\n');
}

static void
dsn_human(struct buf *b, const struct dsn_ctx *c)
{
	buf_printf(b, "--%s\n", c->boundary);
	buf_puts(b, "Content-Description: Notification\n");
	buf_printf(b, "Content-Type: text/plain; charset=%s\n",
	    c->global ? "utf-8" : "us-ascii");
	if (c->global)
		buf_puts(b, "Content-Transfer-Encoding: 8bit\n");
	buf_printf(b, "\nThis is the mail delivery system at host %s.\n\n",
	    c->host);
	if (c->p->queue_id)
		buf_printf(b, "Queue ID: %s\n\n", c->p->queue_id);
	dsn_human_group(b, c, DSN_ACTION_FAILED,
	    "Your message could not be delivered to the recipients below.\n"
	    "The reasons follow. The message (or its header) is attached.\n"
	    "If you need help, forward this report to your postmaster.");
	dsn_human_group(b, c, DSN_ACTION_DELAYED,
	    "Your message has not yet been delivered to the recipients below.\n"
	    "Delivery is being retried: you do not need to send it again.");
	dsn_human_group(b, c, DSN_ACTION_DELIVERED,
	    "Your message was delivered to the recipients below.");
	dsn_human_group(b, c, DSN_ACTION_RELAYED,
	    "Your message was relayed to the recipients below, to a system\n"
	    "that may send no further notifications.");
	dsn_human_group(b, c, DSN_ACTION_EXPANDED,
	    "Your message was delivered to the recipients below, which\n"
	    "forwarded it to further addresses.");
}

static const char *
dsn_addr_type(const struct dsn_ctx *c, const char *addr)
{
	return c->global && mime_has_8bit(addr, strlen(addr)) ? "utf-8" :
	    "rfc822";
}

static void
dsn_rcpt_fields(struct buf *b, const struct dsn_ctx *c, int i)
{
	const struct dsn_rcpt *r = &c->p->rcpts[i];
	const struct dsn_rc *rc = &c->rc[i];
	char date[RFC5322_DATE_MAX], *v;

	buf_putc(b, '\n');
	if (rc->orcpt)
		dsn_field(b, "Original-Recipient", rc->orcpt);
	v = xasprintf("%s; %s", dsn_addr_type(c, rc->addr), rc->addr);
	dsn_field(b, "Final-Recipient", v);
	free(v);
	buf_printf(b, "Action: %s\n", dsn_action_name(r->action));
	buf_printf(b, "Status: %s\n", rc->status);
	if (rc->remote) {
		v = xasprintf("dns; %s", rc->remote);
		dsn_field(b, "Remote-MTA", v);
		free(v);
	}
	if (rc->diag) {
		v = xasprintf("smtp; %s", rc->diag);
		dsn_field(b, "Diagnostic-Code", v);
		free(v);
	}
	if (r->last_attempt) {
		rfc5322_date_format(r->last_attempt, date);
		buf_printf(b, "Last-Attempt-Date: %s\n", date);
	}
	if (r->action == DSN_ACTION_DELAYED && r->retry_until) {
		rfc5322_date_format(r->retry_until, date);
		buf_printf(b, "Will-Retry-Until: %s\n", date);
	}
}

static void
dsn_report(struct buf *b, const struct dsn_ctx *c)
{
	const struct dsn_params *p = c->p;
	char date[RFC5322_DATE_MAX], *envid, *clean;

	buf_printf(b, "--%s\n", c->boundary);
	buf_puts(b, "Content-Description: Delivery report\n");
	buf_printf(b, "Content-Type: message/%s\n", c->global ?
	    "global-delivery-status" : "delivery-status");
	if (c->global)
		buf_puts(b, "Content-Transfer-Encoding: 8bit\n");
	buf_putc(b, '\n');
	buf_printf(b, "Reporting-MTA: dns; %s\n", c->host);
	if (p->envid) {
		/* RFC 3464 2.2.1: the field holds the ENVID decoded. */
		envid = dsn_xtext_decode(p->envid);
		clean = dsn_clean(envid, strlen(envid), false, 100);
		dsn_field(b, "Original-Envelope-Id", clean);
		free(envid);
		free(clean);
	}
	if (p->arrival) {
		rfc5322_date_format(p->arrival, date);
		buf_printf(b, "Arrival-Date: %s\n", date);
	}
	for (int i = 0; i < p->nrcpt; i++)
		dsn_rcpt_fields(b, c, i);
	buf_putc(b, '\n');
}

static void
dsn_original(struct buf *b, const struct dsn_ctx *c)
{
	size_t n = c->full ? c->len : c->hdr_len;
	bool bits8 = mime_has_8bit(c->content, n);

	if (c->len == 0)
		return;
	buf_printf(b, "--%s\n", c->boundary);
	buf_printf(b, "Content-Description: %s\n", c->full ?
	    "Undelivered Message" : "Undelivered Message Headers");
	if (c->full)
		buf_printf(b, "Content-Type: message/%s\n", c->global ?
		    "global" : "rfc822");
	else
		buf_printf(b, "Content-Type: %s\n", c->global ?
		    "message/global-headers" : "text/rfc822-headers");
	if (bits8)
		buf_puts(b, "Content-Transfer-Encoding: 8bit\n");
	buf_putc(b, '\n');
	mime_copy_lf(b, c->content, n);
	buf_putc(b, '\n');
}

/* The length of the header block, its final newline included and the
   empty line after it excluded. */
static size_t
dsn_header_len(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != '\n')
			continue;
		if (i + 1 < len && s[i + 1] == '\n')
			return i + 1;
		if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n')
			return i + 1;
	}
	if (len > 0 && (s[0] == '\n' || (s[0] == '\r' && len > 1 &&
	    s[1] == '\n')))
		return 0;
	return len;
}

static bool
dsn_boundary_ok(const struct dsn_ctx *c)
{
	return memmem(c->content, c->len, c->boundary,
	    strlen(c->boundary)) == NULL;
}

static void
dsn_pick_boundary(struct dsn_ctx *c)
{
	char id[17];

	if (c->p->boundary) {
		snprintf(c->boundary, sizeof(c->boundary), "%s",
		    c->p->boundary);
		return;
	}
	do {
		log_new_id(id);
		snprintf(c->boundary, sizeof(c->boundary), "=_tem_%s", id);
	} while (!dsn_boundary_ok(c));
}

char *
dsn_build(const struct dsn_params *p, size_t *len_r)
{
	struct dsn_ctx c;
	struct buf b;
	size_t full_max = p->full_max ? p->full_max : DSN_FULL_MAX, total;
	const char *host = p->hostname ? p->hostname : "localhost";
	int i;

	*len_r = 0;
	if (p->sender == NULL || p->sender[0] == '\0' || p->nrcpt <= 0)
		return NULL;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.global = p->smtputf8;
	c.host = dsn_clean(host, strlen(host), false, 255);
	c.content = p->content ? p->content : "";
	c.len = p->content ? p->len : 0;
	total = p->total > c.len ? p->total : c.len;
	c.full = p->ret != DSN_RET_HDRS && total <= full_max &&
	    c.len == total;
	c.hdr_len = dsn_header_len(c.content, c.len);
	if (c.len < total && c.hdr_len == c.len)
		/* a header longer than the part given: whole lines only */
		while (c.hdr_len > 0 && c.content[c.hdr_len - 1] != '\n')
			c.hdr_len--;
	c.eightbit = c.global || mime_has_8bit(c.content,
	    c.full ? c.len : c.hdr_len);
	dsn_pick_boundary(&c);
	c.rc = xcalloc((size_t)p->nrcpt, sizeof(*c.rc));
	for (i = 0; i < p->nrcpt; i++)
		dsn_rc_init(&c.rc[i], &p->rcpts[i], c.global);

	buf_init(&b, 0);
	dsn_header(&b, &c);
	dsn_human(&b, &c);
	dsn_report(&b, &c);
	dsn_original(&b, &c);
	buf_printf(&b, "--%s--\n", c.boundary);

	for (i = 0; i < p->nrcpt; i++)
		dsn_rc_free(&c.rc[i]);
	free(c.rc);
	free(c.host);
	return buf_steal(&b, len_r);
}
