/*
 * mta_sts - MTA-STS policy discovery for outbound delivery (RFC 8461;
 * contract in mta_sts.h): the "_mta-sts" TXT look-up on the engine's
 * resolver, the decisions of 5.1 against the cache (mta_sts_cache.c),
 * one fetch per domain at a time shared by every look-up waiting for it
 * (mta_sts_fetch.c does HTTPS and disk on its own threads), and the
 * background refresh of cached policies.
 *
 * Trust: DNS answers and policies come from the recipient domain and
 * are parsed by policy/mta_sts_policy.c; domains are checked before they
 * become host or file names.
 *
 * Thread: the delivery engine's loop, except init and shutdown, which
 * run on the thread that starts and stops the engine while its loop does
 * not run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "dns/dns_rr.h"
#include "mta/mta_int.h"
#include "mta/mta_sts.h"
#include "mta/mta_sts_cache.h"
#include "mta/mta_sts_fetch.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

/* Fetches in progress at most (the fetch queue's bound); a look-up that
 * would need one more is answered from the cache or as a fetch error. */
#define PENDING_MAX		64
/* Background refresh: the cache is scanned when the first refresh or
 * expiry is due, at least this often, and at most REFRESH_BATCH
 * refreshes start per scan. */
#define REFRESH_TICK_MS		60000
#define REFRESH_BATCH		16
/* A refresh that failed (or found no TXT record) is retried after this
 * many seconds, while the cached policy lasts. */
#define REFRESH_RETRY		300
/* Addresses of mta-sts.DOMAIN handed to libcurl. */
#define FETCH_ADDRS_MAX		4

struct pending;

struct mta_sts_request {
	char			 domain[MTA_STS_DOMAIN_MAX + 1];
	mta_sts_cb		*cb;		/* NULL: a background refresh */
	void			*arg;
	struct dns_request	*dns;		/* the TXT look-up */
	struct pending		*pend;		/* waiting for this fetch */
	struct mta_sts_request	*next_waiter;
	struct mta_sts_request	*prev, *next;	/* every live request */
	bool			 posted;	/* answered by a loop_post */
	bool			 cancelled;
};

/* One fetch of a domain's policy and the look-ups waiting for it. */
struct pending {
	char			*domain;
	char			 id[MTA_STS_ID_MAX + 1];
	struct dns_request	*dns;		/* A/AAAA of mta-sts.DOMAIN */
	struct mta_sts_request	*waiters;
};

static struct {
	bool			 running;
	struct loop		*loop;
	struct dns_resolver	*res;
	struct mta_sts_cache	 cache;
	struct hashmap		*pending;	/* domain → struct pending */
	struct mta_sts_failures	 failed;	/* fetches that failed */
	struct mta_sts_request	*live;
	struct loop_timer	*refresh;
	int64_t			 refresh_next;	/* when it fires (wall s) */
	char			*dir;		/* data_dir/mta-sts */
	unsigned		 port;
} sts;

static int64_t
now_s(void)
{
	return clock_real_ms() / 1000;
}

static bool
enabled(void)
{
	const struct conf *c = mta_conf();

	return sts.running && (c == NULL || c->mta_sts);
}

/* ---- requests ---- */

static void
request_unlink(struct mta_sts_request *req)
{
	if (req->prev)
		req->prev->next = req->next;
	else if (sts.live == req)
		sts.live = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
}

static void
request_free(struct mta_sts_request *req)
{
	request_unlink(req);
	free(req);
}

/* Calls the look-up's callback (a refresh has none) and frees it. */
static void
answer(struct mta_sts_request *req, struct mta_sts_entry *e,
    enum tlsrpt_result failure, const char *text)
{
	struct mta_sts_answer a = { .failure = failure,
	    .failure_text = failure != TLSRPT_SUCCESS ? text : NULL };

	request_unlink(req);
	if (e != NULL && e->policy.mode != MTA_STS_NONE) {
		mta_sts_entry_ref(e);	/* the callback may replace it */
		a.policy = &e->policy;
		a.lines = (const char *const *)e->lines;
		a.nlines = e->nlines;
	} else
		e = NULL;
	if (req->cb != NULL)
		req->cb(&a, req->arg);
	mta_sts_entry_unref(&e);
	free(req);
}

