/*
 * mta_route - delivery to one remote destination: resolve (relay_host or
 * MX, RFC 5321 5.1), try each address of each host in order, run one
 * SMTP session carrying every message of the batch for that destination
 * (a connection kept from an earlier batch to the same address under the
 * same TLS rules when there is one, mta_pool.c), and turn the outcome
 * into per-recipient results.
 *
 * Trust: DNS answers and remote replies are untrusted; only their status
 * classes steer what happens (2xx sent, 4xx deferred, 5xx failed).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "mta/mta_engine.h"
#include "mta/mta_int.h"
#include "mta/mta_sts.h"
#include "mta/mta_tls_policy.h"
#include "server/server.h"
#include "server/state.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Sessions per destination key, for MTA_MAX_PER_DEST. */
struct mta_dest {
	char		*key;
	int		 active;
	struct mta_dest	*next;
};

static struct mta_dest *dests;
static int active_total;
static struct mta_route *waiting, *running;

static struct mta_dest *
dest_get(const char *key)
{
	struct mta_dest *d;

	for (d = dests; d; d = d->next)
		if (strcmp(d->key, key) == 0)
			return d;
	d = xmalloc(sizeof(*d));
	d->key = xstrdup(key);
	d->next = dests;
	dests = d;
	return d;
}

int
mta_route_active(const char *key)
{
	return dest_get(key)->active;
}

int
mta_route_active_total(void)
{
	return active_total;
}

static void
list_remove(struct mta_route **list, struct mta_route *r)
{
	for (struct mta_route **pp = list; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			return;
		}
}

void
mta_route_free(struct mta_route *r)
{
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *it = &r->items[i];
		for (int j = 0; j < it->mm.nrcpt && it->mm.rcpt_text; j++)
			free(it->mm.rcpt_text[j]);
		free(it->mm.rcpt_text);
		free(it->mm.rcpt_result);
		free(it->mm.rcpts);
		free(it->mm.orcpt);
		free((void *)(uintptr_t)it->mm.notify);
		free(it->idx);
	}
	free(r->items);
	free(r->msgs);
	if (r->mx)
		dns_mx_result_free(r->mx);
	if (r->sts_req)
		mta_sts_cancel(&r->sts_req);
	mta_sts_held_free(&r->sts);
	mta_tls_policy_free(&r->pol);
	free(r->last_error);
	free(r->rt_text);
	free(r->relay_host);
	free(r->pool_key);
	free(r->key);
	free(r);
}

/* Fills each item's mta_msg from its delivery. */
static void
route_prepare(struct mta_route *r)
{
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *it = &r->items[i];
		struct queue_msg *qm = it->d->qm;
		struct mta_msg *mm = &it->mm;

		mm->sender = qm->sender;
		mm->nrcpt = it->n;
		mm->rcpts = xcalloc((size_t)it->n, sizeof(char *));
		mm->orcpt = xcalloc((size_t)it->n, sizeof(char *));
		mm->notify = xcalloc((size_t)it->n, sizeof(unsigned));
		for (int j = 0; j < it->n; j++) {
			struct queue_rcpt *qr = &qm->rcpts[it->idx[j]];
			mm->rcpts[j] = qr->address;
			mm->orcpt[j] = qr->orcpt;
			((unsigned *)(uintptr_t)mm->notify)[j] = qr->notify;
		}
		mm->envid = qm->envid;
		mm->ret = qm->ret;
		mm->content = NULL;
		mm->file = &it->d->qc;
		mm->len = it->d->qc.len;
		mm->wire = it->d->wire;
		mm->eightbit = qm->eightbit || it->d->eightbit;
		mm->smtputf8 = qm->smtputf8;
		mm->requiretls = qm->requiretls;
		mm->tls_optional = qm->tls_optional;
		mm->rcpt_result = xcalloc((size_t)it->n, sizeof(int));
		mm->rcpt_text = xcalloc((size_t)it->n, sizeof(char *));
	}
}

