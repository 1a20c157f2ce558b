/*
 * imap_section - section specifiers and their contents (see
 * imap_section.h).
 *
 * Trust: the specifier is client input (bounded lists, BAD on anything
 * unexpected); the message is untrusted data already parsed by mime.c.
 * Ranges always come from the parser, so they lie inside the buffer.
 * Callers: the IMAP FETCH command, tests, fuzz-mime.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/imap_section.h"
#include "mail/mime_decode.h"
#include "mail/rfc5322.h"
#include "util/xmalloc.h"

/* --- parsing ------------------------------------------------------------ */

static bool
kw(const char *s, size_t len, size_t *pos, const char *word)
{
	size_t n = strlen(word);

	if (len - *pos < n || strncasecmp(s + *pos, word, n) != 0)
		return false;
	*pos += n;
	return true;
}

static bool
atom_char(char c)
{
	return c > ' ' && c < 0x7F && strchr("(){%*\"\\]", c) == NULL;
}

/* " (name name ...)" to the end of s. */
static int
parse_fields(const char *s, size_t len, size_t pos, struct imap_section *sec)
{
	if (pos >= len || s[pos++] != ' ' || pos >= len || s[pos++] != '(')
		return -1;
	for (;;) {
		struct buf name;

		if (pos < len && s[pos] == ')' && sec->nfields > 0)
			return pos + 1 == len ? 0 : -1;
		if (sec->nfields > 0 && (pos >= len || s[pos++] != ' '))
			return -1;
		if (pos >= len || sec->nfields >= IMAP_SECTION_MAX_FIELDS)
			return -1;
		buf_init(&name, IMAP_SECTION_FIELD_MAX);
		if (s[pos] == '"') {
			for (pos++; pos < len && s[pos] != '"'; pos++) {
				if (s[pos] == '\\' && pos + 1 < len)
					pos++;
				if (buf_putc(&name, s[pos]) < 0)
					break;
			}
			if (pos++ >= len)
				name.len = 0;
		} else
			while (pos < len && atom_char(s[pos]))
				if (buf_putc(&name, s[pos++]) < 0)
					break;
		if (name.len == 0 || name.len >= IMAP_SECTION_FIELD_MAX) {
			buf_free(&name);
			return -1;
		}
		sec->fields = xrealloc(sec->fields,
		    (sec->nfields + 1) * sizeof(*sec->fields));
		sec->fields[sec->nfields++] = buf_steal(&name, NULL);
	}
}

static int
parse_parts(const char *s, size_t len, size_t *pos, struct imap_section *sec)
{
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		uint64_t n = 0;

		if (s[*pos] == '0' || sec->nparts >= IMAP_SECTION_MAX_PARTS)
			return -1;
		while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
			n = n * 10 + (uint64_t)(s[(*pos)++] - '0');
			if (n > UINT32_MAX)
				return -1;
		}
		sec->parts[sec->nparts++] = (uint32_t)n;
		if (*pos == len)
			return 0;
		if (s[(*pos)++] != '.' || *pos == len)
			return -1;
	}
	return 0;
}

int
imap_section_parse(const char *s, size_t len, struct imap_section *sec,
    const char **error_r)
{
	size_t pos = 0;

	memset(sec, 0, sizeof(*sec));
	*error_r = "Invalid section";
	if (parse_parts(s, len, &pos, sec) < 0)
		return -1;
	sec->kind = IMAP_SECTION_ALL;
	if (pos == len)
		return 0;
	if (kw(s, len, &pos, "HEADER.FIELDS.NOT"))
		sec->kind = IMAP_SECTION_HEADER_FIELDS_NOT;
	else if (kw(s, len, &pos, "HEADER.FIELDS"))
		sec->kind = IMAP_SECTION_HEADER_FIELDS;
	else if (kw(s, len, &pos, "HEADER"))
		sec->kind = IMAP_SECTION_HEADER;
	else if (kw(s, len, &pos, "TEXT"))
		sec->kind = IMAP_SECTION_TEXT;
	else if (sec->nparts > 0 && kw(s, len, &pos, "MIME"))
		sec->kind = IMAP_SECTION_MIME;
	else
		return -1;
	if (sec->kind == IMAP_SECTION_HEADER_FIELDS ||
	    sec->kind == IMAP_SECTION_HEADER_FIELDS_NOT) {
		*error_r = "Invalid header field list";
		return parse_fields(s, len, pos, sec);
	}
	return pos == len ? 0 : -1;
}

