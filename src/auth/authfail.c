/*
 * authfail - per-address failure counting (see authfail.h).
 *
 * A fixed-size table: an attacker rotating addresses can only push old
 * entries out (oldest replaced), never grow memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/authfail.h"
#include "util/hashmap.h"

#define AUTHFAIL_SLOTS	4096

struct authfail_slot {
	char	ip[48];
	time_t	first;		/* start of the current window */
	time_t	locked_until;
	unsigned count;
};

static struct authfail_slot slots[AUTHFAIL_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t seed;		/* random, so slots cannot be aimed at */
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void
seed_init(void)
{
	seed = hashmap_random_seed();
}

static unsigned
slot_hash(const char *s)
{
	pthread_once(&seed_once, seed_init);
	return (unsigned)(hashmap_hash(s, strlen(s), seed) % AUTHFAIL_SLOTS);
}

/* The slot for ip, reset when its window is over; lock held. */
static struct authfail_slot *
slot_get(const char *ip, time_t now, bool create)
{
	struct authfail_slot *s = &slots[slot_hash(ip)];

	if (strcmp(s->ip, ip) != 0) {
		if (!create)
			return NULL;
		memset(s, 0, sizeof(*s));
		snprintf(s->ip, sizeof(s->ip), "%s", ip);
	}
	if (s->first && now - s->first > AUTHFAIL_WINDOW &&
	    s->locked_until <= now) {
		s->first = 0;
		s->count = 0;
	}
	return s;
}

unsigned
authfail_record(const char *ip)
{
	time_t now = time(NULL);
	struct authfail_slot *s;
	unsigned delay;

	pthread_mutex_lock(&lock);
	s = slot_get(ip, now, true);
	if (s->count == 0)
		s->first = now;
	s->count++;
	if (s->count >= AUTHFAIL_LOCK_COUNT)
		s->locked_until = now + AUTHFAIL_LOCK_SECONDS;
	delay = s->count * AUTHFAIL_DELAY_STEP_MS;
	pthread_mutex_unlock(&lock);
	return delay > AUTHFAIL_DELAY_MAX_MS ? AUTHFAIL_DELAY_MAX_MS : delay;
}

bool
authfail_locked(const char *ip)
{
	time_t now = time(NULL);
	struct authfail_slot *s;
	bool locked;

	pthread_mutex_lock(&lock);
	s = slot_get(ip, now, false);
	locked = s && s->locked_until > now;
	pthread_mutex_unlock(&lock);
	return locked;
}

unsigned
authfail_delay(const char *ip)
{
	time_t now = time(NULL);
	struct authfail_slot *s;
	unsigned d;

	pthread_mutex_lock(&lock);
	s = slot_get(ip, now, false);
	d = s ? s->count * AUTHFAIL_DELAY_STEP_MS : 0;
	pthread_mutex_unlock(&lock);
	return d > AUTHFAIL_DELAY_MAX_MS ? AUTHFAIL_DELAY_MAX_MS : d;
}
