/*
 * test-mta-sts - the MTA-STS cache (mta_sts_cache.h): RFC 8461 5.1's
 * decisions with the clock given (fresh, expired, id changed, TXT gone
 * or failing, fetch failed with and without a cached policy), the
 * background refresh time, the table's limits and eviction order, failed
 * fetches held (per id, for MTA_STS_FAILED_HOLD, bounded), the
 * disk form (round trip, damaged and expired files removed at load) and
 * the domain check that guards file names.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mta/mta_sts_cache.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"
#include "util/test.h"

#define T0	1700000000	/* a fetch time */

static struct mta_sts_entry *
entry(const char *domain, const char *id, int64_t fetched, unsigned max_age)
{
	char body[256];
	const char *err;

	snprintf(body, sizeof(body), "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx.%s\r\nmx: *.backup.%s\r\nmax_age: %u\r\n", domain, domain,
	    max_age);
	return mta_sts_entry_new(domain, id, fetched, body, strlen(body),
	    &err);
}

static void
test_entry(void)
{
	struct mta_sts_entry *e = entry("example.com", "abc1", T0, 86400);
	const char *err = NULL;

	TEST_ASSERT(e != NULL && e->refs == 1);
	TEST_ASSERT(e->policy.mode == MTA_STS_ENFORCE && e->policy.n_mx == 2);
	TEST_ASSERT(e->nlines == 5);		/* CRLF stripped */
	TEST_ASSERT_STREQ(e->lines[0], "version: STSv1");
	TEST_ASSERT_STREQ(e->lines[4], "max_age: 86400");
	TEST_ASSERT(mta_sts_entry_expires(e) == T0 + 86400);
	TEST_ASSERT(mta_sts_entry_fresh(e, T0 + 86399));
	TEST_ASSERT(!mta_sts_entry_fresh(e, T0 + 86400));
	TEST_ASSERT(mta_sts_refresh_due(e) == T0 + 43200);
	mta_sts_entry_unref(&e);
	TEST_ASSERT(e == NULL);
	/* an invalid body is no entry */
	TEST_ASSERT(mta_sts_entry_new("example.com", "x", T0, "mode: enforce\n",
	    14, &err) == NULL && err != NULL);
	/* max_age 0: expired at once, refreshed a second later */
	e = entry("example.com", "abc1", T0, 0);
	TEST_ASSERT(e != NULL && !mta_sts_entry_fresh(e, T0));
	TEST_ASSERT(mta_sts_refresh_due(e) == T0 + 1);
	mta_sts_entry_unref(&e);
}

static void
test_decide(void)
{
	struct mta_sts_entry *e = entry("example.com", "abc1", T0, 3600);
	int64_t fresh = T0 + 10, stale = T0 + 3600;

	/* nothing cached: a TXT id means a fetch, else no policy */
	TEST_ASSERT(mta_sts_decide(NULL, MTA_STS_TXT_ID, "abc1", fresh) ==
	    MTA_STS_FETCH);
	TEST_ASSERT(mta_sts_decide(NULL, MTA_STS_TXT_NONE, NULL, fresh) ==
	    MTA_STS_NOTHING);
	TEST_ASSERT(mta_sts_decide(NULL, MTA_STS_TXT_TEMPFAIL, NULL, fresh) ==
	    MTA_STS_NOTHING);
	/* fresh and the same id: no fetch */
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_ID, "abc1", fresh) ==
	    MTA_STS_USE_CACHED);
	/* the id changed: fetch (and ids are case-sensitive) */
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_ID, "abc2", fresh) ==
	    MTA_STS_FETCH);
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_ID, "ABC1", fresh) ==
	    MTA_STS_FETCH);
	/* expired: fetch even with the same id */
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_ID, "abc1", stale) ==
	    MTA_STS_FETCH);
	/* TXT gone or failing: the fresh cache still applies (5.1) */
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_NONE, NULL, fresh) ==
	    MTA_STS_USE_CACHED);
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_TEMPFAIL, NULL, fresh) ==
	    MTA_STS_USE_CACHED);
	TEST_ASSERT(mta_sts_decide(e, MTA_STS_TXT_NONE, NULL, stale) ==
	    MTA_STS_NOTHING);
	/* a failed fetch: the cache while fresh, else nothing (3.3) */
	TEST_ASSERT(mta_sts_after_failure(e, fresh) == MTA_STS_USE_CACHED);
	TEST_ASSERT(mta_sts_after_failure(e, stale) == MTA_STS_NOTHING);
	TEST_ASSERT(mta_sts_after_failure(NULL, fresh) == MTA_STS_NOTHING);
	mta_sts_entry_unref(&e);
}

static size_t n_evicted;
static char last_evicted[64];

