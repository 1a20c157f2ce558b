/*
 * smtp_reply - SMTP reply and EHLO capability parsing (see smtp_reply.h).
 *
 * Trust: untrusted input from remote servers. Every line is checked for
 * length and syntax before any byte is kept; the kept text is bounded by
 * SMTP_REPLY_LINE_MAX * SMTP_REPLY_LINES_MAX. Called by mta_session.c and
 * fuzz/fuzz-smtp-reply.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mta/smtp_reply.h"
#include "util/xmalloc.h"

void
smtp_reply_parser_init(struct smtp_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->text, 0);
}

void
smtp_reply_parser_free(struct smtp_reply_parser *p)
{
	buf_free(&p->text);
	memset(p, 0, sizeof(*p));
}

static void
smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	buf_reset(&p->text);
	p->code = 0;
	p->nlines = 0;
	p->status[0] = '\0';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The reply code at the start of line, or -1. RFC 5321 4.2:
   %x32-35 %x30-35 %x30-39. */
static int
parse_code(const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || !is_digit(line[2]))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* Reads 1 to 3 digits at s[*i]; false when there are none or more. */
static bool
scan_digits(const char *s, size_t len, size_t *i)
{
	size_t start = *i;

	while (*i < len && is_digit(s[*i]))
		(*i)++;
	return *i > start && *i - start <= 3;
}

/*
 * An enhanced status code "c.s.d" at the start of s (RFC 3463), whose
 * class must be cls and which must end at a space or the end. Copies it
 * to out and returns its length, or returns 0.
 */
static size_t
parse_status(const char *s, size_t len, char cls, char out[SMTP_STATUS_MAX])
{
	size_t i = 2;

	if (len < 5 || s[0] != cls || s[1] != '.')
		return 0;
	if (!scan_digits(s, len, &i) || i >= len || s[i] != '.')
		return 0;
	i++;
	if (!scan_digits(s, len, &i) || (i < len && s[i] != ' '))
		return 0;
	memcpy(out, s, i);	/* i <= 9 < SMTP_STATUS_MAX */
	out[i] = '\0';
	return i;
}

static int
smtp_reply_fail(struct smtp_reply_parser *p, const char *why,
    const char **error_r)
{
	smtp_reply_parser_reset(p);
	*error_r = why;
	return -1;
}

int
smtp_reply_feed(struct smtp_reply_parser *p, const char *line, size_t len,
    struct smtp_reply *r, const char **error_r)
{
	int code;
	bool last;

	memset(r, 0, sizeof(*r));
	if (len > SMTP_REPLY_LINE_MAX)
		return smtp_reply_fail(p, "reply line too long", error_r);
	if (memchr(line, '\0', len) != NULL || memchr(line, '\n', len) != NULL)
		return smtp_reply_fail(p, "NUL or LF in reply", error_r);
	if ((code = parse_code(line, len)) < 0)
		return smtp_reply_fail(p, "reply without a valid code", error_r);
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return smtp_reply_fail(p, "bad reply separator", error_r);
	if (p->nlines > 0 && code != p->code)
		return smtp_reply_fail(p, "reply code changed inside a "
		    "multiline reply", error_r);
	if (p->nlines >= SMTP_REPLY_LINES_MAX)
		return smtp_reply_fail(p, "too many reply lines", error_r);
	last = len == 3 || line[3] == ' ';
	if (p->nlines == 0) {
		p->code = code;
		if (len > 4)
			parse_status(line + 4, len - 4, line[0], p->status);
	} else
		buf_putc(&p->text, '\n');
	if (len > 4)
		buf_append(&p->text, line + 4, len - 4);
	p->nlines++;
	if (!last)
		return 0;
	r->code = p->code;
	memcpy(r->status, p->status, sizeof(r->status));
	r->nlines = p->nlines;
	r->text = xmemdup(buf_cstr(&p->text), p->text.len + 1);
	smtp_reply_parser_reset(p);
	return 1;
}

