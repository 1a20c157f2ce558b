/*
 * dns - asynchronous DNS look-ups on libunbound, answered on a loop.
 *
 * Trust: answers come from the network (the configured or system
 * resolver) and are parsed defensively by dns_rr.c; names handed in come
 * from mail envelopes and are checked with dns_name_valid() first.
 *
 * One resolver per loop thread (one ub_ctx each, so loops never share
 * state or locks). Every call returns at once; its callback runs later on
 * the resolver's loop, never from inside the dns_resolve_* call itself.
 * Only libunbound's own background thread does network I/O.
 *
 * Statuses, as the mail layer must read them (RFC 5321 4.2.4, 5):
 *   DNS_OK        answer usable
 *   DNS_NXDOMAIN  the name does not exist (or is not a valid name): permanent
 *   DNS_NODATA    the name exists but has no record of the type asked;
 *                 for dns_resolve_mx: no host has any address: permanent
 *   DNS_TEMPFAIL  SERVFAIL, REFUSED, timeout, network or local trouble:
 *                 retry later, never bounce
 *   DNS_NULL_MX   the domain publishes "MX 0 ." (RFC 7505): accepts no mail
 *
 * Addresses of a host come from two queries, A and AAAA, and each has its
 * own status (struct dns_addrs, struct dns_mx_host): a caller that needs
 * one family (SPF matches the client's) must read that family's status,
 * because the combined one is OK as soon as the other family answered
 * (RFC 7208 5: a temporary failure of the family asked is temperror, never
 * "no match").
 *
 * DNSSEC (dns_resolver_set_trust_anchor): libunbound validates every
 * answer and each result carries its security (enum dns_sec). A bogus
 * answer is never data: its status is DNS_TEMPFAIL (so every caller that
 * does not look at security defers: MX routing defers the message, SPF,
 * DKIM and DMARC give temperror, a DNSBL counts as not listed, as for any
 * SERVFAIL) and its sec is DNS_SEC_BOGUS, error text "DNSSEC bogus: why".
 * Insecure answers (unsigned zones, or no trust anchor) behave as before.
 */
#ifndef TEM_DNS_H
#define TEM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct loop;
struct dns_resolver;
/* One pending dns_resolve_* call; valid until its callback has started or
 * dns_cancel() was called on it. */
struct dns_request;

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_TEMPFAIL,
	DNS_NULL_MX,
};

/* Security of an answer (RFC 4035 4.3). SECURE: validated from a trust
 * anchor; INSECURE: provably unsigned, or not validated at all (no trust
 * anchor, or no answer); BOGUS: validation failed (then the status is
 * DNS_TEMPFAIL). */
enum dns_sec {
	DNS_SEC_INSECURE,
	DNS_SEC_SECURE,
	DNS_SEC_BOGUS,
};

/* Limits on what one answer may bring (each with its reason). */
#define DNS_MAX_MX_HOSTS	16	/* Postfix tries 5 addresses: ample */
#define DNS_MAX_ADDRS		16	/* per host and family */
#define DNS_MAX_TXT		64	/* TXT records kept per name */
#define DNS_MAX_PTR		16	/* PTR names kept per address */
#define DNS_MAX_TLSA		32	/* TLSA records kept per name */
#define DNS_TIMEOUT_MS		30000	/* deadline of one query */

struct dns_addr {
	struct sockaddr_storage	ss;	/* AF_INET(6), port 0 */
	socklen_t		len;
};

/* Index of a family in the per-family statuses below. */
enum dns_fam { DNS_FAM_A, DNS_FAM_AAAA };
static inline enum dns_fam
dns_fam_of(int af)
{
	return af == AF_INET6 ? DNS_FAM_AAAA : DNS_FAM_A;
}

/* The addresses of one host name. */
struct dns_addrs {
	/* DNS_OK when n > 0; else TEMPFAIL if either query failed
	 * temporarily, NXDOMAIN if the name does not exist, else NODATA. */
	enum dns_status		 status;
	/* How the A and AAAA queries each ended ([DNS_FAM_A],
	 * [DNS_FAM_AAAA]); an IP literal is OK for its own family and
	 * NODATA for the other. */
	enum dns_status		 fam[2];
	/* Of each family's answer; SECURE only if every answer used is. */
	enum dns_sec		 sec_fam[2];
	enum dns_sec		 sec;
	int			 n;
	struct dns_addr		*addr;	/* A first, then AAAA */
};

struct dns_mx_host {
	char		*name;		/* text form, no final dot */
	unsigned	 pref;
	int		 naddr;
	struct dns_addr	*addr;		/* A first, then AAAA */
	enum dns_status	 addr_status;	/* OK when naddr > 0 */
	enum dns_status	 addr_fam[2];	/* A and AAAA each (dns_addrs.fam) */
	enum dns_sec	 addr_sec;	/* of its A and AAAA answers together */
};

struct dns_mx_result {
	/* DNS_OK: hosts[] has at least one host with an address;
	 * DNS_NULL_MX, DNS_NXDOMAIN, DNS_NODATA: permanent (see above);
	 * DNS_TEMPFAIL: try again later. */
	enum dns_status		 status;
	/* Of the MX answer (or, implicit, of the domain's own A/AAAA);
	 * DNS_SEC_BOGUS with DNS_TEMPFAIL when that answer was bogus. */
	enum dns_sec		 sec;
	/* No MX record: the domain itself is the host (RFC 5321 5.1). */
	bool			 implicit;
	int			 nhosts;
	/* Sorted by preference, random order among equal preference; hosts
	 * without an address are kept (with their addr_status) so callers can
	 * log them. Also filled when status is not OK, where known. */
	struct dns_mx_host	*hosts;
	/* Human text for logs and DSNs when status != OK, else NULL. */
	char			*error;
};

