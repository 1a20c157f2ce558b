/*
 * imap_out - IMAP response formatting: strings in the least surprising
 * form (atom, quoted, literal), mailbox names in the client's encoding,
 * flag lists.
 *
 * Trust: formats data that may come from mail (untrusted): anything with
 * CR, LF, NUL, quotes beyond escaping, or 8-bit text for a 7-bit client
 * goes out as a literal, never raw in a line.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_client.h"
#include "store/mailbox.h"
#include "util/xmalloc.h"

static bool
atom_char(unsigned char ch)
{
	/* RFC 9051 ATOM-CHAR: no specials ( ) { SP CTL % * " \ ] */
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\]", ch);
}

static bool
quotable(const char *s, size_t len, bool utf8)
{
	if (len > 1024)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\0' || ch == '\r' || ch == '\n')
			return false;
		if (ch >= 0x80 && !utf8)
			return false;
	}
	return true;
}

void
imap_out_literal(struct buf *out, const char *s, size_t len, bool binary)
{
	buf_printf(out, "%s{%zu}\r\n", binary ? "~" : "", len);
	buf_append(out, s, len);
}

void
imap_out_string(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (!quotable(s, len, utf8)) {
		imap_out_literal(out, s, len, false);
		return;
	}
	buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, s[i]);
	}
	buf_putc(out, '"');
}

void
imap_out_astring(struct buf *out, const char *s, size_t len, bool utf8)
{
	bool atom = len > 0;

	for (size_t i = 0; i < len && atom; i++)
		if (!atom_char((unsigned char)s[i]))
			atom = false;
	/* "NIL" as an atom would read as nil */
	if (atom && !(len == 3 && strncasecmp(s, "NIL", 3) == 0)) {
		buf_append(out, s, len);
		return;
	}
	imap_out_string(out, s, len, utf8);
}

void
imap_out_nstring(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (s == NULL) {
		buf_puts(out, "NIL");
		return;
	}
	imap_out_string(out, s, len, utf8);
}

void
imap_out_mailbox(struct buf *out, const char *name, bool utf8)
{
	char *m;

	if (utf8) {
		imap_out_astring(out, name, strlen(name), true);
		return;
	}
	m = imap_mailbox_encode_mutf7(name);
	if (m == NULL)		/* not UTF-8: cannot happen for store names */
		m = xstrdup(name);
	imap_out_astring(out, m, strlen(m), false);
	free(m);
}

void
imap_out_flags(struct buf *out, struct mbox_view *v, unsigned flags,
    uint32_t keywords)
{
	static const struct { unsigned bit; const char *name; } sys[] = {
		{ MBOX_F_ANSWERED, "\\Answered" }, { MBOX_F_FLAGGED, "\\Flagged" },
		{ MBOX_F_DELETED, "\\Deleted" }, { MBOX_F_SEEN, "\\Seen" },
		{ MBOX_F_DRAFT, "\\Draft" }, { MBOX_F_RECENT, "\\Recent" },
	};
	bool first = true;

	keywords &= mbox_view_keywords_told(v);	/* never one not announced */
	buf_putc(out, '(');
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (flags & sys[i].bit) {
			if (!first)
				buf_putc(out, ' ');
			buf_puts(out, sys[i].name);
			first = false;
		}
	for (unsigned i = 0; i < 32 && keywords; i++)
		if (keywords & (1u << i)) {
			const char *kw = mbox_view_keyword(v, i);
			if (kw == NULL)
				continue;
			if (!first)
				buf_putc(out, ' ');
			buf_puts(out, kw);
			first = false;
		}
	buf_putc(out, ')');
}

void
imap_out_new_keywords(struct buf *out, struct mbox_view *v, bool readonly)
{
	if (mbox_view_keywords_news(v))
		imap_out_flag_lists(out, v, readonly);
}

void
imap_out_flag_lists(struct buf *out, struct mbox_view *v, bool readonly)
{
	unsigned n = mbox_view_n_keywords(v);

	buf_puts(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (unsigned i = 0; i < n; i++) {
		const char *kw = mbox_view_keyword(v, i);
		if (kw)
			buf_printf(out, " %s", kw);
	}
	buf_puts(out, ")\r\n");
	if (readonly) {
		buf_puts(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
		return;
	}
	buf_puts(out, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
	    "\\Seen \\Draft");
	for (unsigned i = 0; i < n; i++) {
		const char *kw = mbox_view_keyword(v, i);
		if (kw)
			buf_printf(out, " %s", kw);
	}
	if (mbox_view_can_add_keywords(v))
		buf_puts(out, " \\*");
	buf_puts(out, ")] Flags permitted\r\n");
}
