/*
 * test-spf.h - what the SPF evaluator's unit tests share (test-spf.c for
 * spf.c, test-spf-lookup.c for spf_lookup.c): a fake resolver (struct
 * spf_dns_ops) that answers from a table, in order, one request per pump
 * step, so no DNS server is needed; and a runner for tables of cases.
 * Included by those two files only.
 *
 * Trust: test code.
 */
#ifndef TEM_TEST_SPF_H
#define TEM_TEST_SPF_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/dns.h"
#include "dns/dns_rr.h"
#include "policy/spf.h"
#include "policy/spf_macro.h"
#include "policy/spf_record.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Fake resolver */

/* "NAME TYPE VALUE": TXT, A, AAAA, MX ("PREF HOST"), PTR (NAME is the
 * address), SERVFAIL (every query of NAME fails), SERVFAIL-A and
 * SERVFAIL-AAAA (that family's query fails). */
static const char *const zone[] = {
	"pass.test TXT v=spf1 ip4:192.0.2.0/24 -all",
	"fail.test TXT v=spf1 ip4:198.51.100.1 -all",
	"soft.test TXT v=spf1 ~all",
	"neutral.test TXT v=spf1 ?all",
	"empty.test TXT v=spf1",
	"notspf.test TXT hello world",
	"notspf.test TXT v=spf10 -all",
	"two.test TXT v=spf1 -all",
	"two.test TXT v=spf1 +all",
	"syntax.test TXT v=spf1 ip4:192.0.2.3 foo -all",
	"case.test TXT V=SPF1 IP4:192.0.2.3 -ALL",
	"a.test TXT v=spf1 a -all",
	"a.test A 192.0.2.3",
	"a24.test TXT v=spf1 a:h.a24.test/24 -all",
	"h.a24.test A 192.0.2.200",
	"dual.test TXT v=spf1 a:h.dual.test/32//64 -all",
	"h.dual.test A 192.0.2.9",
	"h.dual.test AAAA 2001:db8::1",
	"mx.test TXT v=spf1 mx -all",
	"mx.test MX 10 m1.mx.test",
	"mx.test MX 20 m2.mx.test",
	"m1.mx.test A 198.51.100.7",
	"m2.mx.test A 192.0.2.3",
	"mxnone.test TXT v=spf1 mx -all",
	"mx11.test TXT v=spf1 mx -all",
	"mx11.test MX 1 h1.mx11.test", "mx11.test MX 2 h2.mx11.test",
	"mx11.test MX 3 h3.mx11.test", "mx11.test MX 4 h4.mx11.test",
	"mx11.test MX 5 h5.mx11.test", "mx11.test MX 6 h6.mx11.test",
	"mx11.test MX 7 h7.mx11.test", "mx11.test MX 8 h8.mx11.test",
	"mx11.test MX 9 h9.mx11.test", "mx11.test MX 10 h10.mx11.test",
	"mx11.test MX 11 h11.mx11.test",
	"h1.mx11.test A 192.0.2.3",
	"mxtemp.test TXT v=spf1 mx -all",
	"mxtemp.test MX 10 broken.test",
	"mxtemp.test MX 20 ok.mxtemp.test",
	"ok.mxtemp.test A 192.0.2.3",
	"mxtemp2.test TXT v=spf1 mx -all",
	"mxtemp2.test MX 10 broken.test",
	"mxtemp2.test MX 20 ok.mxtemp.test",
	"incl.test TXT v=spf1 include:pass.test -all",
	"inclfail.test TXT v=spf1 include:fail.test ~all",
	"inclnone.test TXT v=spf1 include:nx.test -all",
	"incltemp.test TXT v=spf1 include:broken.test -all",
	"inclperm.test TXT v=spf1 include:syntax.test +all",
	"incldeep.test TXT v=spf1 -include:incl.test +all",
	"redir.test TXT v=spf1 redirect=pass.test",
	"redirnone.test TXT v=spf1 redirect=nx.test",
	"redirall.test TXT v=spf1 -all redirect=pass.test",
	"exp.test TXT v=spf1 -all exp=e.exp.test",
	"e.exp.test TXT %{i} is not one of %{d}'s designated mail servers.",
	"expredir.test TXT v=spf1 redirect=exp.test exp=e.expredir.test",
	"e.expredir.test TXT not this one",
	"expincl.test TXT v=spf1 include:expinner.test -all",
	"expinner.test TXT v=spf1 -all exp=e.exp.test",
	"expbad.test TXT v=spf1 -all exp=nx.test",
	"exptwo.test TXT v=spf1 -all exp=t.exptwo.test",
	"t.exptwo.test TXT one", "t.exptwo.test TXT two",
	"expsyntax.test TXT v=spf1 -all exp=s.expsyntax.test",
	"s.expsyntax.test TXT bad %{x} macro",
	"expsoft.test TXT v=spf1 ~all exp=e.exp.test",
	"expp.test TXT v=spf1 -all exp=%{p}.e.expp.test",
	"mail.ptr.test.e.expp.test TXT you are %{p}",
	"expp2.test TXT v=spf1 -all exp=e.expp2.test",
	"e.expp2.test TXT %{p} is not %{d}",
	"limit10.test TXT v=spf1 a:h1.l.test a:h2.l.test a:h3.l.test "
	    "a:h4.l.test a:h5.l.test a:h6.l.test a:h7.l.test a:h8.l.test "
	    "a:h9.l.test a:h10.l.test -all",
	"limit11.test TXT v=spf1 a:h1.l.test a:h2.l.test a:h3.l.test "
	    "a:h4.l.test a:h5.l.test a:h6.l.test a:h7.l.test a:h8.l.test "
	    "a:h9.l.test a:h10.l.test a:h11.l.test -all",
	"limitinc.test TXT v=spf1 include:limit10.test -all",
	"h1.l.test A 10.0.0.1", "h2.l.test A 10.0.0.1", "h3.l.test A 10.0.0.1",
	"h4.l.test A 10.0.0.1", "h5.l.test A 10.0.0.1", "h6.l.test A 10.0.0.1",
	"h7.l.test A 10.0.0.1", "h8.l.test A 10.0.0.1", "h9.l.test A 10.0.0.1",
	"h10.l.test A 10.0.0.1", "h11.l.test A 10.0.0.1",
	"loop.test TXT v=spf1 include:loop.test -all",
	"void2.test TXT v=spf1 a:n1.void.test a:n2.void.test -all",
	"void3.test TXT v=spf1 a:n1.void.test a:n2.void.test "
	    "mx:n3.void.test -all",
	"void.test TXT unrelated",
	"exists.test TXT v=spf1 exists:%{ir}.bl.exists.test -all",
	"3.2.0.192.bl.exists.test A 127.0.0.2",
	"exists6.test TXT v=spf1 exists:v6.exists.test -all",
	"v6.exists.test AAAA 2001:db8::2",
	"ptr.test TXT v=spf1 ptr -all",
	"192.0.2.3 PTR mail.ptr.test",
	"192.0.2.3 PTR forged.other.test",
	"mail.ptr.test A 192.0.2.3",
	"forged.other.test A 198.51.100.99",
	"192.0.2.4 PTR mail.ptr.test",
	"ptrother.test TXT v=spf1 ptr:other.test -all",
	"pmacro.test TXT v=spf1 exists:%{p}.allow.pmacro.test -all",
	"mail.ptr.test.allow.pmacro.test A 127.0.0.2",
	"ip6.test TXT v=spf1 ip6:2001:db8::/32 -all",
	"ip6cidr.test TXT v=spf1 ip6:2001:db8:1::/48 ~all",
	"amacro.test TXT v=spf1 a:%{i} -all",
	"helo.test TXT v=spf1 a -all",
	"helo.test A 192.0.2.3",
	"lmacro.test TXT v=spf1 exists:%{l}.u.lmacro.test -all",
	"strong-bad.u.lmacro.test A 127.0.0.2",
	"nullmx.test TXT v=spf1 mx ?all",
	"nullmx.test MX 0 .",
	"aaaa.test TXT v=spf1 a -all",
	"aaaa.test AAAA 2001:db8::cb01",
	"broken.test SERVFAIL",
	"atemp.test TXT v=spf1 a:broken.test -all",
	"ptrtemp.test TXT v=spf1 ptr:ptr.test -all",
	"192.0.2.77 SERVFAIL",
	"192.0.2.78 PTR broken.test",
	"192.0.2.79 PTR mail.brokenptr.test",
	"192.0.2.79 PTR mail.ptr.test",
	"mail.brokenptr.test SERVFAIL",
	"ptrtemp2.test TXT v=spf1 ptr:brokenptr.test -all",
	/* one family fails, the other answers (RFC 7208 5, 2.6.6) */
	"h.half.test SERVFAIL-A",
	"h.half.test AAAA 2001:db8::5",
	"ahalf.test TXT v=spf1 a:h.half.test -all",
	"mxhalf.test TXT v=spf1 mx:mxh.half.test -all",
	"mxh.half.test MX 10 h.half.test",
	"exhalf.test TXT v=spf1 exists:h.half.test -all",
	"h6.half.test A 192.0.2.5",
	"h6.half.test SERVFAIL-AAAA",
	"a6half.test TXT v=spf1 a:h6.half.test -all",
};

