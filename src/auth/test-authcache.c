/*
 * test-authcache - unit tests of the verified-login cache: hit, miss,
 * wrong password, another user, expiry after AUTHCACHE_TTL, every entry
 * dropped when the accounts serial moves, and use from several threads.
 *
 * The clock: this binary defines time() itself, so authcache.c's calls
 * (through the PLT) read fake_now and expiry is tested without waiting.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "auth/authcache.h"
#include "util/test.h"

static time_t fake_now = 1800000000;

time_t
time(time_t *t)
{
	if (t)
		*t = fake_now;
	return fake_now;
}

static void
test_hit_miss(void)
{
	TEST_ASSERT(!authcache_check("alice@a.test", "pw1", 1));
	authcache_store("alice@a.test", "pw1", 1);
	TEST_ASSERT(authcache_check("alice@a.test", "pw1", 1));
	TEST_ASSERT(authcache_check("alice@a.test", "pw1", 1));	/* stays */
	TEST_ASSERT(!authcache_check("alice@a.test", "pw2", 1));
	TEST_ASSERT(!authcache_check("alice@a.test", "", 1));
	TEST_ASSERT(!authcache_check("alice@a.test", "pw1 ", 1));
	TEST_ASSERT(!authcache_check("Alice@a.test", "pw1", 1));
	TEST_ASSERT(!authcache_check("bob@a.test", "pw1", 1));
	/* the NUL between user and password keeps the fields apart */
	authcache_store("ab", "c", 1);
	TEST_ASSERT(authcache_check("ab", "c", 1));
	TEST_ASSERT(!authcache_check("a", "bc", 1));
	TEST_ASSERT(!authcache_check("abc", "", 1));
}

/* A new accounts snapshot (password changed, user deleted) drops all. */
static void
test_serial(void)
{
	authcache_store("carol@a.test", "pw", 7);
	TEST_ASSERT(authcache_check("carol@a.test", "pw", 7));
	TEST_ASSERT(!authcache_check("carol@a.test", "pw", 8));
	TEST_ASSERT(!authcache_check("carol@a.test", "pw", 6));
	/* verified again under the new serial: cached again */
	authcache_store("carol@a.test", "pw", 8);
	TEST_ASSERT(authcache_check("carol@a.test", "pw", 8));
	TEST_ASSERT(!authcache_check("carol@a.test", "pw", 7));
}

static void
test_expiry(void)
{
	time_t t0 = fake_now;

	authcache_store("dave@a.test", "pw", 1);
	fake_now = t0 + AUTHCACHE_TTL - 1;
	TEST_ASSERT(authcache_check("dave@a.test", "pw", 1));
	fake_now = t0 + AUTHCACHE_TTL;
	TEST_ASSERT(!authcache_check("dave@a.test", "pw", 1));
	authcache_store("dave@a.test", "pw", 1);	/* renewed */
	fake_now = t0 + 2 * AUTHCACHE_TTL - 1;
	TEST_ASSERT(authcache_check("dave@a.test", "pw", 1));
	/* a clock stepped back does not extend it */
	fake_now = t0 + 3 * AUTHCACHE_TTL;
	TEST_ASSERT(!authcache_check("dave@a.test", "pw", 1));
	fake_now = t0;
}

/* Many users: each one's own entry hits (or was evicted by a slot
 * neighbour: a miss, never someone else's hit). */
static void
test_many(void)
{
	char user[64];
	int hits = 0;

	for (int i = 0; i < 2000; i++) {
		snprintf(user, sizeof(user), "user%d@a.test", i);
		authcache_store(user, "pw", 3);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(user, sizeof(user), "user%d@a.test", i);
		hits += authcache_check(user, "pw", 3);
		TEST_ASSERT(!authcache_check(user, "wrong", 3));
	}
	/* 2000 keys in 4096 slots: most survive */
	TEST_ASSERT(hits > 1000);
}

static void *
worker(void *arg)
{
	char user[64];
	int id = *(int *)arg, *bad = arg;

	*bad = 0;
	for (int i = 0; i < 500; i++) {
		snprintf(user, sizeof(user), "t%d-%d@a.test", id, i % 20);
		authcache_store(user, "pw", 5);
		if (authcache_check(user, "other", 5))
			(*bad)++;
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[4];
	int arg[4];

	for (int i = 0; i < 4; i++) {
		arg[i] = i;
		TEST_ASSERT(pthread_create(&th[i], NULL, worker, &arg[i]) == 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(arg[i] == 0);
}

int
main(void)
{
	TEST_RUN(test_hit_miss);
	TEST_RUN(test_serial);
	TEST_RUN(test_expiry);
	TEST_RUN(test_many);
	TEST_RUN(test_threads);
	return test_done("test-authcache");
}