/*
 * Makes a resolver for loop l. server: "ip", "ip:port", "[ipv6]:port" or a
 * bare IPv6 address (config dns_server) to send every query to, or NULL
 * for the nameservers of /etc/resolv.conf plus /etc/hosts. No DNSSEC
 * validation until dns_resolver_set_trust_anchor(). Returns NULL and
 * sets *error_r (caller frees) on a bad server string or a libunbound
 * failure.
 */
struct dns_resolver *dns_resolver_new(struct loop *l, const char *server,
    char **error_r);
/* Cancels every outstanding request (their callbacks are NOT called) and
 * frees the resolver; NULLs *r. Safe to call from inside a callback. */
void dns_resolver_free(struct dns_resolver **r);
/* Deadline of each single DNS query (default DNS_TIMEOUT_MS); past it the
 * query counts as DNS_TEMPFAIL. An MX request makes at most two rounds. */
void dns_resolver_set_timeout(struct dns_resolver *r, unsigned ms);
/*
 * Turns on DNSSEC validation from the trust anchors in file (DS or DNSKEY
 * records in zone-file format, like /usr/share/dns/root.key; config
 * dns_trust_anchor_file). Call before the first look-up. With a dns_server
 * the forwarder is asked with the DO bit and must pass DNSSEC records on;
 * validation still happens here. Returns -1 and sets *error_r (caller
 * frees) if the file cannot be read.
 */
int dns_resolver_set_trust_anchor(struct dns_resolver *r, const char *file,
    char **error_r);
/* dns_resolver_new() then, unless anchor is NULL or "none" (config
 * dns_trust_anchor_file), dns_resolver_set_trust_anchor(): every resolver
 * of the server is made here. */
struct dns_resolver *dns_resolver_open(struct loop *l, const char *server,
    const char *anchor, char **error_r);

/*
 * Looks up MX for domain, then A and AAAA of every host, all hosts in
 * parallel; with no MX record, the domain's own A/AAAA (implicit MX).
 * A "0 ." record alone gives DNS_NULL_MX (mixed with others, it is
 * ignored). A host whose look-ups fail keeps naddr 0 and its addr_status;
 * the overall status is DNS_TEMPFAIL only if no host has an address and
 * at least one failure was temporary, DNS_NODATA if none has an address
 * and every failure was permanent. cb runs on the resolver's loop and owns
 * res: free it with dns_mx_result_free(). The returned handle may be
 * ignored, or passed to dns_cancel() before cb runs.
 */
struct dns_request *dns_resolve_mx(struct dns_resolver *r, const char *domain,
    void (*cb)(struct dns_mx_result *res, void *arg), void *arg);
void dns_mx_result_free(struct dns_mx_result *res);

/*
 * A and AAAA of one host name (no ":port" parsing). An IPv4 or IPv6
 * literal, bare or in brackets, is answered as is, without a query.
 * In cb, res (and its addresses) is borrowed: valid only during the call.
 */
struct dns_request *dns_resolve_addr(struct dns_resolver *r, const char *host,
    void (*cb)(const struct dns_addrs *res, void *arg), void *arg);

/*
 * TXT records of name, each record's strings concatenated (RFC 7208 3.3),
 * at most DNS_MAX_TXT of them; records holding a NUL byte are dropped.
 * In cb, txt (n NUL-terminated strings) is borrowed: valid only during the
 * call. st is DNS_OK when the name has TXT records (n may still be 0 if
 * all were dropped).
 */
struct dns_request *dns_resolve_txt(struct dns_resolver *r, const char *name,
    void (*cb)(enum dns_status st, int n, char **txt, void *arg), void *arg);

/*
 * Reverse look-up: the PTR names of address a (RFC 1035 3.5, RFC 3596 2.5),
 * lowercase text without the final dot, at most DNS_MAX_PTR. In cb, names
 * is borrowed: valid only during the call. A mail server that trusts the
 * name must still check that it resolves back to a (forward-confirmed).
 */
struct dns_request *dns_resolve_ptr(struct dns_resolver *r,
    const struct dns_addr *a,
    void (*cb)(enum dns_status st, int n, char **names, void *arg),
    void *arg);

/*
 * TLSA records (RFC 6698, type 52) of name ("_25._tcp.mx.example"), raw
 * RDATA, at most DNS_MAX_TLSA; sec says whether the answer was validated
 * (DANE must require DNS_SEC_SECURE). rr[i] (len[i] octets) are borrowed:
 * valid only during the call. A bogus answer gives DNS_TEMPFAIL, n 0.
 */
struct dns_request *dns_resolve_tlsa(struct dns_resolver *r, const char *name,
    void (*cb)(enum dns_status st, enum dns_sec sec, int n,
    const unsigned char *const *rr, const size_t *len, void *arg),
    void *arg);

/* Cancels a pending request: its callback is not called. *req is NULLed;
 * a NULL *req is ignored. Must not be called once the callback started. */
void dns_cancel(struct dns_request **req);

/* "OK", "NXDOMAIN", "NODATA", "TEMPFAIL", "NULL_MX". */
const char *dns_status_str(enum dns_status st);
/* "insecure", "secure", "bogus". */
const char *dns_sec_str(enum dns_sec sec);

#endif