/* Sets every recipient of the route still untouched to result/text. */
static void
route_settle(struct mta_route *r, int result, const char *text,
    const char *relay)
{
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *it = &r->items[i];
		struct mta_delivery *d = it->d;

		for (int j = 0; j < it->n; j++) {
			int k = it->idx[j], res = result;
			const char *t = text;

			switch (it->mm.rcpt_result ? it->mm.rcpt_result[j] : 0) {
			case MTA_RCPT_OK:
				res = QUEUE_RCPT_DELIVERED;
				t = it->mm.rcpt_text[j];
				break;
			case MTA_RCPT_TEMP:
				res = QUEUE_RCPT_DEFERRED;
				t = it->mm.rcpt_text[j];
				break;
			case MTA_RCPT_PERM:
				res = QUEUE_RCPT_FAILED;
				t = it->mm.rcpt_text[j];
				break;
			}
			d->results[k] = res;
			free(d->texts[k]);
			d->texts[k] = xstrdup(t ? t : "");
			free(d->relays[k]);
			d->relays[k] = relay ? xstrdup(relay) : NULL;
		}
	}
}

static void route_start_waiting(void);

static void
route_done(struct mta_route *r, int result, const char *text,
    const char *relay)
{
	struct mta_dest *d = dest_get(r->key);

	/* RFC 8689 4.2.1: no MX host left that REQUIRETLS allows: the
	   message is not sent to the domain; the sender gets a DSN. */
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *it = &r->items[i];
		for (int j = 0; it->rt_refused && j < it->n; j++)
			if (it->mm.rcpt_result[j] == MTA_RCPT_UNTOUCHED) {
				it->mm.rcpt_result[j] = MTA_RCPT_PERM;
				free(it->mm.rcpt_text[j]);
				it->mm.rcpt_text[j] = xstrdup(r->rt_text);
			}
	}
	route_settle(r, result, text, relay);
	if (r->port) {			/* held a session slot */
		d->active--;
		active_total--;
	}
	list_remove(&running, r);
	mta_route_finished(r);
	route_start_waiting();
}

static void route_begin(struct mta_route *r);

/* Whether REQUIRETLS refused every recipient of m locally (mta_tx.c). */
static bool
msg_requiretls_refused(const struct mta_msg *m)
{
	if (!m->requiretls || m->nrcpt == 0)
		return false;
	for (int j = 0; j < m->nrcpt; j++)
		if (m->rcpt_result[j] != MTA_RCPT_PERM ||
		    m->rcpt_text[j] == NULL ||
		    (strncmp(m->rcpt_text[j], "5.7.10 ", 7) != 0 &&
		    strncmp(m->rcpt_text[j], "5.7.30 ", 7) != 0))
			return false;
	return true;
}

/*
 * After a session that ran: messages REQUIRETLS kept from this host go
 * to the next MX host with the ones never attempted (RFC 8689 4.2.1: try
 * each host before giving up). True when a next attempt started.
 */
static bool
route_requiretls_next(struct mta_route *r)
{
	int n = 0, refused = 0;

	if (r->relay_host != NULL || r->host_i + 1 >= r->mx->nhosts ||
	    mta_stopping())
		return false;
	for (int i = 0; i < r->nitems; i++)
		if (msg_requiretls_refused(&r->items[i].mm))
			refused++;
	if (refused == 0)
		return false;
	for (int i = 0; i < r->nitems; i++) {
		struct mta_msg *m = &r->items[i].mm;
		bool untouched = true;

		if (msg_requiretls_refused(m)) {
			free(r->rt_text);
			r->rt_text = xstrdup(m->rcpt_text[0]);
			for (int j = 0; j < m->nrcpt; j++) {
				m->rcpt_result[j] = MTA_RCPT_UNTOUCHED;
				free(m->rcpt_text[j]);
				m->rcpt_text[j] = NULL;
			}
			r->items[i].rt_refused = true;
		}
		for (int j = 0; j < m->nrcpt; j++)
			if (m->rcpt_result[j] != MTA_RCPT_UNTOUCHED)
				untouched = false;
		if (untouched)
			r->msgs[n++] = m;
	}
	r->nmsgs = n;
	log_info("- mta requiretls-next dest=%s host=%s messages=%d (%s)",
	    r->key, r->mx->hosts[r->host_i].name, n, r->rt_text);
	free(r->last_error);
	r->last_error = xstrdup(r->rt_text);
	r->host_i++;
	r->addr_i = 0;
	r->pol_for = 0;
	r->no_tls = false;
	mta_route_try_next(r);
	return true;
}

/* "host[addr]:port" of the address being tried. */
static void
route_relay(const struct mta_route *r, char *relay, size_t len)
{
	const struct dns_mx_host *h = &r->mx->hosts[r->host_i];
	const struct dns_addr *a = &h->addr[r->addr_i];
	char addr[INET6_ADDRSTRLEN] = "?";

	if (a->ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->
		    sin6_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->
		    sin_addr, addr, sizeof(addr));
	snprintf(relay, len, "%s[%s]:%d", h->name, addr, r->port);
}

