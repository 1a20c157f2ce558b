/*
 * test-head-edit - unit tests for msg/head_edit.c: add, insert (top,
 * middle, past the end), change of the n-th field of a name (any case),
 * delete, change and delete of a missing field, folded values (CRLF and
 * LF), SMFIP_HDR_LEADSPC on and off, invalid names and values, the max
 * bound, heads with and without their final empty line.
 */
#include <string.h>

#include "msg/head_edit.h"
#include "util/test.h"

#define BIG	(1024 * 1024)

/* Runs one edit on a copy of in; checks the return code and the result
 * (out NULL: the head must be unchanged). */
static int
edit(const char *in, enum head_edit_op op, unsigned index, const char *name,
    const char *value, bool leadspc, size_t max, const char *out)
{
	struct buf b;
	int rc, ok;

	buf_init(&b, 0);
	buf_puts(&b, in);
	rc = head_edit_apply(&b, op, index, name, value, leadspc, max);
	ok = strcmp(buf_cstr(&b), out != NULL ? out : in) == 0 &&
	    b.len == strlen(buf_cstr(&b));
	if (!ok)
		fprintf(stderr, "  got \"%s\"\n", buf_cstr(&b));
	buf_free(&b);
	return ok ? rc : -2;
}

static void
test_add(void)
{
	TEST_ASSERT(edit("A: 1\nB: 2\n\n", HEAD_EDIT_ADD, 0, "X", "y", false,
	    BIG, "A: 1\nB: 2\nX: y\n\n") == 0);
	/* without the empty line; with a folded last field */
	TEST_ASSERT(edit("A: 1\nB: 2\n 2b\n", HEAD_EDIT_ADD, 7, "X", "y",
	    false, BIG, "A: 1\nB: 2\n 2b\nX: y\n") == 0);
	/* the last line lacks its LF: it is ended first */
	TEST_ASSERT(edit("A: 1", HEAD_EDIT_ADD, 0, "X", "y", false, BIG,
	    "A: 1\nX: y\n") == 0);
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "X", "y", false, BIG,
	    "X: y\n") == 0);
	TEST_ASSERT(edit("\n", HEAD_EDIT_ADD, 0, "X", "y", false, BIG,
	    "X: y\n\n") == 0);
	/* what follows the empty line stays where it is */
	TEST_ASSERT(edit("A: 1\n\nbody\nB: no\n", HEAD_EDIT_ADD, 0, "X", "",
	    false, BIG, "A: 1\nX: \n\nbody\nB: no\n") == 0);
}

static void
test_insert(void)
{
	const char *h = "A: 1\n 1b\nB: 2\nC: 3\n\n";

	TEST_ASSERT(edit(h, HEAD_EDIT_INSERT, 0, "X", "y", false, BIG,
	    "X: y\nA: 1\n 1b\nB: 2\nC: 3\n\n") == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_INSERT, 1, "X", "y", false, BIG,
	    "A: 1\n 1b\nX: y\nB: 2\nC: 3\n\n") == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_INSERT, 2, "X", "y", false, BIG,
	    "A: 1\n 1b\nB: 2\nX: y\nC: 3\n\n") == 0);
	/* index == count and past the end: appended (as Postfix) */
	TEST_ASSERT(edit(h, HEAD_EDIT_INSERT, 3, "X", "y", false, BIG,
	    "A: 1\n 1b\nB: 2\nC: 3\nX: y\n\n") == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_INSERT, 4000000000u, "X", "y", false,
	    BIG, "A: 1\n 1b\nB: 2\nC: 3\nX: y\n\n") == 0);
	TEST_ASSERT(edit("", HEAD_EDIT_INSERT, 0, "X", "y", false, BIG,
	    "X: y\n") == 0);
	/* a line without a colon is no field: not counted */
	TEST_ASSERT(edit("A: 1\nnonsense\nB: 2\n", HEAD_EDIT_INSERT, 1, "X",
	    "y", false, BIG, "A: 1\nnonsense\nX: y\nB: 2\n") == 0);
}

static void
test_change(void)
{
	const char *h = "X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\n\n";

	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 2, "X-T", "new", false, BIG,
	    "X-T: 1\nA: a\nX-T: new\nX-T: 3\n\n") == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 3, "x-T", "new", false, BIG,
	    "X-T: 1\nA: a\nx-t: 2\n two\nx-T: new\n\n") == 0);
	/* 0 counts as 1 (Postfix: Sendmail 8 compatibility) */
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 0, "X-T", "new", false, BIG,
	    "X-T: new\nA: a\nx-t: 2\n two\nX-T: 3\n\n") == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 1, "X-T", "new", false, BIG,
	    "X-T: new\nA: a\nx-t: 2\n two\nX-T: 3\n\n") == 0);
	/* a prefix of a name is another name */
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 1, "X", "new", false, BIG,
	    "X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\nX: new\n\n") == 0);
	/* missing (4th) field with a value: appended (as Postfix) */
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 4, "X-T", "4", false, BIG,
	    "X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\nX-T: 4\n\n") == 0);
	/* the last field without its LF */
	TEST_ASSERT(edit("A: 1\nB: 2", HEAD_EDIT_CHANGE, 1, "b", "3", false,
	    BIG, "A: 1\nb: 3\n") == 0);
}