static void
on_evicted(const char *domain, void *arg)
{
	(void)arg;
	n_evicted++;
	snprintf(last_evicted, sizeof(last_evicted), "%s", domain);
}

static void
test_cache_limits(void)
{
	struct mta_sts_cache c;
	char d[64];
	int64_t now = T0 + 100;

	mta_sts_cache_init(&c);
	n_evicted = 0;
	for (int i = 0; i < MTA_STS_CACHE_MAX; i++) {
		snprintf(d, sizeof(d), "d%d.test", i);
		/* d7 expires first, d9 is already expired */
		mta_sts_cache_put(&c, entry(d, "1", T0, i == 7 ? 200 :
		    i == 9 ? 50 : 3600), now, on_evicted, NULL);
	}
	TEST_ASSERT(n_evicted == 0);
	/* a replacement is not an eviction, and bytes follow it */
	mta_sts_cache_put(&c, entry("d1.test", "2", T0, 3600), now,
	    on_evicted, NULL);
	TEST_ASSERT(n_evicted == 0);
	TEST_ASSERT_STREQ(mta_sts_cache_get(&c, "d1.test")->id, "2");
	/* one more domain: the expired one goes first, then the earliest */
	mta_sts_cache_put(&c, entry("new1.test", "1", T0, 3600), now,
	    on_evicted, NULL);
	TEST_ASSERT(n_evicted == 1);
	TEST_ASSERT_STREQ(last_evicted, "d9.test");
	mta_sts_cache_put(&c, entry("new2.test", "1", T0, 3600), now,
	    on_evicted, NULL);
	TEST_ASSERT(n_evicted == 2);
	TEST_ASSERT_STREQ(last_evicted, "d7.test");
	TEST_ASSERT(mta_sts_cache_get(&c, "d7.test") == NULL);
	TEST_ASSERT(mta_sts_cache_get(&c, "new2.test") != NULL);
	mta_sts_cache_remove(&c, "new2.test");
	TEST_ASSERT(mta_sts_cache_get(&c, "new2.test") == NULL);
	mta_sts_cache_free(&c);
	TEST_ASSERT(c.map == NULL && c.bytes == 0);
}

static void
test_failures(void)
{
	struct mta_sts_failures f;
	const struct mta_sts_failure *x;
	char d[32];

	mta_sts_failures_init(&f);
	mta_sts_failure_note(&f, "a.test", "id1",
	    TLSRPT_STS_POLICY_FETCH_ERROR, "refused", T0);
	x = mta_sts_failure_held(&f, "a.test", "id1", T0 + 10);
	TEST_ASSERT(x != NULL && x->failure == TLSRPT_STS_POLICY_FETCH_ERROR);
	TEST_ASSERT_STREQ(x->error, "refused");
	/* another id, another domain, or the hold over: not held */
	TEST_ASSERT(mta_sts_failure_held(&f, "a.test", "id2", T0 + 10) ==
	    NULL);
	TEST_ASSERT(mta_sts_failure_held(&f, "b.test", "id1", T0 + 10) ==
	    NULL);
	TEST_ASSERT(mta_sts_failure_held(&f, "a.test", "id1",
	    T0 + MTA_STS_FAILED_HOLD) == NULL);
	/* noted again: replaced, hold restarted */
	mta_sts_failure_note(&f, "a.test", "id2", TLSRPT_STS_POLICY_INVALID,
	    "mode", T0 + 100);
	x = mta_sts_failure_held(&f, "a.test", "id2", T0 + 300);
	TEST_ASSERT(x != NULL && x->failure == TLSRPT_STS_POLICY_INVALID);
	mta_sts_failure_forget(&f, "a.test");
	TEST_ASSERT(mta_sts_failure_held(&f, "a.test", "id2", T0 + 300) ==
	    NULL);
	/* full: a new one is dropped while the old holds last */
	for (int i = 0; i < MTA_STS_FAILED_MAX; i++) {
		snprintf(d, sizeof(d), "d%d.test", i);
		mta_sts_failure_note(&f, d, "1", TLSRPT_STS_POLICY_FETCH_ERROR,
		    "x", T0 + 1000);
	}
	mta_sts_failure_note(&f, "new.test", "1",
	    TLSRPT_STS_POLICY_FETCH_ERROR, "x", T0 + 1000);
	TEST_ASSERT(mta_sts_failure_held(&f, "new.test", "1", T0 + 1000) ==
	    NULL);
	TEST_ASSERT(mta_sts_failure_held(&f, "d0.test", "1", T0 + 1000) !=
	    NULL);
	/* once they are over, room is made */
	mta_sts_failure_note(&f, "new.test", "1", TLSRPT_STS_POLICY_FETCH_ERROR,
	    "x", T0 + 1000 + MTA_STS_FAILED_HOLD);
	TEST_ASSERT(mta_sts_failure_held(&f, "new.test", "1",
	    T0 + 1000 + MTA_STS_FAILED_HOLD) != NULL);
	mta_sts_failures_expire(&f, T0 + 5000, 64);
	mta_sts_failures_free(&f);
	TEST_ASSERT(f.map == NULL);
}

