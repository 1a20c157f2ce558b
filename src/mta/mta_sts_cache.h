/*
 * mta_sts_cache - cached MTA-STS policies (RFC 8461 5.1) for the look-up
 * module (mta_sts.c): one entry per domain with its policy body, parsed
 * policy, the TXT id it was fetched under and the wall-clock fetch time;
 * the decisions of 5.1 (use the cache, fetch, nothing) as pure functions
 * of an entry, the TXT answer and a clock value; the table with its
 * limits; the failed fetches held; and the disk form under
 * data_dir/mta-sts/ (one file a domain).
 *
 * Trust: bodies come from the recipient domain's web server and files
 * from tem's own data_dir; both are re-parsed and bounded (a policy body
 * ≤ MTA_STS_BODY_MAX, a file ≤ MTA_STS_FILE_MAX).
 *
 * Threads: an entry is built on any thread (the fetch thread parses and
 * writes it), then belongs to the engine loop, which alone changes its
 * reference count and the table. The disk functions block: fetch thread
 * or start-up only.
 */
#ifndef TEM_MTA_MTA_STS_CACHE_H
#define TEM_MTA_MTA_STS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/mta_sts_policy.h"
#include "policy/tlsrpt.h"

/* Domains cached at most; a new one beyond evicts the entry expiring
 * first (an expired one before any other). */
#define MTA_STS_CACHE_MAX	1000
/* Policy bytes cached at most (bodies; 16 MiB: 256 maximal bodies, some
 * 100,000 ordinary ones), evicted likewise. */
#define MTA_STS_CACHE_BYTES	(16u * 1024 * 1024)
/* A cache file: a short header and the body. */
#define MTA_STS_FILE_MAX	(MTA_STS_BODY_MAX + 512)
/* Longest domain name kept (RFC 1035 2.3.4). */
#define MTA_STS_DOMAIN_MAX	253

struct hashmap;

struct mta_sts_entry {
	char			*domain;
	char			 id[MTA_STS_ID_MAX + 1];
	int64_t			 fetched;	/* wall clock, seconds */
	char			*body;		/* NUL-terminated */
	size_t			 len;
	char			**lines;	/* the body's lines, no EOL */
	size_t			 nlines;
	struct mta_sts_policy	 policy;
	/* engine loop only */
	unsigned		 refs;
	int64_t			 refresh_at;	/* next background refresh */
};

/* Whether domain is a lowercase LDH name usable as a file name. */
bool mta_sts_domain_ok(const char *domain);

/*
 * A new entry (refs 1) from a fetched body: parsed, split into lines;
 * NULL with *error_r (static) when the body is not a valid policy.
 */
struct mta_sts_entry *mta_sts_entry_new(const char *domain, const char *id,
    int64_t fetched, const char *body, size_t len, const char **error_r);
struct mta_sts_entry *mta_sts_entry_ref(struct mta_sts_entry *e);
void mta_sts_entry_unref(struct mta_sts_entry **e);
/* The wall-clock second from which e is expired (fetched + max_age). */
int64_t mta_sts_entry_expires(const struct mta_sts_entry *e);
bool mta_sts_entry_fresh(const struct mta_sts_entry *e, int64_t now);

/* What the "_mta-sts" TXT look-up said. */
enum mta_sts_txt {
	MTA_STS_TXT_NONE,	/* no record, or not exactly one valid */
	MTA_STS_TXT_TEMPFAIL,	/* DNS failed for now */
	MTA_STS_TXT_ID,		/* one valid record, with its id */
};

enum mta_sts_action {
	MTA_STS_NOTHING,	/* no policy */
	MTA_STS_USE_CACHED,	/* the cached entry */
	MTA_STS_FETCH,		/* fetch; on failure mta_sts_after_failure */
};

/*
 * RFC 8461 5.1 for a look-up: a fresh cached entry whose id the TXT
 * record names answers without a fetch; a fresh one also answers when
 * the TXT record is gone or DNS fails (an attacker may remove it); a
 * record with another id, or none cached, means a fetch. cached may be
 * NULL; txt_id is read only for MTA_STS_TXT_ID.
 */
