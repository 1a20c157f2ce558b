/*
 * hashmap - an open-addressing hash table: string keys, void * values.
 *
 * Generic (no mail knowledge). Linear probing with backward-shift deletion,
 * so there are no tombstones and lookups stay O(1) however many removals
 * happen. The table grows (never shrinks) to keep the load below 70 %.
 * Each map has a random hash seed.
 *
 * Keys are copied on insert and owned by the map. Values are the caller's:
 * hashmap_free() hands each one to free_value when that is not NULL.
 * With HASHMAP_ASCII_NOCASE, keys compare and hash with ASCII letters
 * folded (bytes >= 0x80 compare exactly, so UTF-8 text is kept as is).
 *
 * Not thread-safe for writers; any number of threads may call the const
 * functions at once on a map nobody modifies.
 */
#ifndef TEM_HASHMAP_H
#define TEM_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASHMAP_ASCII_NOCASE	0x1

struct hashmap;

struct hashmap_iter {
	size_t	pos;
};

/* A new, empty map; flags: 0 or HASHMAP_ASCII_NOCASE. Never NULL. */
struct hashmap *hashmap_new(unsigned flags);
/* Frees the map and its keys, calls free_value (if not NULL) on each
 * value, and sets *m to NULL. *m may be NULL. */
void hashmap_free(struct hashmap **m, void (*free_value)(void *value));

/* Sets key to value. Returns the value it replaced (the caller's to
 * free) or NULL if the key was new. */
void *hashmap_put(struct hashmap *m, const char *key, void *value);
/* The value for key, or NULL. */
void *hashmap_get(const struct hashmap *m, const char *key);
/* The stored copy of key (its case as inserted), or NULL. */
const char *hashmap_get_key(const struct hashmap *m, const char *key);
/* Removes key; returns its value (the caller's) or NULL if absent. */
void *hashmap_remove(struct hashmap *m, const char *key);
size_t hashmap_count(const struct hashmap *m);

/*
 * Iteration in no particular order: set it->pos = 0, then call until it
 * returns false. The map must not change meanwhile. key_r/value_r may be
 * NULL.
 */
bool hashmap_next(const struct hashmap *m, struct hashmap_iter *it,
    const char **key_r, void **value_r);

/*
 * The map's hash function (seeded FNV-1a with a 64-bit finaliser) over
 * p[0..len), for the few tables that must not be a hashmap: fixed-size
 * counter tables whose memory may not grow with the peers' addresses
 * (auth/authfail.c, auth/ratelimit.c) and an index over slices of names
 * that must not copy them (store/mailbox_sync.c). Give them a seed from
 * hashmap_random_seed() when keys come from the network.
 */
uint64_t hashmap_hash(const void *p, size_t len, uint64_t seed);
/* A random 64-bit seed (getrandom; else time and an address). */
uint64_t hashmap_random_seed(void);

/* ASCII-only case folding helpers, exported for callers that build keys. */
bool hashmap_ascii_caseeq(const char *a, const char *b);

#endif
