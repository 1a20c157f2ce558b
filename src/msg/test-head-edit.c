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
#define ADD	HEAD_EDIT_ADD
#define INS	HEAD_EDIT_INSERT
#define CHG	HEAD_EDIT_CHANGE
#define H1	"A: 1\n 1b\nB: 2\nC: 3\n\n"
#define H2	"X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\n\n"

/* One edit of a copy of in, and what must come out: rc and the head (out
 * NULL: unchanged). */
struct edit_case {
	const char		*in;
	enum head_edit_op	 op;
	unsigned		 index;
	const char		*name, *value;
	bool			 leadspc;
	size_t			 max;
	const char		*out;
	int			 rc;
};

/* Runs the cases; returns the index of the first that fails, or -1. */
static int
run_cases(const struct edit_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++, c++) {
		const char *want = c->out != NULL ? c->out : c->in;
		struct buf b;
		int rc;
		bool ok;

		buf_init(&b, 0);
		buf_puts(&b, c->in);
		rc = head_edit_apply(&b, c->op, c->index, c->name, c->value,
		    c->leadspc, c->max);
		ok = rc == c->rc && b.len == strlen(want) &&
		    strcmp(buf_cstr(&b), want) == 0;
		if (!ok)
			fprintf(stderr, "  case %zu: rc %d, got \"%s\"\n", i, rc,
			    buf_cstr(&b));
		buf_free(&b);
		if (!ok)
			return (int)i;
	}
	return -1;
}

#define RUN_CASES(t)	TEST_ASSERT(run_cases(t, sizeof(t) / sizeof(t[0])) < 0)

static void
test_add(void)
{
	static const struct edit_case t[] = {
	{ "A: 1\nB: 2\n\n", ADD, 0, "X", "y", false, BIG,
	    "A: 1\nB: 2\nX: y\n\n", 0 },
	/* without the empty line; with a folded last field */
	{ "A: 1\nB: 2\n 2b\n", ADD, 7, "X", "y", false, BIG,
	    "A: 1\nB: 2\n 2b\nX: y\n", 0 },
	/* the last line lacks its LF: it is ended first */
	{ "A: 1", ADD, 0, "X", "y", false, BIG, "A: 1\nX: y\n", 0 },
	{ "", ADD, 0, "X", "y", false, BIG, "X: y\n", 0 },
	{ "\n", ADD, 0, "X", "y", false, BIG, "X: y\n\n", 0 },
	/* what follows the empty line stays where it is */
	{ "A: 1\n\nbody\nB: no\n", ADD, 0, "X", "", false, BIG,
	    "A: 1\nX: \n\nbody\nB: no\n", 0 },
	};

	RUN_CASES(t);
}

static void
test_insert(void)
{
	static const struct edit_case t[] = {
	{ H1, INS, 0, "X", "y", false, BIG, "X: y\nA: 1\n 1b\nB: 2\nC: 3\n\n",
	    0 },
	{ H1, INS, 1, "X", "y", false, BIG, "A: 1\n 1b\nX: y\nB: 2\nC: 3\n\n",
	    0 },
	{ H1, INS, 2, "X", "y", false, BIG, "A: 1\n 1b\nB: 2\nX: y\nC: 3\n\n",
	    0 },
	/* index == count and past the end: appended (as Postfix) */
	{ H1, INS, 3, "X", "y", false, BIG, "A: 1\n 1b\nB: 2\nC: 3\nX: y\n\n",
	    0 },
	{ H1, INS, 4000000000u, "X", "y", false, BIG,
	    "A: 1\n 1b\nB: 2\nC: 3\nX: y\n\n", 0 },
	{ "", INS, 0, "X", "y", false, BIG, "X: y\n", 0 },
	/* a line without a colon is no field: not counted */
	{ "A: 1\nnonsense\nB: 2\n", INS, 1, "X", "y", false, BIG,
	    "A: 1\nnonsense\nX: y\nB: 2\n", 0 },
	};

	RUN_CASES(t);
}

static void
test_change(void)
{
	static const struct edit_case t[] = {
	{ H2, CHG, 2, "X-T", "new", false, BIG,
	    "X-T: 1\nA: a\nX-T: new\nX-T: 3\n\n", 0 },
	{ H2, CHG, 3, "x-T", "new", false, BIG,
	    "X-T: 1\nA: a\nx-t: 2\n two\nx-T: new\n\n", 0 },
	/* 0 counts as 1 (Postfix: Sendmail 8 compatibility) */
	{ H2, CHG, 0, "X-T", "new", false, BIG,
	    "X-T: new\nA: a\nx-t: 2\n two\nX-T: 3\n\n", 0 },
	{ H2, CHG, 1, "X-T", "new", false, BIG,
	    "X-T: new\nA: a\nx-t: 2\n two\nX-T: 3\n\n", 0 },
	/* a prefix of a name is another name */
	{ H2, CHG, 1, "X", "new", false, BIG,
	    "X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\nX: new\n\n", 0 },
	/* missing (4th) field with a value: appended (as Postfix) */
	{ H2, CHG, 4, "X-T", "4", false, BIG,
	    "X-T: 1\nA: a\nx-t: 2\n two\nX-T: 3\nX-T: 4\n\n", 0 },
	/* the last field without its LF */
	{ "A: 1\nB: 2", CHG, 1, "b", "3", false, BIG, "A: 1\nb: 3\n", 0 },
	};

	RUN_CASES(t);
}