enum { Q_TXT, Q_ADDR, Q_MX, Q_PTR };

struct fake_req {
	int			 type;
	char			*name;
	void	(*str_cb)(enum dns_status, int, char **, void *);
	void	(*addr_cb)(const struct dns_addrs *, void *);
	void	(*mx_cb)(struct dns_mx_result *, void *);
	void			*arg;
	bool			 cancelled;
	struct fake_req		*next;
};

static struct fake_req *fq_head, **fq_tail = &fq_head;
static int fake_queries, fake_calls_in_start;
static bool in_start;

static inline bool
rr_match(const char *rr, const char *name, const char *type,
    const char **value_r)
{
	size_t n = strlen(name), t = strlen(type);

	if (strncasecmp(rr, name, n) != 0 || rr[n] != ' ')
		return false;
	if (strncmp(rr + n + 1, type, t) != 0 ||
	    (rr[n + 1 + t] != ' ' && rr[n + 1 + t] != '\0'))
		return false;
	*value_r = rr[n + 1 + t] == ' ' ? rr + n + 2 + t : "";
	return true;
}

static inline bool
name_exists(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strncasecmp(zone[i], name, n) == 0 && zone[i][n] == ' ')
			return true;
	}
	return false;
}

/* Status of name with no record of the type: SERVFAIL, NXDOMAIN, NODATA. */
static inline enum dns_status
name_status(const char *name)
{
	const char *v;

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (rr_match(zone[i], name, "SERVFAIL", &v))
			return DNS_TEMPFAIL;
	}
	if (!dns_name_valid(name))
		return DNS_NXDOMAIN;
	return name_exists(name) ? DNS_NODATA : DNS_NXDOMAIN;
}

