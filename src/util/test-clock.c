/* Unit tests for util/clock.h. */
#include <time.h>

#include "util/clock.h"
#include "util/test.h"

/* The monotonic clock never goes back and counts milliseconds. */
static void
test_mono(void)
{
	uint64_t a = clock_mono_ms(), b;
	struct timespec ten = { 0, 10 * 1000 * 1000 };

	nanosleep(&ten, NULL);
	b = clock_mono_ms();
	TEST_ASSERT(b >= a + 10);
	TEST_ASSERT(clock_mono_ms() >= b);
}

/* The wall clock agrees with time() to the second. */
static void
test_real(void)
{
	time_t before = time(NULL);
	int64_t ms = clock_real_ms();
	time_t after = time(NULL);

	TEST_ASSERT(ms / 1000 >= (int64_t)before &&
	    ms / 1000 <= (int64_t)after);
}

int
main(void)
{
	TEST_RUN(test_mono);
	TEST_RUN(test_real);
	return test_done("test-clock");
}
