/* Unit tests for auth/authfail.h and auth/ratelimit.h (both count in a
 * util/slottab table; the windows here are too long to pass in a test). */
#include <stdio.h>

#include "auth/authfail.h"
#include "auth/ratelimit.h"
#include "util/test.h"

/* Each failure adds a step of delay up to the cap; the tenth locks. */
static void
test_authfail(void)
{
	const char *ip = "192.0.2.7";

	TEST_ASSERT(!authfail_locked(ip) && authfail_delay(ip) == 0);
	for (unsigned i = 1; i < AUTHFAIL_LOCK_COUNT; i++) {
		unsigned d = i * AUTHFAIL_DELAY_STEP_MS;

		if (d > AUTHFAIL_DELAY_MAX_MS)
			d = AUTHFAIL_DELAY_MAX_MS;
		TEST_ASSERT(authfail_record(ip) == d);
		TEST_ASSERT(authfail_delay(ip) == d);
		TEST_ASSERT(!authfail_locked(ip));
	}
	TEST_ASSERT(authfail_record(ip) == AUTHFAIL_DELAY_MAX_MS);
	TEST_ASSERT(authfail_locked(ip));
	/* another address is untouched */
	TEST_ASSERT(!authfail_locked("192.0.2.8") &&
	    authfail_delay("192.0.2.8") == 0);
}

/* A key takes up to max in its window; max 0 is no limit. */
static void
test_ratelimit(void)
{
	TEST_ASSERT(ratelimit_take("u@example.test", 3, 5, 3600));
	TEST_ASSERT(ratelimit_take("u@example.test", 2, 5, 3600));
	TEST_ASSERT(!ratelimit_take("u@example.test", 1, 5, 3600));
	TEST_ASSERT(ratelimit_take("v@example.test", 5, 5, 3600));
	TEST_ASSERT(!ratelimit_take("v@example.test", 1, 5, 3600));
	TEST_ASSERT(ratelimit_take("u@example.test", 1000, 0, 3600));
	/* too much at once is refused and counts nothing */
	TEST_ASSERT(!ratelimit_take("w@example.test", 6, 5, 3600));
	TEST_ASSERT(ratelimit_take("w@example.test", 5, 5, 3600));
}

/* What the cluster says (counters_shared.h) comes into the local tables:
 * a lock-out without local failures, a window full without local takes. */
static void
test_mirrored(void)
{
	TEST_ASSERT(!authfail_locked("192.0.2.9"));
	authfail_lock("192.0.2.9");
	TEST_ASSERT(authfail_locked("192.0.2.9"));
	TEST_ASSERT(authfail_delay("192.0.2.9") == AUTHFAIL_DELAY_MAX_MS);
	TEST_ASSERT(!authfail_locked("192.0.2.10"));
	ratelimit_fill("x@example.test", 5, 3600);
	TEST_ASSERT(!ratelimit_take("x@example.test", 1, 5, 3600));
	TEST_ASSERT(ratelimit_take("y@example.test", 1, 5, 3600));
}

int
main(void)
{
	TEST_RUN(test_authfail);
	TEST_RUN(test_ratelimit);
	TEST_RUN(test_mirrored);
	return test_done("test-authfail");
}
