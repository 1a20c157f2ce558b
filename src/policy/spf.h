/*
 * spf - the SPF evaluator: check_host() of RFC 7208 section 4, with every
 * look-up asynchronous on tem's resolver (dns/dns.h).
 *
 * Trust: everything it reads from DNS is untrusted (records are parsed by
 * spf_record.c, macros expanded by spf_macro.c); the client address and
 * identities come from the SMTP session. DNS trouble gives SPF_TEMPERROR,
 * never a pass or a fail, wherever a match could hide behind it (except
 * for %{p}, which RFC 7208 7.3 makes best effort: "unknown"; and see the
 * known gap at the top of spf.c). The exp= text is the domain owner's,
 * not ours: fit for a 5xx reply text, nothing more.
 *
 * Limits (RFC 7208 4.6.4): at most 10 terms that cause DNS look-ups
 * (include, a, mx, ptr, exists, redirect) per check, else permerror; at
 * most 2 "void" look-ups (NXDOMAIN, or no record of the type asked), else
 * permerror; at most 10 MX hosts per mx (more: permerror); at most 10 PTR
 * names per ptr or %{p} (the others ignored). exp= look-ups count for
 * neither limit. Time: no DNS term starts, and no exp= is fetched, once
 * the check has run SPF_TIME_LIMIT_MS (then temperror); a query already
 * in flight has the resolver's own deadline (dns.h), so a check ends
 * within about SPF_TIME_LIMIT_MS plus one or two such deadlines.
 *
 * Usage, on the resolver's loop thread:
 *   c = spf_check_start(r, sa, "example.com", "alice@example.com",
 *       "mail.example.com", done, arg);
 *   ... later done(res, explanation, arg) runs once on that loop, unless
 *   spf_check_cancel(&c) was called first.
 * Cancel every pending check before freeing the resolver: the resolver
 * drops its requests silently, and such a check would never end.
 */
#ifndef TEM_SPF_H
#define TEM_SPF_H

#include <sys/socket.h>

#include "dns/dns.h"
#include "policy/spf_record.h"

#define SPF_MAX_DNS_TERMS	10	/* RFC 7208 4.6.4 */
#define SPF_MAX_VOID		2	/* RFC 7208 4.6.4 */
#define SPF_MAX_MX		10	/* RFC 7208 4.6.4 */
#define SPF_MAX_PTR		10	/* RFC 7208 4.6.4 */
/* RFC 7208 4.6.4: at least 20 s if limited at all (pyspf: 20 s). */
#define SPF_TIME_LIMIT_MS	20000

struct spf_check;

/*
 * The result callback. explanation:
 *   SPF_FAIL          the expanded exp= text of the record that failed
 *                     (RFC 7208 6.2), or NULL when it has none or it could
 *                     not be used (then the caller picks a default text);
 *   SPF_TEMPERROR, SPF_PERMERROR
 *                     a one-line reason for logs and for the comment of
 *                     Received-SPF, e.g. "more than 10 DNS look-ups";
 *   otherwise NULL.
 * It is printable ASCII (SP included), at most a few hundred octets, and
 * borrowed: valid only during the call. When done returns the check is
 * freed: forget the handle inside done, never cancel it afterwards. done
 * may free the resolver.
 */
typedef void spf_done_fn(enum spf_result res, const char *explanation,
    void *arg);

/*
 * Starts check_host(<ip>, <domain>, <sender>) (RFC 7208 4.1).
 *   client_ip  AF_INET or AF_INET6 (asserted); an IPv4-mapped IPv6
 *              address is checked as IPv4; the port is ignored
 *   domain     <domain>: the MAIL FROM domain, or the HELO name for the
 *              HELO check; one final dot is ignored. A malformed name
 *              gives SPF_NONE (4.3), as a name without a record does.
 *   sender     <sender> for %{s} %{l} %{o}: "local@domain" from MAIL FROM,
 *              or "postmaster@" HELO for the HELO check (without a local
 *              part, "postmaster" is used, 4.3)
 *   helo       the HELO/EHLO argument, for %{h} ("" if none)
 * The strings are copied. Returns the handle; done is never called from
 * inside this call.
 */
struct spf_check *spf_check_start(struct dns_resolver *r,
    const struct sockaddr *client_ip, const char *domain,
    const char *sender, const char *helo, spf_done_fn *done, void *arg);

/* Stops a check before done ran: its DNS requests are cancelled, done is
 * never called. NULLs *c; a NULL *c is ignored. */
void spf_check_cancel(struct spf_check **c);

/* Changes the time limit of a running check (default SPF_TIME_LIMIT_MS),
 * counted from its start. */
void spf_check_set_time_limit(struct spf_check *c, unsigned ms);

/* "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror" (RFC 7208 2.6, as Received-SPF spells them). */
const char *spf_result_name(enum spf_result res);

/*
 * The look-ups the evaluator makes, so tests can run it without a DNS
 * server. Each has the contract of its dns.h namesake: it returns a handle
 * (opaque here) and calls back later, never from inside the call, unless
 * cancel(ctx, handle) was called first. spf_check_start uses dns.h with
 * ctx = the resolver.
 */
struct spf_dns_ops {
	void	*(*txt)(void *ctx, const char *name,
	    void (*cb)(enum dns_status st, int n, char **txt, void *arg),
	    void *arg);
	void	*(*addr)(void *ctx, const char *host,
	    void (*cb)(const struct dns_addrs *res, void *arg), void *arg);
	void	*(*mx)(void *ctx, const char *domain,
	    void (*cb)(struct dns_mx_result *res, void *arg), void *arg);
	void	*(*ptr)(void *ctx, const struct dns_addr *a,
	    void (*cb)(enum dns_status st, int n, char **names, void *arg),
	    void *arg);
	void	 (*cancel)(void *ctx, void *handle);
};

/* spf_check_start with other look-ups (tests). */
struct spf_check *spf_check_start_ops(const struct spf_dns_ops *ops,
    void *ctx, const struct sockaddr *client_ip, const char *domain,
    const char *sender, const char *helo, spf_done_fn *done, void *arg);

#endif
