/*
 * queue_sched - the in-memory retry schedule (queue_int.h).
 *
 * Trust: internal; keys come from validated ids. Callers: queue_store.c,
 * on any thread (one mutex guards everything here).
 *
 * The queue owns truth (the files); this only owns time (STYLE.md habit
 * 10): per message a 64-bit key (its id), the next attempt time, a take
 * generation and its place in a binary min-heap, or -1 while in flight.
 * Entries live in one array (24 bytes each, free ones chained), found by
 * key through an open-addressing table of 32-bit indexes (linear probing,
 * backward-shift deletion, load <= 70 %), and ordered by (next, gen) in a
 * heap of 32-bit indexes: about 36 bytes a message, 3.6 MB for 100,000.
 * The generation grows on every (re)insertion, which keeps messages due
 * in the same second in first-come order and lets a stale copy of a
 * message be told apart from the current take.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_int.h"
#include "util/array.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define POS_INFLIGHT	(-1)
#define POS_FREE	(-2)
#define NO_ENTRY	UINT32_MAX

struct sched_ent {
	uint64_t	key;	/* free: index of the next free entry */
	time_t		next;
	uint32_t	gen;
	int32_t		pos;	/* heap index, POS_INFLIGHT or POS_FREE */
	time_t		since;	/* first added (this run): for metrics */
};

static pthread_mutex_t slock = PTHREAD_MUTEX_INITIALIZER;
static struct sched_ent *ents;
static uint32_t nents, ents_cap, free_head = NO_ENTRY;
static uint32_t *heap, nheap, heap_cap;
static uint32_t *tab, tab_cap, tab_count;	/* slot: index + 1, 0 empty */
static uint32_t gen_counter;

/* ---- key table ---------------------------------------------------------- */

static uint32_t
slot_of(uint64_t key)
{
	key ^= key >> 33;	/* murmur3 finalizer: ids are random, but */
	key *= 0xff51afd7ed558ccdULL;	/* an admin may copy files in */
	key ^= key >> 33;
	return (uint32_t)key & (tab_cap - 1);
}

/* The table slot holding key, or NO_ENTRY. */
static uint32_t
tab_find(uint64_t key)
{
	if (tab_cap == 0)
		return NO_ENTRY;
	for (uint32_t s = slot_of(key);; s = (s + 1) & (tab_cap - 1)) {
		if (tab[s] == 0)
			return NO_ENTRY;
		if (ents[tab[s] - 1].key == key)
			return s;
	}
}

static void
tab_put(uint32_t idx)
{
	uint32_t s = slot_of(ents[idx].key);

	while (tab[s] != 0)
		s = (s + 1) & (tab_cap - 1);
	tab[s] = idx + 1;
}

static void
tab_grow(void)
{
	uint32_t *old = tab, old_cap = tab_cap;

	tab_cap = tab_cap ? tab_cap * 2 : 64;
	tab = xcalloc(tab_cap, sizeof(*tab));
	for (uint32_t s = 0; s < old_cap; s++)
		if (old[s])
			tab_put(old[s] - 1);
	free(old);
}

static void
tab_insert(uint32_t idx)
{
	if ((uint64_t)(tab_count + 1) * 10 > (uint64_t)tab_cap * 7)
		tab_grow();
	tab_put(idx);
	tab_count++;
}

/* Backward-shift deletion: no tombstones. */
static void
tab_delete(uint32_t s)
{
	uint32_t mask = tab_cap - 1, j = s;

	tab[s] = 0;
	for (;;) {
		uint32_t home;
		j = (j + 1) & mask;
		if (tab[j] == 0)
			break;
		home = slot_of(ents[tab[j] - 1].key);
		/* move j back into the hole s unless home lies in (s, j] */
		if (((j - home) & mask) >= ((j - s) & mask)) {
			tab[s] = tab[j];
			tab[j] = 0;
			s = j;
		}
	}
	tab_count--;
}

/* ---- heap ----------------------------------------------------------- */

static bool
before(uint32_t a, uint32_t b)
{
	return ents[a].next < ents[b].next ||
	    (ents[a].next == ents[b].next && ents[a].gen < ents[b].gen);
}

static void
heap_set(uint32_t pos, uint32_t idx)
{
	heap[pos] = idx;
	ents[idx].pos = (int32_t)pos;
}

static void
sift_up(uint32_t pos)
{
	uint32_t idx = heap[pos];

	while (pos > 0 && before(idx, heap[(pos - 1) / 2])) {
		heap_set(pos, heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	heap_set(pos, idx);
}

static void
sift_down(uint32_t pos)
{
	uint32_t idx = heap[pos];

	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= nheap)
			break;
		if (c + 1 < nheap && before(heap[c + 1], heap[c]))
			c++;
		if (!before(heap[c], idx))
			break;
		heap_set(pos, heap[c]);
		pos = c;
	}
	heap_set(pos, idx);
}

/* Puts idx in the heap at next, with a fresh generation. */
static void
heap_push(uint32_t idx, time_t next)
{
	ARRAY_RESERVE(heap, nheap, heap_cap);
	ents[idx].next = next < 1 ? 1 : next;
	ents[idx].gen = ++gen_counter ? gen_counter : ++gen_counter;
	heap_set(nheap++, idx);
	sift_up(nheap - 1);
}