static inline int
find_all(const char *name, const char *type, const char **out, int max)
{
	int n = 0;
	const char *v;

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]) && n < max; i++)
		if (rr_match(zone[i], name, type, &v))
			out[n++] = v;
	return n;
}

/* A and AAAA of name as dns.h reports them, each family with its status:
 * SERVFAIL fails both, SERVFAIL-A or SERVFAIL-AAAA one of them. */
static inline void
lookup_addrs(const char *name, struct dns_addr *a, int max,
    struct dns_addrs *res)
{
	static const char *const type[2] = { "A", "AAAA" };
	static const char *const fail[2] = { "SERVFAIL-A", "SERVFAIL-AAAA" };
	const char *v[32];
	enum dns_status st = name_status(name);

	*res = (struct dns_addrs){ .status = st, .addr = a };
	if (dns_addr_literal(name, &a[0])) {
		enum dns_fam f = dns_fam_of(a[0].ss.ss_family);

		res->fam[f] = res->status = DNS_OK;
		res->fam[!f] = DNS_NODATA;
		res->n = 1;
		return;
	}
	for (int f = 0; f < 2; f++) {
		int k, got = 0;

		res->fam[f] = st;
		if (st == DNS_TEMPFAIL || find_all(name, fail[f], v, 1) > 0) {
			res->fam[f] = DNS_TEMPFAIL;
			continue;
		}
		k = find_all(name, type[f], v, 32);
		for (int i = 0; i < k && res->n < max; i++)
			if (dns_addr_literal(v[i], &a[res->n]))
				res->n++, got++;
		if (got > 0)
			res->fam[f] = DNS_OK;
	}
	if (res->n > 0)
		res->status = DNS_OK;
	else if (res->fam[0] == DNS_TEMPFAIL || res->fam[1] == DNS_TEMPFAIL)
		res->status = DNS_TEMPFAIL;
}

