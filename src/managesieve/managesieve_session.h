/*
 * managesieve_session - one ManageSieve session (RFC 5804) on the user's
 * scripts in the store (sieve/sieve_store.h).
 *
 * Trust: the client is untrusted. Before login it reaches only
 * CAPABILITY, STARTTLS, AUTHENTICATE, NOOP and LOGOUT; AUTHENTICATE is
 * refused before TLS unless auth_allow_cleartext (NO (ENCRYPT-NEEDED)).
 * The password check is auth_verify (shared yescrypt lane and cache) and
 * its failures are throttled per address by authfail, as IMAP's are.
 *
 * Execution model: input is gathered into c->in until the parser has a
 * whole command (a PUTSCRIPT literal of up to SIEVE_STORE_SIZE_MAX is
 * held, never more: a bigger one is dropped as it comes). Commands that
 * need no disk (CAPABILITY, NOOP, LOGOUT, STARTTLS) answer on the loop;
 * every store call and every compile (CHECKSCRIPT, PUTSCRIPT) runs on
 * the worker pool while the session is busy (nothing more is parsed),
 * one job at a time, holding a session reference.
 */
#ifndef TEM_MANAGESIEVE_SESSION_H
#define TEM_MANAGESIEVE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "managesieve/managesieve_parser.h"
#include "server/session.h"
#include "util/buf.h"

/* Limits (STYLE.md habit 5). */
#define MS_MAX_BAD		20		/* bad commands, then BYE */
#define MS_IDLE_TIMEOUT		(10 * 60)	/* before login and after */
#define MS_OUT_HIGH		(256 * 1024)	/* queued output: stop reading */

/* The SIEVE capability: the extensions sieve.h lists (its compiler
 * accepts exactly these in require). */
#define MS_SIEVE_EXTENSIONS "fileinto reject ereject envelope imap4flags " \
	"variables relational subaddress body copy date index " \
	"encoded-character editheader duplicate vacation vacation-seconds " \
	"include mailbox comparator-i;octet comparator-i;ascii-casemap " \
	"comparator-i;ascii-numeric"

struct conf;
struct loop_timer;

struct ms_session {
	struct session		 base;		/* first: the session core */
	struct conf		*conf;

	struct buf		 in;		/* unparsed input */
	size_t			 need;		/* parse again at this length */
	uint64_t		 skip;		/* octets to drop (a refused
						   literal) ... */
	bool			 to_eol;	/* ... then up to the next LF */
	bool			 sasl;		/* the AUTHENTICATE challenge
						   was sent: a response next */
	bool			 paused;
	bool			 out_wait;	/* output above MS_OUT_HIGH */
	bool			 job;		/* a worker job runs */
	bool			 starttls;	/* capabilities due after TLS */
	unsigned		 bad_count;
	unsigned		 ncommands;
	char			*user;		/* logged in: the account */
	struct loop_timer	*timer;		/* failed-login delay */
};

/* managesieve_session.c */
/* The accept function for SVC_MANAGESIEVE. */
void ms_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc);

/* ---- internal to src/managesieve/ ---- */

/* Queues a response: "OK"/"NO"/"BYE", an optional response code (NULL:
 * none; given without its parentheses) and text as a string. */
void ms_reply(struct ms_session *c, const char *status, const char *code,
    const char *text);
/* Queues raw bytes (b's contents). */
void ms_send_buf(struct ms_session *c, const struct buf *b);
/* NO for a bad command, counted (BYE and close after MS_MAX_BAD). */
void ms_bad(struct ms_session *c, const char *text);
/* The capability listing (without its OK). */
void ms_capabilities(struct ms_session *c, struct buf *b);
/* Authentication allowed now (TLS, or auth_allow_cleartext). */
bool ms_plaintext_ok(const struct ms_session *c);
/* A worker job starts (busy, a reference) / ended: false when the
 * session closed meanwhile (say nothing then). */
void ms_job_start(struct ms_session *c);
bool ms_job_end(struct ms_session *c);
/* The command that made the session busy is over: read the next. */
void ms_done(struct ms_session *c);

/* managesieve_auth.c */
void ms_cmd_authenticate(struct ms_session *c, struct ms_command *cmd);
void ms_auth_response(struct ms_session *c, struct ms_command *cmd);
void ms_cmd_unauthenticate(struct ms_session *c, struct ms_command *cmd);

/* managesieve_cmds.c: the script commands, on a worker */
void ms_cmd_script(struct ms_session *c, struct ms_command *cmd);

#endif
