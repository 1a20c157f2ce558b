/*
 * mta_sts_cache - MTA-STS policy cache: entries, the RFC 8461 5.1
 * decisions, the bounded table and its disk form (see mta_sts_cache.h).
 *
 * Trust: policy bodies are untrusted (parsed by policy/mta_sts_policy.c);
 * cache files are tem's own but are checked as if they were not (a
 * damaged file is removed, never believed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mta/mta_sts_cache.h"
#include "util/fsutil.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define FILE_MAGIC	"tem-mta-sts 1\n"

bool
mta_sts_domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > MTA_STS_DOMAIN_MAX || d[0] == '.' || d[0] == '-' ||
	    d[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = d[i];

		if (ch == '.' && d[i + 1] == '.')
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

/* The body's lines without their LF or CRLF, for TLS-RPT. */
static void
split_lines(struct mta_sts_entry *e)
{
	size_t n = 0, cap = 8;
	const char *p = e->body, *end = e->body + e->len;

	e->lines = xcalloc(cap, sizeof(*e->lines));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t len = (size_t)(stop - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0) {
			if (n == cap) {
				cap *= 2;
				e->lines = xrealloc(e->lines,
				    cap * sizeof(*e->lines));
			}
			e->lines[n++] = xstrndup(p, len);
		}
		p = nl ? nl + 1 : end;
	}
	e->nlines = n;
}

struct mta_sts_entry *
mta_sts_entry_new(const char *domain, const char *id, int64_t fetched,
    const char *body, size_t len, const char **error_r)
{
	struct mta_sts_entry *e = xcalloc(1, sizeof(*e));

	if (mta_sts_policy_parse(body, len, &e->policy, error_r) < 0) {
		free(e);
		return NULL;
	}
	e->domain = xstrdup(domain);
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->fetched = fetched;
	e->body = xstrndup(body, len);
	e->len = len;
	split_lines(e);
	e->refs = 1;
	e->refresh_at = mta_sts_refresh_due(e);
	return e;
}

struct mta_sts_entry *
mta_sts_entry_ref(struct mta_sts_entry *e)
{
	e->refs++;
	return e;
}

void
mta_sts_entry_unref(struct mta_sts_entry **ep)
{
	struct mta_sts_entry *e = *ep;

	*ep = NULL;
	if (e == NULL || --e->refs > 0)
		return;
	for (size_t i = 0; i < e->nlines; i++)
		free(e->lines[i]);
	free(e->lines);
	mta_sts_policy_clear(&e->policy);
	free(e->body);
	free(e->domain);
	free(e);
}

int64_t
mta_sts_entry_expires(const struct mta_sts_entry *e)
{
	return e->fetched + (int64_t)e->policy.max_age;
}

bool
mta_sts_entry_fresh(const struct mta_sts_entry *e, int64_t now)
{
	return now < mta_sts_entry_expires(e);
}

int64_t
mta_sts_refresh_due(const struct mta_sts_entry *e)
{
	int64_t half = (int64_t)e->policy.max_age / 2;

	return e->fetched + (half > 0 ? half : 1);
}

enum mta_sts_action
mta_sts_decide(const struct mta_sts_entry *cached, enum mta_sts_txt txt,
    const char *txt_id, int64_t now)
{
	bool fresh = cached != NULL && mta_sts_entry_fresh(cached, now);

	switch (txt) {
	case MTA_STS_TXT_ID:
		if (fresh && strcmp(cached->id, txt_id) == 0)
			return MTA_STS_USE_CACHED;
		return MTA_STS_FETCH;
	case MTA_STS_TXT_TEMPFAIL:
	case MTA_STS_TXT_NONE:
		break;
	}
	return fresh ? MTA_STS_USE_CACHED : MTA_STS_NOTHING;
}

enum mta_sts_action
mta_sts_after_failure(const struct mta_sts_entry *cached, int64_t now)
{
	return cached != NULL && mta_sts_entry_fresh(cached, now) ?
	    MTA_STS_USE_CACHED : MTA_STS_NOTHING;
}

/* ---- the table ---- */

void
mta_sts_cache_init(struct mta_sts_cache *c)
{
	c->map = hashmap_new(0);
	c->bytes = 0;
}

static void
entry_free_value(void *v)
{
	struct mta_sts_entry *e = v;

	mta_sts_entry_unref(&e);
}

void
mta_sts_cache_free(struct mta_sts_cache *c)
{
	hashmap_free(&c->map, entry_free_value);
	c->bytes = 0;
}