void
imap_section_free(struct imap_section *sec)
{
	for (size_t i = 0; i < sec->nfields; i++)
		free(sec->fields[i]);
	XFREE(&sec->fields);
	sec->nfields = 0;
}

/* --- locating ----------------------------------------------------------- */

/*
 * How far "1" may name the part itself (Dovecot's reading, checked
 * against it): the root of a single-part message is its part 1; a child
 * of a multipart may be called N.1 once; nothing deeper.
 */
enum step_state { STEP_ROOT, STEP_SELF_OK, STEP_NONE };

static const struct mime_part *
part_step(const struct mime_part *cur, uint32_t n, enum step_state *st)
{
	if (mime_part_is_multipart(cur)) {
		*st = STEP_SELF_OK;
		return mime_part_child(cur, n);
	}
	if (*st != STEP_ROOT && mime_part_is_message(cur) &&
	    cur->message != NULL) {
		cur = cur->message;
		if (mime_part_is_multipart(cur)) {
			*st = STEP_SELF_OK;
			return mime_part_child(cur, n);
		}
		*st = STEP_NONE;
		return n == 1 ? cur : NULL;
	}
	if (*st == STEP_NONE || n != 1)
		return NULL;
	*st = STEP_NONE;
	return cur;
}

const struct mime_part *
imap_section_part(const struct mime_msg *m, const uint32_t *parts,
    size_t nparts)
{
	const struct mime_part *cur = m->root;
	enum step_state st = STEP_ROOT;

	for (size_t i = 0; i < nparts && cur != NULL; i++)
		cur = part_step(cur, parts[i], &st);
	return cur;
}

/* --- contents ----------------------------------------------------------- */

static bool
field_listed(const struct imap_section *sec, const struct rfc5322_field *f)
{
	for (size_t i = 0; i < sec->nfields; i++)
		if (rfc5322_field_is(f, sec->fields[i]))
			return true;
	return false;
}

/* HEADER.FIELDS[.NOT] of the header data[from..to) into tmp. */
static void
header_fields(const struct mime_msg *m, const struct imap_section *sec,
    size_t from, size_t to, struct buf *tmp)
{
	bool want = sec->kind == IMAP_SECTION_HEADER_FIELDS;
	struct rfc5322_iter it;
	struct rfc5322_field f;

	rfc5322_iter_init(&it, m->data + from, to - from);
	while (rfc5322_iter_next(&it, &f) == 1) {
		if (field_listed(sec, &f) != want)
			continue;
		mime_append_wire(m->data, from + f.off, from + f.off + f.len,
		    0, SIZE_MAX, tmp);
		if (tmp->len > 0 && tmp->data[tmp->len - 1] != '\n')
			buf_puts(tmp, "\r\n");
	}
	/* The empty line, unless the header had none and nothing was
	   copied (what Dovecot does). */
	if (tmp->len > 0 || rfc5322_ends_blank(m->data + from, to - from))
		buf_puts(tmp, "\r\n");
}

static int
append_window(const char *s, size_t n, size_t offset, size_t length,
    struct buf *out)
{
	if (offset >= n)
		return 0;
	n -= offset;
	return buf_append(out, s + offset, length < n ? length : n);
}

