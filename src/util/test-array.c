/* Unit tests for util/array.h. */
#include <stdint.h>
#include <stdlib.h>

#include "util/array.h"
#include "util/test.h"

struct pair {
	int	a, b;
};

static void
test_push(void)
{
	struct pair *v = NULL, *p;
	size_t n = 0, cap = 0;

	for (int i = 0; i < 1000; i++) {
		p = ARRAY_PUSH(v, n, cap);
		TEST_ASSERT(p->a == 0 && p->b == 0);	/* zeroed */
		p->a = i;
		p->b = -i;
	}
	TEST_ASSERT(n == 1000 && cap >= 1000 && cap < 2048);
	for (int i = 0; i < 1000; i++)
		TEST_ASSERT(v[i].a == i && v[i].b == -i);
	/* a reused slot is zeroed again */
	n = 10;
	p = ARRAY_PUSH(v, n, cap);
	TEST_ASSERT(p == &v[10] && p->a == 0 && n == 11);
	free(v);
}

static void
test_other_counter_types(void)
{
	uint32_t *u = NULL, n = 0;
	unsigned cap = 0;

	for (uint32_t i = 0; i < 100; i++)
		*ARRAY_PUSH(u, n, cap) = i * 3;
	TEST_ASSERT(n == 100 && cap == 128);
	TEST_ASSERT(u[0] == 0 && u[99] == 297);
	free(u);
}

static void
test_reserve(void)
{
	char *s = NULL;
	size_t cap = 0;

	ARRAY_RESERVE(s, 0, cap);
	TEST_ASSERT(s != NULL && cap == 8 && s[7] == 0);	/* zeroed */
	ARRAY_RESERVE(s, 5, cap);
	TEST_ASSERT(cap == 8);				/* room already */
	ARRAY_RESERVE(s, 8, cap);
	TEST_ASSERT(cap == 16 && s[15] == 0);
	ARRAY_RESERVE(s, 100, cap);		/* a jump past double */
	TEST_ASSERT(cap == 101);
	free(s);
	TEST_ASSERT(array_next_cap(3, 0) == 8);
	TEST_ASSERT(array_next_cap(7, 8) == 8);
	TEST_ASSERT(array_next_cap(8, 8) == 16);
}

int
main(void)
{
	TEST_RUN(test_push);
	TEST_RUN(test_other_counter_types);
	TEST_RUN(test_reserve);
	return test_done("test-array");
}
