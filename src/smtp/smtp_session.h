/*
 * smtp_session - one inbound SMTP/submission session (internal to smtp/).
 *
 * Trust: the client is untrusted until it authenticates, and even then
 * only for relaying; every command is bounded (see smtp_session.c).
 *
 * Files: smtp_server.c accepts; smtp_session.c runs the command loop and
 * the envelope commands; smtp_message.c receives DATA/BDAT and hands the
 * message to the store, releasing the final 250 only once it is durable.
 */
#ifndef TEM_SMTP_SESSION_H
#define TEM_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "auth/resolve.h"
#include "milter/milter_chain.h"
#include "msg/check.h"
#include "server/session.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parser.h"
#include "util/buf.h"

struct io;
struct conf;

/* RFC 5321 4.5.3.1.6: a command line is at most 512 octets, but ESMTP
 * parameters may extend it; a text line at most 1000 with CRLF. We take
 * command lines up to 1000 octets including CRLF, as Postfix does in
 * practice (line_length_limit 2048 is for data). */
#define SMTP_LINE_MAX		998
/* A whole DATA or BDAT transfer must end within this many seconds, however
 * it trickles (each read also has smtp_data_timeout). */
#define SMTP_DATA_DEADLINE	3600

struct smtp_rcpt {
	struct smtp_path	 path;
	struct acct_resolution	 res;
};

/*
 * The protocol state (the connection's own is s->base.state). Every
 * change goes through smtp_enter_state(), which logs it at debug.
 */
enum smtp_state {
	SMTP_ST_GREETING,	/* connected: block lists, then 220 */
	SMTP_ST_HELO,		/* 220 sent: HELO/EHLO expected */
	SMTP_ST_READY,		/* greeted, no transaction */
	SMTP_ST_MAIL,		/* MAIL taken: RCPT expected */
	SMTP_ST_RCPT,		/* a recipient taken: RCPT, DATA, BDAT */
	SMTP_ST_DATA,		/* DATA content */
	SMTP_ST_BDAT,		/* BDAT chunks */
	SMTP_ST_CHECKS,		/* end of data: SPF/DKIM/DMARC verdict */
	SMTP_ST_STORE,		/* waiting for the store to be durable */
	SMTP_ST_STARTTLS,	/* 220 Ready sent: the handshake */
	SMTP_ST_QUIT,		/* closing */
};

enum smtp_data_mode { SMTP_DATA_NONE, SMTP_DATA_DOT, SMTP_DATA_BDAT };
enum smtp_auth_step { SMTP_AUTH_NONE, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN_USER,
	SMTP_AUTH_LOGIN_PASS };

struct loop_timer;
struct smtp_dnsbl;
struct msg_spool;

struct smtp_session {
	struct session		 base;	/* first: the session core */
	struct conf		*conf;
	struct acct_snapshot	*acct;
	enum smtp_state		 state;

	bool			 esmtp, auth_done;
	struct msg_checks	*checks;	/* the transaction's checks */
	struct smtp_dnsbl	*dnsbl;		/* block lists at connect */
	struct sockaddr_storage	 peer;		/* the client, for SPF */
	char			*helo;
	char			*auth_user;	/* canonical address */
	enum smtp_auth_step	 auth_step;	/* a 334 is outstanding */
	const char		*auth_mech;	/* "PLAIN" / "LOGIN" (static) */
	char			*auth_login_user;
	char			*auth_try_user;	/* for the failure log */
	struct loop_timer	*auth_timer;	/* delays a failure's 535 */
	struct loop_timer	*deadline;	/* time per command / DATA */
	bool			 deadline_on;
	unsigned		 errors;
	unsigned		 ncommands;
	unsigned		 nmessages;
	struct buf		 line;

	/* The transaction. */
	struct smtp_path	 mail;
	struct smtp_rcpt	*rcpts;
	unsigned		 nrcpt;
	unsigned		 rcpt_cap;

	/* Message content. */
	enum smtp_data_mode	 data_mode;
	struct smtp_data	 dec;
	char			 msgid[17];	/* the transaction's id (log,
						   Received, "queued as",
						   milter macro i): made at
						   MAIL, "" outside one */
	struct msg_spool	*spool;		/* the message as it arrives */
	struct sieve_stage	*sieve;		/* its results while committing */
	bool			 spool_ending;	/* waiting for its last write */
	struct buf		 trace;		/* what tem puts on top:
						   Received, A-R or DKIM-Sig. */
	struct buf		 head;		/* the header section as it will
						   be stored (Date/Message-ID
						   added, our A-R stripped) */
	struct msg_check_msg	 check_msg;	/* what the checks see at the end
						   (and after the milters) */
	bool			 final_junk;	/* quarantine, while the checks'
						   final phase runs */
	uint64_t		 bdat_left;	/* octets of the chunk to read */
	bool			 bdat_last;
	bool			 bdat_started;
	const char		*bdat_error;	/* reply after the chunk */

	/* Milters (smtp_milter.c). */
	struct milter_chain	*milter;	/* NULL: none for the service */
	bool			 milter_started;
	char			*milter_deny;	/* a refusal at connect/HELO */
	struct buf		 milter_head;	/* trace + head the filters edit */
	struct milter_msg	 milter_msg;
	bool			 milter_junk;	/* the checks said quarantine */
};

