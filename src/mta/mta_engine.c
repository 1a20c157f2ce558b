/*
 * mta_engine - the delivery engine's life cycle of a message (see
 * mta_engine.h): take due → read content → split by destination → routes
 * (mta_route.c, mta_local.c) → report results durably → bounce → release.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <strings.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "dns/dns.h"
#include "mta/mta_data.h"
#include "mta/mta_engine.h"
#include "mta/mta_int.h"
#include "mta/mta_sts.h"
#include "queue/queue.h"
#include "server/server.h"
#include "server/state.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

static struct loop *eloop;
static pthread_t ethread;
static struct dns_resolver *resolver;
static struct loop_timer *tick_timer, *grace_timer;

/* How long a stop waits for reports in progress to become durable. */
#define MTA_STOP_GRACE_MS	1500
static bool taking, stopping;
static int in_flight;		/* deliveries between take and release */

static void mta_tick(void *arg);

struct loop *
mta_loop(void)
{
	return eloop;
}

struct dns_resolver *
mta_resolver(void)
{
	return resolver;
}

bool
mta_stopping(void)
{
	return stopping;
}

/* Any thread: the queue has something due earlier than before. */
static void
mta_wakeup(void *arg)
{
	(void)arg;
	loop_post(eloop, mta_tick, NULL);
}

static void
mta_schedule_tick(void)
{
	time_t due = queue_next_due(), now = time(NULL);
	unsigned ms = 1000;

	if (due > 0 && due > now)
		ms = (due - now) > 60 ? 60000 : (unsigned)(due - now) * 1000;
	else if (due > 0)
		ms = 10;
	loop_timer_add(tick_timer, ms);
}

/* ---- batch: take due messages, read their content ---- */

struct mta_batch {
	struct queue_msg	*msgs[MTA_TAKE_BATCH];
	int			 n;
	struct mta_delivery	*head;
};

/* What the engine learns from the content while the queue checks it:
 * the wire size, the Received: fields of the header (a loop) and
 * whether any octet is 8-bit (sent with BODY=8BITMIME, or converted for
 * a peer without it, even when the client did not declare it). */
struct mta_scan {
	struct mta_wire_count	 wire;
	unsigned		 hops;
	size_t			 col;		/* bytes into the line */
	char			 start[9];	/* the line's first bytes */
	bool			 body;		/* past the header */
	bool			 eight;		/* an 8-bit octet seen */
};

static void
mta_scan_piece(const char *p, size_t n, void *arg)
{
	struct mta_scan *sc = arg;

	mta_wire_count_feed(&sc->wire, p, n);
	for (size_t i = 0; i < n && !sc->eight; i++)
		sc->eight = (unsigned char)p[i] & 0x80;
	for (size_t i = 0; i < n && !sc->body; i++) {
		if (sc->col == 0 && p[i] == '\n') {
			sc->body = true;	/* the empty line */
			break;
		}
		if (sc->col < sizeof(sc->start))
			sc->start[sc->col] = p[i];
		if (++sc->col == sizeof(sc->start) &&
		    strncasecmp(sc->start, "Received:", 9) == 0)
			sc->hops++;
		if (p[i] == '\n')
			sc->col = 0;
	}
}

static void
mta_take_work(void *arg)
{
	struct mta_batch *b = arg;

	b->n = queue_take_due(time(NULL), b->msgs, MTA_TAKE_BATCH);
	if (b->n < 0)
		b->n = 0;
	for (int i = 0; i < b->n; i++) {
		struct mta_delivery *d = xcalloc(1, sizeof(*d));
		struct mta_scan sc;

		memset(&sc, 0, sizeof(sc));
		d->qm = b->msgs[i];
		d->started = time(NULL);
		d->results = xcalloc((size_t)d->qm->nrcpt, sizeof(int));
		d->texts = xcalloc((size_t)d->qm->nrcpt, sizeof(char *));
		d->relays = xcalloc((size_t)d->qm->nrcpt, sizeof(char *));
		if (queue_open_content(d->qm->id, mta_scan_piece, &sc,
		    &d->qc) < 0)
			log_error("%s mta read-failed error=\"%s\"", d->qm->id,
			    strerror(errno));
		d->wire = mta_wire_count_total(&sc.wire);
		d->hops = sc.hops;
		d->eightbit = sc.eight;
		d->next = b->head;
		b->head = d;
	}
}

static void mta_batch_route(struct mta_batch *b);

static void mta_check_stopped(void);

