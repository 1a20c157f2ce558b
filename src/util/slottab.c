/*
 * slottab - fixed-size per-key counter table (see slottab.h).
 * Trust: keys come from the network (addresses, user names): any length,
 * any octets; they are hashed with a random seed and truncated.
 */
#include <stdio.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/slottab.h"

void
slottab_lock(struct slottab *t)
{
	pthread_mutex_lock(&t->lock);
}

void
slottab_unlock(struct slottab *t)
{
	pthread_mutex_unlock(&t->lock);
}

struct slottab_slot *
slottab_slot(struct slottab *t, const char *key, bool create)
{
	struct slottab_slot *s;
	size_t len = strnlen(key, SLOTTAB_KEY_MAX - 1);

	if (!t->seeded) {		/* under the lock: once */
		t->seed = hashmap_random_seed();
		t->seeded = true;
	}
	s = &t->slots[hashmap_hash(key, len, t->seed) % t->nslots];
	if (s->key[0] != '\0' && strncmp(s->key, key, len) == 0 &&
	    s->key[len] == '\0')
		return s;
	if (!create)
		return NULL;
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, len);
	return s;
}
