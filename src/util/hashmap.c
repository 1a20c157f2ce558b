/*
 * hashmap - open-addressing string-keyed hash table (see hashmap.h).
 *
 * Trust: keys may come from the network at lookup time (an SMTP RCPT), but
 * only the administrator's data is ever inserted, so collisions cannot be
 * forced; the per-map random seed is cheap insurance all the same.
 * Slot i holds an entry when slots[i].key != NULL; the cached full hash
 * saves string compares on probe and rehash.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/hashmap.h"
#include "util/xmalloc.h"

#define HASHMAP_MIN_CAP 16

struct hashmap_slot {
	char		*key;
	void		*value;
	uint64_t	 hash;
};

struct hashmap {
	struct hashmap_slot	*slots;
	size_t			 cap;	/* power of two */
	size_t			 count;
	uint64_t		 seed;
	bool			 nocase;
};

static inline unsigned char
fold(unsigned char c, bool nocase)
{
	return nocase && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* FNV-1a over the (folded) bytes, seeded, with a 64-bit finaliser so
 * the low bits used for the slot index depend on every input byte. */
static uint64_t
hash_bytes(const unsigned char *p, size_t len, uint64_t seed, bool nocase)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= fold(p[i], nocase);
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
hash_key(const struct hashmap *m, const char *key)
{
	return hash_bytes((const unsigned char *)key, strlen(key), m->seed,
	    m->nocase);
}

uint64_t
hashmap_hash(const void *p, size_t len, uint64_t seed)
{
	return hash_bytes(p, len, seed, false);
}

/*
 * One getrandom(2) per process, not one per map (maps are made per
 * recipient): each seed is the process secret plus a counter, mixed by
 * splitmix64's finaliser, so seeds stay unpredictable without the secret.
 */
uint64_t
hashmap_random_seed(void)
{
	static _Atomic uint64_t secret, counter;
	uint64_t s = atomic_load(&secret), z;

	if (s == 0) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
			s = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s;
		s |= 1;		/* never 0: 0 means "not drawn yet" */
		atomic_store(&secret, s);	/* a racing thread's draw is as good */
	}
	z = s + 0x9e3779b97f4a7c15ULL * (atomic_fetch_add(&counter, 1) + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

bool
hashmap_ascii_caseeq(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	for (; *x && fold(*x, true) == fold(*y, true); x++, y++)
		;
	return *x == '\0' && *y == '\0';
}

static bool
key_eq(const struct hashmap *m, const char *a, const char *b)
{
	return m->nocase ? hashmap_ascii_caseeq(a, b) : strcmp(a, b) == 0;
}

struct hashmap *
hashmap_new(unsigned flags)
{
	struct hashmap *m = xmalloc(sizeof(*m));

	m->cap = HASHMAP_MIN_CAP;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->nocase = (flags & HASHMAP_ASCII_NOCASE) != 0;
	m->seed = hashmap_random_seed();
	return m;
}

void
hashmap_free(struct hashmap **mp, void (*free_value)(void *value))
{
	struct hashmap *m = *mp;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key == NULL)
			continue;
		free(m->slots[i].key);
		if (free_value != NULL)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	free(m);
	*mp = NULL;
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t
find_slot(const struct hashmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)h & mask;

	while (m->slots[i].key != NULL) {
		if (m->slots[i].hash == h && key_eq(m, m->slots[i].key, key))
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static void
grow(struct hashmap *m)
{
	struct hashmap_slot *old = m->slots;
	size_t old_cap = m->cap;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (old[i].key == NULL)
			continue;
		j = (size_t)old[i].hash & (m->cap - 1);
		while (m->slots[j].key != NULL)
			j = (j + 1) & (m->cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

void *
hashmap_put(struct hashmap *m, const char *key, void *value)
{
	uint64_t h = hash_key(m, key);
	size_t i = find_slot(m, key, h);
	void *prev;

	if (m->slots[i].key != NULL) {
		prev = m->slots[i].value;
		m->slots[i].value = value;
		return prev;
	}
	/* Keep load <= 0.7: probe chains stay short. */
	if ((m->count + 1) * 10 > m->cap * 7) {
		grow(m);
		i = find_slot(m, key, h);
	}
	m->slots[i].key = xstrdup(key);
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->count++;
	return NULL;
}

void *
hashmap_get(const struct hashmap *m, const char *key)
{
	size_t i = find_slot(m, key, hash_key(m, key));

	return m->slots[i].key != NULL ? m->slots[i].value : NULL;
}

const char *
hashmap_get_key(const struct hashmap *m, const char *key)
{
	return m->slots[find_slot(m, key, hash_key(m, key))].key;
}

/*
 * Backward-shift deletion: after emptying slot i, move later entries of
 * the same probe run back into the hole when their home slot allows it,
 * so every remaining key is still reachable without tombstones.
 */
void *
hashmap_remove(struct hashmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t i = find_slot(m, key, hash_key(m, key));
	size_t j;
	void *value;

	if (m->slots[i].key == NULL)
		return NULL;
	value = m->slots[i].value;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->count--;
	for (j = (i + 1) & mask; m->slots[j].key != NULL; j = (j + 1) & mask) {
		size_t home = (size_t)m->slots[j].hash & mask;

		/* Entry j may move to i unless its home lies in (i, j]. */
		if (((j - home) & mask) < ((j - i) & mask))
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].key = NULL;
		i = j;
	}
	return value;
}

size_t
hashmap_count(const struct hashmap *m)
{
	return m->count;
}

bool
hashmap_next(const struct hashmap *m, struct hashmap_iter *it,
    const char **key_r, void **value_r)
{
	while (it->pos < m->cap) {
		const struct hashmap_slot *s = &m->slots[it->pos++];

		if (s->key == NULL)
			continue;
		if (key_r != NULL)
			*key_r = s->key;
		if (value_r != NULL)
			*value_r = s->value;
		return true;
	}
	return false;
}