enum mta_sts_action mta_sts_decide(const struct mta_sts_entry *cached,
    enum mta_sts_txt txt, const char *txt_id, int64_t now);
/* After a failed fetch: the cached entry while it is fresh, else
 * nothing (delivery as without a policy, RFC 8461 3.3). */
enum mta_sts_action mta_sts_after_failure(const struct mta_sts_entry *cached,
    int64_t now);
/* When a background refresh of e is due: half its max_age after the
 * fetch (at least 1 s), so that a policy is renewed long before it
 * expires. */
int64_t mta_sts_refresh_due(const struct mta_sts_entry *e);

/* The table: domain → entry (one reference each). */
struct mta_sts_cache {
	struct hashmap	*map;
	size_t		 bytes;		/* sum of the bodies' lengths */
};

void mta_sts_cache_init(struct mta_sts_cache *c);
void mta_sts_cache_free(struct mta_sts_cache *c);
struct mta_sts_entry *mta_sts_cache_get(struct mta_sts_cache *c,
    const char *domain);
/*
 * Puts e (taking the caller's reference), replacing the domain's entry.
 * Over MTA_STS_CACHE_MAX or MTA_STS_CACHE_BYTES, other entries are
 * evicted (expired ones, then those expiring first); evicted(domain, arg)
 * is told of each (to remove its file). Returns the count evicted.
 */
size_t mta_sts_cache_put(struct mta_sts_cache *c, struct mta_sts_entry *e,
    int64_t now, void (*evicted)(const char *domain, void *arg), void *arg);
void mta_sts_cache_remove(struct mta_sts_cache *c, const char *domain);

/*
 * Failed fetches held: a fetch that failed is not tried again for the
 * same TXT id for MTA_STS_FAILED_HOLD seconds (RFC 8461 5.1: no
 * immediate retry); look-ups meanwhile answer as it did, without waiting
 * again on a dead or slow policy server. At most MTA_STS_FAILED_MAX
 * domains are held (beyond, a fetch is tried). Engine loop only.
 */
#define MTA_STS_FAILED_HOLD	300
#define MTA_STS_FAILED_MAX	1000

struct mta_sts_failure {
	char			 id[MTA_STS_ID_MAX + 1];
	int64_t			 until;		/* wall clock, seconds */
	enum tlsrpt_result	 failure;
	char			*error;
};

struct mta_sts_failures {
	struct hashmap	*map;		/* domain → struct mta_sts_failure */
};

void mta_sts_failures_init(struct mta_sts_failures *f);
void mta_sts_failures_free(struct mta_sts_failures *f);
void mta_sts_failure_note(struct mta_sts_failures *f, const char *domain,
    const char *id, enum tlsrpt_result failure, const char *error,
    int64_t now);
void mta_sts_failure_forget(struct mta_sts_failures *f, const char *domain);
/* The failure held for domain under id at now, or NULL. */
const struct mta_sts_failure *mta_sts_failure_held(
    const struct mta_sts_failures *f, const char *domain, const char *id,
    int64_t now);
/* Forgets up to n failures whose hold is over (at most 64 a call). */
void mta_sts_failures_expire(struct mta_sts_failures *f, int64_t now,
    size_t n);

/*
 * The disk form: "tem-mta-sts 1\ndomain D\nid I\nfetched T\n\n" and the
 * body. Encode returns an xmalloc'd buffer; decode builds an entry
 * (refs 1) or NULL with *error_r.
 */
char *mta_sts_entry_encode(const struct mta_sts_entry *e, size_t *len_r);
struct mta_sts_entry *mta_sts_entry_decode(const char *domain,
    const char *data, size_t len, const char **error_r);
/* Blocking: writes e as dir/DOMAIN atomically (fsutil_atomic_write). */
int mta_sts_disk_save(const char *dir, const struct mta_sts_entry *e);
/* Blocking: removes dir/DOMAIN (absent is fine). */
int mta_sts_disk_remove(const char *dir, const char *domain);
/*
 * Blocking, at start-up: every valid, unexpired file of dir into c
 * (expired and damaged files are removed). Returns the count loaded.
 */
size_t mta_sts_disk_load(const char *dir, struct mta_sts_cache *c,
    int64_t now);

#endif