static void
mta_take_done(void *arg)
{
	struct mta_batch *b = arg;
	int n = b->n;

	taking = false;
	if (stopping) {
		/* not started: back to ready, delivered at the next start */
		struct mta_delivery *d, *next;
		for (d = b->head; d; d = next) {
			next = d->next;
			queue_msg_free(&d->qm);
			queue_content_close(&d->qc);
			free(d->results);
			free(d->texts);
			free(d->relays);
			free(d);
		}
		free(b);
		mta_check_stopped();
		return;
	}
	in_flight += n;
	if (n > 0)
		mta_batch_route(b);
	free(b);
	if (n == MTA_TAKE_BATCH)
		loop_post(eloop, mta_tick, NULL);	/* more may be due */
}

static struct server_state *engine_state;	/* engine thread */

struct conf *
mta_conf(void)
{
	return engine_state->conf;
}

static void
mta_tick(void *arg)
{
	struct mta_batch *b;

	(void)arg;
	if (stopping)
		return;
	/* the newest config from now on (at most a minute late); here,
	 * where no caller holds a pointer into the old one */
	server_state_unref(&engine_state);
	engine_state = server_state_get();
	if (!taking && in_flight + MTA_TAKE_BATCH <= MTA_MAX_MESSAGES) {
		taking = true;
		b = xmalloc(sizeof(*b));
		worker_submit(eloop, mta_take_work, mta_take_done, b);
	}
	mta_schedule_tick();
}

/* ---- routing: which destination each recipient goes to ---- */

static const char *
mta_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

static struct mta_route *
mta_route_get(struct mta_route **list, const char *key, bool local)
{
	struct mta_route *r;

	for (r = *list; r; r = r->next)
		if (strcasecmp(r->key, key) == 0)
			return r;
	r = xmalloc(sizeof(*r));
	r->key = xstrdup(key);
	for (char *s = r->key; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	r->local = local;
	r->next = *list;
	*list = r;
	return r;
}

static struct mta_item *
mta_route_item(struct mta_route *r, struct mta_delivery *d)
{
	struct mta_item *it;

	for (int i = 0; i < r->nitems; i++)
		if (r->items[i].d == d)
			return &r->items[i];
	r->items = xrealloc(r->items, (size_t)(r->nitems + 1) * sizeof(*it));
	it = &r->items[r->nitems++];
	memset(it, 0, sizeof(*it));
	it->d = d;
	d->pending++;
	return it;
}

/* Fails every pending recipient of d now (permanent). */
static void
mta_fail_all(struct mta_delivery *d, const char *text)
{
	for (int i = 0; i < d->qm->nrcpt; i++)
		if (d->qm->rcpts[i].state == QUEUE_STATE_PENDING) {
			d->results[i] = QUEUE_RCPT_FAILED;
			d->texts[i] = xstrdup(text);
		}
}

static void mta_delivery_report(struct mta_delivery *d);

static void
mta_batch_route(struct mta_batch *b)
{
	struct conf *c = mta_conf();
	struct acct_snapshot *acct = server_accounts();
	struct mta_route *routes = NULL, *r, *next;
	struct mta_delivery *d, *dnext;

	for (d = b->head; d; d = dnext) {
		dnext = d->next;
		if (d->qc.fd < 0) {
			/* deleted meanwhile (ENOENT) or unreadable: leave it
			 * to queue_msg_free, which keeps what is pending */
			d->pending = 0;
			mta_delivery_report(d);
			continue;
		}
		if (d->hops > MTA_MAX_HOPS) {
			mta_fail_all(d, "5.4.6 mail forwarding loop: too many "
			    "Received headers");
			mta_delivery_report(d);
			continue;
		}
		for (int i = 0; i < d->qm->nrcpt; i++) {
			struct queue_rcpt *qr = &d->qm->rcpts[i];
			const char *dom = mta_domain_of(qr->address);
			struct mta_item *it;
			bool local = acct && acct_is_local_domain(acct, dom);

			if (qr->state != QUEUE_STATE_PENDING)
				continue;
			if (local)
				r = mta_route_get(&routes, "[local]", true);
			else if (c->relay_host && *c->relay_host)
				r = mta_route_get(&routes, "[relay]", false);
			else
				r = mta_route_get(&routes, dom, false);
			it = mta_route_item(r, d);
			it->idx = xrealloc(it->idx, (size_t)(it->n + 1) *
			    sizeof(int));
			it->idx[it->n++] = i;
		}
		if (d->pending == 0)
			mta_delivery_report(d);
	}
	if (acct)
		acct_snapshot_unref(&acct);
	for (r = routes; r; r = next) {
		next = r->next;
		r->next = NULL;
		if (r->local)
			mta_local_deliver(r);
		else
			mta_route_start(r);
	}
}

/* ---- results ---- */

void
mta_route_finished(struct mta_route *r)
{
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *it = &r->items[i];
		if (--it->d->pending == 0)
			mta_delivery_report(it->d);
	}
	mta_route_free(r);
}

