/*
 * dns - asynchronous MX, A/AAAA, TXT, PTR and TLSA look-ups on libunbound
 * (dns.h), DNSSEC-validated when a trust anchor is set.
 *
 * Trust: answers are untrusted network data; only dns_rr.c parses their
 * RDATA. Names from mail envelopes are checked by dns_name_valid() before
 * any query, so they never reach libunbound's escape handling.
 *
 * How it runs. Each resolver owns one ub_ctx in threaded async mode
 * (ub_ctx_async(ctx, 1)): libunbound's own background thread does the
 * network I/O and writes answers to a pipe. The loop watches that pipe
 * (ub_fd) and calls ub_process(), which runs dns_ub_cb on the loop's
 * thread. The default async mode forks a process per context, which a
 * threaded server must not do.
 *
 * A request is one dns_resolve_* call made of queries: MX is one MX query,
 * then an A and an AAAA query per host, all in flight together; an address
 * request is A + AAAA; TXT is one query. Each query has its own deadline
 * timer, because libunbound keeps retrying an unresponsive server for far
 * longer than a mail queue should wait. When a request's last query ends
 * it is unlinked, its callback runs, and it is freed.
 *
 * This file: resolvers, requests, queries and their timers; how answers
 * become results (records kept, statuses combined per host and family,
 * error texts) is in dns_result.c, the state both share in dns_int.h.
 *
 * Re-entrancy: a callback may start requests, cancel others, or free the
 * resolver. ub_process() must not see its context deleted under it, so a
 * free during processing only cancels, and the context goes after
 * ub_process() returns (STYLE.md habit 7).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "dns/dns_cache.h"
#include "dns/dns_int.h"
#include "dns/dns_rr.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

static void dns_request_step(struct dns_request *req);

const char *
dns_status_str(enum dns_status st)
{
	switch (st) {
	case DNS_OK:		return "OK";
	case DNS_NXDOMAIN:	return "NXDOMAIN";
	case DNS_NODATA:	return "NODATA";
	case DNS_TEMPFAIL:	return "TEMPFAIL";
	case DNS_NULL_MX:	return "NULL_MX";
	}
	return "?";
}

/* ---------------------------------------------------------------- */
/* Resolver */

static void
dns_resolver_destroy(struct dns_resolver *r)
{
	loop_fd_free(&r->fd);
	ub_ctx_delete(r->ctx);
	dns_cache_free(&r->cache);
	free(r);
}

static void
dns_fd_cb(void *arg)
{
	struct dns_resolver *r = arg;
	int ret;

	r->processing++;
	ret = ub_process(r->ctx);
	r->processing--;
	if (r->dying && r->processing == 0) {
		dns_resolver_destroy(r);
		return;
	}
	if (ret != 0) {
		/* The pipe from libunbound's thread broke: stop watching it
		 * (a closed pipe stays readable); pending queries end at their
		 * deadlines and new ones fail at once, all as TEMPFAIL. */
		log_error("- dns process-error error=\"%s\"", ub_strerror(ret));
		loop_fd_free(&r->fd);
	}
}

/*
 * A stub (the validator: dns_dnssec.c); the server asked may be on
 * loopback (a local unbound, or the tests' server). libunbound answers some
 * special-use names itself (RFC 6761 "test.", RFC 8375 "home.arpa.",
 * RFC 1918 reverse zones); a stub leaves them to the server it asks, which
 * knows the local network. ("nodefault" would say so, but libunbound 1.17
 * misparses it from ub_ctx_set_option; an empty transparent zone has the
 * same effect.)
 */
static const char *const dns_ub_options[][2] = {
	{ "do-not-query-localhost:",	"no" },
	{ "module-config:",		"iterator" },
	{ "unblock-lan-zones:",		"yes" },
	{ "local-zone:",		"test. transparent" },
	{ "local-zone:",		"home.arpa. transparent" },
};

static int
dns_ctx_setup(struct ub_ctx *ctx, const char *server, char **error_r)
{
	const char *err = NULL;
	char *fwd;
	int ret = ub_ctx_async(ctx, 1);

	for (size_t i = 0; ret == 0 && i < sizeof(dns_ub_options) /
	    sizeof(dns_ub_options[0]); i++)
		ret = ub_ctx_set_option(ctx, dns_ub_options[i][0],
		    dns_ub_options[i][1]);
	if (ret != 0) {
		*error_r = xasprintf("libunbound: %s", ub_strerror(ret));
		return -1;
	}
	if (server == NULL) {
		if ((ret = ub_ctx_resolvconf(ctx, NULL)) != 0)
			log_warn("- dns resolvconf-error error=\"%s\"",
			    ub_strerror(ret));
		if ((ret = ub_ctx_hosts(ctx, NULL)) != 0)
			log_warn("- dns hosts-error error=\"%s\"",
			    ub_strerror(ret));
		return 0;
	}
	if ((fwd = dns_server_to_unbound(server, &err)) == NULL) {
		*error_r = xasprintf("%s", err);
		return -1;
	}
	ret = ub_ctx_set_fwd(ctx, fwd);
	free(fwd);
	if (ret != 0) {
		*error_r = xasprintf("libunbound: dns_server: %s",
		    ub_strerror(ret));
		return -1;
	}
	return 0;
}