void
smtp_reply_free(struct smtp_reply *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* Appends one line's text, its leading enhanced code dropped when it
   repeats status, control characters replaced. */
static void
oneline_append(struct buf *b, const char *s, size_t len, const char *status)
{
	size_t slen = strlen(status), i;

	if (slen > 0 && len >= slen && memcmp(s, status, slen) == 0 &&
	    (len == slen || s[slen] == ' ')) {
		s += slen;
		len -= slen;
		while (len > 0 && *s == ' ') {
			s++;
			len--;
		}
	}
	if (len > 0 && b->len > 0 && b->data[b->len - 1] != ' ')
		buf_putc(b, ' ');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

char *
smtp_reply_oneline(const struct smtp_reply *r, size_t max)
{
	struct buf b;
	const char *s = r->text ? r->text : "", *nl;

	buf_init(&b, 0);
	buf_printf(&b, "%03d", r->code);
	if (r->status[0])
		buf_printf(&b, " %s", r->status);
	for (;;) {
		nl = strchr(s, '\n');
		oneline_append(&b, s, nl ? (size_t)(nl - s) : strlen(s),
		    r->status);
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	if (max > 3 && b.len > max) {
		b.len = max - 3;
		buf_puts(&b, "...");
	}
	return buf_steal(&b, NULL);
}

/* Case-insensitive: does the keyword s[0..len) equal kw? */
static bool
keyword_is(const char *s, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(s, kw, len) == 0;
}

/* SIZE's parameter: decimal digits only; 0 when absent or bad. */
static uint64_t
parse_size_param(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	while (len > 0 && *s == ' ') {
		s++;
		len--;
	}
	for (i = 0; i < len && is_digit(s[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || (i < len && s[i] != ' '))
		return 0;
	return v;
}

static const struct {
	const char	*kw;
	unsigned	 flag;
} smtp_cap_table[] = {
	{ "PIPELINING", SMTP_CAP_PIPELINING },
	{ "SIZE", SMTP_CAP_SIZE },
	{ "STARTTLS", SMTP_CAP_STARTTLS },
	{ "8BITMIME", SMTP_CAP_8BITMIME },
	{ "SMTPUTF8", SMTP_CAP_SMTPUTF8 },
	{ "ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES },
	{ "CHUNKING", SMTP_CAP_CHUNKING },
	{ "DSN", SMTP_CAP_DSN },
	{ "AUTH", SMTP_CAP_AUTH },
	{ "BINARYMIME", SMTP_CAP_BINARYMIME },
	{ "REQUIRETLS", SMTP_CAP_REQUIRETLS },
};

static void
ehlo_line(const char *s, size_t len, struct smtp_caps *caps)
{
	size_t kwlen = 0, i;

	while (kwlen < len && s[kwlen] != ' ')
		kwlen++;
	for (i = 0; i < sizeof(smtp_cap_table) / sizeof(smtp_cap_table[0]);
	    i++) {
		if (!keyword_is(s, kwlen, smtp_cap_table[i].kw))
			continue;
		caps->flags |= smtp_cap_table[i].flag;
		if (smtp_cap_table[i].flag == SMTP_CAP_SIZE)
			caps->size = parse_size_param(s + kwlen, len - kwlen);
		return;
	}
}

void
smtp_reply_ehlo_caps(const char *text, struct smtp_caps *caps_r)
{
	const char *nl;

	memset(caps_r, 0, sizeof(*caps_r));
	if (text == NULL || (nl = strchr(text, '\n')) == NULL)
		return;		/* a one-line reply: no extensions */
	for (text = nl + 1;; text = nl + 1) {
		nl = strchr(text, '\n');
		ehlo_line(text, nl ? (size_t)(nl - text) : strlen(text),
		    caps_r);
		if (nl == NULL)
			break;
	}
}
