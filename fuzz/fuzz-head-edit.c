/*
 * fuzz-head-edit - header edits (msg/head_edit.c) as a milter would send
 * them, on arbitrary header sections. Input: the head, a NUL, then edit
 * records "OP INDEX FLAGS name NUL value NUL" (OP % 3 is the operation,
 * FLAGS bit 0 SMFIP_HDR_LEADSPC, the other bits choose how much room max
 * leaves). Beyond "no crash, no leak, no UB" it checks the contract after
 * every edit: the result is <= max; a failed edit leaves the head as it
 * was; every line still ends with LF; what follows the header section's
 * empty line is untouched; the field count moves as the operation says
 * (add/insert +1, change 0 or +1, delete -1 or 0).
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/rfc5322.h"
#include "msg/head_edit.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define EDITS_MAX	16

/* Takes a NUL-terminated string from *p (NULL when none is left). */
static const char *
take(const char **p, const char *end)
{
	const char *s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

static void
check_edit(struct buf *head, unsigned op, unsigned index, unsigned flags,
    const char *name, const char *value)
{
	const char *d = buf_cstr(head);
	size_t old_len = head->len, body = rfc5322_body_offset(d, old_len);
	size_t tail = old_len - body, count = head_field_count(d, old_len);
	size_t max = old_len + (flags >> 1) * 8, now;
	char *old = malloc(old_len + 1);
	enum head_edit_op o = (enum head_edit_op)(op % 3);

	CHECK(old != NULL);
	memcpy(old, d, old_len + 1);
	if (head_edit_apply(head, o, index, name, value, flags & 1, max) < 0) {
		CHECK(head->len == old_len);
		CHECK(memcmp(buf_cstr(head), old, old_len) == 0);
		free(old);
		return;
	}
	CHECK(head->len <= max);
	CHECK(head->data[head->len] == '\0');
	CHECK(head->len == 0 || head->data[head->len - 1] == '\n');
	CHECK(memcmp(head->data + head->len - tail, old + body, tail) == 0);
	now = head_field_count(head->data, head->len);
	if (o != HEAD_EDIT_CHANGE)
		CHECK(now == count + 1);
	else if (*value != '\0')
		CHECK(now == count || now == count + 1);
	else
		CHECK(now == count || now + 1 == count);
	free(old);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *h, *name, *value;
	struct buf head;

	if ((h = take(&p, end)) == NULL)
		return 0;
	buf_init(&head, 0);
	buf_puts(&head, h);
	/* a stored head: every line LF-ended */
	if (head.len > 0 && head.data[head.len - 1] != '\n')
		buf_putc(&head, '\n');
	for (int n = 0; n < EDITS_MAX && end - p >= 3; n++) {
		unsigned op = (uint8_t)p[0], index = (uint8_t)p[1];
		unsigned flags = (uint8_t)p[2];

		p += 3;
		if ((name = take(&p, end)) == NULL ||
		    (value = take(&p, end)) == NULL)
			break;
		check_edit(&head, op, index, flags, name, value);
	}
	buf_free(&head);
	return 0;
}
