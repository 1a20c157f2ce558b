/*
 * milter_replycode - the SMTP reply a filter sets with SMFIR_REPLYCODE
 * (libmilter's smfi_setreply / smfi_setmlreply), checked and taken apart
 * (see milter_proto.h).
 *
 * Trust: the text comes from a filter process and is sent on to the SMTP
 * client, so it must be a well-formed 4xx/5xx reply: every line the same
 * code, "-" before each continuation, an enhanced status code (RFC 3463)
 * of the reply's class or none, no control characters (only CRLF between
 * lines), at most MILTER_REPLY_LINES_MAX lines of MILTER_REPLY_LINE_MAX
 * octets (libmilter's own limits). '%' follows Sendmail's format-string
 * convention as Postfix reads it: "%%" is one '%', a lone '%' is dropped,
 * and each line is judged as it reads once that is undone, so the reply
 * milter_replycode_format rebuilds is one that was checked.
 */
#include <stdbool.h>
#include <string.h>

#include "milter/milter_proto.h"
#include "util/buf.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An enhanced status "c.s.d" (1-3 digits each) at s, followed by a space
   or the end of the line at e; its length, or 0. */
static size_t
status_len(const char *s, const char *e)
{
	const char *p = s;
	size_t n;

	if (e - p < 5 || (*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
		return 0;
	p += 2;
	for (int part = 0; part < 2; part++) {
		for (n = 0; p < e && is_digit(*p) && n < 4; p++)
			n++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0 && (p == e || *p++ != '.'))
			return 0;
	}
	if (p != e && *p != ' ')
		return 0;
	return (size_t)(p - s);
}

/* One line [p, e) into out with '%' unescaped, so that the code and the
   status are read from what the line means; false on a control
   character. */
static bool
unescape(struct buf *out, const char *p, const char *e)
{
	buf_reset(out);
	for (; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		if (c == '%') {
			if (p + 1 == e || p[1] != '%')
				continue;
			p++;
		}
		buf_putc(out, (char)c);
	}
	return true;
}

struct rc_state {
	char		 code[3];	/* the first line's digits */
	char		 status[12];	/* the first line's status, or "" */
	size_t		 slen;
	int		 lines;
};

/* One line [p, e), unescaped, without its CRLF; last: no line follows. */
static bool
parse_line(struct rc_state *st, const char *p, const char *e, bool last,
    struct buf *msg)
{
	size_t sl;

	if (e - p < 3 || e - p > 4 + MILTER_REPLY_LINE_MAX ||
	    (p[0] != '4' && p[0] != '5') || !is_digit(p[1]) || !is_digit(p[2]))
		return false;
	if (st->lines == 0)
		memcpy(st->code, p, 3);
	else if (memcmp(st->code, p, 3) != 0)
		return false;
	if (++st->lines > MILTER_REPLY_LINES_MAX)
		return false;
	p += 3;
	if (msg != NULL && st->lines > 1)
		buf_puts(msg, "\r\n");
	if (p == e)				/* "550": no text */
		return last;
	if (*p++ != (last ? ' ' : '-'))
		return false;
	sl = status_len(p, e);
	if (st->lines == 1 && sl > 0) {
		if (*p != st->code[0])		/* "550 4.7.1": wrong class */
			return false;
		memcpy(st->status, p, sl);
		st->slen = sl;
	} else if (st->slen > 0 && sl > 0) {
		if (sl != st->slen || memcmp(p, st->status, sl) != 0)
			return false;
	} else {
		sl = 0;				/* text that looks like one */
	}
	if (sl > 0) {
		p += sl;
		if (p < e)
			p++;			/* the space after it */
	}
	if (msg != NULL)
		buf_append(msg, p, (size_t)(e - p));
	return true;
}

int
milter_replycode_parse(const char *text, int *code, struct buf *status,
    struct buf *msg)
{
	struct rc_state st = { { 0 }, { 0 }, 0, 0 };
	const char *p = text, *end = text + strlen(text), *crlf, *lp;
	struct buf line;
	bool ok;

	if (status != NULL)
		buf_reset(status);
	if (msg != NULL)
		buf_reset(msg);
	if (p == end)
		goto bad;
	buf_init(&line, 0);
	for (;;) {
		crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
		ok = unescape(&line, p, crlf ? crlf : end);
		lp = buf_cstr(&line);
		if (!ok || !parse_line(&st, lp, lp + line.len, crlf == NULL,
		    msg)) {
			buf_free(&line);
			goto bad;
		}
		if (crlf == NULL)
			break;
		p = crlf + 2;
	}
	buf_free(&line);
	*code = (st.code[0] - '0') * 100 + (st.code[1] - '0') * 10 +
	    (st.code[2] - '0');
	if (status != NULL)
		buf_append(status, st.status, st.slen);
	return 0;
bad:
	*code = 0;
	if (status != NULL)
		buf_reset(status);
	if (msg != NULL)
		buf_reset(msg);
	return -1;
}

void
milter_replycode_format(int code, const char *status, const char *msg,
    struct buf *out)
{
	const char *p = msg, *crlf;

	for (;;) {
		crlf = strstr(p, "\r\n");
		buf_printf(out, "%03d%c", code, crlf ? '-' : ' ');
		if (status != NULL && *status != '\0')
			buf_printf(out, "%s ", status);
		buf_append(out, p, crlf ? (size_t)(crlf - p) : strlen(p));
		if (crlf == NULL)
			break;
		buf_puts(out, "\r\n");
		p = crlf + 2;
	}
}
