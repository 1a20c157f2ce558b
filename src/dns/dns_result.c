/*
 * dns_result - answers of libunbound into a request's records, and a
 * finished request into the result its caller gets: addresses per host, a
 * status per host and per address family, the overall MX status and the
 * error text for logs and DSNs (dns.h says what each status means).
 *
 * Trust: answers are untrusted network data, parsed only by dns_rr.c;
 * everything here is bounded by DNS_MAX_* (dns.h). No I/O: the unit test
 * (test-dns-result.c) feeds made-up answers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "dns/dns_rr.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---------------------------------------------------------------- */
/* Answers into the request */

/* Keeps the A or AAAA records of an answer for job->q[fam]. */
void
dns_host_record(struct dns_host_job *job, int fam, enum dns_status st,
    const struct ub_result *res, const char *why)
{
	int type = fam == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA, n = 0;

	TEM_ASSERT(fam == DNS_FAM_A || fam == DNS_FAM_AAAA);

	job->st[fam] = st;
	job->why[fam] = why;
	if (st != DNS_OK)
		return;
	job->addr[fam] = xcalloc(DNS_MAX_ADDRS, sizeof(struct dns_addr));
	for (int i = 0; res->data[i] != NULL && n < DNS_MAX_ADDRS; i++) {
		if (dns_rr_addr_parse(type, (const uint8_t *)res->data[i],
		    (size_t)res->len[i], &job->addr[fam][n]) == 0)
			n++;
	}
	job->n[fam] = n;
}

void
dns_txt_record(struct dns_request *req, const struct ub_result *res)
{
	int n = 0;

	while (res->data[n] != NULL)
		n++;
	req->str = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n && req->nstr < DNS_MAX_TXT; i++) {
		size_t len;
		char *t = dns_rr_txt_parse((const uint8_t *)res->data[i],
		    (size_t)res->len[i], &len);

		/* Malformed, or holding a NUL byte. */
		if (t == NULL || strlen(t) != len) {
			free(t);
			continue;
		}
		req->str[req->nstr++] = t;
	}
}

void
dns_ptr_record(struct dns_request *req, const struct ub_result *res)
{
	int n = 0;

	while (res->data[n] != NULL)
		n++;
	req->str = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n && req->nstr < DNS_MAX_PTR; i++) {
		size_t off = 0, len = (size_t)res->len[i];
		char *name = dns_name_from_wire((const uint8_t *)res->data[i],
		    len, &off);

		if (name == NULL || off != len) {
			free(name);
			continue;
		}
		req->str[req->nstr++] = name;
	}
}

/* Raw RDATA, for the TLSA parser of the DANE code. */
void
dns_tlsa_record(struct dns_request *req, const struct ub_result *res)
{
	int n = 0;

	while (res->data[n] != NULL)
		n++;
	if (n > DNS_MAX_TLSA)
		n = DNS_MAX_TLSA;
	req->str = xcalloc((size_t)n + 1, sizeof(char *));
	req->len = xcalloc((size_t)n + 1, sizeof(size_t));
	for (int i = 0; i < n; i++) {
		req->len[i] = (size_t)res->len[i];
		req->str[i] = xmalloc(req->len[i] + 1);	/* never 0 bytes */
		memcpy(req->str[i], res->data[i], req->len[i]);
	}
	req->nstr = n;
}

enum dns_sec
dns_res_sec(const struct ub_result *res)
{
	if (res == NULL)
		return DNS_SEC_INSECURE;
	if (res->bogus)
		return DNS_SEC_BOGUS;
	return res->secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
}

enum dns_sec
dns_sec_join(enum dns_sec a, enum dns_sec b)
{
	if (a == DNS_SEC_BOGUS || b == DNS_SEC_BOGUS)
		return DNS_SEC_BOGUS;
	if (a == DNS_SEC_SECURE && b == DNS_SEC_SECURE)
		return DNS_SEC_SECURE;
	return DNS_SEC_INSECURE;
}

