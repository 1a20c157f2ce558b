/*
 * dkim_keystore - the signing keys in memory: each domain's newest key of
 * each type, read from data_dir/dkim at server start and reload (see
 * dkim_keys.h).
 *
 * Trust: the key files are the administrator's (made by `tem dkim
 * keygen`); directory and file names are checked before use. The loaded
 * store is read-only, so loop threads may sign with it at once.
 * Callers: the server (start, SIGHUP), the submission path, the tests.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dkim.h"
#include "policy/dkim_keys.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The signing keys of one domain. */
struct ks_domain {
	struct dkim_key	*ed25519;
	struct dkim_key	*rsa;
};

struct dkim_keystore {
	struct hashmap	*domains;	/* lowercase name -> ks_domain */
};

static void
ks_domain_free(void *p)
{
	struct ks_domain *d = p;

	dkim_key_free(&d->ed25519);
	dkim_key_free(&d->rsa);
	free(d);
}

/* Logs each line of bad (key files left out). */
static void
log_bad(const char *domain, const struct buf *bad)
{
	const char *p = buf_cstr(bad), *nl;

	while ((nl = strchr(p, '\n')) != NULL) {
		log_warn("- dkim key-skipped domain=%s error=\"%.*s\"", domain,
		    (int)(nl - p), p);
		p = nl + 1;
	}
}

/* Loads one domain's folder: keeps its newest key of each type. */
static void
load_domain(struct dkim_keystore *ks, const char *data_dir, const char *name)
{
	struct dkim_keylist l;
	struct ks_domain *d;
	struct buf bad;
	char *err = NULL;

	buf_init(&bad, 0);
	if (dkim_keys_list(data_dir, name, &l, &bad, &err) < 0) {
		log_warn("- dkim keys-skipped domain=%s error=\"%s\"", name,
		    err);
		free(err);
		buf_free(&bad);
		return;
	}
	log_bad(name, &bad);
	buf_free(&bad);
	d = xmalloc(sizeof(*d));
	for (size_t i = 0; i < l.n; i++) {
		struct dkim_key **slot = l.key[i]->type == DKIM_KEY_RSA ?
		    &d->rsa : &d->ed25519;

		if (*slot == NULL) {		/* newest first */
			*slot = l.key[i];
			l.key[i] = NULL;
		}
	}
	dkim_keylist_free(&l);
	if (d->rsa == NULL && d->ed25519 == NULL) {
		free(d);
		return;
	}
	log_info("- dkim keys-loaded domain=%s ed25519=%s rsa=%s", name,
	    d->ed25519 ? d->ed25519->selector : "-",
	    d->rsa ? d->rsa->selector : "-");
	hashmap_put(ks->domains, name, d);
}

int
dkim_keystore_load(const char *data_dir, struct dkim_keystore **ks_r,
    char **error_r)
{
	char *top = xasprintf("%s/%s", data_dir, DKIM_KEYS_DIR);
	struct dkim_keystore *ks;
	struct dirent *de;
	DIR *dp = opendir(top);

	if (dp == NULL && errno != ENOENT) {
		*error_r = xasprintf("cannot read %s: %s", top, strerror(errno));
		free(top);
		return -1;
	}
	ks = xmalloc(sizeof(*ks));
	ks->domains = hashmap_new(HASHMAP_ASCII_NOCASE);
	while (dp != NULL && (de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name);
		bool lower = true;

		for (size_t i = 0; i < n; i++)
			lower = lower && !(de->d_name[i] >= 'A' &&
			    de->d_name[i] <= 'Z');
		if (lower && dkim_name_valid(de->d_name, n))
			load_domain(ks, data_dir, de->d_name);
	}
	if (dp != NULL)
		closedir(dp);
	free(top);
	*ks_r = ks;
	return 0;
}

void
dkim_keystore_free(struct dkim_keystore **ks)
{
	if (*ks == NULL)
		return;
	hashmap_free(&(*ks)->domains, ks_domain_free);
	XFREE(ks);
}

size_t
dkim_keystore_count(const struct dkim_keystore *ks)
{
	return ks != NULL ? hashmap_count(ks->domains) : 0;
}

size_t
dkim_keystore_keys(const struct dkim_keystore *ks, const char *domain,
    const struct dkim_key **keys, size_t max)
{
	const struct ks_domain *d;
	size_t n = 0;

	if (ks == NULL || domain == NULL ||
	    (d = hashmap_get(ks->domains, domain)) == NULL)
		return 0;
	if (d->ed25519 != NULL && n < max)
		keys[n++] = d->ed25519;
	if (d->rsa != NULL && n < max)
		keys[n++] = d->rsa;
	return n;
}

/* Signs with every key of domain: through sign_head when head is given,
 * else over the whole message. */
static int
keystore_sign(const struct dkim_keystore *ks, const char *msg, size_t len,
    const unsigned char *bh, const char *domain, struct buf *header_out)
{
	const struct dkim_key *keys[2];
	size_t n = dkim_keystore_keys(ks, domain, keys, 2);
	struct buf h;
	int r = (int)n;

	buf_init(&h, 0);
	for (size_t i = 0; i < n && r >= 0; i++)
		if ((bh != NULL ? dkim_sign_head(msg, len, bh, domain, keys[i],
		    time(NULL), &h) : dkim_sign_message(msg, len, domain,
		    keys[i], &h)) < 0)
			r = -1;
	if (r > 0 && buf_append(header_out, h.data, h.len) < 0)
		r = -1;
	buf_free(&h);
	return r;
}

int
dkim_keystore_sign(const struct dkim_keystore *ks, const char *msg,
    size_t len, const char *domain, struct buf *header_out)
{
	return keystore_sign(ks, msg, len, NULL, domain, header_out);
}

int
dkim_keystore_sign_head(const struct dkim_keystore *ks, const char *head,
    size_t hlen, const unsigned char bh[DKIM_SHA256_LEN], const char *domain,
    struct buf *header_out)
{
	return keystore_sign(ks, head, hlen, bh, domain, header_out);
}