static inline void
answer_str(struct fake_req *r, const char *type)
{
	const char *v[DNS_MAX_TXT];
	char *copy[DNS_MAX_TXT + 1];
	enum dns_status st = name_status(r->name);
	int n = 0;

	if (st != DNS_TEMPFAIL && dns_name_valid(r->name))
		n = find_all(r->name, type, v, DNS_MAX_TXT);
	if (n > 0)
		st = DNS_OK;
	for (int i = 0; i < n; i++)
		copy[i] = xstrdup(v[i]);
	r->str_cb(st, n, copy, r->arg);
	for (int i = 0; i < n; i++)
		free(copy[i]);
}

static inline void
answer_addr(struct fake_req *r)
{
	struct dns_addr a[DNS_MAX_ADDRS];
	struct dns_addrs res;

	lookup_addrs(r->name, a, DNS_MAX_ADDRS, &res);
	r->addr_cb(&res, r->arg);
}

static inline struct dns_mx_result *
make_mx(const char *name)
{
	struct dns_mx_result *res = xmalloc(sizeof(*res));
	const char *v[DNS_MAX_MX_HOSTS + 4];
	int n = 0, nnull = 0;
	bool any = false, temp = false;

	res->status = name_status(name);
	if (res->status == DNS_TEMPFAIL || res->status == DNS_NXDOMAIN)
		return res;
	n = find_all(name, "MX", v, DNS_MAX_MX_HOSTS + 4);
	res->hosts = xcalloc((size_t)n + 1, sizeof(*res->hosts));
	if (n == 0) {		/* implicit MX: the domain itself */
		res->implicit = true;
		v[0] = "0 ";
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		struct dns_mx_host *h = &res->hosts[res->nhosts];
		const char *host = strchr(v[i], ' ') + 1;
		struct dns_addrs ar;

		if (strcmp(host, ".") == 0) {
			nnull++;
			continue;
		}
		h->name = xstrdup(res->implicit ? name : host);
		h->pref = (unsigned)atoi(v[i]);
		h->addr = xcalloc(DNS_MAX_ADDRS, sizeof(*h->addr));
		lookup_addrs(h->name, h->addr, DNS_MAX_ADDRS, &ar);
		h->naddr = ar.n;
		h->addr_status = ar.status;
		memcpy(h->addr_fam, ar.fam, sizeof(ar.fam));
		any |= ar.status == DNS_OK;
		temp |= ar.status == DNS_TEMPFAIL;
		res->nhosts++;
	}
	if (res->nhosts == 0 && nnull > 0)
		res->status = DNS_NULL_MX;
	else
		res->status = any ? DNS_OK : temp ? DNS_TEMPFAIL : DNS_NODATA;
	return res;
}

static inline void
fake_pump(void)
{
	while (fq_head != NULL) {
		struct fake_req *r = fq_head;

		fq_head = r->next;
		if (fq_head == NULL)
			fq_tail = &fq_head;
		if (!r->cancelled) {
			if (r->type == Q_TXT)
				answer_str(r, "TXT");
			else if (r->type == Q_PTR)
				answer_str(r, "PTR");
			else if (r->type == Q_ADDR)
				answer_addr(r);
			else
				r->mx_cb(make_mx(r->name), r->arg);
		}
		free(r->name);
		free(r);
	}
}

static inline struct fake_req *
fake_add(int type, const char *name, void *arg)
{
	struct fake_req *r = xmalloc(sizeof(*r));

	r->type = type;
	r->name = xstrdup(name);
	r->arg = arg;
	*fq_tail = r;
	fq_tail = &r->next;
	fake_queries++;
	if (in_start)
		fake_calls_in_start++;
	return r;
}