static void
test_delete(void)
{
	const char *h = "X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\n\n";

	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 2, "X-T", "", false, BIG,
	    "X-T: 1\nA: a\nX-T: 3\n\n") == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 1, "a", "", true, BIG,
	    "X-T: 1\nx-t: 2\n two\nX-T: 3\n\n") == 0);
	/* a missing field: nothing to do, no error */
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 4, "X-T", "", false, BIG,
	    NULL) == 0);
	TEST_ASSERT(edit(h, HEAD_EDIT_CHANGE, 1, "Nope", "", false, BIG,
	    NULL) == 0);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_CHANGE, 1, "A", "", false, BIG,
	    "") == 0);
	TEST_ASSERT(edit("A: 1\n\n", HEAD_EDIT_CHANGE, 1, "A", "", false, BIG,
	    "\n") == 0);
	/* fields after the empty line are body: not found */
	TEST_ASSERT(edit("A: 1\n\nB: 2\n", HEAD_EDIT_CHANGE, 1, "B", "",
	    false, BIG, NULL) == 0);
}

static void
test_values(void)
{
	/* folding: CRLF + WSP and LF + WSP become LF + WSP */
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\r\n\tb\r\n c",
	    false, BIG, "A: 1\nX: a\n\tb\n c\n") == 0);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\n b", false, BIG,
	    "A: 1\nX: a\n b\n") == 0);
	/* a line end that ends the field, a bare CR: invalid */
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\r\nb", false,
	    BIG, NULL) == -1);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\nB: forged",
	    false, BIG, NULL) == -1);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\r b", false, BIG,
	    NULL) == -1);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\r\n", false, BIG,
	    NULL) == -1);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "a\r", false, BIG,
	    NULL) == -1);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_CHANGE, 1, "A", "\r\n\r\n",
	    false, BIG, NULL) == -1);
	/* SMFIP_HDR_LEADSPC: the value brings its own space, or none */
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "X", " y", true, BIG,
	    "X: y\n") == 0);
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "X", "y", true, BIG,
	    "X:y\n") == 0);
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "X", " y", false, BIG,
	    "X:  y\n") == 0);
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "X", "\r\n\ty", true, BIG,
	    "X:\n\ty\n") == 0);
	/* 8-bit (UTF-8) values are kept as they are */
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "X", "\xc3\xa9t\xc3\xa9",
	    false, BIG, "X: \xc3\xa9t\xc3\xa9\n") == 0);
}

static void
test_names(void)
{
	char name[HEAD_EDIT_NAME_MAX + 2];
	const char *bad[] = { "", "A B", "A:B", "A:", "\x7f", "A\tB",
	    "\xc3\xa9", "A\r", "A\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, bad[i], "v", false,
		    BIG, NULL) == -1);
		TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_CHANGE, 1, bad[i], "",
		    false, BIG, NULL) == -1);
	}
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, name, "v", false, BIG,
	    NULL) == -1);
	name[HEAD_EDIT_NAME_MAX] = '\0';
	{
		struct buf b;

		buf_init(&b, 0);
		TEST_ASSERT(head_edit_apply(&b, HEAD_EDIT_ADD, 0, name, "v",
		    false, BIG) == 0);
		TEST_ASSERT(b.len == HEAD_EDIT_NAME_MAX + 4);
		buf_free(&b);
	}
	/* the odd but printable: any of 33..126 but ':' */
	TEST_ASSERT(edit("", HEAD_EDIT_ADD, 0, "!~#", "v", false, BIG,
	    "!~#: v\n") == 0);
}

static void
test_max(void)
{
	/* "A: 1\n" + "X: y\n" = 10 octets */
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "y", false, 10,
	    "A: 1\nX: y\n") == 0);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", "y", false, 9,
	    NULL) == -1);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_INSERT, 0, "X", "y", false, 9,
	    NULL) == -1);
	/* a change counts what it removes */
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_CHANGE, 1, "A", "22", false, 6,
	    "A: 22\n") == 0);
	TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_CHANGE, 1, "A", "333", false, 6,
	    NULL) == -1);
	/* a delete always shrinks, but the result must still fit */
	TEST_ASSERT(edit("A: 1\nB: 2\n", HEAD_EDIT_CHANGE, 1, "A", "", false,
	    5, "B: 2\n") == 0);
	TEST_ASSERT(edit("A: 1\nB: 2\n", HEAD_EDIT_CHANGE, 1, "A", "", false,
	    4, NULL) == -1);
	/* a long value: bounded while it is built */
	{
		static char v[100000];

		memset(v, 'v', sizeof(v) - 1);
		TEST_ASSERT(edit("A: 1\n", HEAD_EDIT_ADD, 0, "X", v, false,
		    1000, NULL) == -1);
	}
}

static void
test_count(void)
{
	const char *h = " orphan\nA: 1\n 1b\nnonsense\nB: 2\n\nC: 3\n";

	TEST_ASSERT(head_field_count(h, strlen(h)) == 2);
	TEST_ASSERT(head_field_count("", 0) == 0);
	TEST_ASSERT(head_field_count("A: 1", 4) == 1);
	TEST_ASSERT(head_field_count("A: 1\r\nB: 2\r\n\r\n", 14) == 2);
}

int
main(void)
{
	TEST_RUN(test_add);
	TEST_RUN(test_insert);
	TEST_RUN(test_change);
	TEST_RUN(test_delete);
	TEST_RUN(test_values);
	TEST_RUN(test_names);
	TEST_RUN(test_max);
	TEST_RUN(test_count);
	return test_done("test-head-edit");
}