static void
route_session_done(struct mta_session *s, int status, const char *text,
    void *arg)
{
	struct mta_route *r = arg;
	char relay[320];

	r->sess = NULL;
	route_relay(r, relay, sizeof(relay));
	if (status == MTA_OK && mta_session_idle(s))
		mta_pool_put(r->key, r->pool_key, s);	/* now the pool's */
	if (status == MTA_OK) {
		if (route_requiretls_next(r))
			return;
		route_done(r, QUEUE_RCPT_DEFERRED,
		    "4.4.2 lost connection before the message was sent",
		    relay);
		return;
	}
	free(r->last_error);
	r->last_error = xstrdup(text ? text : "connection failed");
	log_info("- mta attempt-failed dest=%s relay=%s status=%d (%s)",
	    r->key, relay, status, r->last_error);
	if (r->reused) {
		/* a kept connection that failed its probe: the messages are
		   untouched, a new connection to the same address takes
		   them */
		r->reused = false;
		mta_route_try_next(r);
		return;
	}
	if (text && strstr(text, "TLS handshake failed") && !r->no_tls &&
	    !mta_tls_policy_requires_tls(r->pol)) {
		r->no_tls = true;	/* opportunistic: try again in clear */
		mta_route_try_next(r);
		return;
	}
	r->no_tls = false;
	r->addr_i++;
	mta_route_try_next(r);
}

/* The route's last text as a deferral: one already carrying an enhanced
   status (a policy's 4.7.x) is kept as it is. */
static char *
route_final_text(const struct mta_route *r)
{
	const char *e = r->last_error;

	if (e && isdigit((unsigned char)e[0]) && e[1] == '.' &&
	    isdigit((unsigned char)e[2]))
		return xstrdup(e);
	return xasprintf("4.4.1 %s", e ? e : "no host could be reached");
}

/*
 * The pool key of the address about to be tried (destination, host,
 * address, port and the TLS rules: policy mode, TLS on or not); true
 * when a kept connection made under the same rules took the batch.
 * A policy that requires TLS only takes one that it verified.
 */
static bool
route_reuse(struct mta_route *r, struct mta_session_params *p)
{
	char relay[320];
	struct mta_session *s;

	route_relay(r, relay, sizeof(relay));
	free(r->pool_key);
	r->pool_key = xasprintf("%s %s policy=%d tls=%d", r->key, relay,
	    r->pol ? (int)r->pol->mode : -1, !p->no_tls);
	p->reuse = true;
	r->reused = false;
	while ((s = mta_pool_take(r->pool_key)) != NULL) {
		if ((!p->tls_required || mta_session_tls_verified(s)) &&
		    mta_session_continue(s, r->msgs, r->nmsgs,
		    route_session_done, r)) {
			r->sess = s;
			r->reused = true;
			return true;
		}
		mta_session_abort(&s);
	}
	return false;
}

