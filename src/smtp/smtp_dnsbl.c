/*
 * smtp_dnsbl - DNS block lists asked when a client connects to port 25
 * (config dnsbl_zones; none by default). A client whose reversed address
 * has an A record 127.0.0.x under a zone is refused with
 * "554 5.7.1 ... blocked using ZONE; REASON" (the zone's TXT record, when
 * it has one) and the connection closed. DNS trouble lets the client in:
 * a block list that cannot be asked must not stop the mail.
 *
 * Trust: the answers come from the block lists' servers; only "is there a
 * 127.0.0.x address" and a printable, bounded TXT text are used.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "smtp/smtp_session.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DNSBL_MAX 16

struct smtp_dnsbl;

struct dnsbl_query {
	struct smtp_dnsbl	*b;
	int			 i;		/* zone index */
	struct dns_request	*req;		/* NULL once answered */
	char			*name;		/* reversed address . zone */
};

struct smtp_dnsbl {
	struct smtp_session	*s;
	int			 pending;
	int			 listed;	/* zone index, or -1 */
	char			*reason;
	struct dnsbl_query	 q[DNSBL_MAX];
	int			 nq;
};

static void dnsbl_finish(struct smtp_dnsbl *b);

/* "4.3.2.1" for 1.2.3.4; nibbles for IPv6. NULL: not an address. */
static char *
dnsbl_reverse(const char *ip)
{
	unsigned char a[16];
	char out[80];
	size_t n = 0;

	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, sizeof(out), "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
		return xstrdup(out);
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return NULL;
	for (int i = 15; i >= 0; i--)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%x.%x.",
		    a[i] & 15, a[i] >> 4);
	out[n - 1] = '\0';
	return xstrdup(out);
}

static void
dnsbl_free(struct smtp_dnsbl *b)
{
	for (int i = 0; i < b->nq; i++) {
		dns_cancel(&b->q[i].req);
		free(b->q[i].name);
	}
	free(b->reason);
	free(b);
}

void
smtp_dnsbl_cancel(struct smtp_session *s)
{
	if (s->dnsbl) {
		dnsbl_free(s->dnsbl);
		s->dnsbl = NULL;
	}
}

static void
dnsbl_txt_done(enum dns_status st, int n, char **txt, void *arg)
{
	struct dnsbl_query *q = arg;
	struct smtp_dnsbl *b = q->b;

	q->req = NULL;
	if (st == DNS_OK && n > 0) {
		b->reason = xstrndup(txt[0], 200);
		for (char *p = b->reason; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				*p = '?';
	}
	b->pending--;
	dnsbl_finish(b);
}

static void
dnsbl_addr_done(const struct dns_addrs *res, void *arg)
{
	struct dnsbl_query *q = arg;
	struct smtp_dnsbl *b = q->b;
	enum dns_status st = res->status;
	int n = res->n;
	const struct dns_addr *a = res->addr;

	q->req = NULL;
	b->pending--;
	for (int k = 0; st == DNS_OK && k < n && b->listed < 0; k++) {
		const struct sockaddr_in *in = (const void *)&a[k].ss;
		if (a[k].ss.ss_family == AF_INET &&
		    (ntohl(in->sin_addr.s_addr) >> 24) == 127) {
			b->listed = q->i;
			/* the list's reason, if it publishes one */
			b->pending++;
			q->req = dns_resolve_txt(server_thread_resolver(
			    b->s->base.thread), q->name, dnsbl_txt_done, q);
		}
	}
	dnsbl_finish(b);
}

static void
dnsbl_finish(struct smtp_dnsbl *b)
{
	struct smtp_session *s = b->s;

	if (b->pending > 0)
		return;
	s->dnsbl = NULL;
	if (b->listed >= 0) {
		const char *zone = s->conf->dnsbl_zones.v[b->listed];
		log_info("%s smtp dnsbl-listed addr=%s zone=%s", s->base.id,
		    s->base.ip, zone);
		smtp_reply(s, "554 5.7.1 Service unavailable; client [%s] "
		    "blocked using %s%s%s", s->base.ip, zone,
		    b->reason ? "; " : "", b->reason ? b->reason : "");
		dnsbl_free(b);
		smtp_session_close(s);
		return;
	}
	dnsbl_free(b);
	smtp_greet(s);
}

/* At connect: true when the check started (the greeting waits for it). */
bool
smtp_dnsbl_start(struct smtp_session *s)
{
	const struct conf_strlist *z = &s->conf->dnsbl_zones;
	struct dns_resolver *r;
	struct smtp_dnsbl *b;
	char *rev;

	if (s->base.svc != SVC_SMTP || z->n == 0)
		return false;
	r = server_thread_resolver(s->base.thread);
	rev = dnsbl_reverse(s->base.ip);
	if (r == NULL || rev == NULL) {
		free(rev);
		return false;
	}
	b = xmalloc(sizeof(*b));
	b->s = s;
	b->listed = -1;
	s->dnsbl = b;
	s->busy = true;		/* nothing is read before the greeting */
	io_pause_read(s->io);
	for (int i = 0; i < z->n && i < DNSBL_MAX; i++) {
		b->q[i].b = b;
		b->q[i].i = i;
		b->q[i].name = xasprintf("%s.%s", rev, z->v[i]);
		b->nq++;
		b->pending++;
	}
	free(rev);
	for (int i = 0; i < b->nq; i++)
		b->q[i].req = dns_resolve_addr(r, b->q[i].name, dnsbl_addr_done,
		    &b->q[i]);
	return true;
}