static void
answer_posted(void *arg)
{
	struct mta_sts_request *req = arg;

	if (req->cancelled || !sts.running)
		free(req);
	else
		answer(req, NULL, TLSRPT_SUCCESS, NULL);
}

static struct mta_sts_request *
request_new(const char *domain, mta_sts_cb *cb, void *arg)
{
	struct mta_sts_request *req = xcalloc(1, sizeof(*req));

	snprintf(req->domain, sizeof(req->domain), "%s", domain);
	req->cb = cb;
	req->arg = arg;
	req->next = sts.live;
	if (sts.live)
		sts.live->prev = req;
	sts.live = req;
	return req;
}

/* ---- the refresh timer ---- */

/* The refresh timer fires at due (wall-clock second) unless it fires
 * sooner already; never later than REFRESH_TICK_MS from now. */
static void
refresh_arm_at(int64_t due)
{
	int64_t now = now_s(), latest = now + REFRESH_TICK_MS / 1000;

	if (due > latest)
		due = latest;
	if (due <= now)
		due = now + 1;
	if (sts.refresh_next != 0 && sts.refresh_next <= due)
		return;
	sts.refresh_next = due;
	loop_timer_add(sts.refresh, (unsigned)(due - now) * 1000);
}

static int64_t
entry_next_due(const struct mta_sts_entry *e)
{
	int64_t exp = mta_sts_entry_expires(e);

	return e->refresh_at < exp ? e->refresh_at : exp;
}

/* ---- the fetch ---- */

static void
evicted(const char *domain, void *arg)
{
	struct mta_sts_job *job = xcalloc(1, sizeof(*job));

	(void)arg;
	job->kind = MTA_STS_JOB_REMOVE;
	job->domain = xstrdup(domain);
	job->cache_dir = xstrdup(sts.dir);
	job->done = mta_sts_job_free;
	mta_sts_fetch_submit(sts.loop, job);
}

static void
log_new_policy(const struct mta_sts_entry *old, const struct mta_sts_entry *e)
{
	if (old != NULL && strcmp(old->id, e->id) == 0 &&
	    old->len == e->len && memcmp(old->body, e->body, e->len) == 0) {
		log_debug("- mta-sts policy-refreshed domain=%s id=%s",
		    e->domain, e->id);
		return;
	}
	log_info("- mta-sts policy domain=%s id=%s mode=%s max_age=%u mx=%zu",
	    e->domain, e->id, mta_sts_mode_name(e->policy.mode),
	    e->policy.max_age, e->policy.n_mx);
}

/*
 * The fetch for p is over: entry is the new policy, or NULL with failure
 * and error. Every waiter gets its answer; p is freed.
 */
static void
fetch_over(struct pending *p, struct mta_sts_entry *entry,
    enum tlsrpt_result failure, const char *error)
{
	struct mta_sts_entry *cached = mta_sts_cache_get(&sts.cache, p->domain);
	struct mta_sts_request *w = p->waiters, *next;
	int64_t now = now_s();

	hashmap_remove(sts.pending, p->domain);
	if (entry != NULL) {
		log_new_policy(cached, entry);
		mta_sts_cache_put(&sts.cache, mta_sts_entry_ref(entry), now,
		    evicted, NULL);
		refresh_arm_at(entry_next_due(entry));
		mta_sts_failure_forget(&sts.failed, p->domain);
		cached = entry;
	} else {
		mta_sts_failure_note(&sts.failed, p->domain, p->id, failure,
		    error, now);
		log_warn("- mta-sts fetch-failed domain=%s id=%s "
		    "error=\"%s\"%s", p->domain, p->id, error, cached != NULL &&
		    mta_sts_entry_fresh(cached, now) ? " cached=yes" : "");
		if (cached != NULL)
			cached->refresh_at = now + REFRESH_RETRY;
		if (mta_sts_after_failure(cached, now) != MTA_STS_USE_CACHED)
			cached = NULL;
	}
	if (cached != NULL)
		mta_sts_entry_ref(cached);
	for (; w != NULL; w = next) {
		next = w->next_waiter;
		w->pend = NULL;
		if (cached != NULL)
			answer(w, cached, TLSRPT_SUCCESS, NULL);
		else
			answer(w, NULL, failure, error);
	}
	mta_sts_entry_unref(&cached);
	free(p->domain);
	free(p);
}

