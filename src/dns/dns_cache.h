/*
 * dns_cache - recent answers kept on the loop thread, in front of
 * libunbound (internal to src/dns).
 *
 * libunbound caches answers too, but asking it costs a round trip through
 * its thread and pipe (two thread switches and a dozen syscalls); SPF and
 * DMARC ask the same few names for every message. This cache answers them
 * on the loop thread. It keeps what libunbound would keep: NOERROR and
 * NXDOMAIN answers (never a failure), each for its own TTL, at most
 * DNS_CACHE_TTL_MAX seconds; at most DNS_CACHE_MAX answers (the oldest
 * goes first), none bigger than DNS_CACHE_ANSWER_MAX octets of records.
 * One cache per resolver, used only on its loop: no locks.
 */
#ifndef TEM_DNS_CACHE_H
#define TEM_DNS_CACHE_H

#include <unbound.h>

#define DNS_CACHE_MAX		1024
#define DNS_CACHE_TTL_MAX	3600
#define DNS_CACHE_ANSWER_MAX	(8 * 1024)

struct dns_cache;

struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache **cp);

/* A copy of the live answer for NAME/RRTYPE (ttl counted down), NULL if
 * none; free it with dns_cache_result_free(). */
struct ub_result *dns_cache_get(struct dns_cache *c, const char *name,
    int rrtype);
/* Keeps RES (answered for NAME/RRTYPE) if it is worth keeping. */
void dns_cache_put(struct dns_cache *c, const char *name, int rrtype,
    const struct ub_result *res);
void dns_cache_result_free(struct ub_result *res);

#endif