static inline void *
fake_txt(void *ctx, const char *name,
    void (*cb)(enum dns_status, int, char **, void *), void *arg)
{
	struct fake_req *r = fake_add(Q_TXT, name, arg);

	(void)ctx;
	r->str_cb = cb;
	return r;
}

static inline void *
fake_addr(void *ctx, const char *host,
    void (*cb)(const struct dns_addrs *, void *), void *arg)
{
	struct fake_req *r = fake_add(Q_ADDR, host, arg);

	(void)ctx;
	r->addr_cb = cb;
	return r;
}

static inline void *
fake_mx(void *ctx, const char *domain,
    void (*cb)(struct dns_mx_result *, void *), void *arg)
{
	struct fake_req *r = fake_add(Q_MX, domain, arg);

	(void)ctx;
	r->mx_cb = cb;
	return r;
}

static inline void *
fake_ptr(void *ctx, const struct dns_addr *a,
    void (*cb)(enum dns_status, int, char **, void *), void *arg)
{
	char buf[INET6_ADDRSTRLEN];
	struct fake_req *r = fake_add(Q_PTR, dns_addr_str(a, buf,
	    sizeof(buf)), arg);

	(void)ctx;
	r->str_cb = cb;
	return r;
}

static inline void
fake_cancel(void *ctx, void *h)
{
	(void)ctx;
	((struct fake_req *)h)->cancelled = true;
}

static const struct spf_dns_ops fake_ops = {
	fake_txt, fake_addr, fake_mx, fake_ptr, fake_cancel,
};

/* ------------------------------------------------------------------ */
/* Evaluator */

struct outcome {
	int		 calls;
	enum spf_result	 res;
	char		*text;
};

static inline void
done_cb(enum spf_result res, const char *text, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->res = res;
	o->text = text ? xstrdup(text) : NULL;
}

static inline void
make_addr(const char *ip, struct sockaddr_storage *ss)
{
	struct dns_addr a;

	memset(ss, 0, sizeof(*ss));
	if (!dns_addr_literal(ip, &a))
		abort();	/* a broken test table */
	memcpy(ss, &a.ss, sizeof(a.ss));
}

static inline struct spf_check *
start(const char *ip, const char *domain, const char *sender,
    struct outcome *o)
{
	struct sockaddr_storage ss;
	struct spf_check *c;

	memset(o, 0, sizeof(*o));
	make_addr(ip, &ss);
	in_start = true;
	c = spf_check_start_ops(&fake_ops, NULL, (struct sockaddr *)&ss,
	    domain, sender, "helo.example", done_cb, o);
	in_start = false;
	return c;
}

struct eval_case {
	const char	*ip;
	const char	*domain;
	enum spf_result	 want;
	const char	*text;		/* explanation, or NULL */
};

/* Runs each case on the fake resolver; the number that went wrong (each
 * printed). */
static inline int
run_eval_cases(const struct eval_case *cases, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct eval_case *ec = &cases[i];
		struct outcome o;
		char sender[300];

		snprintf(sender, sizeof(sender), "strong-bad@%s", ec->domain);
		fake_calls_in_start = 0;
		(void)start(ec->ip, ec->domain, sender, &o);
		if (o.calls != 0)	/* never from inside start */
			bad++;
		fake_pump();
		if (o.calls != 1 || o.res != ec->want ||
		    (ec->text != NULL && (o.text == NULL ||
		    strcmp(o.text, ec->text) != 0)) ||
		    (ec->text == NULL && ec->want != SPF_PERMERROR &&
		    ec->want != SPF_TEMPERROR && o.text != NULL)) {
			fprintf(stderr, "  %s %s: %d call(s) %s \"%s\", want "
			    "%s \"%s\"\n", ec->ip, ec->domain, o.calls,
			    spf_result_name(o.res), o.text ? o.text : "",
			    spf_result_name(ec->want), ec->text ? ec->text :
			    "");
			bad++;
		}
		free(o.text);
	}
	return bad;
}

#endif
