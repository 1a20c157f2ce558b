/*
 * test-sieve-state - unit tests for sieve/sieve_state.c in a temporary
 * data_dir: the file is made 0600 under sieve/DOMAIN/LOCAL, duplicate ids
 * are seen until they expire, vacation is due once per period per handle
 * and address (case-insensitive address), state survives a reopen,
 * rows are capped, bad users and over-long keys are refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sieve/sieve_state.h"
#include "util/test.h"

static char dir[] = "/tmp/test-sieve-state-XXXXXX";

static void
test_open_creates_file(void)
{
	struct sieve_state *st = sieve_state_open(dir, "bob@example.org");
	char path[256];
	struct stat sb;

	TEST_ASSERT(st != NULL);
	snprintf(path, sizeof(path), "%s/sieve/example.org/bob/state.db", dir);
	TEST_ASSERT(stat(path, &sb) == 0);
	TEST_ASSERT((sb.st_mode & 0777) == 0600);
	snprintf(path, sizeof(path), "%s/sieve/example.org/bob", dir);
	TEST_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	sieve_state_close(&st);
	/* the address canonicalised: the same directory */
	st = sieve_state_open(dir, "Bob@Example.ORG");
	TEST_ASSERT(st != NULL);
	sieve_state_close(&st);
	snprintf(path, sizeof(path), "%s/sieve/Example.ORG", dir);
	TEST_ASSERT(stat(path, &sb) < 0);
	TEST_ASSERT(st == NULL);
	sieve_state_close(&st);
}

static void
test_bad_users(void)
{
	static const char *const bad[] = { "nobody", "@example.org", "a@",
	    "../x@example.org", "a@..", "..@example.org", "a@b/c", "a\n@b",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		TEST_ASSERT(sieve_state_open(dir, bad[i]) == NULL);
		TEST_ASSERT(errno == EINVAL);
	}
}

static void
test_duplicate(void)
{
	struct sieve_state *st = sieve_state_open(dir, "dup@example.org");
	time_t now = time(NULL);

	TEST_ASSERT(st != NULL);
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "<id1@x>", now));
	TEST_ASSERT(sieve_state_dup_record(st, "h", "<id1@x>", now + 100) == 0);
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "<id1@x>", now));
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "<id1@x>", now + 99));
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "<id1@x>", now + 100));
	TEST_ASSERT(!sieve_state_dup_seen(st, "other", "<id1@x>", now));
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "<ID1@x>", now));
	/* a later record replaces the expiry */
	TEST_ASSERT(sieve_state_dup_record(st, "h", "<id1@x>", now + 500) == 0);
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "<id1@x>", now + 400));
	sieve_state_close(&st);

	/* durable: another open sees it */
	st = sieve_state_open(dir, "dup@example.org");
	TEST_ASSERT(st != NULL);
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "<id1@x>", now));
	/* another user does not */
	sieve_state_close(&st);
	st = sieve_state_open(dir, "dup2@example.org");
	TEST_ASSERT(st != NULL);
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "<id1@x>", now));
	sieve_state_close(&st);
}

static void
test_vacation(void)
{
	struct sieve_state *st = sieve_state_open(dir, "vac@example.org");
	time_t now = time(NULL);
	uint64_t week = 7 * 86400;

	TEST_ASSERT(st != NULL);
	TEST_ASSERT(sieve_state_vacation_due(st, "h", "a@b.test", week, now));
	TEST_ASSERT(sieve_state_vacation_record(st, "h", "a@b.test", now) == 0);
	TEST_ASSERT(!sieve_state_vacation_due(st, "h", "a@b.test", week, now));
	TEST_ASSERT(!sieve_state_vacation_due(st, "h", "A@B.TEST", week,
	    now + 3600));
	TEST_ASSERT(!sieve_state_vacation_due(st, "h", "a@b.test", week,
	    now + (time_t)week - 1));
	TEST_ASSERT(sieve_state_vacation_due(st, "h", "a@b.test", week,
	    now + (time_t)week));
	/* other handle, other address: due; :seconds 0 always due */
	TEST_ASSERT(sieve_state_vacation_due(st, "h2", "a@b.test", week, now));
	TEST_ASSERT(sieve_state_vacation_due(st, "h", "c@b.test", week, now));
	TEST_ASSERT(sieve_state_vacation_due(st, "h", "a@b.test", 0, now));
	/* a clock that went back: not due within the period */
	TEST_ASSERT(!sieve_state_vacation_due(st, "h", "a@b.test", week,
	    now - 3600));
	TEST_ASSERT(!sieve_state_vacation_due(st, "h", "a@b.test", UINT64_MAX,
	    now + (time_t)week));
	sieve_state_close(&st);

	st = sieve_state_open(dir, "vac@example.org");
	TEST_ASSERT(st != NULL);
	TEST_ASSERT(!sieve_state_vacation_due(st, "h", "a@b.test", week, now));
	/* recording a much later reply prunes the old row */
	TEST_ASSERT(sieve_state_vacation_record(st, "h", "z@b.test",
	    now + SIEVE_STATE_VACATION_KEEP + 10) == 0);
	TEST_ASSERT(sieve_state_vacation_due(st, "h", "a@b.test", UINT64_MAX,
	    now + 1));
	sieve_state_close(&st);
}