struct mta_sts_entry *
mta_sts_cache_get(struct mta_sts_cache *c, const char *domain)
{
	return hashmap_get(c->map, domain);
}

void
mta_sts_cache_remove(struct mta_sts_cache *c, const char *domain)
{
	struct mta_sts_entry *e = hashmap_remove(c->map, domain);

	if (e != NULL) {
		c->bytes -= e->len;
		mta_sts_entry_unref(&e);
	}
}

/* The entry to evict: an expired one, else the one expiring first. */
static struct mta_sts_entry *
eviction_victim(const struct mta_sts_cache *c, const char *keep, int64_t now)
{
	struct hashmap_iter it = { 0 };
	struct mta_sts_entry *victim = NULL;
	void *v;

	while (hashmap_next(c->map, &it, NULL, &v)) {
		struct mta_sts_entry *e = v;

		if (strcmp(e->domain, keep) == 0)
			continue;
		if (!mta_sts_entry_fresh(e, now))
			return e;
		if (victim == NULL || mta_sts_entry_expires(e) <
		    mta_sts_entry_expires(victim))
			victim = e;
	}
	return victim;
}

size_t
mta_sts_cache_put(struct mta_sts_cache *c, struct mta_sts_entry *e,
    int64_t now, void (*evicted)(const char *domain, void *arg), void *arg)
{
	struct mta_sts_entry *old = hashmap_put(c->map, e->domain, e);
	size_t n = 0;

	if (old != NULL) {
		c->bytes -= old->len;
		mta_sts_entry_unref(&old);
	}
	c->bytes += e->len;
	while (hashmap_count(c->map) > MTA_STS_CACHE_MAX ||
	    c->bytes > MTA_STS_CACHE_BYTES) {
		struct mta_sts_entry *v = eviction_victim(c, e->domain, now);
		char *domain;

		if (v == NULL)
			break;
		domain = xstrdup(v->domain);
		mta_sts_cache_remove(c, domain);
		if (evicted != NULL)
			evicted(domain, arg);
		free(domain);
		n++;
	}
	return n;
}

/* ---- failed fetches held ---- */

void
mta_sts_failures_init(struct mta_sts_failures *f)
{
	f->map = hashmap_new(0);
}

static void
failure_free(void *v)
{
	struct mta_sts_failure *x = v;

	free(x->error);
	free(x);
}

void
mta_sts_failures_free(struct mta_sts_failures *f)
{
	hashmap_free(&f->map, failure_free);
}

void
mta_sts_failure_forget(struct mta_sts_failures *f, const char *domain)
{
	struct mta_sts_failure *x = hashmap_remove(f->map, domain);

	if (x != NULL)
		failure_free(x);
}

#define EXPIRE_BATCH	64

void
mta_sts_failures_expire(struct mta_sts_failures *f, int64_t now, size_t n)
{
	struct hashmap_iter it = { 0 };
	const char *key;
	char *gone[EXPIRE_BATCH];
	size_t k = 0;
	void *v;

	if (n > EXPIRE_BATCH)
		n = EXPIRE_BATCH;
	while (k < n && hashmap_next(f->map, &it, &key, &v))
		if (((struct mta_sts_failure *)v)->until <= now)
			gone[k++] = xstrdup(key);
	for (size_t i = 0; i < k; i++) {
		mta_sts_failure_forget(f, gone[i]);
		free(gone[i]);
	}
}

void
mta_sts_failure_note(struct mta_sts_failures *f, const char *domain,
    const char *id, enum tlsrpt_result failure, const char *error,
    int64_t now)
{
	struct mta_sts_failure *x = hashmap_get(f->map, domain);

	if (x == NULL) {
		if (hashmap_count(f->map) >= MTA_STS_FAILED_MAX)
			mta_sts_failures_expire(f, now, EXPIRE_BATCH);
		if (hashmap_count(f->map) >= MTA_STS_FAILED_MAX)
			return;
		x = xcalloc(1, sizeof(*x));
		hashmap_put(f->map, domain, x);
	}
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->until = now + MTA_STS_FAILED_HOLD;
	x->failure = failure;
	free(x->error);
	x->error = xstrdup(error);
}

const struct mta_sts_failure *
mta_sts_failure_held(const struct mta_sts_failures *f, const char *domain,
    const char *id, int64_t now)
{
	const struct mta_sts_failure *x = hashmap_get(f->map, domain);

	return x != NULL && x->until > now && strcmp(x->id, id) == 0 ? x :
	    NULL;
}

