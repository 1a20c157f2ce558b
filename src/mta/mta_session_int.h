/*
 * mta_session_int - what mta_session.c (connection, greeting, TLS,
 * reading replies, the end) and mta_tx.c (the mail transactions) share.
 * Private to those two files and their test; not an API.
 */
#ifndef TEM_MTA_SESSION_INT_H
#define TEM_MTA_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mta/mta_data.h"
#include "mta/mta_session.h"
#include "mta/smtp_reply.h"
#include "policy/tlsrpt.h"
#include "util/buf.h"
#include "util/io.h"

struct loop_timer;
struct mta_reader;

#define MTA_CHUNK	(128 * 1024)	/* content bytes encoded per write */
#define MTA_QUIT_TIMEOUT 10		/* seconds to wait for QUIT's reply */
#define MTA_TEXT_MAX	1000		/* peer text kept per result */

enum mta_expect {
	EXP_GREETING,
	EXP_EHLO,
	EXP_HELO,
	EXP_STARTTLS,
	EXP_MAIL,
	EXP_RCPT,
	EXP_DATA,
	EXP_DATA_END,
	EXP_DOT_IGNORED,	/* "." sent after 354 with no recipient */
	EXP_RSET,
	EXP_QUIT,
	EXP_PROBE,		/* RSET on a reused connection */
};

struct mta_exp {
	enum mta_expect	 kind;
	int		 idx;		/* EXP_RCPT: recipient index */
};

enum mta_phase {
	PH_CONNECTING,
	PH_GREETING,	/* greeting, EHLO/HELO, STARTTLS: before "ready" */
	PH_TLS,		/* handshake running */
	PH_READY,	/* messages may be sent */
	PH_QUIT,
	PH_IDLE,	/* p.reuse: batch done, connection kept */
};

struct mta_session {
	char			 id[17];
	struct loop		*loop;
	struct io		*io;
	struct loop_timer	*timer;
	struct mta_session_params p;
	struct sockaddr_storage	 bind_ss;
	char			*helo_name;
	char			*host_name;
	char			 addr_str[64];
	unsigned		 port;
	char			*host_label;	/* "NAME[ADDR]" */
	enum mta_phase		 phase;
	bool			 tls;
	bool			 tls_verified;	/* by p.tls_policy */
	char			 peer_helo[256]; /* the name in its first
						   EHLO/HELO reply, for
						   TLS-RPT; "" unknown */
	bool			 esmtp;
	struct smtp_caps	 caps;
	struct smtp_reply_parser parser;
	struct buf		 line;
	struct buf		 out;

	/* the reply FIFO */
	struct mta_exp		*exp;
	size_t			 exp_head, exp_tail, exp_cap;

	/* messages */
	struct mta_msg		**msgs;
	int			 nmsgs;
	int			 cur;		/* message in progress, or -1 */
	int			 nsent;		/* messages attempted */
	bool			 tx_open;	/* MAIL accepted, not ended */
	bool			 mail_ok;
	bool			 *rcpt_ok;	/* RCPT accepted, final pending */
	bool			 *rcpt_skip;	/* refused locally */
	int			 naccepted;
	int			 next_rcpt;	/* without PIPELINING */
	struct mta_data		 data;
	bool			 in_body;
	struct mta_reader	*reader;	/* body from a file */
	/* 8-bit content for a peer without 8BITMIME: converted (mta_7bit.h)
	   before mta_data; NULL otherwise. down_out: its output piece. */
	struct mta_7bit		*down;
	struct buf		 down_out;

	/* the end */
	int			 end_status;	/* reported after QUIT */
	char			*end_text;
	bool			 finished;
	bool			 idle_reported;	/* done() ran for PH_IDLE */
	int			 status;
	char			*text;
	time_t			 started;
	mta_done_fn		*done;
	void			*arg;
};

