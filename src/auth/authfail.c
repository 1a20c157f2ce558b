/*
 * authfail - per-address failure counting (see authfail.h).
 *
 * A fixed-size table (util/slottab.h): an attacker rotating addresses can
 * only push old entries out, never grow memory. A slot's start is the
 * current window's start, until the lock-out's end.
 */
#include <time.h>

#include "auth/authfail.h"
#include "auth/counters_shared.h"
#include "util/slottab.h"

#define AUTHFAIL_SLOTS	4096

static struct slottab_slot slots[AUTHFAIL_SLOTS];
static struct slottab table = SLOTTAB_INIT(slots, AUTHFAIL_SLOTS);

/* The slot for ip, reset when its window is over; table locked. */
static struct slottab_slot *
slot_get(const char *ip, time_t now, bool create)
{
	struct slottab_slot *s = slottab_slot(&table, ip, create);

	if (s != NULL && s->start && now - s->start > AUTHFAIL_WINDOW &&
	    s->until <= now) {
		s->start = 0;
		s->count = 0;
	}
	return s;
}

static unsigned
delay_of(const struct slottab_slot *s)
{
	unsigned d = s != NULL ? s->count * AUTHFAIL_DELAY_STEP_MS : 0;

	return d > AUTHFAIL_DELAY_MAX_MS ? AUTHFAIL_DELAY_MAX_MS : d;
}

unsigned
authfail_record(const char *ip)
{
	time_t now = time(NULL);
	struct slottab_slot *s;
	unsigned delay;

	slottab_lock(&table);
	s = slot_get(ip, now, true);
	if (s->count == 0)
		s->start = now;
	s->count++;
	if (s->count >= AUTHFAIL_LOCK_COUNT)
		s->until = now + AUTHFAIL_LOCK_SECONDS;
	delay = delay_of(s);
	slottab_unlock(&table);
	counters_shared_authfail(ip);	/* the cluster's count too */
	return delay;
}

void
authfail_lock(const char *ip)
{
	time_t now = time(NULL);
	struct slottab_slot *s;

	slottab_lock(&table);
	s = slot_get(ip, now, true);
	if (s->count < AUTHFAIL_LOCK_COUNT) {
		if (s->count == 0)
			s->start = now;
		s->count = AUTHFAIL_LOCK_COUNT;
	}
	if (s->until < now + AUTHFAIL_LOCK_SECONDS)
		s->until = now + AUTHFAIL_LOCK_SECONDS;
	slottab_unlock(&table);
}

bool
authfail_locked(const char *ip)
{
	time_t now = time(NULL);
	struct slottab_slot *s;
	bool locked;

	slottab_lock(&table);
	s = slot_get(ip, now, false);
	locked = s && s->until > now;
	slottab_unlock(&table);
	if (!locked)	/* locked on another node? (for the next try) */
		counters_shared_authfail_check(ip);
	return locked;
}

unsigned
authfail_delay(const char *ip)
{
	unsigned d;

	slottab_lock(&table);
	d = delay_of(slot_get(ip, time(NULL), false));
	slottab_unlock(&table);
	return d;
}
