/*
 * mta_session_tls - the outbound session's TLS policy (mta_tls_policy.h):
 * the check of the peer after the handshake, what a policy does when
 * STARTTLS is missing or the handshake fails, the tls-policy-failed log
 * line and one TLS-RPT event per TLS attempt.
 *
 * Trust: the peer's certificates and greeting are untrusted; the check
 * itself is mta_tls_policy.c's, the peer's EHLO name is cut to host-name
 * characters and 255 octets before it is kept.
 *
 * Callers: mta_session.c. Tests: src/mta/test-mta-session.c.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mta/mta_session_int.h"
#include "mta/mta_tls_policy.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/metrics_list.h"
#include "util/xmalloc.h"

/* Our address on the connection, for TLS-RPT's sending-mta-ip. */
static void
mta_local_ip(const struct mta_session *s, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	out[0] = '\0';
	if (s->io == NULL || getsockname(io_fd(s->io),
	    (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)len,
	    NULL, 0, NI_NUMERICHOST) != 0)
		out[0] = '\0';
}

/* One TLS-RPT event for this connection's TLS attempt. */
static void
mta_tls_note(struct mta_session *s, enum tlsrpt_result r, const char *why)
{
	char local[64];

	mta_local_ip(s, local, sizeof(local));
	mta_tls_policy_note(s->p.tls_policy, r, local[0] ? local : NULL,
	    s->addr_str, s->peer_helo[0] ? s->peer_helo : NULL, why);
}

void
mta_note_helo(struct mta_session *s, const struct smtp_reply *r)
{
	size_t n = 0;

	if (s->peer_helo[0] != '\0')
		return;
	for (const char *p = r->text; *p && n < sizeof(s->peer_helo) - 1;
	    p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(".-_:[]", *p)))
			break;
		s->peer_helo[n++] = *p;
	}
	s->peer_helo[n] = '\0';
}

bool
mta_tls_refuse(struct mta_session *s, enum tlsrpt_result r,
    const char *why)
{
	const struct mta_tls_policy *pol = s->p.tls_policy;
	bool enforced = mta_tls_policy_requires_tls(pol);
	char *t;

	log_info("%s mta tls-policy-failed host=%s policy=%s result=%s "
	    "enforced=%s (%s)", s->id, s->host_label,
	    mta_tls_policy_name(pol), tlsrpt_result_name(r),
	    enforced ? "yes" : "no", why);
	mta_tls_note(s, r, why);
	if (!enforced)
		return false;
	t = xasprintf("4.7.5 TLS policy %s of host %s not met: %s (%s)",
	    mta_tls_policy_name(pol), s->host_label, tlsrpt_result_name(r),
	    why);
	mta_quit(s, MTA_CONN_TEMP, t);
	free(t);
	return true;
}

bool
mta_tls_not_offered(struct mta_session *s)
{
	const struct mta_tls_policy *pol = s->p.tls_policy;

	if (pol == NULL)
		return false;
	if (pol->mode == MTA_TLS_OPPORTUNISTIC) {
		mta_tls_note(s, TLSRPT_STARTTLS_NOT_SUPPORTED, NULL);
		return false;
	}
	return mta_tls_refuse(s, TLSRPT_STARTTLS_NOT_SUPPORTED,
	    "STARTTLS not offered");
}

bool
mta_tls_checked(struct mta_session *s)
{
	char desc[128], why[256];
	void *ssl = io_ssl(s->io);
	const struct mta_tls_policy *pol = s->p.tls_policy;
	enum tlsrpt_result res;

	tls_describe(ssl, desc, sizeof(desc));
	res = mta_tls_policy_check_ssl(pol, ssl, why, sizeof(why));
	s->tls_verified = res == TLSRPT_SUCCESS && pol != NULL &&
	    pol->mode != MTA_TLS_OPPORTUNISTIC;
	log_info("%s mta tls host=%s %s policy=%s verified=%s", s->id,
	    s->host_label, desc, mta_tls_policy_name(pol),
	    s->tls_verified ? "yes" : "no");
	METRIC_INC(M_TLS_OK, MT_OUTBOUND);
	if (res == TLSRPT_SUCCESS) {
		mta_tls_note(s, TLSRPT_SUCCESS, NULL);
		return true;
	}
	return !mta_tls_refuse(s, res, why);
}

void
mta_tls_failed(struct mta_session *s)
{
	const struct mta_tls_policy *pol = s->p.tls_policy;
	char *t;

	log_info("%s mta tls-failed host=%s policy=%s", s->id, s->host_label,
	    mta_tls_policy_name(pol));
	METRIC_INC(M_TLS_FAIL, MT_OUTBOUND);
	mta_tls_note(s, TLSRPT_VALIDATION_FAILURE, "handshake failed");
	if (!mta_tls_policy_requires_tls(pol)) {
		/* the route may retry in clear */
		mta_finish(s, MTA_CONN_TEMP, "TLS handshake failed");
		return;
	}
	t = xasprintf("4.7.5 TLS handshake failed with host %s (policy %s)",
	    s->host_label, mta_tls_policy_name(pol));
	mta_finish(s, MTA_CONN_TEMP, t);
	free(t);
}
