/*
 * metrics_list - the metrics tem exports: one enum, one table
 * (metrics_list.c). A site counts with one line:
 *   METRIC_INC(M_MSG_RECEIVED, 0);
 *   METRIC_INC(M_AUTH, MA_FAIL * MP_COUNT + MP_IMAP);   (two dimensions)
 * Label values are the enums below, in the table's order.
 *
 * Trust: internal.
 */
#ifndef TEM_METRICS_LIST_H
#define TEM_METRICS_LIST_H

#include "util/metrics.h"

enum metric_id {
	M_BUILD_INFO, M_START_TIME, M_RSS, M_FDS,
	M_SESSIONS, M_SESSIONS_OPEN,
	M_MSG_RECEIVED, M_MSG_DELIVERED, M_MSG_DEFERRED, M_MSG_BOUNCED,
	M_MSG_REJECTED,
	M_QUEUE_SIZE, M_QUEUE_OLDEST,
	M_AUTH_OK, M_AUTH_FAIL,
	M_TLS_OK, M_TLS_FAIL,
	M_SPF, M_DKIM, M_DMARC,
	M_COMMIT_SECONDS,
	M_COUNT
};

/* protocol (sessions, logins) */
enum { MP_SMTP, MP_SUBMISSION, MP_IMAP, MP_POP3, MP_MANAGESIEVE, MP_HTTP };
/* delivered: where */
enum { MD_LOCAL, MD_REMOTE };
/* rejected: reason class */
enum { MR_POLICY, MR_SPAM, MR_SIEVE, MR_SIZE, MR_QUOTA };
/* TLS service: SVC_* order for the first eight (server.h) */
enum { MT_HTTPS = 8, MT_OUTBOUND = 9 };
/* SPF/DKIM/DMARC result: RFC 8601 names */
enum { MX_PASS, MX_FAIL, MX_SOFTFAIL, MX_NEUTRAL, MX_NONE, MX_TEMPERROR,
    MX_PERMERROR, MX_POLICY };
/* commit latency: which committer */
enum { MC_MAILDIR, MC_QUEUE };

/* enum service (server/server.h) to the protocol and TLS service labels:
 * SMTP, SUBMISSION, SUBMISSIONS, IMAP, IMAPS, POP3, POP3S, MANAGESIEVE
 * are 0..7 (server.c asserts it); anything after is HTTP. */
static inline unsigned
metrics_proto(int svc)
{
	static const unsigned char p[] = { MP_SMTP, MP_SUBMISSION,
	    MP_SUBMISSION, MP_IMAP, MP_IMAP, MP_POP3, MP_POP3,
	    MP_MANAGESIEVE };
	return svc >= 0 && svc < 8 ? p[svc] : MP_HTTP;
}

static inline unsigned
metrics_tls_service(int svc)
{
	return svc >= 0 && svc < 8 ? (unsigned)svc : MT_HTTPS;
}

extern struct metric metrics_tem[M_COUNT];

#define METRIC_INC(id, i)	metric_add(&metrics_tem[id], (i), 1)
#define METRIC_ADD(id, i, n)	metric_add(&metrics_tem[id], (i), (n))

/* The MX_* index of an RFC 8601 result name ("pass", "fail" ...). */
unsigned metrics_result_index(const char *result);

#endif