static void
test_domain_ok(void)
{
	TEST_ASSERT(mta_sts_domain_ok("example.com"));
	TEST_ASSERT(mta_sts_domain_ok("a-b.c0.test"));
	TEST_ASSERT(!mta_sts_domain_ok(""));
	TEST_ASSERT(!mta_sts_domain_ok(".."));
	TEST_ASSERT(!mta_sts_domain_ok(".hidden"));
	TEST_ASSERT(!mta_sts_domain_ok("a/b"));
	TEST_ASSERT(!mta_sts_domain_ok("a..b"));
	TEST_ASSERT(!mta_sts_domain_ok("Example.com"));
	TEST_ASSERT(!mta_sts_domain_ok("example.com."));
}

static void
test_encode_decode(void)
{
	struct mta_sts_entry *e = entry("example.com", "abc1", T0, 3600), *f;
	const char *err;
	size_t len;
	char *data = mta_sts_entry_encode(e, &len);

	f = mta_sts_entry_decode("example.com", data, len, &err);
	TEST_ASSERT(f != NULL);
	TEST_ASSERT_STREQ(f->id, "abc1");
	TEST_ASSERT(f->fetched == T0 && f->len == e->len);
	TEST_ASSERT(memcmp(f->body, e->body, e->len) == 0);
	mta_sts_entry_unref(&f);
	/* another domain's file, and every truncation, are refused */
	TEST_ASSERT(mta_sts_entry_decode("example.org", data, len, &err) ==
	    NULL);
	for (size_t n = 0; n < len - 20; n++) {
		f = mta_sts_entry_decode("example.com", data, n, &err);
		TEST_ASSERT(f == NULL);
	}
	free(data);
	mta_sts_entry_unref(&e);
}

static void
test_disk(void)
{
	char dir[] = "/tmp/test-mta-sts-XXXXXX", path[128];
	struct mta_sts_entry *e = entry("example.com", "abc1", T0, 3600);
	struct mta_sts_entry *old = entry("old.test", "x", T0, 60);
	struct mta_sts_cache c;
	struct stat st;

	TEST_ASSERT(mkdtemp(dir) != NULL);
	TEST_ASSERT(mta_sts_disk_save(dir, e) == 0);
	TEST_ASSERT(mta_sts_disk_save(dir, old) == 0);
	TEST_ASSERT(fsutil_atomic_write(dir, "bad.test", "junk", 4) == 0);
	TEST_ASSERT(fsutil_atomic_write(dir, "Not_A_Domain", "junk", 4) == 0);
	mta_sts_cache_init(&c);
	TEST_ASSERT(mta_sts_disk_load(dir, &c, T0 + 100) == 1);
	TEST_ASSERT(mta_sts_cache_get(&c, "example.com") != NULL);
	TEST_ASSERT_STREQ(mta_sts_cache_get(&c, "example.com")->id, "abc1");
	TEST_ASSERT(mta_sts_cache_get(&c, "example.com")->fetched == T0);
	TEST_ASSERT(mta_sts_cache_get(&c, "old.test") == NULL);
	/* the expired and the damaged file are gone, the odd name too */
	snprintf(path, sizeof(path), "%s/old.test", dir);
	TEST_ASSERT(stat(path, &st) < 0);
	snprintf(path, sizeof(path), "%s/bad.test", dir);
	TEST_ASSERT(stat(path, &st) < 0);
	TEST_ASSERT(mta_sts_disk_remove(dir, "example.com") == 0);
	TEST_ASSERT(mta_sts_disk_remove(dir, "example.com") == 0);
	snprintf(path, sizeof(path), "%s/Not_A_Domain", dir);
	TEST_ASSERT(stat(path, &st) < 0);
	TEST_ASSERT(rmdir(dir) == 0);
	mta_sts_cache_free(&c);
	mta_sts_entry_unref(&e);
	mta_sts_entry_unref(&old);
}

int
main(void)
{
	TEST_RUN(test_entry);
	TEST_RUN(test_decide);
	TEST_RUN(test_cache_limits);
	TEST_RUN(test_failures);
	TEST_RUN(test_domain_ok);
	TEST_RUN(test_encode_decode);
	TEST_RUN(test_disk);
	return test_done("test-mta-sts");
}
