/*
 * pop3_session - one POP3 session (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS,
 * RFC 5034 AUTH PLAIN) on the user's INBOX in the mail store.
 *
 * Trust: the client is untrusted. Before login it reaches only CAPA,
 * QUIT, STLS, USER, PASS and AUTH; USER/PASS and AUTH PLAIN are refused
 * before TLS unless auth_allow_cleartext.
 *
 * Execution model: the session reads one command line at a time from the
 * io buffer (pipelined commands are answered in order). Commands that only
 * look at the snapshot taken at login (STAT LIST UIDL DELE RSET NOOP CAPA)
 * run on the loop thread; the password check with the mailbox open, RETR
 * and TOP (reading the file) and QUIT's expunge run on the worker pool
 * while the session is busy (no input parsed). RETR/TOP stream the message
 * in POP3_CHUNK pieces: the next piece is read while the previous one is
 * written, and written only once the output drained, so memory stays
 * bounded whatever the message size. After a RETR the next messages are
 * read ahead (POP3_AHEAD_MAX octets), so a client fetching in order is
 * answered without a worker round trip per message.
 *
 * Mailbox semantics: the message list (numbers, sizes) is fixed at login;
 * mail delivered later shows in the next session. DELE marks; only QUIT
 * in the TRANSACTION state removes (mbox_expunge by UID), so a dropped
 * connection or a timeout deletes nothing. One POP3 session per mailbox
 * (mbox_pop3_lock; a second gets -ERR [IN-USE]). RETR'd messages get
 * \Seen at QUIT, as Dovecot does, so IMAP shows them read.
 */
#ifndef TEM_POP3_SESSION_H
#define TEM_POP3_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "server/session.h"
#include "util/buf.h"

/* Limits (STYLE.md habit 5). */
#define POP3_MAX_BAD		20		/* bad commands, then close */
#define POP3_IDLE_TIMEOUT	(10 * 60)	/* RFC 1939 3: >= 10 minutes */
#define POP3_CHUNK		(128 * 1024)	/* RETR/TOP: file bytes a job */
#define POP3_OUT_HIGH		(256 * 1024)	/* queued output: stop reading */
#define POP3_LIST_CHUNK		(64 * 1024)	/* LIST/UIDL: bytes a write */
#define POP3_AHEAD_MAX		(256 * 1024)	/* read ahead after RETR: octets */
#define POP3_AHEAD_MSGS		64		/* ... and messages */

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,		/* QUIT's expunge runs */
};

/* One message of the snapshot taken at login (message number = index+1). */
struct pop3_msg {
	uint64_t	 size;		/* wire octets (CRLF), as RETR sends */
	uint32_t	 uid;
	bool		 deleted;	/* DELE'd in this session */
	bool		 retrieved;	/* RETR'd: \Seen at QUIT */
};

struct pop3_retr;
struct mbox_user;
struct mbox_view;
struct loop_timer;
struct io;
struct conf;

struct pop3_session {
	struct session		 base;		/* first: the session core */
	struct conf		*conf;
	enum pop3_state		 state;

	bool			 job;		/* a worker job runs (one at a
						   time; it holds a reference) */
	bool			 out_wait;	/* output above POP3_OUT_HIGH */
	bool			 paused;	/* input paused */
	bool			 auth_wait;	/* next line: AUTH response */
	bool			 listing;	/* LIST/UIDL continue on drain */
	bool			 list_uidl;
	uint32_t		 list_next;	/* next message to list */
	unsigned		 bad_count;
	unsigned		 ncommands;
	unsigned		 nretr;

	struct buf		 line;		/* the current command line */
	char			*user_arg;	/* USER's name, until PASS */
	char			*user;		/* logged in: canonical address */
	struct mbox_user	*mu;
	struct mbox_view	*view;		/* INBOX */
	bool			 locked;	/* holds mbox_pop3_lock */
	struct pop3_msg		*msgs;
	uint32_t		 nmsgs;
	uint32_t		 ndeleted;
	uint64_t		 deleted_size;
	uint64_t		 total_size;
	struct pop3_retr	*retr;		/* RETR/TOP in progress */
	struct pop3_retr	*pre;		/* next message, read ahead */
	struct loop_timer	*timer;		/* failed-login delay */
};

/* pop3_session.c: runs a new session on fd (taken over); c->base is
 * registered and c->conf set by the caller. */
void pop3_session_start(struct pop3_session *c, int fd);

/* ---- internal to src/pop3/: the session core for the command files ---- */
struct pop3_command;

/* pop3_session.c */
/* Queues one reply line (CRLF added). */
void pop3_send(struct pop3_session *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "-ERR text", counted as a bad command (the session closes after
 * POP3_MAX_BAD). */
void pop3_err_bad(struct pop3_session *c, const char *text);
/* Stops reading input while a command waits (idempotent). */
void pop3_pause(struct pop3_session *c);
/* A command runs: no input is parsed until pop3_done (input paused). */
void pop3_busy(struct pop3_session *c);
/* Closes once the queued output drained. */
void pop3_close(struct pop3_session *c);
/* A command that made the session busy is over: take the next one. */
void pop3_done(struct pop3_session *c);
/* Reads and runs the buffered command lines while the session is free. */
void pop3_process(struct pop3_session *c);
/* A worker job starts (c->job, a reference) / ended: false when the
 * session closed meanwhile (the caller frees the job's data, says
 * nothing). */
void pop3_job_start(struct pop3_session *c);
bool pop3_job_end(struct pop3_session *c);
/* Not closing: commands may be parsed (when not busy). */
bool pop3_open(const struct pop3_session *c);
/* USER/PASS and AUTH PLAIN allowed now (TLS, or auth_allow_cleartext). */
bool pop3_plaintext_ok(const struct pop3_session *c);
/* Message n of the snapshot if it exists and is not DELE'd; else NULL
 * after sending the -ERR. */
struct pop3_msg *pop3_msg_get(struct pop3_session *c, uint32_t n);
/* Hands *mu and *view (set to NULL) to a worker that unlocks the POP3
 * lock when unlock, closes the view and drops the user. */
void pop3_release(struct server_thread *t, struct mbox_user **mu,
    struct mbox_view **view, bool unlock);

/* pop3_auth.c: AUTHORIZATION */
void pop3_cmd_user(struct pop3_session *c, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *c, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *c, const struct pop3_command *cmd);
/* The line c->line after AUTH PLAIN's "+ " (c->auth_wait was set). */
void pop3_auth_response(struct pop3_session *c);

/* pop3_retr.c: RETR and TOP */
void pop3_cmd_retr(struct pop3_session *c, const struct pop3_command *cmd);
void pop3_cmd_top(struct pop3_session *c, const struct pop3_command *cmd);
/* IO_EV_DRAINED: writes a piece that waited for it; false if none. */
bool pop3_retr_drained(struct pop3_session *c);
/* Frees *rp and the read-ahead entries after it; sets *rp to NULL. */
void pop3_retr_free(struct pop3_retr **rp);

/* pop3_server.c: the accept function for SVC_POP3 and SVC_POP3S. */
void pop3_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc);

#endif
