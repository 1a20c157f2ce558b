/*
 * slottab - a fixed-size table of per-key counters for abuse limits
 * (failed logins per address, messages per user per hour ...).
 *
 * Memory is bounded on purpose: the table is an array the caller sizes
 * once; a key hashes (random seed, so slots cannot be aimed at) to one
 * slot, and a different key landing there takes the slot over, its old
 * counts forgotten. An attacker cycling keys can only evict, never grow
 * memory. What the counts mean (windows, lock-outs) is the caller's.
 *
 *	static struct slottab_slot slots[4096];
 *	static struct slottab tab = SLOTTAB_INIT(slots, 4096);
 *
 *	slottab_lock(&tab);
 *	s = slottab_slot(&tab, key, true);
 *	s->count++;
 *	slottab_unlock(&tab);
 *
 * Thread-safe through the table's one mutex, which the caller holds
 * around slottab_slot() and every use of the slot it returns.
 */
#ifndef TEM_SLOTTAB_H
#define TEM_SLOTTAB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Keys are compared on their first SLOTTAB_KEY_MAX - 1 octets. */
#define SLOTTAB_KEY_MAX		128

struct slottab_slot {
	char		key[SLOTTAB_KEY_MAX];	/* "" when free */
	time_t		start;		/* caller's: a window's start */
	time_t		until;		/* caller's: a lock-out's end */
	unsigned	count;		/* caller's */
};

struct slottab {
	struct slottab_slot *slots;
	size_t		 nslots;
	pthread_mutex_t	 lock;
	uint64_t	 seed;
	bool		 seeded;
};

#define SLOTTAB_INIT(slots_, n_) \
	{ .slots = (slots_), .nslots = (n_), \
	  .lock = PTHREAD_MUTEX_INITIALIZER }

void slottab_lock(struct slottab *t);
void slottab_unlock(struct slottab *t);

/* With t locked: key's slot; when another key (or none) holds it, NULL
 * unless create, then the slot zeroed and given to key. */
struct slottab_slot *slottab_slot(struct slottab *t, const char *key,
    bool create);

#endif