struct dns_resolver *
dns_resolver_new(struct loop *l, const char *server, char **error_r)
{
	struct dns_resolver *r;
	struct ub_ctx *ctx;

	*error_r = NULL;
	if ((ctx = ub_ctx_create()) == NULL) {
		*error_r = xstrdup("libunbound: cannot create a context");
		return NULL;
	}
	if (dns_ctx_setup(ctx, server, error_r) < 0) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	r = xmalloc(sizeof(*r));
	r->loop = l;
	r->ctx = ctx;
	r->cache = dns_cache_new();
	r->timeout_ms = DNS_TIMEOUT_MS;
	r->fd = loop_fd_new(l, ub_fd(ctx), dns_fd_cb, r);
	return r;
}

void
dns_resolver_set_timeout(struct dns_resolver *r, unsigned ms)
{
	r->timeout_ms = ms;
}

/* ---------------------------------------------------------------- */
/* Requests and their queries */

static void
dns_query_stop(struct dns_query *q)
{
	if (q->running && q->async_id != 0)
		(void)ub_cancel(q->req->r->ctx, q->async_id);
	q->running = false;
	q->async_id = 0;
	loop_timer_free(&q->timer);
	dns_cache_result_free(q->cached);
	q->cached = NULL;
}

static void
dns_request_link(struct dns_request *req)
{
	struct dns_resolver *r = req->r;

	req->next = r->requests;
	if (r->requests != NULL)
		r->requests->prev = req;
	r->requests = req;
}

static void
dns_request_unlink(struct dns_request *req)
{
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		req->r->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
}

/* Frees an unlinked request; touches the resolver only to cancel queries
 * still running (never the case once a request has completed). */
static void
dns_request_free(struct dns_request *req)
{
	dns_query_stop(&req->q);
	for (int i = 0; i < req->nhosts; i++) {
		struct dns_host_job *job = &req->hosts[i];

		for (int f = 0; f < 2; f++) {
			dns_query_stop(&job->q[f]);
			free(job->addr[f]);
		}
		free(job->name);
	}
	free(req->hosts);
	for (int i = 0; i < req->nstr; i++)
		free(req->str[i]);
	free(req->str);
	free(req->len);
	loop_timer_free(&req->defer);
	free(req->name);
	free(req);
}

void
dns_cancel(struct dns_request **reqp)
{
	if (*reqp == NULL)
		return;
	dns_request_unlink(*reqp);
	dns_request_free(*reqp);
	*reqp = NULL;
}

void
dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	while (r->requests != NULL) {
		struct dns_request *req = r->requests;

		dns_request_unlink(req);
		dns_request_free(req);
	}
	if (r->processing > 0)
		r->dying = true;	/* dns_fd_cb finishes the job */
	else
		dns_resolver_destroy(r);
}

static enum dns_status
dns_ub_status(int err, const struct ub_result *res, const char **why_r)
{
	if (err != 0) {
		*why_r = ub_strerror(err);
		return DNS_TEMPFAIL;
	}
	if (dns_bogus(res, why_r))
		return DNS_TEMPFAIL;	/* never data (dns.h) */
	switch (res->rcode) {
	case 0:
		return res->havedata ? DNS_OK : DNS_NODATA;
	case 3:
		return DNS_NXDOMAIN;
	case 2:
		*why_r = "SERVFAIL";
		return DNS_TEMPFAIL;
	case 5:
		*why_r = "REFUSED";
		return DNS_TEMPFAIL;
	default:
		*why_r = "unexpected DNS rcode";
		return DNS_TEMPFAIL;
	}
}

static void
dns_query_record(struct dns_query *q, enum dns_status st,
    const struct ub_result *res, const char *why)
{
	struct dns_request *req = q->req;

	if (q->host >= 0) {
		req->hosts[q->host].sec[q->fam] = dns_res_sec(res);
		dns_host_record(&req->hosts[q->host], q->fam, st, res, why);
		return;
	}
	req->st = st;
	req->why = why;
	req->sec = dns_res_sec(res);
	if (st == DNS_OK && req->kind == DNS_KIND_MX)
		dns_mx_record(req, res);
	else if (st == DNS_OK && req->kind == DNS_KIND_TXT)
		dns_txt_record(req, res);
	else if (st == DNS_OK && req->kind == DNS_KIND_PTR)
		dns_ptr_record(req, res);
	else if (st == DNS_OK && req->kind == DNS_KIND_TLSA)
		dns_tlsa_record(req, res);
}