/* Parsed MX records, sorted, without null MX, duplicates or excess. */
static int
dns_mx_list(const struct ub_result *res, struct dns_mx_host **hosts_r,
    int *nnull_r)
{
	struct dns_mx_host *h;
	uint32_t *keys;
	int n = 0, nh = 0, out = 0;

	*nnull_r = 0;
	while (res->data[n] != NULL)
		n++;
	h = xcalloc((size_t)n + 1, sizeof(*h));
	keys = xcalloc((size_t)n + 1, sizeof(*keys));
	for (int i = 0; i < n; i++) {
		if (dns_rr_mx_parse((const uint8_t *)res->data[i],
		    (size_t)res->len[i], &h[nh].pref, &h[nh].name) < 0)
			continue;
		if (strcmp(h[nh].name, ".") == 0) {
			(*nnull_r)++;
			XFREE(&h[nh].name);
			continue;
		}
		keys[nh++] = arc4random();
	}
	dns_mx_sort(h, keys, nh);
	for (int i = 0; i < nh; i++) {
		bool dup = false;

		for (int j = 0; j < out && !dup; j++)
			dup = dns_name_equal(h[j].name, h[i].name);
		if (dup || out >= DNS_MAX_MX_HOSTS)
			free(h[i].name);
		else
			h[out++] = h[i];
	}
	free(keys);
	*hosts_r = h;
	return out;
}

void
dns_mx_record(struct dns_request *req, const struct ub_result *res)
{
	struct dns_mx_host *h;
	int nnull, n = dns_mx_list(res, &h, &nnull);

	if (n == 0) {
		req->st = nnull > 0 ? DNS_NULL_MX : DNS_TEMPFAIL;
		req->why = nnull > 0 ? NULL : "malformed MX records";
		free(h);
		return;
	}
	req->hosts = xcalloc((size_t)n, sizeof(*req->hosts));
	for (int i = 0; i < n; i++) {
		req->hosts[i].name = h[i].name;
		req->hosts[i].pref = h[i].pref;
	}
	req->nhosts = n;
	free(h);
}

/* ---------------------------------------------------------------- */
/* Results */

enum dns_status
dns_job_status(const struct dns_host_job *job)
{
	if (job->n[0] + job->n[1] > 0)
		return DNS_OK;
	if (job->st[0] == DNS_TEMPFAIL || job->st[1] == DNS_TEMPFAIL)
		return DNS_TEMPFAIL;
	if (job->st[0] == DNS_NXDOMAIN || job->st[1] == DNS_NXDOMAIN)
		return DNS_NXDOMAIN;
	return DNS_NODATA;
}

static const char *
dns_job_why(const struct dns_host_job *job)
{
	for (int f = 0; f < 2; f++) {
		if (job->st[f] == DNS_TEMPFAIL && job->why[f] != NULL)
			return job->why[f];
	}
	return dns_status_str(dns_job_status(job));
}

/* A first, then AAAA, in one fresh array (NULL when empty). */
int
dns_job_addrs(const struct dns_host_job *job, struct dns_addr **out)
{
	int n = job->n[0] + job->n[1];

	*out = NULL;
	if (n == 0)
		return 0;
	*out = xcalloc((size_t)n, sizeof(**out));
	if (job->n[0] > 0)
		memcpy(*out, job->addr[0], (size_t)job->n[0] * sizeof(**out));
	if (job->n[1] > 0)
		memcpy(*out + job->n[0], job->addr[1],
		    (size_t)job->n[1] * sizeof(**out));
	return n;
}