/* smtp_session.c */
/* Takes fd; s->base is registered and s->conf set. */
void smtp_session_start(struct smtp_session *s, int fd);
/* The one way to change s->state (logged at debug). */
void smtp_enter_state(struct smtp_session *s, enum smtp_state st);
/* MAIL taken and the transaction not over. */
bool smtp_in_tx(const struct smtp_session *s);
/* Commands may be read now (not busy, not closing). */
bool smtp_running(const struct smtp_session *s);
/* Not closing (an answer that comes now may still be acted on). */
bool smtp_open(const struct smtp_session *s);
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtp_session_close(struct smtp_session *s);
void smtp_tx_reset(struct smtp_session *s);
/* Counts an error; past the limit replies 421 and closes: returns false. */
bool smtp_error(struct smtp_session *s);
/* Arms (sec > 0) or clears (0) the session's deadline. */
void smtp_deadline(struct smtp_session *s, unsigned sec);
/* Goes on with buffered input (after the store answered). */
void smtp_session_resume(struct smtp_session *s);

/* smtp_auth.c */
bool smtp_auth_offered(const struct smtp_session *s);
void smtp_cmd_auth(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_auth_continue(struct smtp_session *s, const char *line, size_t len);
/* Takes the next line into s->line, as io_getline: 1, 0 (none complete
 * yet), or -1 after replying "500" to a line too long (SMTP_LINE_MAX, or
 * SASL_LINE_MAX for AUTH and its responses while AUTH is possible). */
int smtp_auth_getline(struct smtp_session *s);

/* smtp_message.c */
void smtp_cmd_data(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd);
/* Consumes message input; returns false when the session must stop
 * reading (waiting for the spool or the store, or closed). */
bool smtp_message_input(struct smtp_session *s);
/* Drops the message of the transaction (spool, added headers). */
void smtp_message_reset(struct smtp_session *s);
/* The body as it lies in the spool: [*off, *off + *len) of the spool
 * file (fd -1 when empty), behind s->head. */
int smtp_message_body(const struct smtp_session *s, uint64_t *off,
    uint64_t *len);
/* (When that fd is -1 and len > 0 the message stayed in memory:
 * msg_spool_mem.) */

/* smtp_dnsbl.c */
bool smtp_dnsbl_start(struct smtp_session *s);
void smtp_dnsbl_cancel(struct smtp_session *s);
/* smtp_session.c: the 220 greeting (after the block lists, which held
 * the session busy). */
void smtp_greet(struct smtp_session *s);

/* smtp_checks.c: the checks stage (msg/check.h) */
/* MAIL taken: the transaction's checks start. */
void smtp_checks_mail(struct smtp_session *s);
/* A recipient taken. */
void smtp_checks_rcpt(struct smtp_session *s, const struct smtp_path *rcpt);
/* Every byte spooled (s->head as it will be stored): the verdict, then
 * the reply or smtp_message_store. */
void smtp_checks_end(struct smtp_session *s);
/* After the milters (or the verdict when none ran; junk: the recipients'
 * Junk folder; body_replaced: a filter replaced the body): the checks'
 * final phase when the transaction has one, then smtp_message_store. */
void smtp_checks_final(struct smtp_session *s, bool junk,
    bool body_replaced);
/* Drops the checks (transaction reset, close): nothing calls back. */
void smtp_checks_reset(struct smtp_session *s);
/* smtp_message.c: hands the message to the store (junk: the recipients'
 * Junk folder) and replies when it is durable. */
void smtp_message_store(struct smtp_session *s, bool junk);
/* The routing (with the Sieve stage's results, or NULL) and the commit;
 * the session is busy and holds the store's reference. */
struct sieve_stage;
void smtp_message_commit(struct smtp_session *s, bool junk,
    struct sieve_stage *st);
/* smtp_sieve.c: runs the Sieve stage when a local recipient may have a
 * script (then true: smtp_message_commit or the reply follows). */
bool smtp_sieve_start(struct smtp_session *s);
/* DATA accepted (the milters passed it): 354 and the message comes. */
void smtp_data_accept(struct smtp_session *s);

/* smtp_session.c: the replies of HELO, MAIL and RCPT once the milters
 * passed them (RCPT: the recipient at s->rcpts[s->nrcpt]). */
void smtp_helo_reply(struct smtp_session *s);
void smtp_mail_accepted(struct smtp_session *s);
void smtp_rcpt_accepted(struct smtp_session *s);

/* smtp_milter.c: the milters (milter/milter_chain.h). Each of connect,
 * helo, mail and rcpt returns true when it took over the command (the
 * session is busy until the filters answered and the reply is sent),
 * false when there are no milters: the caller goes on itself. */
bool smtp_milter_connect(struct smtp_session *s);
void smtp_milter_connected(void *arg, struct milter_answer *a);
bool smtp_milter_helo(struct smtp_session *s);
bool smtp_milter_mail(struct smtp_session *s);
bool smtp_milter_rcpt(struct smtp_session *s, const char *addr);
/* The DATA command (Postfix's data event): smtp_data_accept, or the
 * filters' refusal instead of the 354 (the transaction ends). */
bool smtp_milter_data(struct smtp_session *s);
/* A recipient tem refused (status: "5.1.1 User unknown"), for filters
 * that asked (SMFIP_RCPT_REJ): holds the session until they answered. */
void smtp_milter_rcpt_rejected(struct smtp_session *s, const char *addr,
    const char *status);
/* After the checks' verdict (junk: quarantine): the message phase, then
 * smtp_checks_final, or the filters' refusal. */
void smtp_milter_message(struct smtp_session *s, bool junk);
/* The transaction ends (ABORT to the filters). */
void smtp_milter_reset(struct smtp_session *s);
/* Session end: QUIT to the filters. */
void smtp_milter_free(struct smtp_session *s);

/* smtp_quota.c: mailbox quotas. Each returns false after replying
 * 452 4.2.2. RCPT: r (resolved, addr as printed); data: the whole
 * message is spooled. */
bool smtp_quota_rcpt(struct smtp_session *s, const struct smtp_rcpt *r,
    const char *addr);
bool smtp_quota_data(struct smtp_session *s);

/* smtp_server.c */
void smtp_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc);

#endif