/* mta_session.c */
/* Arms the reply timer for sec seconds (0: stops it). */
void mta_timeout(struct mta_session *s, unsigned sec);
/* Records that one more reply is due, meaning kind (idx: RCPT index). */
void mta_expect(struct mta_session *s, enum mta_expect kind, int idx);
/* Sends one command line (CRLF added) and expects its reply. */
void mta_cmd(struct mta_session *s, enum mta_expect kind, int idx,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "host NAME[ADDR] said: REPLY (in reply to CMD command)", malloc'd. */
char *mta_said(const struct mta_session *s, const struct smtp_reply *r,
    enum mta_expect kind);
/* MTA_RCPT_* for a reply code (2xx OK, 5xx PERM, anything else TEMP). */
int mta_class(int code);
/* The message in progress, or NULL. */
struct mta_msg *mta_cur(const struct mta_session *s);
/* Sets recipient i's result and a copy of text (the old one freed). */
void mta_set_result(struct mta_msg *m, int i, int result, const char *text);
/* Ends the session: closes now, done() runs in a later loop turn. */
void mta_finish(struct mta_session *s, int status, const char *text);
/* Sends QUIT; its reply, EOF or a short timeout end with status/text. */
void mta_quit(struct mta_session *s, int status, const char *text);
/* After the batch's last message: idle (p.reuse, a healthy connection)
   or QUIT. */
void mta_batch_end(struct mta_session *s);

/* mta_session_tls.c: the TLS policy (mta_tls_policy.h) in the session */
/* Keeps the peer's name from its first EHLO/HELO reply (for TLS-RPT). */
void mta_note_helo(struct mta_session *s, const struct smtp_reply *r);
/* The policy refused the peer (result r, why for log and text): one
   "mta tls-policy-failed" line, the TLS-RPT event, and, when the policy
   requires TLS, QUIT with a 4.7.5 text (true: the session is ending).
   False when the mode only reports (MTA-STS testing). */
bool mta_tls_refuse(struct mta_session *s, enum tlsrpt_result r,
    const char *why);
/* The peer offers no STARTTLS though TLS was wanted: reported, and true
   when the policy ends the session for it. */
bool mta_tls_not_offered(struct mta_session *s);
/* After the handshake: the policy check, tls_verified, the "mta tls"
   line; false when the policy ended the session. */
bool mta_tls_checked(struct mta_session *s);
/* The handshake failed: ends the session ("TLS handshake failed", which
   the route retries in clear, or a 4.7.5 text under a policy). */
void mta_tls_failed(struct mta_session *s);

/* mta_tx.c */
/* The next message (RSET first when a transaction is open); QUIT after
   the last one. */
void mta_next_message(struct mta_session *s);
void mta_on_mail(struct mta_session *s, const struct smtp_reply *r);
void mta_on_rcpt(struct mta_session *s, const struct smtp_reply *r, int i);
void mta_on_data(struct mta_session *s, const struct smtp_reply *r);
void mta_on_data_end(struct mta_session *s, const struct smtp_reply *r);
void mta_on_rset(struct mta_session *s, const struct smtp_reply *r);

/* mta_reuse.c */
/* The session timer in PH_IDLE: the first time, done() for the batch. */
void mta_idle_timer(struct mta_session *s);
/* An io event in PH_IDLE: anything but "drained" ends the connection. */
void mta_idle_event(struct mta_session *s, enum io_event ev);
/* The reply to the RSET that probes a reused connection. */
void mta_on_probe(struct mta_session *s, const struct smtp_reply *r);

/* mta_body.c */
/* Writes the next chunk of the message body, if one is being sent. */
void mta_send_body(struct mta_session *s);
/* Starts the body of m (from memory, or from its file through a reader
   that duplicates m->fd); false with errno when the file cannot be
   used. */
bool mta_body_start(struct mta_session *s, struct mta_msg *m);
/* Drops the file reader of the body in progress, if any (a read still
   running on a worker frees it when it completes). */
void mta_body_stop(struct mta_session *s);

#endif