void
mta_route_try_next(struct mta_route *r)
{
	struct conf *c = mta_conf();
	struct mta_session_params p;
	struct sockaddr_storage bind_ss;
	socklen_t bind_len = 0;

	for (;;) {
		while (r->host_i < r->mx->nhosts &&
		    r->addr_i >= r->mx->hosts[r->host_i].naddr) {
			r->host_i++;
			r->addr_i = 0;
		}
		if (r->host_i >= r->mx->nhosts || mta_stopping()) {
			char *t = route_final_text(r);
			route_done(r, QUEUE_RCPT_DEFERRED, t, NULL);
			free(t);
			return;
		}
		if (r->pol_for == r->host_i + 1)
			break;
		switch (mta_route_host_policy(r)) {
		case MTA_POL_READY:
			break;
		case MTA_POL_WAIT:
			return;
		case MTA_POL_SKIP:
			r->host_i++;
			r->addr_i = 0;
			continue;
		}
		break;
	}
	memset(&p, 0, sizeof(p));
	p.loop = mta_loop();
	p.helo_name = c->hostname;
	p.host_name = r->mx->hosts[r->host_i].name;
	memcpy(&p.addr, &r->mx->hosts[r->host_i].addr[r->addr_i].ss,
	    sizeof(p.addr));
	p.addrlen = r->mx->hosts[r->host_i].addr[r->addr_i].len;
	if (p.addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&p.addr)->sin6_port =
		    htons((uint16_t)r->port);
	else
		((struct sockaddr_in *)&p.addr)->sin_port =
		    htons((uint16_t)r->port);
	memset(&bind_ss, 0, sizeof(bind_ss));
	if (c->outbound_bind_address && *c->outbound_bind_address) {
		if (p.addr.ss_family == AF_INET6 &&
		    inet_pton(AF_INET6, c->outbound_bind_address,
		    &((struct sockaddr_in6 *)&bind_ss)->sin6_addr) == 1) {
			bind_ss.ss_family = AF_INET6;
			bind_len = sizeof(struct sockaddr_in6);
		} else if (p.addr.ss_family == AF_INET &&
		    inet_pton(AF_INET, c->outbound_bind_address,
		    &((struct sockaddr_in *)&bind_ss)->sin_addr) == 1) {
			bind_ss.ss_family = AF_INET;
			bind_len = sizeof(struct sockaddr_in);
		}
		if (bind_len) {
			p.bind_addr = (struct sockaddr *)&bind_ss;
			p.bind_len = bind_len;
		}
	}
	p.connect_timeout = 30;
	p.command_timeout = 300;
	p.data_timeout = 600;
	p.no_tls = r->no_tls;
	p.tls_policy = r->pol;
	p.tls_required = mta_tls_policy_requires_tls(r->pol);
	if (r->msgs == NULL) {
		r->msgs = xcalloc((size_t)r->nitems, sizeof(*r->msgs));
		for (int i = 0; i < r->nitems; i++)
			r->msgs[i] = &r->items[i].mm;
		r->nmsgs = r->nitems;
	}
	if (route_reuse(r, &p))
		return;
	r->sess = mta_session_start(&p, r->msgs, r->nmsgs, route_session_done,
	    r);
}

/* Both the MX and the MTA-STS answers are in. */
static void
route_resolved(struct mta_route *r)
{
	struct dns_mx_result *res = r->mx;
	char *t;

	switch (res->status) {
	case DNS_OK:
		mta_route_try_next(r);
		return;
	case DNS_NULL_MX:
		t = xasprintf("5.1.10 domain %s does not accept mail (null MX)",
		    r->key);
		route_done(r, QUEUE_RCPT_FAILED, t, NULL);
		break;
	case DNS_NXDOMAIN:
		t = xasprintf("5.1.2 domain %s not found", r->key);
		route_done(r, QUEUE_RCPT_FAILED, t, NULL);
		break;
	case DNS_NODATA:
		t = xasprintf("5.4.4 no mail server address for %s%s%s", r->key,
		    res->error ? ": " : "", res->error ? res->error : "");
		route_done(r, QUEUE_RCPT_FAILED, t, NULL);
		break;
	default:
		t = xasprintf("4.4.3 DNS lookup for %s failed temporarily%s%s",
		    r->key, res->error ? ": " : "", res->error ? res->error : "");
		route_done(r, QUEUE_RCPT_DEFERRED, t, NULL);
		break;
	}
	free(t);
}

/* The DNS answer for a domain's MX (or the implicit MX). */
static void
route_mx_done(struct dns_mx_result *res, void *arg)
{
	struct mta_route *r = arg;

	r->dns = NULL;
	r->mx = res;
	r->mx_waiting = false;
	if (r->sts_req == NULL)
		route_resolved(r);
}

/* The domain's MTA-STS answer (mta_sts.h): kept for the route's life. */
static void
route_sts_done(const struct mta_sts_answer *a, void *arg)
{
	struct mta_route *r = arg;

	r->sts_req = NULL;
	if (a->policy != NULL && a->policy->mode != MTA_STS_NONE) {
		r->sts = mta_sts_held_copy(a);
		log_info("- mta sts-policy dest=%s mode=%s mx=%zu", r->key,
		    mta_sts_mode_name(a->policy->mode), a->policy->n_mx);
	}
	if (a->failure != TLSRPT_SUCCESS) {
		log_info("- mta sts-policy-failed dest=%s result=%s (%s)",
		    r->key, tlsrpt_result_name(a->failure),
		    a->failure_text ? a->failure_text : "");
		mta_tls_policy_note_sts_failure(r->key, a);
	}
	if (!r->mx_waiting)
		route_resolved(r);
}