static char *
dns_mx_error(const struct dns_request *req, enum dns_status st)
{
	struct buf b;
	int shown = 0;

	switch (st) {
	case DNS_NXDOMAIN:
		return xasprintf("%s: %s", req->name, req->why ? req->why :
		    "domain not found");
	case DNS_NULL_MX:
		return xasprintf("%s: null MX: the domain accepts no mail "
		    "(RFC 7505)", req->name);
	case DNS_TEMPFAIL:
		if (!req->hosts_started)
			return xasprintf("%s: MX lookup failed temporarily "
			    "(%s)", req->name, req->why ? req->why : "?");
		break;
	default:
		break;
	}
	buf_init(&b, DNS_ERROR_MAX);
	if (req->implicit)
		buf_printf(&b, "%s: no MX record and no usable address (",
		    req->name);
	else
		buf_printf(&b, "%s: no usable address for any MX host%s (",
		    req->name, st == DNS_TEMPFAIL ? " for now" : "");
	for (int i = 0; i < req->nhosts && shown < 4; i++, shown++)
		buf_printf(&b, "%s%s: %s", i ? "; " : "", req->hosts[i].name,
		    dns_job_why(&req->hosts[i]));
	if (req->nhosts > shown)
		buf_puts(&b, "; ...");
	if (buf_putc(&b, ')') < 0)
		buf_puts(&b, "...");
	return buf_steal(&b, NULL);
}

void
dns_addrs_make(const struct dns_host_job *job, struct dns_addrs *res)
{
	*res = (struct dns_addrs){
		.status = dns_job_status(job),
		.fam = { job->st[DNS_FAM_A], job->st[DNS_FAM_AAAA] },
		.sec_fam = { job->sec[DNS_FAM_A], job->sec[DNS_FAM_AAAA] },
		.sec = dns_sec_join(job->sec[DNS_FAM_A],
		    job->sec[DNS_FAM_AAAA]),
	};
	res->n = dns_job_addrs(job, &res->addr);
}

struct dns_mx_result *
dns_mx_result_make(struct dns_request *req)
{
	struct dns_mx_result *res = xmalloc(sizeof(*res));
	bool any_addr = false, any_temp = false;

	res->implicit = req->implicit;
	res->nhosts = req->nhosts;
	res->hosts = req->nhosts ? xcalloc((size_t)req->nhosts,
	    sizeof(*res->hosts)) : NULL;
	for (int i = 0; i < req->nhosts; i++) {
		struct dns_host_job *job = &req->hosts[i];
		struct dns_mx_host *h = &res->hosts[i];

		h->name = xstrdup(job->name);
		h->pref = job->pref;
		h->naddr = dns_job_addrs(job, &h->addr);
		h->addr_status = dns_job_status(job);
		h->addr_fam[DNS_FAM_A] = job->st[DNS_FAM_A];
		h->addr_fam[DNS_FAM_AAAA] = job->st[DNS_FAM_AAAA];
		h->addr_sec = dns_sec_join(job->sec[0], job->sec[1]);
		any_addr |= h->addr_status == DNS_OK;
		any_temp |= h->addr_status == DNS_TEMPFAIL;
	}
	if (!req->hosts_started)
		res->status = req->st;
	else if (any_addr)
		res->status = DNS_OK;
	else if (any_temp)
		res->status = DNS_TEMPFAIL;
	else if (req->implicit && req->nhosts == 1 &&
	    res->hosts[0].addr_status == DNS_NXDOMAIN)
		res->status = DNS_NXDOMAIN;
	else
		res->status = DNS_NODATA;
	if (res->status != DNS_OK)
		res->error = dns_mx_error(req, res->status);
	/* Implicit: the domain's A/AAAA answers stand for its MX. */
	res->sec = req->sec;
	if (req->implicit && res->nhosts == 1)
		res->sec = dns_sec_join(req->sec, res->hosts[0].addr_sec);
	return res;
}

void
dns_mx_result_free(struct dns_mx_result *res)
{
	if (res == NULL)
		return;
	for (int i = 0; i < res->nhosts; i++) {
		free(res->hosts[i].name);
		free(res->hosts[i].addr);
	}
	free(res->hosts);
	free(res->error);
	free(res);
}