static void
heap_remove(uint32_t pos)
{
	uint32_t idx = heap[pos];

	ents[idx].pos = POS_INFLIGHT;
	if (--nheap == pos)
		return;
	heap_set(pos, heap[nheap]);
	if (pos > 0 && before(heap[pos], heap[(pos - 1) / 2]))
		sift_up(pos);
	else
		sift_down(pos);
}

/* ---- entries -------------------------------------------------------- */

static uint32_t
ent_alloc(uint64_t key)
{
	uint32_t idx;

	if (free_head != NO_ENTRY) {
		idx = free_head;
		free_head = (uint32_t)ents[idx].key;
	} else {
		ARRAY_RESERVE(ents, nents, ents_cap);
		idx = nents++;
	}
	ents[idx].key = key;
	ents[idx].pos = POS_INFLIGHT;
	ents[idx].since = time(NULL);
	tab_insert(idx);
	return idx;
}

static void
ent_release(uint32_t slot)
{
	uint32_t idx = tab[slot] - 1;

	if (ents[idx].pos >= 0)
		heap_remove((uint32_t)ents[idx].pos);
	tab_delete(slot);
	ents[idx].pos = POS_FREE;
	ents[idx].key = free_head;
	free_head = idx;
}

/* ---- the interface ---------------------------------------------------- */

void
queue_sched_init(void)
{
	queue_sched_free();
}

void
queue_sched_free(void)
{
	pthread_mutex_lock(&slock);
	XFREE(&ents);
	XFREE(&heap);
	XFREE(&tab);
	nents = ents_cap = nheap = heap_cap = tab_cap = tab_count = 0;
	free_head = NO_ENTRY;
	pthread_mutex_unlock(&slock);
}

void
queue_sched_add(uint64_t key, time_t next)
{
	uint32_t s, idx;

	pthread_mutex_lock(&slock);
	s = tab_find(key);
	if (s == NO_ENTRY)
		heap_push(ent_alloc(key), next);
	else {
		idx = tab[s] - 1;
		if (ents[idx].pos >= 0 && next < ents[idx].next) {
			ents[idx].next = next < 1 ? 1 : next;
			sift_up((uint32_t)ents[idx].pos);
		}
	}
	pthread_mutex_unlock(&slock);
}

int
queue_sched_take(time_t now, uint64_t *keys, uint32_t *gens, int max)
{
	int n = 0;

	pthread_mutex_lock(&slock);
	while (n < max && nheap > 0 && ents[heap[0]].next <= now) {
		uint32_t idx = heap[0];
		heap_remove(0);
		keys[n] = ents[idx].key;
		gens[n] = ents[idx].gen;
		n++;
	}
	pthread_mutex_unlock(&slock);
	return n;
}

bool
queue_sched_release(uint64_t key, uint32_t gen, time_t next)
{
	uint32_t s, idx;
	bool done = false;

	pthread_mutex_lock(&slock);
	s = tab_find(key);
	if (s != NO_ENTRY) {
		idx = tab[s] - 1;
		if (ents[idx].pos == POS_INFLIGHT && ents[idx].gen == gen) {
			heap_push(idx, next);
			done = true;
		}
	}
	pthread_mutex_unlock(&slock);
	return done;
}

void
queue_sched_remove(uint64_t key)
{
	uint32_t s;

	pthread_mutex_lock(&slock);
	s = tab_find(key);
	if (s != NO_ENTRY)
		ent_release(s);
	pthread_mutex_unlock(&slock);
}

void
queue_sched_flush(time_t now)
{
	pthread_mutex_lock(&slock);
	for (uint32_t i = 0; i < nheap; i++)
		if (ents[heap[i]].next > now)
			ents[heap[i]].next = now < 1 ? 1 : now;
	/* Clipping times can break the (next, gen) order: rebuild. */
	for (uint32_t i = nheap / 2; i-- > 0;)
		sift_down(i);
	pthread_mutex_unlock(&slock);
}

time_t
queue_sched_next(void)
{
	time_t t;

	pthread_mutex_lock(&slock);
	t = nheap > 0 ? ents[heap[0]].next : 0;
	pthread_mutex_unlock(&slock);
	return t;
}

size_t
queue_sched_count(void)
{
	size_t n;

	pthread_mutex_lock(&slock);
	n = tab_count;
	pthread_mutex_unlock(&slock);
	return n;
}

bool
queue_sched_stats(size_t *count, time_t *oldest)
{
	time_t o = 0;

	if (queue_on_pg()) {	/* the cluster's count, as last read */
		*count = queue_pgf_count();
		*oldest = 0;
		return true;
	}
	/* a scrape never waits behind the engine: busy = try next time */
	if (pthread_mutex_trylock(&slock) != 0)
		return false;
	*count = tab_count;
	for (uint32_t i = 0; i < nents; i++)
		if (ents[i].pos != POS_FREE && (o == 0 || ents[i].since < o))
			o = ents[i].since;
	pthread_mutex_unlock(&slock);
	*oldest = o;
	return true;
}