/* A query ended: keep its answer (res may be NULL on failure); the last
 * one of a request moves it on, which may free the request. */
static void
dns_query_finish(struct dns_query *q, enum dns_status st,
    const struct ub_result *res, const char *why)
{
	struct dns_request *req = q->req;

	TEM_ASSERT(q->running && req->pending > 0);	/* ends once */
	q->running = false;
	q->async_id = 0;
	loop_timer_del(q->timer);
	dns_query_record(q, st, res, why);
	if (--req->pending == 0)
		dns_request_step(req);
}

static void
dns_ub_cb(void *arg, int err, struct ub_result *res)
{
	struct dns_query *q = arg;
	const char *why = NULL;
	enum dns_status st = dns_ub_status(err, res, &why);

	q->async_id = 0;	/* libunbound is done with it */
	if (err == 0 && res->qname != NULL)
		dns_cache_put(q->req->r->cache, res->qname, res->qtype, res);
	dns_query_finish(q, st, res, why);
	ub_resolve_free(res);
}

static void
dns_query_timeout(void *arg)
{
	struct dns_query *q = arg;
	const char *why = q->fail_why;

	if (q->cached != NULL) {
		struct ub_result *res = q->cached;
		enum dns_status st;

		q->cached = NULL;
		st = dns_ub_status(0, res, &why);
		dns_query_finish(q, st, res, why);	/* may free q */
		dns_cache_result_free(res);
		return;
	}
	if (q->async_id != 0) {
		(void)ub_cancel(q->req->r->ctx, q->async_id);
		why = "timed out";
	}
	dns_query_finish(q, DNS_TEMPFAIL, NULL, why);
}

static void
dns_query_start(struct dns_request *req, struct dns_query *q,
    const char *name, int rrtype, int host, int fam)
{
	struct dns_resolver *r = req->r;
	int ret;

	q->req = req;
	q->host = host;
	q->fam = fam;
	q->timer = loop_timer_new(r->loop, dns_query_timeout, q);
	q->running = true;
	req->pending++;
	if ((q->cached = dns_cache_get(r->cache, name, rrtype)) != NULL) {
		/* Answered on the next turn, like every other answer. */
		loop_timer_add(q->timer, 0);
		return;
	}
	ret = ub_resolve_async(r->ctx, name, rrtype, DNS_CLASS_IN, q,
	    dns_ub_cb, &q->async_id);
	if (ret != 0) {
		/* Report on the next turn: callbacks never run inside the
		 * dns_resolve_* call. */
		q->async_id = 0;
		q->fail_why = ub_strerror(ret);
		loop_timer_add(q->timer, 0);
		return;
	}
	loop_timer_add(q->timer, r->timeout_ms);
}

static void
dns_hosts_start(struct dns_request *req)
{
	req->hosts_started = true;
	for (int i = 0; i < req->nhosts; i++) {
		struct dns_host_job *job = &req->hosts[i];

		dns_query_start(req, &job->q[0], job->name, DNS_TYPE_A, i, 0);
		dns_query_start(req, &job->q[1], job->name, DNS_TYPE_AAAA,
		    i, 1);
	}
}

/* The request is complete: unlink, answer, free. */
static void
dns_request_deliver(struct dns_request *req)
{
	TEM_ASSERT(req->pending == 0);		/* no query left to answer */
	dns_request_unlink(req);
	if (req->kind == DNS_KIND_MX) {
		req->mx_cb(dns_mx_result_make(req), req->arg);
	} else if (req->kind == DNS_KIND_ADDR) {
		struct dns_addrs res;

		dns_addrs_make(&req->hosts[0], &res);
		req->addr_cb(&res, req->arg);
		free(res.addr);
	} else if (req->kind == DNS_KIND_TLSA) {
		req->tlsa_cb(req->st, req->sec, req->nstr,
		    (const unsigned char *const *)req->str, req->len, req->arg);
	} else {
		req->str_cb(req->st, req->nstr, req->str, req->arg);
	}
	dns_request_free(req);
}

static void
dns_request_step(struct dns_request *req)
{
	if (req->kind == DNS_KIND_MX && !req->hosts_started) {
		if (req->st == DNS_NODATA) {
			/* RFC 5321 5.1: no MX, the domain is its own host. */
			req->implicit = true;
			req->hosts = xcalloc(1, sizeof(*req->hosts));
			req->hosts[0].name = xstrdup(req->name);
			req->nhosts = 1;
		}
		if (req->nhosts > 0) {
			dns_hosts_start(req);
			return;
		}
	}
	dns_request_deliver(req);
}

static void
dns_defer_cb(void *arg)
{
	dns_request_deliver(arg);
}

/* ---------------------------------------------------------------- */
/* Entry points */

