/*
 * mta_int - the delivery engine's internal structures (mta_engine.c,
 * mta_route.c, mta_local.c only).
 */
#ifndef TEM_MTA_INT_H
#define TEM_MTA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mta/mta_session.h"
#include "queue/queue.h"

struct loop;
struct dns_resolver;
struct dns_mx_result;
struct dns_request;
struct mta_sts_held;
struct mta_sts_request;
struct mta_tls_policy;

/* One queued message being delivered. */
struct mta_delivery {
	struct queue_msg	*qm;
	/* The content stays in the queue file: checked once when taken,
	   then read in pieces (sessions, bounces, local copies). fd -1:
	   unreadable (gone, damaged, a disk error). */
	struct queue_content	 qc;
	size_t			 wire;		/* with CRLF line ends */
	unsigned		 hops;		/* Received: header fields */
	bool			 eightbit;	/* an 8-bit octet in the content */
	int			*results;	/* QUEUE_RCPT_* per recipient */
	char			**texts;	/* reply text per recipient */
	char			**relays;	/* "host[addr]" per recipient */
	int			 pending;	/* routes not finished */
	time_t			 started;
	struct mta_delivery	*next;		/* in a batch */
};

/* One message's share of a route: the recipients going there. */
struct mta_item {
	struct mta_delivery	*d;
	int			*idx;		/* recipient indexes in d->qm */
	int			 n;
	struct mta_msg		 mm;		/* what the session sends */
	/* REQUIRETLS refused it at a host (5.7.10/5.7.30) and the next MX
	   host gets the chance (RFC 8689 4.2.1); when none is left it
	   fails with the route's rt_text. */
	bool			 rt_refused;
};

/* One destination (a domain, the relay host, or local delivery) with
 * the messages of a batch that go there. */
struct mta_route {
	char			*key;		/* domain, "[relay]" or "[local]" */
	bool			 local;
	struct mta_item		*items;
	int			 nitems;
	/* where to try, in order */
	struct dns_mx_result	*mx;
	int			 host_i, addr_i;
	int			 port;
	char			*last_error;
	bool			 no_tls;	/* retrying after a TLS failure */
	struct mta_session	*sess;
	char			*pool_key;	/* of sess (mta_pool.c) */
	bool			 reused;	/* sess came from the pool */
	struct dns_request	*dns;		/* look-up in progress */
	struct mta_msg		**msgs;		/* the items' mm, for the session */
	int			 nmsgs;		/* all items, or those left for
						   the next MX host */
	char			*rt_text;	/* the last REQUIRETLS refusal */
	char			*relay_host;	/* "[relay]": its host part */
	/* TLS policy (mta_tls_policy.h). The MTA-STS look-up runs beside
	   the MX look-up; the route goes on when both answered. */
	struct mta_sts_request	*sts_req;	/* look-up in progress */
	struct mta_sts_held	*sts;		/* the domain's policy, or NULL */
	bool			 mx_waiting;	/* MX answer not yet in */
	struct mta_tls_policy	*pol;		/* of hosts[pol_for - 1] */
	int			 pol_for;	/* host_i + 1; 0: none yet */
	struct mta_route	*next;		/* waiting or running list */
};

/* mta_engine.c */
struct loop *mta_loop(void);
/* The config the engine works with (engine thread): the running state's,
 * held by the engine and refreshed at each batch, so a reload never
 * frees it under a delivery. */
struct conf *mta_conf(void);
struct dns_resolver *mta_resolver(void);
/* A route finished: copy its results into its deliveries. */
void mta_route_finished(struct mta_route *r);
bool mta_stopping(void);
/* Releases a delivery (its file, its queue entry) and takes more. */
void mta_delivery_free(struct mta_delivery *d);

/* mta_bounce.c: queues the failure DSN d needs, if any, then frees d. */
void mta_bounce(struct mta_delivery *d);

/* mta_route.c */
void mta_route_start(struct mta_route *r);
/* Tries the next address, or host, of the route (or ends it). */
void mta_route_try_next(struct mta_route *r);

/* mta_route_tls.c: sets r->pol for hosts[host_i]. MTA_POL_WAIT: a TLSA
 * look-up runs and calls mta_route_try_next when answered; MTA_POL_SKIP:
 * the policy forbids this host (r->last_error says why). */
enum mta_pol_step { MTA_POL_READY, MTA_POL_WAIT, MTA_POL_SKIP };
enum mta_pol_step mta_route_host_policy(struct mta_route *r);
void mta_route_free(struct mta_route *r);
void mta_route_abort_all(void);
/* Sessions in progress (for the global and per-destination limits). */
int mta_route_active(const char *key);
int mta_route_active_total(void);

/* mta_pool.c: idle connections for the next batch (mta_session.h,
 * p.reuse), keyed by destination + host[addr]:port + TLS policy. */
#define MTA_IDLE_MS		5000	/* an idle connection waits this long */
#define MTA_IDLE_MAX		16	/* idle connections in all */
#define MTA_IDLE_PER_DEST	2	/* idle connections to one destination */
/* Takes an idle session s (from its done()) for key, or closes it with
   QUIT when a limit is reached or the engine stops. */
void mta_pool_put(const char *dest, const char *key, struct mta_session *s);
/* An idle session for key, taken out of the pool (the caller continues
   or ends it), or NULL. */
struct mta_session *mta_pool_take(const char *key);
/* At the engine's stop: every kept connection closed at once. */
void mta_pool_close_all(void);

/* mta_local.c: delivers the route's recipients into local mailboxes. */
void mta_local_deliver(struct mta_route *r);

#endif
