/*
 * spf - check_host() of RFC 7208 as a state machine on asynchronous DNS.
 *
 * Trust: DNS answers and the records in them are untrusted; records are
 * parsed in full by spf_record.c before any term is evaluated. Client
 * address and identities come from the SMTP session. Callers: the SMTP
 * session (MAIL FROM and HELO identities), test-spf.c, test-spf-tool.c.
 *
 * This file: frames, records, results and the check's life; the
 * mechanisms that query DNS (a, mx, ptr, exists) and the validation of
 * the client's PTR names are in spf_lookup.c, the state both share in
 * spf_int.h.
 *
 * How it runs. A check is a stack of frames, one per record being
 * evaluated: the top one for <domain>, one more per include (a redirect
 * replaces its frame's record and domain). spf_run() walks the current
 * frame's terms; ip4, ip6 and all are decided at once, the others start
 * one look-up and return, and their callback decides: a match ends the
 * frame with the term's qualifier, no match walks on. When a frame ends,
 * an include in the frame below matches on pass, walks on for fail,
 * softfail and neutral; temperror and permerror end the whole check at
 * once, wherever they arise. At most one look-up is in flight, except
 * while PTR names are validated (one address look-up per name, at most
 * SPF_MAX_PTR together).
 *
 * What counts (RFC 7208 4.6.4), chosen to agree with pyspf where the RFC
 * leaves room: a void look-up is any A/AAAA, MX or PTR query of a term
 * with no answer of the type needed (NXDOMAIN or NODATA), including each
 * MX host and each PTR name without an address of the client's family;
 * the p macro's look-ups count for no limit (RFC 7208 7.3 makes them best
 * effort: any trouble gives "unknown"). A DNS error gives temperror
 * wherever a match could hide behind it, ptr included: RFC 7208 5.5 says
 * a failed PTR look-up "fails to match" and a failed name is skipped, but
 * that can turn DNS trouble into a fail, which we never do (pyspf agrees:
 * temperror). A target
 * that expands to an IP literal is never resolved as such (it is a void
 * name), so "a:%{i}" cannot match by itself.
 *
 * Only the client's address family is read (5.3, 5.4): a host whose
 * query of that family failed temporarily is temperror (RFC 7208 5, 2.6.6)
 * even when the other family answered, never "no match" or void.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <time.h>

#include "dns/dns_rr.h"
#include "policy/spf_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

const char *
spf_result_name(enum spf_result res)
{
	switch (res) {
	case SPF_NONE:		return "none";
	case SPF_NEUTRAL:	return "neutral";
	case SPF_PASS:		return "pass";
	case SPF_FAIL:		return "fail";
	case SPF_SOFTFAIL:	return "softfail";
	case SPF_TEMPERROR:	return "temperror";
	case SPF_PERMERROR:	return "permerror";
	}
	return "permerror";
}

/* ------------------------------------------------------------------ */
/* Ending */

static void
spf_cancel_pending(struct spf_check *c)
{
	for (int i = 0; i < SPF_SLOTS; i++) {
		if (c->slots[i].h != NULL) {
			c->ops->cancel(c->ctx, c->slots[i].h);
			c->slots[i].h = NULL;
		}
	}
	c->pending = 0;
}

static void
spf_free(struct spf_check *c)
{
	while (c->frame != NULL) {
		struct spf_frame *up = c->frame->up;

		free(c->frame->domain);
		spf_record_free(&c->frame->rec);
		free(c->frame);
		c->frame = up;
	}
	for (int i = 0; i < c->nptr; i++)
		free(c->ptr_name[i]);
	free(c->target);
	free(c->sender);
	free(c->local);
	free(c->sdomain);
	free(c->helo);
	free(c);
}