static struct dns_request *
dns_request_new(struct dns_resolver *r, enum dns_kind kind, const char *name,
    void *arg)
{
	struct dns_request *req = xmalloc(sizeof(*req));
	size_t n = strlen(name);

	TEM_ASSERT(!r->dying);
	req->r = r;
	req->kind = kind;
	/* Shown in results and errors, lowercased like names from answers;
	 * not echoed when invalid (then it is never looked up). */
	if (dns_name_valid(name)) {
		req->name = xstrndup(name, n > 1 && name[n - 1] == '.' ?
		    n - 1 : n);
		for (char *p = req->name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	} else {
		req->name = xstrdup("(invalid name)");
	}
	req->q.host = -1;
	req->arg = arg;
	dns_request_link(req);
	return req;
}

/* Answers on the next turn without a query (bad name, IP literal). */
static struct dns_request *
dns_request_defer(struct dns_request *req, enum dns_status st,
    const char *why)
{
	req->st = st;
	req->why = why;
	req->defer = loop_timer_new(req->r->loop, dns_defer_cb, req);
	loop_timer_add(req->defer, 0);
	return req;
}

struct dns_request *
dns_resolve_mx(struct dns_resolver *r, const char *domain,
    void (*cb)(struct dns_mx_result *res, void *arg), void *arg)
{
	struct dns_request *req = dns_request_new(r, DNS_KIND_MX, domain, arg);

	req->mx_cb = cb;
	if (!dns_name_valid(domain))
		return dns_request_defer(req, DNS_NXDOMAIN,
		    "not a valid domain name");
	dns_query_start(req, &req->q, req->name, DNS_TYPE_MX, -1, 0);
	return req;
}

struct dns_request *
dns_resolve_addr(struct dns_resolver *r, const char *host,
    void (*cb)(const struct dns_addrs *res, void *arg), void *arg)
{
	struct dns_request *req = dns_request_new(r, DNS_KIND_ADDR, host, arg);
	struct dns_host_job *job;
	struct dns_addr lit;

	req->addr_cb = cb;
	req->hosts = xcalloc(1, sizeof(*req->hosts));
	req->nhosts = 1;
	job = &req->hosts[0];
	job->name = xstrdup(req->name);
	job->st[0] = job->st[1] = DNS_NXDOMAIN;
	if (dns_addr_literal(host, &lit)) {
		enum dns_fam fam = dns_fam_of(lit.ss.ss_family);

		job->addr[fam] = xmemdup(&lit, sizeof(lit));
		job->n[fam] = 1;
		job->st[fam] = DNS_OK;
		job->st[!fam] = DNS_NODATA;
		return dns_request_defer(req, DNS_OK, NULL);
	}
	if (!dns_name_valid(host))
		return dns_request_defer(req, DNS_NXDOMAIN,
		    "not a valid host name");
	dns_query_start(req, &job->q[0], job->name, DNS_TYPE_A, 0, 0);
	dns_query_start(req, &job->q[1], job->name, DNS_TYPE_AAAA, 0, 1);
	return req;
}

struct dns_request *
dns_resolve_txt(struct dns_resolver *r, const char *name,
    void (*cb)(enum dns_status st, int n, char **txt, void *arg), void *arg)
{
	struct dns_request *req = dns_request_new(r, DNS_KIND_TXT, name, arg);

	req->str_cb = cb;
	if (!dns_name_valid(name))
		return dns_request_defer(req, DNS_NXDOMAIN, "not a valid name");
	dns_query_start(req, &req->q, req->name, DNS_TYPE_TXT, -1, 0);
	return req;
}

struct dns_request *
dns_resolve_ptr(struct dns_resolver *r, const struct dns_addr *a,
    void (*cb)(enum dns_status st, int n, char **names, void *arg),
    void *arg)
{
	char *qname = dns_ptr_name(a);
	struct dns_request *req = dns_request_new(r, DNS_KIND_PTR,
	    qname ? qname : "", arg);

	req->str_cb = cb;
	if (qname == NULL)
		return dns_request_defer(req, DNS_NXDOMAIN, "not an address");
	free(qname);
	dns_query_start(req, &req->q, req->name, DNS_TYPE_PTR, -1, 0);
	return req;
}

struct dns_request *
dns_resolve_tlsa(struct dns_resolver *r, const char *name,
    void (*cb)(enum dns_status st, enum dns_sec sec, int n,
    const unsigned char *const *rr, const size_t *len, void *arg),
    void *arg)
{
	struct dns_request *req = dns_request_new(r, DNS_KIND_TLSA, name, arg);

	req->tlsa_cb = cb;
	if (!dns_name_valid(name))
		return dns_request_defer(req, DNS_NXDOMAIN, "not a valid name");
	dns_query_start(req, &req->q, req->name, DNS_TYPE_TLSA, -1, 0);
	return req;
}
