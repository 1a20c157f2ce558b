/* Unit tests for util/slottab.h. */
#include <stdio.h>
#include <string.h>

#include "util/slottab.h"
#include "util/test.h"

#define NSLOTS	64

static struct slottab_slot slots[NSLOTS];
static struct slottab tab = SLOTTAB_INIT(slots, NSLOTS);

/* A key keeps its slot; lookups without create find it or nothing. */
static void
get_checks(void)
{
	struct slottab_slot *s, *again;

	TEST_ASSERT(slottab_slot(&tab, "192.0.2.1", false) == NULL);
	s = slottab_slot(&tab, "192.0.2.1", true);
	TEST_ASSERT(s != NULL && s->count == 0 && s->start == 0);
	s->count = 3;
	again = slottab_slot(&tab, "192.0.2.1", false);
	TEST_ASSERT(again == s && again->count == 3);
	/* a prefix or an extension of the key is another key */
	TEST_ASSERT(slottab_slot(&tab, "192.0.2.10", false) == NULL);
	TEST_ASSERT(slottab_slot(&tab, "192.0.2.", false) == NULL);
}

/* More keys than slots: memory stays the table, evicted keys start
 * over from zero, the newest key always has its count. */
static void
bounded_checks(void)
{
	char key[32];
	int found = 0;

	for (int i = 0; i < NSLOTS * 8; i++) {
		struct slottab_slot *s;

		snprintf(key, sizeof(key), "user%d", i);
		s = slottab_slot(&tab, key, true);
		TEST_ASSERT(s >= slots && s < slots + NSLOTS);
		TEST_ASSERT(s->count == 0);
		s->count = (unsigned)i + 1;
	}
	for (int i = 0; i < NSLOTS * 8; i++) {
		struct slottab_slot *s;

		snprintf(key, sizeof(key), "user%d", i);
		if ((s = slottab_slot(&tab, key, false)) != NULL) {
			TEST_ASSERT(s->count == (unsigned)i + 1);
			found++;
		}
	}
	TEST_ASSERT(found > 0 && found <= NSLOTS);
	TEST_ASSERT(slottab_slot(&tab, key, false) != NULL);
}

/* Keys longer than a slot hold compare on their first octets. */
static void
long_key_checks(void)
{
	char a[300], b[300];
	struct slottab_slot *s;

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[200] = 'y';		/* differs after SLOTTAB_KEY_MAX */
	s = slottab_slot(&tab, a, true);
	TEST_ASSERT(strlen(s->key) == SLOTTAB_KEY_MAX - 1);
	TEST_ASSERT(slottab_slot(&tab, b, false) == s);
}

/* Each test holds the lock, which a failed assertion must not keep. */
#define LOCKED(fn) static void test_##fn(void) \
	{ slottab_lock(&tab); fn##_checks(); slottab_unlock(&tab); }
LOCKED(get)
LOCKED(bounded)
LOCKED(long_key)

int
main(void)
{
	TEST_RUN(test_get);
	TEST_RUN(test_bounded);
	TEST_RUN(test_long_key);
	return test_done("test-slottab");
}