/* Calls done once with a printable copy of text, then frees c. */
static void
spf_finish(struct spf_check *c, enum spf_result res, const char *text)
{
	char *safe = NULL;

	spf_cancel_pending(c);
	if (text != NULL) {
		safe = xstrdup(text);
		for (char *p = safe; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	c->in_done = true;
	c->done(res, safe, c->arg);
	free(safe);
	spf_free(c);
}

void
spf_error(struct spf_check *c, enum spf_result res, const char *fmt, ...)
{
	char why[SPF_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);	/* cut: it is for logs */
	va_end(ap);
	spf_finish(c, res, why);
}

void
spf_check_set_time_limit(struct spf_check *c, unsigned ms)
{
	c->limit_ms = ms;
}

void
spf_check_cancel(struct spf_check **cp)
{
	struct spf_check *c = *cp;

	*cp = NULL;
	if (c == NULL || c->in_done)
		return;		/* inside done, it is freed right after */
	spf_cancel_pending(c);
	spf_free(c);
}

/* ------------------------------------------------------------------ */
/* Helpers */

struct spf_slot *
spf_slot(struct spf_check *c, int i)
{
	struct spf_slot *s = &c->slots[i];

	TEM_ASSERT(i >= 0 && i < SPF_SLOTS && s->h == NULL);
	s->c = c;
	s->idx = i;
	return s;
}

/* A callback began: its handle is spent. */
struct spf_check *
spf_slot_done(struct spf_slot *s)
{
	TEM_ASSERT(s->c != NULL && s->c->pending > 0);
	s->h = NULL;
	s->c->pending--;
	return s->c;
}

void
spf_slot_started(struct spf_check *c, struct spf_slot *s, void *h)
{
	s->h = h;
	c->pending++;
}

static const unsigned char *
spf_addr_bytes(const struct dns_addr *a, int *fam_r)
{
	*fam_r = a->ss.ss_family;
	if (a->ss.ss_family == AF_INET)
		return (const unsigned char *)&((const struct sockaddr_in *)
		    (const void *)&a->ss)->sin_addr;
	if (a->ss.ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)&a->ss)->
		    sin6_addr.s6_addr;
	return NULL;
}

/* Whether the first bits of x and y are equal. */
static bool
spf_prefix_eq(const unsigned char *x, const unsigned char *y, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(x, y, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((x[full] ^ y[full]) & (0xff00u >> rest) & 0xff) == 0;
}

/* Whether the client is in a/bits (a of the client's family only). */
bool
spf_addr_match(const struct spf_check *c, const struct dns_addr *a,
    unsigned bits)
{
	int fam, cfam;
	const unsigned char *x = spf_addr_bytes(a, &fam);
	const unsigned char *y = spf_addr_bytes(&c->ip, &cfam);

	return x != NULL && fam == cfam && spf_prefix_eq(x, y, bits);
}

/* How the query of the client's family ended, from a dns.h fam[2]. */
enum dns_status
spf_fam_status(const struct spf_check *c, const enum dns_status fam[2])
{
	return fam[dns_fam_of(c->fam)];
}

int
spf_count_family(const struct spf_check *c, int n, const struct dns_addr *a)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += a[i].ss.ss_family == c->fam;
	return k;
}

const struct spf_term *
spf_cur_term(const struct spf_check *c)
{
	const struct spf_frame *f = c->frame;

	TEM_ASSERT(f->rec != NULL && f->next > 0);
	return &f->rec->terms[f->next - 1];
}

static bool
spf_out_of_time(const struct spf_check *c)
{
	return clock_mono_ms() - c->started_ms > c->limit_ms;
}

/*
 * One more term that queries DNS; -1 (check ended) past the limit, or
 * when the check has run out of time (every DNS term passes here).
 */
static int
spf_count_lookup(struct spf_check *c)
{
	if (spf_out_of_time(c)) {
		spf_error(c, SPF_TEMPERROR, "no result within %u ms",
		    c->limit_ms);
		return -1;
	}
	if (++c->lookups <= SPF_MAX_DNS_TERMS)
		return 0;
	spf_error(c, SPF_PERMERROR, "more than %d DNS look-ups",
	    SPF_MAX_DNS_TERMS);
	return -1;
}

/* n more void look-ups; -1 (check ended) past the limit. */
int
spf_count_void(struct spf_check *c, int n)
{
	c->voids += n;
	if (c->voids <= SPF_MAX_VOID)
		return 0;
	spf_error(c, SPF_PERMERROR, "more than %d void DNS look-ups",
	    SPF_MAX_VOID);
	return -1;
}

/* name is d or a subdomain of d (case-insensitive). */
bool
spf_name_within(const char *name, const char *d)
{
	size_t n = strlen(name), k = strlen(d);

	if (k > 0 && d[k - 1] == '.')
		k--;
	if (n == k)
		return strncasecmp(name, d, k) == 0;
	return n > k && name[n - k - 1] == '.' &&
	    strncasecmp(name + n - k, d, k) == 0;
}

/* %{p}: <domain> itself, else a subdomain of it, else any (RFC 7208 7.3). */
static const char *
spf_pick_p(const struct spf_check *c, const char *d)
{
	const char *first = NULL, *sub = NULL;

	if (c->ptr_state != SPF_PTR_DONE)
		return NULL;
	for (int i = 0; i < c->nptr; i++) {
		if (!c->ptr_ok[i])
			continue;
		if (dns_name_equal(c->ptr_name[i], d))
			return c->ptr_name[i];
		if (sub == NULL && spf_name_within(c->ptr_name[i], d))
			sub = c->ptr_name[i];
		if (first == NULL)
			first = c->ptr_name[i];
	}
	return sub ? sub : first;
}

/* Expands spec for the current frame; NULL ends the check (permerror). */
char *
spf_expand(struct spf_check *c, const char *spec, enum spf_macro_kind kind)
{
	const char *d = c->frame->domain, *why = NULL;
	struct spf_macro_vars v = {
		.s = c->sender, .l = c->local, .o = c->sdomain, .d = d,
		.i = c->istr, .p = spf_pick_p(c, d),
		.v = c->fam == AF_INET ? "in-addr" : "ip6", .h = c->helo,
		.c = c->cstr, .r = NULL, .t = c->tstr,
	};
	char *out;

	TEM_ASSERT(spec != NULL);
	out = spf_macro_expand(spec, strlen(spec), kind, &v, &why);
	if (out == NULL && kind != SPF_MACRO_EXPLAIN)
		spf_error(c, SPF_PERMERROR, "%s", why);
	return out;
}

/* ------------------------------------------------------------------ */
/* Records and frames */

static bool
spf_ipnet_match(const struct spf_check *c, const struct spf_term *t)
{
	int cfam;
	const unsigned char *y = spf_addr_bytes(&c->ip, &cfam);

	if (t->mech == SPF_MECH_IP4)
		return cfam == AF_INET && spf_prefix_eq(t->net, y, t->cidr4);
	return cfam == AF_INET6 && spf_prefix_eq(t->net, y, t->cidr6);
}

static void
spf_redirect_start(struct spf_check *c)
{
	struct spf_frame *f = c->frame;
	char *target = spf_expand(c, f->rec->redirect, SPF_MACRO_DOMAIN);

	if (target == NULL)
		return;
	free(f->domain);
	f->domain = target;
	spf_record_free(&f->rec);
	f->redirected = true;
	spf_fetch(c);
}

/* No mechanism matched (RFC 7208 4.7, 6.1). */
static void
spf_end_of_record(struct spf_check *c)
{
	const struct spf_record *rec = c->frame->rec;

	if (rec->redirect == NULL || rec->has_all) {
		spf_frame_result(c, SPF_NEUTRAL);
		return;
	}
	if (spf_count_lookup(c) < 0)
		return;
	spf_with_macros(c, rec->redirect, spf_redirect_start);
}

/* Evaluates terms of the current frame until one needs DNS or ends it. */
void
spf_run(struct spf_check *c)
{
	struct spf_frame *f = c->frame;

	while (f->next < f->rec->nterms) {
		const struct spf_term *t = &f->rec->terms[f->next++];

		switch (t->mech) {
		case SPF_MECH_ALL:
			spf_frame_result(c, t->qual);
			return;
		case SPF_MECH_IP4:
		case SPF_MECH_IP6:
			if (spf_ipnet_match(c, t)) {
				spf_frame_result(c, t->qual);
				return;
			}
			continue;
		default:
			if (spf_count_lookup(c) == 0)
				spf_with_macros(c, t->domain, spf_term_start);
			return;
		}
	}
	spf_end_of_record(c);
}

/* The exp= TXT is in c->target: expand it (%{p} known) and end. */
static void
spf_exp_finish(struct spf_check *c)
{
	char *text = spf_expand(c, c->target, SPF_MACRO_EXPLAIN);

	spf_finish(c, SPF_FAIL, text);
	free(text);
}

static void
spf_exp_cb(enum dns_status st, int n, char **txt, void *arg)
{
	struct spf_check *c = spf_slot_done(arg);

	/* Any trouble: as if there were no exp= (RFC 7208 6.2). */
	if (st != DNS_OK || n != 1) {
		spf_finish(c, SPF_FAIL, NULL);
		return;
	}
	free(c->target);
	c->target = xstrdup(txt[0]);
	spf_with_macros(c, c->target, spf_exp_finish);
}

static void
spf_exp_start(struct spf_check *c)
{
	struct spf_slot *s;

	XFREE(&c->target);
	c->target = spf_expand(c, c->frame->rec->exp, SPF_MACRO_DOMAIN);
	if (c->target == NULL)
		return;
	s = spf_slot(c, 0);
	spf_slot_started(c, s, c->ops->txt(c->ctx, c->target, spf_exp_cb, s));
}

/* The current frame has its result (never temperror or permerror). */
void
spf_frame_result(struct spf_check *c, enum spf_result res)
{
	struct spf_frame *f = c->frame;

	if (f->up == NULL) {
		if (res == SPF_FAIL && f->rec != NULL && f->rec->exp != NULL &&
		    !spf_out_of_time(c))
			spf_with_macros(c, f->rec->exp, spf_exp_start);
		else
			spf_finish(c, res, NULL);
		return;
	}
	/* An include ends (RFC 7208 5.2). */
	c->frame = f->up;
	free(f->domain);
	spf_record_free(&f->rec);
	free(f);
	if (res == SPF_PASS)
		spf_frame_result(c, spf_cur_term(c)->qual);
	else
		spf_run(c);
}

/* The current frame's domain has no SPF record. */
static void
spf_frame_none(struct spf_check *c)
{
	struct spf_frame *f = c->frame;

	if (f->up == NULL && !f->redirected)
		spf_finish(c, SPF_NONE, NULL);
	else
		spf_error(c, SPF_PERMERROR, "%s=%s has no SPF record",
		    f->redirected ? "redirect" : "include", f->domain);
}

static void
spf_txt_cb(enum dns_status st, int n, char **txt, void *arg)
{
	struct spf_check *c = spf_slot_done(arg);
	struct spf_frame *f = c->frame;
	const char *found = NULL;
	char *why = NULL;
	int nspf = 0;

	if (st == DNS_TEMPFAIL) {
		spf_error(c, SPF_TEMPERROR, "DNS error looking up TXT of %s",
		    f->domain);
		return;
	}
	for (int i = 0; st == DNS_OK && i < n; i++) {
		if (spf_record_is_spf(txt[i], strlen(txt[i]))) {
			found = txt[i];
			nspf++;
		}
	}
	if (nspf == 0) {
		spf_frame_none(c);
		return;
	}
	if (nspf > 1) {
		spf_error(c, SPF_PERMERROR, "%s has %d SPF records", f->domain,
		    nspf);
		return;
	}
	f->rec = spf_record_parse(found, strlen(found), &why);
	if (f->rec == NULL) {
		spf_error(c, SPF_PERMERROR, "%s: %s", f->domain, why);
		free(why);
		return;
	}
	f->next = 0;
	spf_run(c);
}

/* Looks up the SPF record of the current frame's domain (4.4). */
void
spf_fetch(struct spf_check *c)
{
	struct spf_slot *s = spf_slot(c, 0);

	spf_slot_started(c, s, c->ops->txt(c->ctx, c->frame->domain,
	    spf_txt_cb, s));
}

/* ------------------------------------------------------------------ */
/* Start */

static void
spf_set_client(struct spf_check *c, const struct sockaddr *sa)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&c->ip.ss;

	TEM_ASSERT(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
	if (sa->sa_family == AF_INET) {
		memcpy(sin, sa, sizeof(*sin));
		sin->sin_port = 0;
		c->ip.len = sizeof(*sin);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)
		    (const void *)sa;
		struct sockaddr_in6 *out = (struct sockaddr_in6 *)(void *)
		    &c->ip.ss;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, in6->sin6_addr.s6_addr + 12, 4);
			c->ip.len = sizeof(*sin);
		} else {
			out->sin6_family = AF_INET6;
			out->sin6_addr = in6->sin6_addr;
			c->ip.len = sizeof(*out);
		}
	}
	c->fam = c->ip.ss.ss_family;
	TEM_ASSERT(spf_macro_ip((const struct sockaddr *)&c->ip.ss, c->istr,
	    sizeof(c->istr)) != NULL);
	TEM_ASSERT(dns_addr_str(&c->ip, c->cstr, sizeof(c->cstr)) != NULL);
}