static void
mta_log_results(struct mta_delivery *d)
{
	time_t now = time(NULL);

	for (int i = 0; i < d->qm->nrcpt; i++) {
		const char *st;

		switch (d->results[i]) {
		case QUEUE_RCPT_DELIVERED: st = "sent"; break;
		case QUEUE_RCPT_FAILED: st = "bounced"; break;
		case QUEUE_RCPT_DEFERRED: st = "deferred"; break;
		default: continue;
		}
		log_info("%s mta to=<%s> relay=%s delay=%lds status=%s (%s)",
		    d->qm->id, d->qm->rcpts[i].address,
		    d->relays[i] ? d->relays[i] : "none",
		    (long)(now - d->qm->arrival), st,
		    d->texts[i] ? d->texts[i] : "");
		if (d->results[i] == QUEUE_RCPT_DEFERRED)
			METRIC_INC(M_MSG_DEFERRED, 0);
		else if (d->results[i] == QUEUE_RCPT_DELIVERED && (d->relays[i]
		    == NULL || strcmp(d->relays[i], "local") != 0))
			METRIC_INC(M_MSG_DELIVERED, MD_REMOTE);
	}
}

static void
mta_report_work(void *arg)
{
	struct mta_delivery *d = arg;

	if (queue_report(d->qm, d->results, d->texts) < 0 && errno != ENOENT)
		log_error("%s mta report-failed error=\"%s\"", d->qm->id,
		    strerror(errno));
}


static void
mta_report_done(void *arg)
{
	struct mta_delivery *d = arg;

	mta_bounce(d);
}

static void
mta_delivery_report(struct mta_delivery *d)
{
	bool any = false;

	for (int i = 0; i < d->qm->nrcpt; i++)
		if (d->results[i] != QUEUE_RCPT_NONE)
			any = true;
	mta_log_results(d);
	if (!any) {
		mta_bounce(d);
		return;
	}
	worker_submit(eloop, mta_report_work, mta_report_done, d);
}

void
mta_delivery_free(struct mta_delivery *d)
{
	for (int i = 0; i < d->qm->nrcpt; i++) {
		free(d->texts[i]);
		free(d->relays[i]);
	}
	free(d->texts);
	free(d->relays);
	free(d->results);
	queue_content_close(&d->qc);
	queue_msg_free(&d->qm);
	free(d);
	in_flight--;
	if (!stopping)
		loop_post(eloop, mta_tick, NULL);
	else
		mta_check_stopped();
}

/* ---- thread ---- */

static void *
mta_thread_main(void *arg)
{
	(void)arg;
	loop_run(eloop);
	return NULL;
}

int
mta_engine_start(char **error_r)
{
	struct conf *c;

	engine_state = server_state_get();
	c = engine_state->conf;
	eloop = loop_new();
	resolver = dns_resolver_open(eloop, c->dns_server,
	    c->dns_trust_anchor_file, error_r);
	if (resolver == NULL) {
		loop_free(&eloop);
		return -1;
	}
	mta_sts_init(c, eloop, resolver);
	tick_timer = loop_timer_new(eloop, mta_tick, NULL);
	loop_timer_add(tick_timer, 10);
	queue_set_wakeup(mta_wakeup, NULL);
	if (queue_listen(eloop, error_r) < 0)	/* storage = postgresql */
		return -1;
	if (pthread_create(&ethread, NULL, mta_thread_main, NULL) != 0) {
		*error_r = xstrdup("cannot start the delivery thread");
		return -1;
	}
	return 0;
}

/* Stopping: the loop runs on until every delivery has been released
 * (worker jobs in progress post their completions here), or the grace
 * time is over. */
static void
mta_check_stopped(void)
{
	if (stopping && in_flight == 0 && !taking)
		loop_break(eloop);
}

static void
mta_stop_grace_over(void *arg)
{
	(void)arg;
	log_warn("- mta stop deliveries-left=%d", in_flight);
	loop_break(eloop);
}

static void
mta_stop_on_loop(void *arg)
{
	(void)arg;
	stopping = true;
	loop_timer_del(tick_timer);
	mta_route_abort_all();
	mta_pool_close_all();
	grace_timer = loop_timer_new(eloop, mta_stop_grace_over, NULL);
	loop_timer_add(grace_timer, MTA_STOP_GRACE_MS);
	mta_check_stopped();
}

void
mta_engine_stop(void)
{
	if (eloop == NULL)
		return;
	queue_set_wakeup(NULL, NULL);
	queue_unlisten();
	loop_post(eloop, mta_stop_on_loop, NULL);
	pthread_join(ethread, NULL);
	mta_sts_shutdown();	/* its results still posted run in loop_free */
	dns_resolver_free(&resolver);
	loop_timer_free(&tick_timer);
	loop_timer_free(&grace_timer);
	loop_free(&eloop);
	server_state_unref(&engine_state);
}
