/*
 * test-sieve-store - the per-user script store: names, limits, the active
 * mark, atomic replacement, rename and delete rules, the on-disk layout,
 * the count limit under concurrent writers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sieve/sieve_store.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char dir[64];
static const char *user = "Alice@Example.ORG";

static int
put(const char *name, const char *text)
{
	struct sieve_error err;

	return sieve_store_put(dir, user, name, text, strlen(text), &err);
}

static void
test_names(void)
{
	char big[SIEVE_STORE_NAME_MAX + 2];

	TEST_ASSERT(sieve_store_name_ok("vacation"));
	TEST_ASSERT(sieve_store_name_ok("Sommer 2026 \xc3\xa9t\xc3\xa9"));
	TEST_ASSERT(sieve_store_name_ok(".hidden"));
	TEST_ASSERT(!sieve_store_name_ok(""));
	TEST_ASSERT(!sieve_store_name_ok("."));
	TEST_ASSERT(!sieve_store_name_ok(".."));
	TEST_ASSERT(!sieve_store_name_ok("a/b"));
	TEST_ASSERT(!sieve_store_name_ok("a\tb"));
	TEST_ASSERT(!sieve_store_name_ok("a\x7f"));
	TEST_ASSERT(!sieve_store_name_ok("a\xc2\x85"));		/* NEL */
	TEST_ASSERT(!sieve_store_name_ok("a\xe2\x80\xa8"));	/* U+2028 */
	TEST_ASSERT(!sieve_store_name_ok("\xff"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	TEST_ASSERT(!sieve_store_name_ok(big));
	TEST_ASSERT(put(big, "keep;") < 0 && errno == ENAMETOOLONG);
	TEST_ASSERT(put("a/b", "keep;") < 0 && errno == EINVAL);
	big[SIEVE_STORE_NAME_MAX] = '\0';
	TEST_ASSERT(sieve_store_name_ok(big));
}

static void
test_put_get(void)
{
	struct sieve_error err;
	char *text, *path;
	size_t len;
	struct stat st;

	TEST_ASSERT(sieve_store_get(dir, user, "one", &len) == NULL &&
	    errno == ENOENT);
	TEST_ASSERT(put("one", "keep;\n") == 0);
	text = sieve_store_get(dir, "alice@example.org", "one", &len);
	TEST_ASSERT(text != NULL);
	TEST_ASSERT(len == 6 && strcmp(text, "keep;\n") == 0);
	free(text);
	/* The layout: the lower-cased address, 0700, NAME.sieve. */
	path = xasprintf("%s/sieve/example.org/alice/one.sieve", dir);
	TEST_ASSERT(stat(path, &st) == 0);
	free(path);
	path = xasprintf("%s/sieve/example.org/alice", dir);
	TEST_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	free(path);
	/* Replacing keeps one copy; a broken script changes nothing. */
	TEST_ASSERT(put("one", "discard;\n") == 0);
	TEST_ASSERT(sieve_store_put(dir, user, "one", "keep;\n\nfrobnicate;",
	    19, &err) < 0 && errno == EINVAL);
	TEST_ASSERT(err.line == 3);
	text = sieve_store_get(dir, user, "one", &len);
	TEST_ASSERT(text != NULL && strcmp(text, "discard;\n") == 0);
	free(text);
	TEST_ASSERT(put("one", "") == 0);
	TEST_ASSERT(sieve_store_put(dir, "no-at-sign", "x", "keep;", 5,
	    &err) < 0 && errno == EINVAL);
	TEST_ASSERT(sieve_store_put(dir, "../x@example.org", "x", "keep;", 5,
	    &err) < 0);
}

static void
test_limits(void)
{
	struct sieve_error err;
	char *big = xmalloc(SIEVE_STORE_SIZE_MAX + 1), name[32];
	char **names;
	size_t n;
	char *active;

	memset(big, ' ', SIEVE_STORE_SIZE_MAX + 1);
	TEST_ASSERT(sieve_store_put(dir, user, "big", big,
	    SIEVE_STORE_SIZE_MAX + 1, &err) < 0 && errno == EDQUOT);
	TEST_ASSERT(sieve_store_put(dir, user, "big", big,
	    SIEVE_STORE_SIZE_MAX, &err) == 0);
	free(big);
	TEST_ASSERT(sieve_store_delete(dir, user, "big") == 0);
	TEST_ASSERT(sieve_store_list(dir, user, &names, &n, &active) == 0);
	for (size_t i = n; i < SIEVE_STORE_SCRIPTS_MAX; i++) {
		snprintf(name, sizeof(name), "s%02zu", i);
		TEST_ASSERT(put(name, "keep;") == 0);
	}
	sieve_store_names_free(&names, n);
	free(active);
	TEST_ASSERT(put("one-too-many", "keep;") < 0 && errno == EDQUOT);
	/* Replacing an existing one at the limit is fine. */
	TEST_ASSERT(put("s10", "stop;") == 0);
	for (size_t i = n; i < SIEVE_STORE_SCRIPTS_MAX; i++) {
		snprintf(name, sizeof(name), "s%02zu", i);
		TEST_ASSERT(sieve_store_delete(dir, user, name) == 0);
	}
}

static void
test_active(void)
{
	char **names, *active, *text, *aname = NULL;
	size_t n, len;

	TEST_ASSERT(sieve_store_active(dir, user, &len, NULL) == NULL &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_active_path(dir, user) == NULL &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_activate(dir, user, "missing") < 0 &&
	    errno == ENOENT);
	TEST_ASSERT(put("two", "stop;") == 0);
	TEST_ASSERT(sieve_store_activate(dir, user, "two") == 0);
	text = sieve_store_active(dir, user, &len, &aname);
	TEST_ASSERT(text != NULL && strcmp(text, "stop;") == 0);
	TEST_ASSERT_STREQ(aname, "two");
	free(text);
	free(aname);
	/* delivery's path: the store's layout, the active mark followed */
	text = sieve_store_active_path(dir, user);
	aname = xasprintf("%s/sieve/example.org/alice/two.sieve", dir);
	TEST_ASSERT_STREQ(text, aname);
	free(text);
	free(aname);
	aname = NULL;
	TEST_ASSERT(sieve_store_list(dir, user, &names, &n, &active) == 0);
	TEST_ASSERT(n == 2);
	TEST_ASSERT_STREQ(names[0], "one");
	TEST_ASSERT_STREQ(names[1], "two");
	TEST_ASSERT_STREQ(active, "two");
	sieve_store_names_free(&names, n);
	TEST_ASSERT(names == NULL);
	free(active);
	/* DELETESCRIPT of the active one is refused (RFC 5804 2.10). */
	TEST_ASSERT(sieve_store_delete(dir, user, "two") < 0 &&
	    errno == EBUSY);
	/* The mark follows a rename. */
	TEST_ASSERT(sieve_store_rename(dir, user, "two", "one") < 0 &&
	    errno == EEXIST);
	TEST_ASSERT(sieve_store_rename(dir, user, "nope", "x") < 0 &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_rename(dir, user, "two", "three") == 0);
	text = sieve_store_active(dir, user, &len, &aname);
	TEST_ASSERT(text != NULL);
	TEST_ASSERT_STREQ(aname, "three");
	free(text);
	free(aname);
	TEST_ASSERT(sieve_store_get(dir, user, "two", &len) == NULL);
	TEST_ASSERT(sieve_store_activate(dir, user, "") == 0);
	TEST_ASSERT(sieve_store_active(dir, user, &len, NULL) == NULL &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_activate(dir, user, NULL) == 0);
	TEST_ASSERT(sieve_store_delete(dir, user, "three") == 0);
	TEST_ASSERT(sieve_store_delete(dir, user, "three") < 0 &&
	    errno == ENOENT);
	/* A user with no directory: empty list, nothing active. */
	TEST_ASSERT(sieve_store_list(dir, "bob@example.org", &names, &n,
	    &active) == 0 && n == 0 && active == NULL);
	TEST_ASSERT(sieve_store_activate(dir, "bob@example.org", NULL) == 0);
}

/* Processes putting at once never pass the count limit (the flock). */
static void
test_concurrent_puts(void)
{
	const char *u = "carol@example.org";
	char **names, *active, name[32];
	size_t n;
	int status, stored = 0;
	pid_t pids[4];

	for (int p = 0; p < 4; p++) {
		if ((pids[p] = fork()) == 0) {
			int ok = 0;
			struct sieve_error err;
			for (int i = 0; i < 10; i++) {
				snprintf(name, sizeof(name), "p%d-%d", p, i);
				ok += sieve_store_put(dir, u, name, "keep;", 5,
				    &err) == 0;
			}
			_exit(ok);
		}
		TEST_ASSERT(pids[p] > 0);
	}
	for (int p = 0; p < 4; p++) {
		TEST_ASSERT(waitpid(pids[p], &status, 0) == pids[p]);
		TEST_ASSERT(WIFEXITED(status));
		stored += WEXITSTATUS(status);
	}
	TEST_ASSERT(stored == SIEVE_STORE_SCRIPTS_MAX);
	TEST_ASSERT(sieve_store_list(dir, u, &names, &n, &active) == 0);
	TEST_ASSERT(n == SIEVE_STORE_SCRIPTS_MAX);
	sieve_store_names_free(&names, n);
}

int
main(void)
{
	char *cmd;

	snprintf(dir, sizeof(dir), "/tmp/test-sieve-store.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	TEST_RUN(test_names);
	TEST_RUN(test_put_get);
	TEST_RUN(test_limits);
	TEST_RUN(test_active);
	TEST_RUN(test_concurrent_puts);
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	return test_done("test-sieve-store");
}
