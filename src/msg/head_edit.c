/*
 * head_edit - add, insert, change and delete header fields in a stored
 * header section (see head_edit.h): one splice of the head buffer per
 * edit, the new field built and checked before anything moves.
 *
 * Trust: the field name and value come from a milter, an outside program,
 * and are checked here (name grammar and length, folding only, the result
 * bounded by max); the head is message text from anyone and is only
 * scanned forward within its length (mail/rfc5322.c's iterator), never
 * trusted to be well formed.
 *
 * Index semantics follow Postfix (src/milter/milter8.c turning libmilter's
 * wire indexes into calls of src/cleanup/cleanup_milter.c):
 *   - insert: the wire index is 0-based over all fields (0 = top-most),
 *     an index past the last field appends (cleanup_ins_header falls back
 *     to cleanup_add_header);
 *   - change: 1-based among the fields of that name, 0 taken as 1
 *     ("Sendmail 8 compatibility"); an empty value deletes; a missing
 *     field with a value is appended (cleanup_upd_header), a missing
 *     field to delete is no error (cleanup_del_header);
 *   - the separator after the colon is "" with SMFIP_HDR_LEADSPC, else
 *     one SP (MILTER8_HDR_SPACE).
 * Unlike Postfix, nothing is skipped at the top: Postfix's own Received
 * field is in its queue file but was never sent to the milter; tem's
 * trace fields are a prefix added at commit, not part of this head.
 */
#include <string.h>

#include "mail/rfc5322.h"
#include "msg/head_edit.h"

#define IS_WSP(c)	((c) == ' ' || (c) == '\t')

static bool
name_valid(const char *name)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
		if (++n > HEAD_EDIT_NAME_MAX)
			return false;
	}
	return n > 0;
}

/* Appends "name:" SEP value LF to out, folding CRLF (or LF) + WSP into
 * LF + WSP. -1: a CR or LF that is no folding, or out's max reached. */
static int
field_build(struct buf *out, const char *name, const char *value,
    bool leadspc)
{
	const char *v = value;

	if (buf_puts(out, name) < 0 || buf_puts(out, leadspc ? ":" : ": ") < 0)
		return -1;
	while (*v != '\0') {
		size_t run = strcspn(v, "\r\n");

		if (buf_append(out, v, run) < 0)
			return -1;
		v += run;
		if (*v == '\0')
			break;
		if (v[0] == '\r' && v[1] == '\n')
			v++;
		if (v[0] != '\n' || !IS_WSP(v[1]))
			return -1;	/* bare CR, or a line end that ends it */
		if (buf_putc(out, '\n') < 0)
			return -1;
		v++;
	}
	return buf_putc(out, '\n');
}

/* Where the header section ends: the start of its empty line (the same
 * test as rfc5322_iter_next: nothing but an optional CR before the LF),
 * else len. */
static size_t
head_end(const char *d, size_t len)
{
	size_t p = 0;

	while (p < len) {
		const char *nl = memchr(d + p, '\n', len - p);
		size_t end = nl != NULL ? (size_t)(nl - d) : len;

		if (end == p || (end == p + 1 && d[p] == '\r'))
			return p;
		if (nl == NULL)
			break;
		p = end + 1;
	}
	return len;
}

/* Finds the n-th field (0-based) named name (any name when NULL). */
static bool
field_nth(const char *d, size_t len, const char *name, size_t n,
    struct rfc5322_field *f)
{
	struct rfc5322_iter it;

	rfc5322_iter_init(&it, d, len);
	while (rfc5322_iter_next(&it, f) == 1) {
		if (name != NULL && !rfc5322_field_is(f, name))
			continue;
		if (n-- == 0)
			return true;
	}
	return false;
}

/* Replaces head[pos, pos + del) by ins[0..n) in place. */
static int
splice(struct buf *head, size_t pos, size_t del, const char *ins, size_t n)
{
	size_t tail = head->len - pos - del;

	if (n > del) {
		/* grow first (any n - del bytes: they are overwritten) */
		if (buf_append(head, ins, n - del) < 0)
			return -1;
	}
	memmove(head->data + pos + n, head->data + pos + del, tail);
	memcpy(head->data + pos, ins, n);
	head->len = pos + n + tail;
	head->data[head->len] = '\0';
	return 0;
}

int
head_edit_apply(struct buf *head, enum head_edit_op op, unsigned index,
    const char *name, const char *value, bool leadspc, size_t max)
{
	const char *d = buf_cstr(head);
	size_t len = head->len, end = head_end(d, len);
	size_t pos = end, del = 0;
	struct rfc5322_field f;
	struct buf field;
	int rc = -1;

	if (!name_valid(name))
		return -1;
	buf_init(&field, max + 1);
	switch (op) {
	case HEAD_EDIT_ADD:
		break;
	case HEAD_EDIT_INSERT:
		if (field_nth(d, end, NULL, index, &f))
			pos = f.off;
		break;
	case HEAD_EDIT_CHANGE:
		if (field_nth(d, end, name, index > 0 ? index - 1 : 0, &f)) {
			pos = f.off;
			del = f.len;
		} else if (*value == '\0') {
			rc = 0;		/* nothing to delete: no error */
			goto out;
		}
		if (*value == '\0')
			goto edit;	/* a delete: no new field */
		break;
	}
	/* appended after an unterminated last line: end that line first */
	if (del == 0 && pos == len && len > 0 && d[len - 1] != '\n' &&
	    buf_putc(&field, '\n') < 0)
		goto out;
	if (field_build(&field, name, value, leadspc) < 0)
		goto out;
edit:
	if (len - del + field.len <= max)
		rc = splice(head, pos, del, buf_cstr(&field), field.len);
out:
	buf_free(&field);
	return rc;
}

size_t
head_field_count(const char *head, size_t len)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t n = 0;

	rfc5322_iter_init(&it, head, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		n++;
	return n;
}
