/*
 * milter_chain - the milters of one SMTP session, in a row as Postfix
 * runs them: every event goes to each filter in configured order, and
 * the first that refuses decides; at the end of a message each filter
 * gets the whole message (DATA, header fields, EOH, body chunks, EOM) as
 * the filters before it left it (edited headers, replaced body).
 *
 * Trust: filters are the administrator's, their bytes are not trusted
 * (milter_conn.c checks them). A filter that fails (refused, timeout,
 * closed, garbage, an action it did not negotiate) never loses mail and
 * never hangs the session: milter_default_action applies (tempfail:
 * 451 4.7.1; accept: the filter is left out for the rest of the session;
 * reject: 550 5.7.1), logged as one line
 * "ID milter NAME error=... action=...".
 *
 * Threads: the session's loop; body file ranges are read by a worker
 * (util/worker.h), one chunk in flight; a replaced body is written by
 * msg/spool's workers into a new spool, never held whole in memory.
 *
 * Use (one chain per session, only when milters are configured):
 *   ch = milter_chain_new(&info);  connections open at once
 *   milter_chain_event(ch, SMFIC_CONNECT / _HELO / _MAIL / _RCPT, ...,
 *       done, arg)   done(arg, &answer) exactly once, never inside the call
 *   milter_chain_message(ch, &msg, done, arg)   after the checks' verdict
 *   milter_chain_abort(ch)         RSET, a new transaction, a reset
 *   milter_chain_free(&ch)         session end: QUIT to each filter;
 *                                  cancels what runs, no callback after
 */
#ifndef TEM_MILTER_CHAIN_H
#define TEM_MILTER_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "msg/check.h"
#include "util/buf.h"

struct loop;
struct milter_chain;
struct msg_spool;

/* The session as the macros and the CONNECT event tell it. Strings are
 * copied. */
struct milter_info {
	const char		*logid;
	struct loop		*loop;
	const char *const	*specs;		/* conf: "inet:127.0.0.1:11332" */
	unsigned		 nspecs;
	unsigned		 connect_timeout, command_timeout,
				 content_timeout;	/* seconds */
	unsigned		 default_action;	/* conf_milter_action */
	const char		*hostname;	/* j */
	const char		*daemon_name;	/* {daemon_name} */
	const char		*client_ip;
	const struct sockaddr	*peer;
	const char		*spool_dir;	/* for a replaced body */
	uint64_t		 size_limit;	/* of a replaced body */
};

/* Per-event macros the SMTP session sets as it learns them (copied;
 * NULL clears). */
enum milter_macro {
	MILTER_M_HELO,		/* not a macro: the HELO argument */
	MILTER_M_QUEUE_ID,	/* i */
	MILTER_M_AUTH_TYPE,	/* {auth_type} */
	MILTER_M_AUTH_AUTHEN,	/* {auth_authen} */
	MILTER_M_TLS_VERSION,	/* {tls_version} */
	MILTER_M_CIPHER,	/* {cipher} */
	MILTER_M_MAIL_ADDR,	/* {mail_addr} */
	MILTER_M_RCPT_ADDR,	/* {rcpt_addr} */
	MILTER_M_RCPT_MAILER,	/* {rcpt_mailer}: local, smtp, error */
	MILTER_M_RCPT_HOST,	/* {rcpt_host}: domain, or the status */
	MILTER_M_COUNT
};
void milter_chain_macro(struct milter_chain *ch, enum milter_macro m,
    const char *value);

/* What the filters said. action: MSG_ACCEPT (go on), MSG_REJECT,
 * MSG_TEMPFAIL (reply holds the whole SMTP reply, "550 5.7.1 ..."),
 * MSG_DISCARD, MSG_QUARANTINE (message only). */
struct milter_answer {
	enum msg_action	 action;
	struct buf	 reply;
	/* message only: */
	struct buf	 reason;	/* quarantine reason */
	char		**rcpt_add;	/* "<addr>" as the filter sent them */
	unsigned	 nrcpt_add;
	char		**rcpt_del;
	unsigned	 nrcpt_del;
	char		*new_from;	/* CHGFROM, or NULL */
	struct msg_spool *new_body;	/* a replaced body (head, then body;
					   the caller takes it), or NULL */
	bool		 head_changed;
	bool		 spam_mark;	/* quarantined because a filter added
					   a spam mark (milter_spam.h) */
};

/* a is the chain's until the call returns; the caller may take
 * a->new_body (set it to NULL). */
typedef void milter_done_fn(void *arg, struct milter_answer *a);

struct milter_chain *milter_chain_new(const struct milter_info *info);
void milter_chain_free(struct milter_chain **ch);

/* False when every filter is left out for the rest of the session
 * (accepted at connect, shut down, broke with default accept): the
 * session may skip the chain. */
bool milter_chain_active(const struct milter_chain *ch);

/* One SMTP-stage event: SMFIC_CONNECT (args unused), SMFIC_HELO (the
 * HELO macro), SMFIC_MAIL / SMFIC_RCPT: args[0] "<addr>", then ESMTP
 * parameters, SMFIC_DATA (args unused; at the DATA command, as Postfix:
 * the message phase then sends no DATA of its own). */
void milter_chain_event(struct milter_chain *ch, char cmd,
    const char *const *args, size_t nargs, milter_done_fn *done, void *arg);

/* A recipient tem refused, for the filters that negotiated
 * SMFIP_RCPT_REJ (macros {rcpt_mailer} "error", {rcpt_host} the status,
 * {rcpt_addr} the reply text); their answers change nothing. done as for
 * milter_chain_event. False (and no call) when no filter wants it. */
bool milter_chain_rcpt_rejected(struct milter_chain *ch,
    const char *const *args, size_t nargs, milter_done_fn *done, void *arg);

/*
 * The message after the checks: head is the header section as it will
 * be stored (trace and header, LF line ends), edited in place by header
 * actions (head_changed); the body is [off, off + len) of fd, or mem
 * when fd is -1 (LF line ends either way).
 */
struct milter_msg {
	struct buf	*head;
	int		 fd;
	uint64_t	 off, len;
	const char	*mem;
	bool		 own_first;	/* head opens with tem's own Received
					   field: hidden from the filters (as
					   Postfix hides its own); change and
					   delete indexes count without it,
					   insert indexes with it (0 = above
					   it), Postfix's cleanup_milter.c */
};
void milter_chain_message(struct milter_chain *ch, struct milter_msg *m,
    milter_done_fn *done, void *arg);
/* The transaction ends without a message (RSET, MAIL refused ...). */
void milter_chain_abort(struct milter_chain *ch);

#endif
