/*
 * mta_session - one outbound SMTP connection carrying one or more messages
 * to one host (RFC 5321 client side).
 *
 * Trust: talks to remote servers, whose replies are untrusted (parsed by
 * smtp_reply.c with its limits). The messages and addresses come from our
 * own queue; they are still checked for control characters before they go
 * into a command line, so nothing stored can inject a command.
 *
 * What it does: connect (bind to bind_addr when set), read the greeting,
 * EHLO (HELO when EHLO gets a 5xx), STARTTLS when offered (then EHLO
 * again), and then, for each message in turn on the same connection:
 * MAIL FROM (SIZE=, BODY=8BITMIME, SMTPUTF8, RET=, ENVID= as the peer
 * allows), RCPT TO (NOTIFY=, ORCPT= when the peer offers DSN), DATA, the
 * content (LF to CRLF, dot-stuffed), with MAIL+RCPT+DATA sent as one group
 * when the peer offers PIPELINING; RSET between messages when a
 * transaction was left open; QUIT at the end, or, with p.reuse, an idle
 * connection handed to the caller for its next batch to the same host
 * (mta_session_continue, RSET first as a probe).
 *
 * Messages the peer cannot take are refused locally, with a permanent
 * result and no command sent: larger than the peer's SIZE (5.3.4),
 * SMTPUTF8 needed but not offered (5.6.7), REQUIRETLS without verified
 * TLS (5.7.10) or not offered by the peer (5.7.30). 8-bit content for a peer
 * without 8BITMIME is converted to 7-bit while it is sent (mta_7bit.h,
 * no BODY= nor SIZE=); when that turns out impossible (8-bit in a
 * header) the connection ends without the end marker and the accepted
 * recipients fail 5.6.3 (the batch's later messages stay untouched and
 * are tried again).
 *
 * TLS policy (p->tls_policy, mta_tls_policy.h): after the handshake the
 * peer's chain is checked (DANE, MTA-STS); a failure under a policy that
 * requires TLS, or no STARTTLS offered, ends the session with
 * MTA_CONN_TEMP and a "4.7.5 ..." text before any message (never sent in
 * clear); MTA-STS testing only logs and reports. Each TLS attempt is one
 * TLS-RPT event (policy/tlsrpt.h).
 *
 * Logs one line per connection event under its id: "mta connect",
 * "mta tls" (with policy= and verified=), "mta tls-policy-failed", "mta
 * error", "mta reuse", "mta idle-closed", "mta disconnect". Per-recipient
 * delivery lines are the caller's.
 */
#ifndef TEM_MTA_SESSION_H
#define TEM_MTA_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

#include "mail/dsn.h"

struct loop;
struct mta_session;
struct mta_tls_policy;
struct queue_content;

/* done() statuses. */
#define MTA_OK		0	/* the session ran; results are in the msgs */
#define MTA_CONN_FAILED	1	/* connect refused, unreachable, timed out */
#define MTA_CONN_TEMP	2	/* 4xx greeting/EHLO, lost connection or
				   timeout before any message, TLS failure */
#define MTA_CONN_PERM	3	/* 5xx greeting or HELO (RFC 5321 5.1: try
				   the next MX anyway; the caller decides) */

/* rcpt_result values. */
#define MTA_RCPT_UNTOUCHED	0	/* not attempted */
#define MTA_RCPT_OK		2	/* accepted by the peer's final reply */
#define MTA_RCPT_TEMP		4
#define MTA_RCPT_PERM		5

/* One message to send. Everything is the caller's and must stay valid
   until done() returns. */
struct mta_msg {
	/* Addresses as they go between "<" and ">" (quoted where needed);
	   "" for the null sender. */
	const char	 *sender;
	int		  nrcpt;
	const char	**rcpts;
	/* DSN parameters, sent only when the peer offers DSN: per recipient
	   ORCPT as received ("rfc822;xtext") and DSN_NOTIFY_* bits (0:
	   none); either array may be NULL, an entry NULL / 0. */
	const char	**orcpt;
	const unsigned	 *notify;
	const char	 *envid;	/* xtext, or NULL */
	int		  ret;		/* DSN_RET_*, or 0 */
	/* The message as stored: LF line ends (CRLF is taken as one line
	   end too). Sent with CRLF and dot-stuffing. Either in memory
	   (content, len), or, when content is NULL, the queue file's
	   content (file, the caller's until done() returns; len =
	   file->len): the session reads it MTA_CHUNK bytes at a time on the
	   worker pool (util/worker.c) as the peer takes it, so memory per
	   session is a fixed buffer whatever the message's size. */
	const char	 *content;
	size_t		  len;
	const struct queue_content *file;
	size_t		  wire;		/* file: its size with CRLF line ends
					   (mta_data.h), for SIZE= */
	bool		  eightbit;	/* content holds 8-bit octets */
	bool		  smtputf8;	/* addresses/headers need SMTPUTF8 */
	/* RFC 8689: sent only over TLS verified by DANE or MTA-STS
	   (mta_session_tls_verified), with REQUIRETLS on MAIL FROM; else
	   refused locally with 5.7.10 (no verified TLS) or 5.7.30 (the
	   peer does not offer REQUIRETLS). */
	bool		  requiretls;
	/* RFC 8689 3: the message said "TLS-Required: No" (and had no
	   REQUIRETLS): the destination's DANE/MTA-STS policy may be relaxed
	   to opportunistic TLS for it. Read by the route's policy code,
	   not by the session. */
	bool		  tls_optional;

