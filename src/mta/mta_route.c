/*
 * mta_route - delivery to one remote destination: resolve (relay_host or
 * MX, RFC 5321 5.1), try each address of each host in order, run one
 * SMTP session carrying every message of the batch for that destination,
 * and turn the outcome into per-recipient results.
 *
 * Trust: DNS answers and remote replies are untrusted; only their status
 * classes steer what happens (2xx sent, 4xx deferred, 5xx failed).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "mta/mta_engine.h"
#include "mta/mta_int.h"
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
	free(r->last_error);
	free(r->relay_host);
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

	route_settle(r, result, text, relay);
	if (r->port) {			/* held a session slot */
		d->active--;
		active_total--;
	}
	list_remove(&running, r);
	mta_route_finished(r);
	route_start_waiting();
}

static void route_try_next(struct mta_route *r);
static void route_begin(struct mta_route *r);

static void
route_session_done(struct mta_session *s, int status, const char *text,
    void *arg)
{
	struct mta_route *r = arg;
	struct dns_mx_host *h = &r->mx->hosts[r->host_i];
	char relay[320], addr[INET6_ADDRSTRLEN] = "?";
	const struct dns_addr *a = &h->addr[r->addr_i];

	r->sess = NULL;
	if (a->ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->
		    sin6_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->
		    sin_addr, addr, sizeof(addr));
	snprintf(relay, sizeof(relay), "%s[%s]:%d", h->name, addr, r->port);
	(void)s;
	if (status == MTA_OK) {
		route_done(r, QUEUE_RCPT_DEFERRED,
		    "4.4.2 lost connection before the message was sent",
		    relay);
		return;
	}
	free(r->last_error);
	r->last_error = xstrdup(text ? text : "connection failed");
	log_info("- mta attempt-failed dest=%s relay=%s status=%d (%s)",
	    r->key, relay, status, r->last_error);
	if (text && strstr(text, "TLS handshake failed") && !r->no_tls) {
		r->no_tls = true;	/* opportunistic: try again in clear */
		route_try_next(r);
		return;
	}
	r->no_tls = false;
	r->addr_i++;
	route_try_next(r);
}

static void
route_try_next(struct mta_route *r)
{
	struct conf *c = mta_conf();
	struct mta_session_params p;
	struct sockaddr_storage bind_ss;
	socklen_t bind_len = 0;

	while (r->host_i < r->mx->nhosts &&
	    r->addr_i >= r->mx->hosts[r->host_i].naddr) {
		r->host_i++;
		r->addr_i = 0;
	}
	if (r->host_i >= r->mx->nhosts || mta_stopping()) {
		char *t = xasprintf("4.4.1 %s", r->last_error ?
		    r->last_error : "no host could be reached");
		route_done(r, QUEUE_RCPT_DEFERRED, t, NULL);
		free(t);
		return;
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
	if (r->msgs == NULL) {
		r->msgs = xcalloc((size_t)r->nitems, sizeof(*r->msgs));
		for (int i = 0; i < r->nitems; i++)
			r->msgs[i] = &r->items[i].mm;
	}
	r->sess = mta_session_start(&p, r->msgs, r->nitems, route_session_done,
	    r);
}

/* The DNS answer for a domain's MX (or the implicit MX). */
static void
route_mx_done(struct dns_mx_result *res, void *arg)
{
	struct mta_route *r = arg;
	char *t;

	r->dns = NULL;
	r->mx = res;
	switch (res->status) {
	case DNS_OK:
		route_try_next(r);
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
		route_try_next(r);
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
		route_settle(r, QUEUE_RCPT_NONE, NULL, NULL);
		mta_route_finished(r);
	}
}