static void
on_fetched(struct mta_sts_job *job)
{
	struct pending *p;

	if (sts.running && (p = hashmap_get(sts.pending, job->domain))) {
		struct mta_sts_entry *e = job->entry;

		job->entry = NULL;
		fetch_over(p, e, job->failure, job->error);
		mta_sts_entry_unref(&e);
	}
	mta_sts_job_free(job);
}

static void
on_policy_host(const struct dns_addrs *res, void *arg)
{
	struct pending *p = arg;
	struct mta_sts_job *job;
	char host[MTA_STS_DOMAIN_MAX + 16], addrs[FETCH_ADDRS_MAX * 64];
	size_t off = 0;

	p->dns = NULL;
	snprintf(host, sizeof(host), "mta-sts.%s", p->domain);
	if (res->n == 0) {
		char *err = xasprintf("no address for %s", host);
		fetch_over(p, NULL, TLSRPT_STS_POLICY_FETCH_ERROR, err);
		free(err);
		return;
	}
	for (int i = 0; i < res->n && i < FETCH_ADDRS_MAX; i++) {
		char a[64];
		bool v6 = res->addr[i].ss.ss_family == AF_INET6;

		dns_addr_str(&res->addr[i], a, sizeof(a));
		off += (size_t)snprintf(addrs + off, sizeof(addrs) - off,
		    "%s%s%s%s", off ? "," : "", v6 ? "[" : "", a,
		    v6 ? "]" : "");
	}
	job = xcalloc(1, sizeof(*job));
	job->kind = MTA_STS_JOB_FETCH;
	job->domain = xstrdup(p->domain);
	snprintf(job->id, sizeof(job->id), "%s", p->id);
	job->resolve = xasprintf("%s:%u:%s", host, sts.port, addrs);
	job->url = sts.port == 443 ?
	    xasprintf("https://%s/.well-known/mta-sts.txt", host) :
	    xasprintf("https://%s:%u/.well-known/mta-sts.txt", host, sts.port);
	job->ca_file = mta_conf() && mta_conf()->tls_ca_file ?
	    xstrdup(mta_conf()->tls_ca_file) : NULL;
	job->cache_dir = sts.dir ? xstrdup(sts.dir) : NULL;
	job->done = on_fetched;
	log_debug("- mta-sts fetch domain=%s id=%s addrs=%s", p->domain,
	    p->id, addrs);
	mta_sts_fetch_submit(sts.loop, job);
}

/* req waits for a fetch of its domain: the one in progress, or a new one
 * announced by TXT id. */
static void
join_fetch(struct mta_sts_request *req, const char *id)
{
	struct pending *p = hashmap_get(sts.pending, req->domain);
	char host[MTA_STS_DOMAIN_MAX + 16];

	if (p == NULL && hashmap_count(sts.pending) >= PENDING_MAX) {
		struct mta_sts_entry *c = mta_sts_cache_get(&sts.cache,
		    req->domain);

		log_warn("- mta-sts fetch-failed domain=%s id=%s "
		    "error=\"too many fetches in progress\"", req->domain, id);
		if (mta_sts_after_failure(c, now_s()) == MTA_STS_USE_CACHED)
			answer(req, c, TLSRPT_SUCCESS, NULL);
		else
			answer(req, NULL, TLSRPT_STS_POLICY_FETCH_ERROR,
			    "too many fetches in progress");
		return;
	}
	req->pend = p;
	if (p == NULL) {
		p = req->pend = xcalloc(1, sizeof(*p));
		p->domain = xstrdup(req->domain);
		snprintf(p->id, sizeof(p->id), "%s", id);
		hashmap_put(sts.pending, p->domain, p);
		snprintf(host, sizeof(host), "mta-sts.%s", p->domain);
		p->dns = dns_resolve_addr(sts.res, host, on_policy_host, p);
	}
	req->next_waiter = p->waiters;
	p->waiters = req;
}

