/*
 * ratelimit - fixed-window counters (see ratelimit.h), in a fixed-size
 * table (util/slottab.h): a slot's start is its window's start.
 */
#include <time.h>

#include "auth/counters_shared.h"
#include "auth/ratelimit.h"
#include "util/slottab.h"

static struct slottab_slot slots[RATELIMIT_SLOTS];
static struct slottab table = SLOTTAB_INIT(slots, RATELIMIT_SLOTS);

bool
ratelimit_take(const char *key, unsigned n, unsigned max, unsigned window)
{
	time_t now = time(NULL);
	struct slottab_slot *sl;
	bool ok = true;

	if (max == 0)
		return true;
	slottab_lock(&table);
	sl = slottab_slot(&table, key, true);
	if (sl->start == 0 || now - sl->start >= (time_t)window) {
		sl->start = now;
		sl->count = 0;
	}
	if (sl->count + n > max)
		ok = false;
	else
		sl->count += n;
	slottab_unlock(&table);
	if (ok)		/* the cluster's count too */
		counters_shared_take(key, n, max, window);
	return ok;
}

void
ratelimit_fill(const char *key, unsigned max, unsigned window)
{
	time_t now = time(NULL);
	struct slottab_slot *sl;

	slottab_lock(&table);
	sl = slottab_slot(&table, key, true);
	if (sl->start == 0 || now - sl->start >= (time_t)window)
		sl->start = now;
	sl->count = max;
	slottab_unlock(&table);
}
