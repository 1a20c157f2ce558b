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

/* A deadline ms ahead: normalised, and that far from now (carries
 * into the seconds past a whole second). */
static void
test_real_after(void)
{
	int64_t now = clock_real_ms();
	struct timespec t = clock_real_after(1999);
	int64_t at = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;

	TEST_ASSERT(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
	TEST_ASSERT(at >= now + 1999 && at <= now + 1999 + 1000);
	t = clock_real_after(0);
	TEST_ASSERT((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 >= now);
}

int
main(void)
{
	TEST_RUN(test_mono);
	TEST_RUN(test_real);
	TEST_RUN(test_real_after);
	return test_done("test-clock");
}
