/*
 * dns_cache - recent answers on the loop thread (see dns_cache.h).
 *
 * Trust: the answers are network data, already parsed by libunbound into
 * records; this file only copies them, bounded in count and size.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_cache.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

struct dns_cache_entry {
	uint64_t		 expires;	/* clock_mono_ms() */
	struct ub_result	*res;
};

struct dns_cache {
	struct hashmap	*map;		/* "type/name" -> entry */
	char		*ring[DNS_CACHE_MAX];	/* keys, oldest at head */
	size_t		 head, n;
};

void
dns_cache_result_free(struct ub_result *res)
{
	if (res == NULL)
		return;
	for (int i = 0; res->data != NULL && res->data[i] != NULL; i++)
		free(res->data[i]);
	free(res->data);
	free(res->len);
	free(res->qname);
	free(res);
}

/* A deep copy of the parts of RES the resolver reads, with TTL. */
static struct ub_result *
dns_result_dup(const struct ub_result *res, int ttl)
{
	struct ub_result *c = xmalloc(sizeof(*c));
	int n = 0;

	while (res->data != NULL && res->data[n] != NULL)
		n++;
	c->qname = xstrdup(res->qname != NULL ? res->qname : "");
	c->qtype = res->qtype;
	c->qclass = res->qclass;
	c->rcode = res->rcode;
	c->havedata = res->havedata;
	c->nxdomain = res->nxdomain;
	c->secure = res->secure;
	c->bogus = res->bogus;
	c->ttl = ttl;
	c->data = xcalloc((size_t)n + 1, sizeof(*c->data));
	c->len = xcalloc((size_t)n + 1, sizeof(*c->len));
	for (int i = 0; i < n; i++) {
		c->len[i] = res->len[i];
		c->data[i] = xmalloc(res->len[i] > 0 ? (size_t)res->len[i] : 1);
		memcpy(c->data[i], res->data[i], (size_t)res->len[i]);
	}
	return c;
}

static void
dns_cache_entry_free(void *p)
{
	struct dns_cache_entry *e = p;

	dns_cache_result_free(e->res);
	free(e);
}

struct dns_cache *
dns_cache_new(void)
{
	struct dns_cache *c = xmalloc(sizeof(*c));

	c->map = hashmap_new(HASHMAP_ASCII_NOCASE);
	return c;
}

void
dns_cache_free(struct dns_cache **cp)
{
	struct dns_cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	hashmap_free(&c->map, dns_cache_entry_free);
	for (size_t i = 0; i < c->n; i++)
		free(c->ring[(c->head + i) % DNS_CACHE_MAX]);
	free(c);
}

static void
dns_cache_key(char *key, size_t size, const char *name, int rrtype)
{
	size_t len = strlen(name);

	/* "example.org." and "example.org" are one name */
	if (len > 0 && name[len - 1] == '.')
		len--;
	snprintf(key, size, "%d/%.*s", rrtype, (int)len, name);
}

struct ub_result *
dns_cache_get(struct dns_cache *c, const char *name, int rrtype)
{
	char key[300];
	struct dns_cache_entry *e;
	uint64_t now = clock_mono_ms();

	dns_cache_key(key, sizeof(key), name, rrtype);
	if ((e = hashmap_get(c->map, key)) == NULL)
		return NULL;
	if (e->expires <= now) {
		dns_cache_entry_free(hashmap_remove(c->map, key));
		return NULL;
	}
	return dns_result_dup(e->res, (int)((e->expires - now) / 1000));
}

/* Worth keeping: a definite answer with a TTL, not too big. */
static bool
dns_cache_keepable(const struct ub_result *res)
{
	size_t total = 0;

	if ((res->rcode != 0 && res->rcode != 3) || res->ttl <= 0 ||
	    res->bogus)
		return false;
	for (int i = 0; res->data != NULL && res->data[i] != NULL; i++) {
		if (res->len[i] < 0)
			return false;
		total += (size_t)res->len[i];
		if (total > DNS_CACHE_ANSWER_MAX)
			return false;
	}
	return true;
}

void
dns_cache_put(struct dns_cache *c, const char *name, int rrtype,
    const struct ub_result *res)
{
	char key[300];
	struct dns_cache_entry *e;
	int ttl;

	if (!dns_cache_keepable(res) || strlen(name) > 255)
		return;
	ttl = res->ttl < DNS_CACHE_TTL_MAX ? res->ttl : DNS_CACHE_TTL_MAX;
	if (c->n == DNS_CACHE_MAX) {
		/* Full: the oldest key goes (it may name a newer answer for
		 * the same name, or one already expired: only a miss). */
		char *old = c->ring[c->head];
		struct dns_cache_entry *gone = hashmap_remove(c->map, old);

		if (gone != NULL)
			dns_cache_entry_free(gone);
		free(old);
		c->head = (c->head + 1) % DNS_CACHE_MAX;
		c->n--;
	}
	dns_cache_key(key, sizeof(key), name, rrtype);
	e = xmalloc(sizeof(*e));
	e->expires = clock_mono_ms() + (uint64_t)ttl * 1000;
	e->res = dns_result_dup(res, ttl);
	if ((e = hashmap_put(c->map, key, e)) != NULL)
		dns_cache_entry_free(e);
	c->ring[(c->head + c->n) % DNS_CACHE_MAX] = xstrdup(key);
	c->n++;
}