/* <sender> into s, l and o; "postmaster" without a local part (4.3). */
static void
spf_set_sender(struct spf_check *c, const char *sender)
{
	const char *at = strrchr(sender, '@');

	if (at == NULL) {
		c->local = xstrdup("postmaster");
		c->sdomain = xstrdup(sender);
	} else {
		c->local = at == sender ? xstrdup("postmaster") :
		    xstrndup(sender, (size_t)(at - sender));
		c->sdomain = xstrdup(at + 1);
	}
	c->sender = xasprintf("%s@%s", c->local, c->sdomain);
}

struct spf_check *
spf_check_start_ops(const struct spf_dns_ops *ops, void *ctx,
    const struct sockaddr *client_ip, const char *domain,
    const char *sender, const char *helo, spf_done_fn *done, void *arg)
{
	struct spf_check *c = xmalloc(sizeof(*c));
	struct spf_frame *f = xmalloc(sizeof(*f));
	size_t n = strlen(domain);

	c->ops = ops;
	c->ctx = ctx;
	c->done = done;
	c->arg = arg;
	spf_set_client(c, client_ip);
	spf_set_sender(c, sender);
	c->helo = xstrdup(helo ? helo : "");
	snprintf(c->tstr, sizeof(c->tstr), "%lld", (long long)time(NULL));
	c->started_ms = clock_mono_ms();
	c->limit_ms = SPF_TIME_LIMIT_MS;
	f->domain = xstrndup(domain, n > 1 && domain[n - 1] == '.' ?
	    n - 1 : n);
	c->frame = f;
	/* A malformed domain: dns.h answers NXDOMAIN (on a later turn), so
	 * the result is "none" (4.3) without a special case here. */
	spf_fetch(c);
	return c;
}

