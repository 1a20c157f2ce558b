/*
 * ratelimit - fixed-window counters (see ratelimit.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/ratelimit.h"
#include "util/hashmap.h"

struct rl_slot {
	char		key[128];
	time_t		start;
	unsigned	count;
};

static struct rl_slot slots[RATELIMIT_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t seed;		/* random, so slots cannot be aimed at */
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void
seed_init(void)
{
	seed = hashmap_random_seed();
}

static unsigned
rl_hash(const char *s)
{
	pthread_once(&seed_once, seed_init);
	return (unsigned)(hashmap_hash(s, strlen(s), seed) % RATELIMIT_SLOTS);
}

bool
ratelimit_take(const char *key, unsigned n, unsigned max, unsigned window)
{
	struct rl_slot *sl = &slots[rl_hash(key)];
	time_t now = time(NULL);
	bool ok = true;

	if (max == 0)
		return true;
	pthread_mutex_lock(&lock);
	if (strncmp(sl->key, key, sizeof(sl->key) - 1) != 0 ||
	    now - sl->start >= (time_t)window) {
		snprintf(sl->key, sizeof(sl->key), "%s", key);
		sl->start = now;
		sl->count = 0;
	}
	if (sl->count + n > max)
		ok = false;
	else
		sl->count += n;
	pthread_mutex_unlock(&lock);
	return ok;
}
