/*
 * test - the tiny unit-test library used by src/ ** /test-*.c.
 *
 * Each test binary calls TEST_RUN(fn) per test function and returns
 * test_done(), which prints "NAME: N passed, N failed" for tests/run.sh.
 * TEST_ASSERT records a failure and returns from the test function.
 */
#ifndef TEM_TEST_H
#define TEM_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed;

#define TEST_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	test_cur_failed = 1; return; } } while (0)
#define TEST_ASSERT_STREQ(a, b) do { const char *_a = (a), *_b = (b); \
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) { \
	fprintf(stderr, "  FAIL %s:%d: \"%s\" != \"%s\"\n", __FILE__, \
	    __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); \
	test_cur_failed = 1; return; } } while (0)

#define TEST_RUN(fn) do { test_cur_failed = 0; fn(); \
	if (test_cur_failed) { test_failed++; \
	fprintf(stderr, "not ok %s\n", #fn); } \
	else test_passed++; } while (0)

static inline int
test_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