static void
test_delete(void)
{
	static const struct edit_case t[] = {
	{ H2, CHG, 2, "X-T", "", false, BIG, "X-T: 1\nA: a\nX-T: 3\n\n", 0 },
	{ H2, CHG, 1, "a", "", true, BIG, "X-T: 1\nx-t: 2\n two\nX-T: 3\n\n",
	    0 },
	/* a missing field: nothing to do, no error */
	{ H2, CHG, 4, "X-T", "", false, BIG, NULL, 0 },
	{ H2, CHG, 1, "Nope", "", false, BIG, NULL, 0 },
	{ "A: 1\n", CHG, 1, "A", "", false, BIG, "", 0 },
	{ "A: 1\n\n", CHG, 1, "A", "", false, BIG, "\n", 0 },
	/* fields after the empty line are body: not found */
	{ "A: 1\n\nB: 2\n", CHG, 1, "B", "", false, BIG, NULL, 0 },
	};

	RUN_CASES(t);
}

static void
test_values(void)
{
	static const struct edit_case t[] = {
	/* folding: CRLF + WSP and LF + WSP become LF + WSP */
	{ "A: 1\n", ADD, 0, "X", "a\r\n\tb\r\n c", false, BIG,
	    "A: 1\nX: a\n\tb\n c\n", 0 },
	{ "A: 1\n", ADD, 0, "X", "a\n b", false, BIG, "A: 1\nX: a\n b\n", 0 },
	/* a line end that ends the field, a bare CR: invalid */
	{ "A: 1\n", ADD, 0, "X", "a\r\nb", false, BIG, NULL, -1 },
	{ "A: 1\n", ADD, 0, "X", "a\nB: forged", false, BIG, NULL, -1 },
	{ "A: 1\n", ADD, 0, "X", "a\r b", false, BIG, NULL, -1 },
	{ "A: 1\n", ADD, 0, "X", "a\r\n", false, BIG, NULL, -1 },
	{ "A: 1\n", ADD, 0, "X", "a\r", false, BIG, NULL, -1 },
	{ "A: 1\n", CHG, 1, "A", "\r\n\r\n", false, BIG, NULL, -1 },
	/* SMFIP_HDR_LEADSPC: the value brings its own space, or none */
	{ "", ADD, 0, "X", " y", true, BIG, "X: y\n", 0 },
	{ "", ADD, 0, "X", "y", true, BIG, "X:y\n", 0 },
	{ "", ADD, 0, "X", " y", false, BIG, "X:  y\n", 0 },
	{ "", ADD, 0, "X", "\r\n\ty", true, BIG, "X:\n\ty\n", 0 },
	/* 8-bit (UTF-8) values are kept as they are */
	{ "", ADD, 0, "X", "\xc3\xa9t\xc3\xa9", false, BIG,
	    "X: \xc3\xa9t\xc3\xa9\n", 0 },
	};

	RUN_CASES(t);
}

static void
test_names(void)
{
	static const char *const bad[] = { "", "A B", "A:B", "A:", "\x7f",
	    "A\tB", "\xc3\xa9", "A\r", "A\n" };
	static const struct edit_case odd = { "", ADD, 0, "!~#", "v", false,
	    BIG, "!~#: v\n", 0 };	/* any of 33..126 but ':' */
	char name[HEAD_EDIT_NAME_MAX + 2], out[HEAD_EDIT_NAME_MAX + 8];
	struct edit_case c = { "A: 1\n", ADD, 0, NULL, "v", false, BIG, NULL,
	    -1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.name = bad[i];
		c.op = ADD;
		c.value = "v";
		TEST_ASSERT(run_cases(&c, 1) < 0);
		c.op = CHG;
		c.value = "";
		TEST_ASSERT(run_cases(&c, 1) < 0);
	}
	/* 998 octets: too long; 997: fine */
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	c = (struct edit_case){ "", ADD, 0, name, "v", false, BIG, NULL, -1 };
	TEST_ASSERT(run_cases(&c, 1) < 0);
	name[HEAD_EDIT_NAME_MAX] = '\0';
	snprintf(out, sizeof(out), "%s: v\n", name);
	c.out = out;
	c.rc = 0;
	TEST_ASSERT(run_cases(&c, 1) < 0);
	TEST_ASSERT(run_cases(&odd, 1) < 0);
}

static void
test_max(void)
{
	static const struct edit_case t[] = {
	/* "A: 1\n" + "X: y\n" = 10 octets */
	{ "A: 1\n", ADD, 0, "X", "y", false, 10, "A: 1\nX: y\n", 0 },
	{ "A: 1\n", ADD, 0, "X", "y", false, 9, NULL, -1 },
	{ "A: 1\n", INS, 0, "X", "y", false, 9, NULL, -1 },
	/* a change counts what it removes */
	{ "A: 1\n", CHG, 1, "A", "22", false, 6, "A: 22\n", 0 },
	{ "A: 1\n", CHG, 1, "A", "333", false, 6, NULL, -1 },
	/* a delete always shrinks, but the result must still fit */
	{ "A: 1\nB: 2\n", CHG, 1, "A", "", false, 5, "B: 2\n", 0 },
	{ "A: 1\nB: 2\n", CHG, 1, "A", "", false, 4, NULL, -1 },
	};
	static char v[100000];
	struct edit_case big = { "A: 1\n", ADD, 0, "X", v, false, 1000, NULL,
	    -1 };

	RUN_CASES(t);
	/* a long value: bounded while it is built */
	memset(v, 'v', sizeof(v) - 1);
	TEST_ASSERT(run_cases(&big, 1) < 0);
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