/* ---- the TXT record ---- */

/* RFC 8461 3.1: exactly one record starting "v=STSv1" (others are not
 * MTA-STS), and it must parse. */
static enum mta_sts_txt
txt_classify(enum dns_status st, int n, char **txt, char *id)
{
	const char *one = NULL, *err;
	int count = 0;

	if (st == DNS_TEMPFAIL)
		return MTA_STS_TXT_TEMPFAIL;
	if (st != DNS_OK)
		return MTA_STS_TXT_NONE;
	for (int i = 0; i < n; i++)
		if (strncmp(txt[i], "v=STSv1", 7) == 0 && (txt[i][7] == ';' ||
		    txt[i][7] == ' ' || txt[i][7] == '\t' || txt[i][7] == '\0'))
			one = txt[i], count++;
	if (count != 1 || mta_sts_txt_parse(one, strlen(one), id, &err) < 0)
		return MTA_STS_TXT_NONE;
	return MTA_STS_TXT_ID;
}

static void
on_txt(enum dns_status st, int n, char **txt, void *arg)
{
	struct mta_sts_request *req = arg;
	char id[MTA_STS_ID_MAX + 1] = "";
	enum mta_sts_txt t = txt_classify(st, n, txt, id);
	struct mta_sts_entry *c = mta_sts_cache_get(&sts.cache, req->domain);
	const struct mta_sts_failure *f;
	int64_t now = now_s();

	req->dns = NULL;
	if (req->cb == NULL) {		/* a refresh: a fetch, whatever id */
		if (t == MTA_STS_TXT_ID)
			join_fetch(req, id);
		else
			answer(req, NULL, TLSRPT_SUCCESS, NULL);
		return;
	}
	switch (mta_sts_decide(c, t, id, now)) {
	case MTA_STS_USE_CACHED:
		answer(req, c, TLSRPT_SUCCESS, NULL);
		break;
	case MTA_STS_FETCH:
		if ((f = mta_sts_failure_held(&sts.failed, req->domain, id,
		    now)) == NULL)
			join_fetch(req, id);
		else if (mta_sts_after_failure(c, now) == MTA_STS_USE_CACHED)
			answer(req, c, TLSRPT_SUCCESS, NULL);
		else
			answer(req, NULL, f->failure, f->error);
		break;
	case MTA_STS_NOTHING:
		answer(req, NULL, TLSRPT_SUCCESS, NULL);
		break;
	}
}

static void
start_txt(struct mta_sts_request *req)
{
	char name[MTA_STS_DOMAIN_MAX + 16];

	snprintf(name, sizeof(name), "_mta-sts.%s", req->domain);
	req->dns = dns_resolve_txt(sts.res, name, on_txt, req);
}

struct mta_sts_request *
mta_sts_lookup(struct loop *loop, struct dns_resolver *res,
    const char *domain, mta_sts_cb *cb, void *arg)
{
	struct mta_sts_request *req = request_new(domain, cb, arg);

	(void)res;		/* the engine's, as given to mta_sts_init */
	for (char *p = req->domain; *p; p++)	/* as a key and file name */
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!enabled() || !mta_sts_domain_ok(req->domain) ||
	    strlen(domain) > MTA_STS_DOMAIN_MAX - 16) {
		req->posted = true;
		request_unlink(req);
		loop_post(loop, answer_posted, req);
		return req;
	}
	start_txt(req);
	return req;
}

void
mta_sts_cancel(struct mta_sts_request **reqp)
{
	struct mta_sts_request *req = *reqp;

	*reqp = NULL;
	if (req == NULL)
		return;
	if (req->posted) {
		req->cancelled = true;		/* freed by answer_posted */
		return;
	}
	if (req->dns != NULL)
		dns_cancel(&req->dns);
	if (req->pend != NULL) {
		struct mta_sts_request **w = &req->pend->waiters;

		while (*w != req)
			w = &(*w)->next_waiter;
		*w = req->next_waiter;
	}
	request_free(req);
}

/* ---- background refresh ---- */

