/*
 * test-sieve-text - unit tests for sieve_stage_script_text, the Sieve
 * stage's compile-from-text entry (scripts stored in PostgreSQL) and its
 * cache: the same text under the same key gives the same compiled
 * object, a changed text a new one that replaces it (the old lives on
 * while referenced), keys are separate, a compile error fails with
 * EINVAL and the line, and the cache stays bounded. No database: the
 * entry takes the text, not the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/sieve_stage.h"
#include "util/test.h"
#include "util/xmalloc.h"

static const char v1[] = "require \"fileinto\";\r\n"
    "if header :contains \"subject\" \"x\" { fileinto \"X\"; }\r\n";
static const char v2[] = "if header :contains \"subject\" \"y\" { discard; }\r\n";
static const char bad[] = "keep;\r\nif true {\r\n";

static struct cscript *
get(const char *key, const char *text, struct sieve_error *err)
{
	memset(err, 0, sizeof(*err));
	return sieve_stage_script_text(key, text, strlen(text), err);
}

static void
test_same_text(void)
{
	struct sieve_error err;
	struct cscript *a = get("u@d.test/main", v1, &err);
	struct cscript *b = get("u@d.test/main", v1, &err);

	TEST_ASSERT(a != NULL && b != NULL);
	TEST_ASSERT(a == b);
	TEST_ASSERT(sieve_stage_script_sc(a) == sieve_stage_script_sc(b));
	sieve_stage_script_unref(a);
	sieve_stage_script_unref(b);
	/* the cache keeps it: still the same after the callers let go */
	a = get("u@d.test/main", v1, &err);
	b = get("u@d.test/main", v1, &err);
	TEST_ASSERT(a == b);
	sieve_stage_script_unref(a);
	sieve_stage_script_unref(b);
}

static void
test_changed_text(void)
{
	struct sieve_error err;
	struct cscript *a = get("c@d.test/main", v1, &err), *b, *c;

	TEST_ASSERT(a != NULL);
	b = get("c@d.test/main", v2, &err);	/* edited: recompiled */
	TEST_ASSERT(b != NULL && b != a);
	/* a, replaced in the cache, is still usable by its holder */
	TEST_ASSERT(sieve_stage_script_sc(a) != NULL);
	sieve_stage_script_unref(a);
	c = get("c@d.test/main", v2, &err);
	TEST_ASSERT(c == b);
	sieve_stage_script_unref(c);
	/* back to the first text: compiled again, a new object */
	c = get("c@d.test/main", v1, &err);
	TEST_ASSERT(c != NULL && c != b);
	sieve_stage_script_unref(b);
	sieve_stage_script_unref(c);
}

static void
test_keys_apart(void)
{
	struct sieve_error err;
	struct cscript *a = get("k1@d.test/main", v1, &err);
	struct cscript *b = get("k2@d.test/main", v1, &err);
	struct cscript *c = get("k1@d.test/other", v1, &err);

	TEST_ASSERT(a != NULL && b != NULL && c != NULL);
	TEST_ASSERT(a != b && a != c && b != c);
	sieve_stage_script_unref(a);
	sieve_stage_script_unref(b);
	sieve_stage_script_unref(c);
}

static void
test_compile_error(void)
{
	struct sieve_error err;
	struct cscript *a = get("e@d.test/main", v2, &err), *b;

	TEST_ASSERT(a != NULL);
	errno = 0;
	b = get("e@d.test/main", bad, &err);
	TEST_ASSERT(b == NULL && errno == EINVAL);
	TEST_ASSERT(err.line >= 2 && err.msg[0] != '\0');
	/* again: still an error (errors are not cached as scripts) */
	b = get("e@d.test/main", bad, &err);
	TEST_ASSERT(b == NULL && errno == EINVAL);
	/* the last good text is still what the cache holds */
	b = get("e@d.test/main", v2, &err);
	TEST_ASSERT(b == a);
	sieve_stage_script_unref(a);
	sieve_stage_script_unref(b);
}

static void
test_bounded(void)
{
	struct sieve_error err;
	struct cscript *first = get("b0@d.test/main", v1, &err), *cs;

	TEST_ASSERT(first != NULL);
	for (unsigned i = 1; i <= 2 * SIEVE_STAGE_SCRIPTS_MAX; i++) {
		char *key = xasprintf("b%u@d.test/main", i);
		cs = get(key, v2, &err);
		free(key);
		TEST_ASSERT(cs != NULL);
		sieve_stage_script_unref(cs);
	}
	/* evicted or not, the held reference stays valid */
	TEST_ASSERT(sieve_stage_script_sc(first) != NULL);
	sieve_stage_script_unref(first);
}

int
main(void)
{
	TEST_RUN(test_same_text);
	TEST_RUN(test_changed_text);
	TEST_RUN(test_keys_apart);
	TEST_RUN(test_compile_error);
	TEST_RUN(test_bounded);
	sieve_stage_shutdown();
	return test_done("test-sieve-text");
}