int
imap_section_fetch(const struct mime_msg *m, const struct imap_section *sec,
    size_t offset, size_t length, struct buf *out, size_t *size_r)
{
	const struct mime_part *p = imap_section_part(m, sec->parts,
	    sec->nparts), *t = p;
	size_t from = 0, to = 0;
	struct buf tmp;
	int r;

	if (p != NULL && sec->nparts > 0 && sec->kind != IMAP_SECTION_ALL &&
	    sec->kind != IMAP_SECTION_MIME)
		t = mime_part_is_message(p) ? p->message : NULL;
	if (t != NULL) {
		switch (sec->kind) {
		case IMAP_SECTION_ALL:
			from = sec->nparts == 0 ? 0 : t->body_off;
			to = sec->nparts == 0 ? m->len : t->end;
			break;
		case IMAP_SECTION_MIME:
		case IMAP_SECTION_HEADER:
		case IMAP_SECTION_HEADER_FIELDS:
		case IMAP_SECTION_HEADER_FIELDS_NOT:
			from = t->hdr_off;
			to = t->body_off;
			break;
		case IMAP_SECTION_TEXT:
			from = t->body_off;
			to = t->end;
			break;
		}
	}
	if (t == NULL || (sec->kind != IMAP_SECTION_HEADER_FIELDS &&
	    sec->kind != IMAP_SECTION_HEADER_FIELDS_NOT)) {
		if (size_r != NULL)
			*size_r = mime_wire_size(m->data, from, to);
		return mime_append_wire(m->data, from, to, offset, length, out);
	}
	buf_init(&tmp, 0);
	header_fields(m, sec, from, to, &tmp);
	if (size_r != NULL)
		*size_r = tmp.len;
	r = append_window(tmp.data, tmp.len, offset, length, out);
	buf_free(&tmp);
	return r;
}

int
imap_binary_fetch(const struct mime_msg *m, const struct imap_section *sec,
    size_t offset, size_t length, struct buf *out, size_t *size_r)
{
	const struct mime_part *p;
	struct buf tmp;
	int r;

	if (sec->kind != IMAP_SECTION_ALL)
		return IMAP_BINARY_BAD_SECTION;
	p = imap_section_part(m, sec->parts, sec->nparts);
	if (p == NULL || sec->nparts == 0 || mime_part_is_multipart(p) ||
	    mime_part_is_message(p))
		return imap_section_fetch(m, sec, offset, length, out,
		    size_r) < 0 ? IMAP_BINARY_TOOBIG : IMAP_BINARY_OK;
	if (p->cte == MIME_CTE_7BIT || p->cte == MIME_CTE_8BIT ||
	    p->cte == MIME_CTE_BINARY) {
		if (!m->exact)
			return imap_section_fetch(m, sec, offset, length, out,
			    size_r) < 0 ? IMAP_BINARY_TOOBIG : IMAP_BINARY_OK;
		/* stored as received: the octets as they are (RFC 3516) */
		if (size_r != NULL)
			*size_r = p->end - p->body_off;
		return append_window(m->data + p->body_off,
		    p->end - p->body_off, offset, length, out) < 0 ?
		    IMAP_BINARY_TOOBIG : IMAP_BINARY_OK;
	}
	if (p->cte == MIME_CTE_UNKNOWN)
		return IMAP_BINARY_UNKNOWN_CTE;
	buf_init(&tmp, out->max);
	if (p->cte == MIME_CTE_BASE64)
		r = mime_decode_base64(m->data + p->body_off,
		    p->end - p->body_off, &tmp);
	else
		r = mime_decode_qp(m->data + p->body_off,
		    p->end - p->body_off, &tmp);
	if (r == 0) {
		if (size_r != NULL)
			*size_r = tmp.len;
		r = append_window(tmp.data, tmp.len, offset, length, out) < 0 ?
		    IMAP_BINARY_TOOBIG : IMAP_BINARY_OK;
	} else
		r = r < 0 ? IMAP_BINARY_TOOBIG : IMAP_BINARY_CORRUPT;
	buf_free(&tmp);
	return r;
}
