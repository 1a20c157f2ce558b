/*
 * test-hashmap - unit tests of the open-addressing hash table, including
 * random insert/remove sequences checked against a plain array.
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/hashmap.h"
#include "util/test.h"
#include "util/xmalloc.h"

static void
test_basic(void)
{
	struct hashmap *m = hashmap_new(0);
	int a = 1, b = 2;

	TEST_ASSERT(hashmap_get(m, "x") == NULL);
	TEST_ASSERT(hashmap_put(m, "x", &a) == NULL);
	TEST_ASSERT(hashmap_get(m, "x") == &a);
	TEST_ASSERT(hashmap_get(m, "X") == NULL);	/* case-sensitive */
	TEST_ASSERT(hashmap_put(m, "x", &b) == &a);	/* replace */
	TEST_ASSERT(hashmap_count(m) == 1);
	TEST_ASSERT(hashmap_put(m, "", &a) == NULL);	/* empty key */
	TEST_ASSERT(hashmap_get(m, "") == &a);
	TEST_ASSERT(hashmap_remove(m, "x") == &b);
	TEST_ASSERT(hashmap_remove(m, "x") == NULL);
	TEST_ASSERT(hashmap_count(m) == 1);
	hashmap_free(&m, NULL);
	TEST_ASSERT(m == NULL);
	hashmap_free(&m, NULL);
}

static void
test_nocase(void)
{
	struct hashmap *m = hashmap_new(HASHMAP_ASCII_NOCASE);
	int a = 1;

	hashmap_put(m, "Alice@Example.TEST", &a);
	TEST_ASSERT(hashmap_get(m, "alice@example.test") == &a);
	TEST_ASSERT(hashmap_get(m, "ALICE@EXAMPLE.TEST") == &a);
	TEST_ASSERT_STREQ(hashmap_get_key(m, "alice@example.test"),
	    "Alice@Example.TEST");
	/* Only ASCII folds: "Ü" (C3 9C) and "ü" (C3 BC) differ. */
	hashmap_put(m, "J\xc3\xbcrgen", &a);
	TEST_ASSERT(hashmap_get(m, "j\xc3\xbcrgen") == &a);
	TEST_ASSERT(hashmap_get(m, "J\xc3\x9crgen") == NULL);
	TEST_ASSERT(hashmap_ascii_caseeq("aBc", "AbC"));
	TEST_ASSERT(!hashmap_ascii_caseeq("abc", "abcd"));
	TEST_ASSERT(!hashmap_ascii_caseeq("abcd", "abc"));
	hashmap_free(&m, NULL);
}

static void
test_free_values(void)
{
	struct hashmap *m = hashmap_new(0);
	struct hashmap_iter it = { 0 };
	const char *k;
	void *v;
	int n = 0;

	hashmap_put(m, "a", xstrdup("1"));
	hashmap_put(m, "b", xstrdup("2"));
	while (hashmap_next(m, &it, &k, &v))
		n++;
	TEST_ASSERT(n == 2);
	hashmap_free(&m, free);		/* ASan reports a leak otherwise */
}

/* Random puts and removes over a small key space (many collisions of
 * probe runs), compared after each step with a direct array. */
static void
test_random_against_array(void)
{
	enum { KEYS = 2000, STEPS = 200000 };
	static int present[KEYS];
	struct hashmap *m = hashmap_new(0);
	uint32_t rnd = 12345;
	size_t count = 0;
	char key[16];

	for (int step = 0; step < STEPS; step++) {
		int k;

		rnd = rnd * 1103515245u + 12345u;
		k = (int)((rnd >> 8) % KEYS);
		snprintf(key, sizeof(key), "k%d", k);
		if ((rnd >> 4) & 1) {
			void *old = hashmap_put(m, key, &present[k]);

			TEST_ASSERT((old != NULL) == (present[k] != 0));
			count += !present[k];
			present[k] = 1;
		} else {
			void *old = hashmap_remove(m, key);

			TEST_ASSERT((old != NULL) == (present[k] != 0));
			count -= present[k];
			present[k] = 0;
		}
		TEST_ASSERT(hashmap_count(m) == count);
	}
	for (int k = 0; k < KEYS; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		TEST_ASSERT((hashmap_get(m, key) != NULL) == (present[k] != 0));
	}
	hashmap_free(&m, NULL);
}

static void
test_large(void)
{
	enum { N = 100000 };
	struct hashmap *m = hashmap_new(HASHMAP_ASCII_NOCASE);
	char key[32];

	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "User%d@Example.test", i);
		hashmap_put(m, key, (void *)(intptr_t)(i + 1));
	}
	TEST_ASSERT(hashmap_count(m) == N);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "user%d@example.TEST", i);
		TEST_ASSERT(hashmap_get(m, key) == (void *)(intptr_t)(i + 1));
	}
	hashmap_free(&m, NULL);
}

static void
test_hash_function(void)
{
	uint64_t s1 = hashmap_random_seed(), s2 = hashmap_random_seed();

	/* Deterministic for one seed, over the given length only. */
	TEST_ASSERT(hashmap_hash("abc", 3, 7) == hashmap_hash("abcdef", 3, 7));
	TEST_ASSERT(hashmap_hash("abc", 3, 7) != hashmap_hash("abd", 3, 7));
	TEST_ASSERT(hashmap_hash("abc", 3, 7) != hashmap_hash("abc", 3, 8));
	TEST_ASSERT(hashmap_hash("", 0, 0) == hashmap_hash("x", 0, 0));
	/* Two random seeds differ (a collision is 2^-64). */
	TEST_ASSERT(s1 != s2);
	/* The low bits (slot indexes) spread: 4096 keys over 64 slots. */
	{
		unsigned used[64] = { 0 }, min = ~0u;
		char key[16];

		for (int i = 0; i < 4096; i++) {
			int n = snprintf(key, sizeof(key), "10.0.%d.%d", i / 256,
			    i % 256);
			used[hashmap_hash(key, (size_t)n, s1) % 64]++;
		}
		for (int i = 0; i < 64; i++)
			min = used[i] < min ? used[i] : min;
		TEST_ASSERT(min > 20);		/* 64 expected per slot */
	}
}

int
main(void)
{
	TEST_RUN(test_basic);
	TEST_RUN(test_nocase);
	TEST_RUN(test_free_values);
	TEST_RUN(test_random_against_array);
	TEST_RUN(test_large);
	TEST_RUN(test_hash_function);
	return test_done("test-hashmap");
}