static void *
spf_dns_txt(void *ctx, const char *name,
    void (*cb)(enum dns_status, int, char **, void *), void *arg)
{
	return dns_resolve_txt(ctx, name, cb, arg);
}

static void *
spf_dns_addr(void *ctx, const char *host,
    void (*cb)(const struct dns_addrs *, void *), void *arg)
{
	return dns_resolve_addr(ctx, host, cb, arg);
}

static void *
spf_dns_mx(void *ctx, const char *domain,
    void (*cb)(struct dns_mx_result *, void *), void *arg)
{
	return dns_resolve_mx(ctx, domain, cb, arg);
}

static void *
spf_dns_ptr(void *ctx, const struct dns_addr *a,
    void (*cb)(enum dns_status, int, char **, void *), void *arg)
{
	return dns_resolve_ptr(ctx, a, cb, arg);
}

static void
spf_dns_cancel(void *ctx, void *handle)
{
	struct dns_request *req = handle;

	(void)ctx;
	dns_cancel(&req);
}

static const struct spf_dns_ops spf_dns_default = {
	.txt = spf_dns_txt,
	.addr = spf_dns_addr,
	.mx = spf_dns_mx,
	.ptr = spf_dns_ptr,
	.cancel = spf_dns_cancel,
};

struct spf_check *
spf_check_start(struct dns_resolver *r, const struct sockaddr *client_ip,
    const char *domain, const char *sender, const char *helo,
    spf_done_fn *done, void *arg)
{
	return spf_check_start_ops(&spf_dns_default, r, client_ip, domain,
	    sender, helo, done, arg);
}