static void
test_long_keys(void)
{
	struct sieve_state *st = sieve_state_open(dir, "long@example.org");
	char *k = malloc(SIEVE_STATE_KEY_MAX + 2);
	time_t now = time(NULL);

	TEST_ASSERT(st != NULL && k != NULL);
	memset(k, 'x', SIEVE_STATE_KEY_MAX + 1);
	k[SIEVE_STATE_KEY_MAX + 1] = '\0';
	TEST_ASSERT(sieve_state_dup_record(st, "h", k, now + 10) < 0);
	TEST_ASSERT(errno == EINVAL);
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", k, now));
	TEST_ASSERT(sieve_state_vacation_record(st, k, "a@b", now) < 0);
	TEST_ASSERT(sieve_state_vacation_due(st, k, "a@b", 10, now));
	/* quotes and SQL in keys are just bytes */
	TEST_ASSERT(sieve_state_dup_record(st, "h'; DROP TABLE dup; --",
	    "\"x\"", now + 10) == 0);
	TEST_ASSERT(sieve_state_dup_seen(st, "h'; DROP TABLE dup; --",
	    "\"x\"", now));
	sieve_state_close(&st);
	free(k);
}

static void
test_corrupt_file_set_aside(void)
{
	struct sieve_state *st;
	char path[256];
	struct stat sb;
	FILE *f;

	TEST_ASSERT((st = sieve_state_open(dir, "bad@example.org")) != NULL);
	sieve_state_close(&st);
	snprintf(path, sizeof(path), "%s/sieve/example.org/bad/state.db",
	    dir);
	TEST_ASSERT((f = fopen(path, "w")) != NULL);
	for (int i = 0; i < 1000; i++)
		fputs("this is not an SQLite database ", f);
	fclose(f);
	st = sieve_state_open(dir, "bad@example.org");
	TEST_ASSERT(st != NULL);
	TEST_ASSERT(sieve_state_vacation_record(st, "h", "a@b", time(NULL))
	    == 0);
	sieve_state_close(&st);
	TEST_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(path, sizeof(path),
	    "%s/sieve/example.org/bad/state.db.corrupt", dir);
	TEST_ASSERT(stat(path, &sb) == 0 && sb.st_size > 1000);
}

static void
test_rows_capped(void)
{
	struct sieve_state *st = sieve_state_open(dir, "cap@example.org");
	time_t now = time(NULL);
	char id[32];

	TEST_ASSERT(st != NULL);
	for (int i = 0; i < SIEVE_STATE_ROWS_MAX + 5; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		TEST_ASSERT(sieve_state_dup_record(st, "h", id,
		    now + 1000 + i) == 0);
	}
	/* the newest stay, the oldest expiries went first */
	TEST_ASSERT(sieve_state_dup_seen(st, "h", id, now));
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "id5", now));
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "id4", now));
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "id0", now));
	sieve_state_close(&st);
}

int
main(void)
{
	char cmd[128];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	TEST_RUN(test_open_creates_file);
	TEST_RUN(test_bad_users);
	TEST_RUN(test_duplicate);
	TEST_RUN(test_vacation);
	TEST_RUN(test_long_keys);
	TEST_RUN(test_corrupt_file_set_aside);
	TEST_RUN(test_rows_capped);
	rc = test_done("test-sieve-state");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