	/*
	 * Results, nrcpt entries each, allocated (zeroed) by the caller and
	 * filled by the session: rcpt_result MTA_RCPT_*; rcpt_text a
	 * malloc'd line that the caller frees (an old value is freed when
	 * replaced). From the peer: "host NAME[ADDR] said: 550 5.1.1 <x>:
	 * user unknown (in reply to RCPT TO command)"; from the session:
	 * "5.3.4 message size ... of host NAME[ADDR]" or "lost connection
	 * with host NAME[ADDR] while ...". dsn_status_from_reply() reads the
	 * status back from either form.
	 */
	int		 *rcpt_result;
	char		**rcpt_text;
};

struct mta_session_params {
	struct loop		*loop;
	const char		*log_id;	/* NULL: a new one */
	const char		*helo_name;	/* our hostname */
	const char		*host_name;	/* the peer's (MX) name, for SNI,
						   logs and texts; NULL: addr */
	struct sockaddr_storage	 addr;		/* port already set */
	socklen_t		 addrlen;
	const struct sockaddr	*bind_addr;	/* NULL: any */
	socklen_t		 bind_len;
	/* Seconds; 0 takes the default shown (RFC 5321 4.5.3.2). */
	unsigned		 connect_timeout; /* 30 */
	unsigned		 command_timeout; /* 300: per reply, per chunk */
	unsigned		 data_timeout;	  /* 600: reply to the final dot */
	bool			 tls_required;	/* no TLS: MTA_CONN_TEMP */
	bool			 no_tls;	/* skip STARTTLS (retry after a
						   failed handshake) unless
						   tls_required */
	/* The destination's TLS policy for this host (DANE TLSA records,
	   MTA-STS), mta/mta_tls_policy.h; NULL: opportunistic TLS. The
	   caller's, valid until done() returns. */
	const struct mta_tls_policy *tls_policy;
	/* Keep the connection after the last message when it is healthy
	   (ESMTP, nothing open, fewer than MTA_REUSE_MAX_MSGS messages and
	   younger than MTA_REUSE_MAX_AGE seconds): done() then gets an
	   idle session (mta_session_idle), see mta_session_continue. */
	bool			 reuse;
};

#define MTA_REUSE_MAX_MSGS	100	/* messages one connection carries */
#define MTA_REUSE_MAX_AGE	300	/* seconds from connect to last reuse */

typedef void mta_done_fn(struct mta_session *s, int status,
    const char *text, void *arg);

/*
 * Starts the session on p->loop (the strings and addresses in p are
 * copied; msgs and what they point to are not). Messages are sent in
 * order on one connection. done() is called exactly once, from a later
 * loop turn (never from inside mta_session_start), with MTA_OK when the
 * session got through the greeting and EHLO (text "" or why it ended
 * early), or an MTA_CONN_* status and a text for logs ("connect to
 * host[addr]: Connection refused", "TLS handshake failed", the peer's
 * reply...). After a connection-level failure every message is untouched;
 * after MTA_OK, messages never attempted (the connection died or the
 * peer said 421 before them) keep MTA_RCPT_UNTOUCHED, and the recipients
 * of a message cut off mid-way get MTA_RCPT_TEMP (a message whose final
 * dot was sent but not answered may be delivered twice, as RFC 5321 6.1
 * allows). The session is freed when done() returns: do not keep s.
 */
struct mta_session *mta_session_start(const struct mta_session_params *p,
    struct mta_msg **msgs, int nmsgs, mta_done_fn *done, void *arg);

/* Closes the connection at once and frees s without calling done() (for
   shutdown). Results already written stay; the message in progress may
   have partial results. Not from inside done(). */
void mta_session_abort(struct mta_session **s);

/*
 * Connection reuse (p.reuse). When done() is called with MTA_OK and
 * mta_session_idle(s) is true, the session is NOT freed after done()
 * returns: the caller owns it and must end it with mta_session_continue,
 * mta_session_close or mta_session_abort. While idle the connection is
 * watched: a close, an error or any byte from the peer (a 421 on its
 * idle timeout) ends it, and mta_session_idle turns false. The TLS
 * state (mta_session_tls, _tls_verified) and the EHLO capabilities stay
 * those of the connection.
 */
bool mta_session_idle(const struct mta_session *s);
/*
 * Sends the next batch on an idle session: RSET as a probe, then the
 * messages as mta_session_start does, done() called once the same way.
 * A probe that fails (connection lost, timeout, a non-2xx reply) ends the
 * session with MTA_CONN_TEMP (or _PERM) and every message untouched, so
 * the caller can open a new connection for them. Logs "mta reuse
 * host=NAME[ADDR] messages=N sent=M" (N this batch, M carried so far).
 * False (nothing done) when s is no longer idle.
 */
bool mta_session_continue(struct mta_session *s, struct mta_msg **msgs,
    int nmsgs, mta_done_fn *done, void *arg);
/* Ends an idle session politely: QUIT (when still connected), then
   done(s, MTA_OK, "", arg) from a later loop turn, then s is freed. */
void mta_session_close(struct mta_session *s, mta_done_fn *done, void *arg);

/* The session's log id (16 hex digits, or p->log_id). */
const char *mta_session_id(const struct mta_session *s);
/* The peer's EHLO capabilities (SMTP_CAP_* from smtp_reply.h; 0 after
   HELO), e.g. to tell whether DSN requests were passed on. */
unsigned mta_session_caps(const struct mta_session *s);
/* True when the connection is (was) encrypted. */
bool mta_session_tls(const struct mta_session *s);
/* True when the peer was authenticated by the TLS policy (a DANE match,
   or a PKIX-valid certificate for an MTA-STS-listed MX name). */
bool mta_session_tls_verified(const struct mta_session *s);

#endif