static void
refresh_tick(void *arg)
{
	struct hashmap_iter it = { 0 };
	int64_t now = now_s(), next = now + REFRESH_TICK_MS / 1000;
	char *expired[REFRESH_BATCH];
	size_t nexp = 0;
	int started = 0;
	void *v;

	(void)arg;
	sts.refresh_next = 0;
	if (!enabled()) {		/* mta_sts = no since a reload */
		refresh_arm_at(next);
		return;
	}
	while (hashmap_next(sts.cache.map, &it, NULL, &v)) {
		struct mta_sts_entry *e = v;
		struct mta_sts_request *req;

		if (!mta_sts_entry_fresh(e, now)) {
			if (nexp < REFRESH_BATCH)
				expired[nexp++] = xstrdup(e->domain);
			continue;
		}
		if (e->refresh_at > now || started >= REFRESH_BATCH ||
		    hashmap_count(sts.pending) >= PENDING_MAX / 2 ||
		    hashmap_get(sts.pending, e->domain) != NULL) {
			if (entry_next_due(e) < next)
				next = entry_next_due(e);
			continue;
		}
		e->refresh_at = now + REFRESH_RETRY;
		if (entry_next_due(e) < next)
			next = entry_next_due(e);
		log_debug("- mta-sts refresh domain=%s", e->domain);
		req = request_new(e->domain, NULL, NULL);
		started++;
		start_txt(req);		/* answers on a later turn */
	}
	if (nexp == REFRESH_BATCH)
		next = now;			/* more may wait */
	mta_sts_failures_expire(&sts.failed, now, REFRESH_BATCH);
	for (size_t i = 0; i < nexp; i++) {
		log_debug("- mta-sts expired domain=%s", expired[i]);
		mta_sts_cache_remove(&sts.cache, expired[i]);
		evicted(expired[i], NULL);
		free(expired[i]);
	}
	refresh_arm_at(next);
}

/* ---- start and stop ---- */

/* TEM_TEST_MTA_STS_PORT (tests only): the policy server's port. */
static unsigned
policy_port(void)
{
	const char *v = getenv("TEM_TEST_MTA_STS_PORT");
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return 443;
	n = strtol(v, &end, 10);
	return *end == '\0' && n > 0 && n < 65536 ? (unsigned)n : 443;
}

void
mta_sts_init(const struct conf *c, struct loop *loop, struct dns_resolver *res)
{
	size_t n = 0;

	memset(&sts, 0, sizeof(sts));
	sts.loop = loop;
	sts.res = res;
	sts.port = policy_port();
	mta_sts_cache_init(&sts.cache);
	sts.pending = hashmap_new(0);
	mta_sts_failures_init(&sts.failed);
	sts.dir = xasprintf("%s/mta-sts", c->data_dir);
	if (mkdir(sts.dir, 0700) < 0 && errno != EEXIST) {
		log_warn("- mta-sts no-disk-cache dir=%s error=\"%m\"",
		    sts.dir);
		free(sts.dir);
		sts.dir = NULL;
	} else if (c->mta_sts)
		n = mta_sts_disk_load(sts.dir, &sts.cache, now_s());
	mta_sts_fetch_start();
	sts.refresh = loop_timer_new(loop, refresh_tick, NULL);
	sts.running = true;
	refresh_arm_at(0);	/* a first look at what the disk gave */
	if (c->mta_sts)
		log_info("- mta-sts started cached=%zu%s", n, sts.port != 443 ?
		    " test-port=yes" : "");
}

static void
pending_free(void *v)
{
	struct pending *p = v;

	dns_cancel(&p->dns);
	free(p->domain);
	free(p);
}

void
mta_sts_shutdown(void)
{
	if (!sts.running)
		return;
	sts.running = false;
	loop_timer_free(&sts.refresh);
	/* Results still coming are posted to the loop; on_fetched frees
	 * them once running is false. */
	mta_sts_fetch_stop();
	while (sts.live != NULL) {	/* look-ups nobody cancelled */
		struct mta_sts_request *req = sts.live;

		if (req->dns != NULL)
			dns_cancel(&req->dns);
		request_free(req);
	}
	hashmap_free(&sts.pending, pending_free);
	mta_sts_failures_free(&sts.failed);
	mta_sts_cache_free(&sts.cache);
	free(sts.dir);
	sts.dir = NULL;
}