/* ---- disk ---- */

char *
mta_sts_entry_encode(const struct mta_sts_entry *e, size_t *len_r)
{
	char *head = xasprintf(FILE_MAGIC "domain %s\nid %s\nfetched %" PRId64
	    "\n\n", e->domain, e->id, e->fetched);
	size_t hl = strlen(head);
	char *out = xmalloc(hl + e->len + 1);

	memcpy(out, head, hl);
	memcpy(out + hl, e->body, e->len);
	out[hl + e->len] = '\0';
	free(head);
	*len_r = hl + e->len;
	return out;
}

/* "KEY value\n" at *p: the value's bounds, *p moved past the line. */
static int
header_field(const char **p, const char *end, const char *key,
    const char **v_r, size_t *vlen_r)
{
	size_t kl = strlen(key);
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL || (size_t)(nl - *p) <= kl + 1 ||
	    memcmp(*p, key, kl) != 0 || (*p)[kl] != ' ')
		return -1;
	*v_r = *p + kl + 1;
	*vlen_r = (size_t)(nl - *v_r);
	*p = nl + 1;
	return 0;
}

struct mta_sts_entry *
mta_sts_entry_decode(const char *domain, const char *data, size_t len,
    const char **error_r)
{
	const char *p = data, *end = data + len, *v;
	char id[MTA_STS_ID_MAX + 1], num[24], *numend;
	size_t vl, ml = strlen(FILE_MAGIC);
	long long fetched;

	*error_r = "damaged cache file";
	if (len > MTA_STS_FILE_MAX || len < ml || memcmp(p, FILE_MAGIC, ml))
		return NULL;
	p += ml;
	if (header_field(&p, end, "domain", &v, &vl) < 0 ||
	    vl != strlen(domain) || memcmp(v, domain, vl) != 0)
		return NULL;
	if (header_field(&p, end, "id", &v, &vl) < 0 || vl > MTA_STS_ID_MAX)
		return NULL;
	memcpy(id, v, vl);
	id[vl] = '\0';
	if (header_field(&p, end, "fetched", &v, &vl) < 0 ||
	    vl >= sizeof(num))
		return NULL;
	memcpy(num, v, vl);
	num[vl] = '\0';
	fetched = strtoll(num, &numend, 10);
	if (vl == 0 || *numend != '\0' || fetched < 0 || p >= end ||
	    *p != '\n')
		return NULL;
	p++;
	return mta_sts_entry_new(domain, id, fetched, p, (size_t)(end - p),
	    error_r);
}

int
mta_sts_disk_save(const char *dir, const struct mta_sts_entry *e)
{
	size_t len;
	char *data = mta_sts_entry_encode(e, &len);
	int rc = fsutil_atomic_write(dir, e->domain, data, len);

	free(data);
	return rc;
}

int
mta_sts_disk_remove(const char *dir, const char *domain)
{
	char *path = xasprintf("%s/%s", dir, domain);
	int rc = unlink(path) == 0 || errno == ENOENT ? 0 : -1;

	free(path);
	return rc;
}

/* Reads dir/name whole (at most MTA_STS_FILE_MAX): 0 or -1. */
static int
read_small(const char *dir, const char *name, char **data_r, size_t *len_r)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int rc = -1;

	free(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= MTA_STS_FILE_MAX) {
		*len_r = (size_t)st.st_size;
		*data_r = xmalloc(*len_r + 1);
		if (fsutil_pread_all(fd, *data_r, *len_r, 0) == 0)
			rc = 0;
		else
			free(*data_r);
	}
	close(fd);
	return rc;
}

size_t
mta_sts_disk_load(const char *dir, struct mta_sts_cache *c, int64_t now)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct mta_sts_entry *e = NULL;
		const char *err;
		char *data;
		size_t len;

		if (de->d_name[0] == '.')	/* ., .., temporary files */
			continue;
		if (mta_sts_domain_ok(de->d_name) &&
		    read_small(dir, de->d_name, &data, &len) == 0) {
			e = mta_sts_entry_decode(de->d_name, data, len, &err);
			free(data);
		}
		if (e == NULL || !mta_sts_entry_fresh(e, now) ||
		    n >= MTA_STS_CACHE_MAX) {
			mta_sts_entry_unref(&e);
			mta_sts_disk_remove(dir, de->d_name);
			continue;
		}
		mta_sts_cache_put(c, e, now, NULL, NULL);
		n++;
	}
	closedir(d);
	return n;
}
