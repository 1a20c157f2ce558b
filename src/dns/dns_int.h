/*
 * dns_int - the state of resolvers, requests and their queries, shared by
 * the request machinery (dns.c: libunbound, timers, the life of a request)
 * and the reading of answers into results (dns_result.c). Not for other
 * callers: their contract is dns.h.
 */
#ifndef TEM_DNS_INT_H
#define TEM_DNS_INT_H

#include <stdbool.h>
#include <unbound.h>

#include "dns/dns.h"

#define DNS_ERROR_MAX	1024	/* error text listing a few hosts */

struct dns_query {
	struct dns_request	*req;
	struct loop_timer	*timer;
	int			 async_id;	/* 0: not in libunbound */
	bool			 running;
	int			 host;		/* -1: MX/TXT query */
	int			 fam;		/* 0: A, 1: AAAA */
	const char		*fail_why;	/* could not even start */
	struct ub_result	*cached;	/* answered from the cache */
};

/* A and AAAA of one name. */
struct dns_host_job {
	char			*name;
	unsigned		 pref;
	struct dns_query	 q[2];
	enum dns_status		 st[2];
	enum dns_sec		 sec[2];
	const char		*why[2];
	int			 n[2];
	struct dns_addr		*addr[2];
};

enum dns_kind {
	DNS_KIND_MX, DNS_KIND_ADDR, DNS_KIND_TXT, DNS_KIND_PTR, DNS_KIND_TLSA
};

struct dns_request {
	struct dns_resolver	*r;
	struct dns_request	*prev, *next;
	enum dns_kind		 kind;
	char			*name;
	int			 pending;	/* queries still running */
	bool			 hosts_started;
	struct loop_timer	*defer;		/* no query needed */
	struct dns_query	 q;		/* the MX or TXT query */
	enum dns_status		 st;		/* of q */
	enum dns_sec		 sec;		/* of q */
	const char		*why;
	bool			 implicit;
	int			 nhosts;
	struct dns_host_job	*hosts;
	int			 nstr;		/* TXT or PTR answers */
	char			**str;
	size_t			*len;		/* TLSA: RDATA lengths */
	void	(*mx_cb)(struct dns_mx_result *, void *);
	void	(*addr_cb)(const struct dns_addrs *, void *);
	void	(*str_cb)(enum dns_status, int, char **, void *);
	void	(*tlsa_cb)(enum dns_status, enum dns_sec, int,
	    const unsigned char *const *, const size_t *, void *);
	void			*arg;
};

struct dns_resolver {
	struct loop		*loop;
	struct ub_ctx		*ctx;
	struct dns_cache	*cache;
	struct loop_fd		*fd;
	unsigned		 timeout_ms;
	struct dns_request	*requests;
	int			 processing;	/* inside ub_process() */
	bool			 dying;
};

/* ---- dns_dnssec.c -------------------------------------------------- */
/* Whether res is bogus; then logs libunbound's why (one line) and sets
 * *why_r. */
bool dns_bogus(const struct ub_result *res, const char **why_r);

/* ---- dns_result.c -------------------------------------------------- */
/* Keeps the answer of one query in its request (res NULL unless st is
 * DNS_OK): A or AAAA for host job q->host, else MX, TXT or PTR. */
void dns_host_record(struct dns_host_job *job, int fam, enum dns_status st,
    const struct ub_result *res, const char *why);
void dns_txt_record(struct dns_request *req, const struct ub_result *res);
void dns_ptr_record(struct dns_request *req, const struct ub_result *res);
void dns_mx_record(struct dns_request *req, const struct ub_result *res);
void dns_tlsa_record(struct dns_request *req, const struct ub_result *res);
/* The security of an answer (NULL: none came, INSECURE). */
enum dns_sec dns_res_sec(const struct ub_result *res);
/* Of two answers used together: BOGUS if either is, SECURE if both are. */
enum dns_sec dns_sec_join(enum dns_sec a, enum dns_sec b);
/* A host's combined status: OK with any address, else TEMPFAIL if either
 * family failed temporarily, NXDOMAIN, else NODATA. */
enum dns_status dns_job_status(const struct dns_host_job *job);
/* A first, then AAAA, in one fresh array (NULL when empty). */
int dns_job_addrs(const struct dns_host_job *job, struct dns_addr **out);
/* The result of an address request (res->addr: caller frees). */
void dns_addrs_make(const struct dns_host_job *job, struct dns_addrs *res);
/* The MX result of a finished request, per-family statuses included. */
struct dns_mx_result *dns_mx_result_make(struct dns_request *req);

#endif