/* The relay host's addresses become a one-host "MX" list. */
static void
route_relay_done(const struct dns_addrs *ar, void *arg)
{
	struct mta_route *r = arg;
	struct dns_mx_result *res = xmalloc(sizeof(*res));
	enum dns_status st = ar->status;
	int n = ar->n;
	const struct dns_addr *a = ar->addr;

	r->dns = NULL;
	res->status = st;
	res->nhosts = 1;
	res->hosts = xcalloc(1, sizeof(*res->hosts));
	res->hosts[0].name = xstrdup(r->relay_host);
	res->hosts[0].naddr = n;
	res->hosts[0].addr_status = st;
	memcpy(res->hosts[0].addr_fam, ar->fam, sizeof(ar->fam));
	if (n > 0) {
		res->hosts[0].addr = xcalloc((size_t)n, sizeof(*a));
		memcpy(res->hosts[0].addr, a, (size_t)n * sizeof(*a));
	}
	if (st == DNS_OK && n > 0) {
		r->mx = res;
		mta_route_try_next(r);
		return;
	}
	r->mx = res;
	route_done(r, QUEUE_RCPT_DEFERRED, st == DNS_TEMPFAIL ?
	    "4.4.3 relay host lookup failed temporarily" :
	    "4.4.4 relay host has no address", NULL);
}

/* "host", "host:port", "[host]:port", "[v6addr]:port". */
static int
parse_relay(const char *spec, char **host_r, int *port_r, int defport)
{
	const char *colon;
	char *end;
	long port = defport;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL)
			return -1;
		*host_r = xstrndup(spec + 1, (size_t)(close - spec - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strrchr(spec, ':');
		if (colon && strchr(spec, ':') != colon)
			colon = NULL;	/* a bare IPv6 address */
		*host_r = colon ? xstrndup(spec, (size_t)(colon - spec)) :
		    xstrdup(spec);
	}
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535) {
			free(*host_r);
			return -1;
		}
	}
	*port_r = (int)port;
	return 0;
}

static void
route_begin(struct mta_route *r)
{
	struct conf *c = mta_conf();
	struct mta_dest *d = dest_get(r->key);

	d->active++;
	active_total++;
	r->port = (int)c->outbound_port;
	r->next = running;
	running = r;
	route_prepare(r);
	if (strcmp(r->key, "[relay]") == 0) {
		if (parse_relay(c->relay_host, &r->relay_host, &r->port,
		    (int)c->outbound_port) < 0) {
			route_done(r, QUEUE_RCPT_DEFERRED,
			    "4.3.5 relay_host is not host:port", NULL);
			return;
		}
		r->dns = dns_resolve_addr(mta_resolver(), r->relay_host,
		    route_relay_done, r);
		return;
	}
	/* The MTA-STS look-up runs beside the MX look-up; route_resolved
	   runs when both answered. */
	r->mx_waiting = true;
	if (c->mta_sts)
		r->sts_req = mta_sts_lookup(mta_loop(), mta_resolver(), r->key,
		    route_sts_done, r);
	r->dns = dns_resolve_mx(mta_resolver(), r->key, route_mx_done, r);
}

void
mta_route_start(struct mta_route *r)
{
	if (active_total >= MTA_MAX_SESSIONS ||
	    mta_route_active(r->key) >= MTA_MAX_PER_DEST) {
		struct mta_route **pp = &waiting;
		while (*pp)
			pp = &(*pp)->next;
		r->next = NULL;
		*pp = r;
		return;
	}
	route_begin(r);
}

static void
route_start_waiting(void)
{
	struct mta_route *r, *next;

	for (r = waiting; r && active_total < MTA_MAX_SESSIONS; r = next) {
		next = r->next;
		if (mta_route_active(r->key) >= MTA_MAX_PER_DEST)
			continue;
		list_remove(&waiting, r);
		route_begin(r);
	}
}

void
mta_route_abort_all(void)
{
	struct mta_route *r;

	while ((r = waiting) != NULL) {
		waiting = r->next;
		route_prepare(r);
		route_settle(r, QUEUE_RCPT_NONE, NULL, NULL);
		mta_route_finished(r);
	}
	while ((r = running) != NULL) {
		running = r->next;
		if (r->sess)
			mta_session_abort(&r->sess);
		if (r->dns)
			dns_cancel(&r->dns);
		if (r->sts_req)
			mta_sts_cancel(&r->sts_req);
		route_settle(r, QUEUE_RCPT_NONE, NULL, NULL);
		mta_route_finished(r);
	}
}
