/*
 * sieve - the Sieve mail filtering language (RFC 5228 and the extensions
 * listed below): compile a script, run it on one message for one
 * recipient, get back what to do with the message.
 *
 * Trust: scripts are written by users (untrusted: every limit below is
 * enforced at compile or run time, an over-limit script is an error, never
 * a crash or a stall); messages come from anyone (untrusted). Nothing in
 * src/sieve/ touches the disk, the network or a clock: the caller hands in
 * the message, the time, and callbacks for what needs state (include,
 * duplicate, mailboxexists). So one script can be compiled once and run
 * from any thread; a run uses only its own memory.
 *
 * Extensions (require names): fileinto, reject, ereject, envelope,
 * imap4flags, variables, relational, subaddress, body, copy, date, index,
 * encoded-character, editheader, duplicate, vacation, vacation-seconds,
 * include, mailbox, comparator-i;octet, comparator-i;ascii-casemap,
 * comparator-i;ascii-numeric.
 *
 * Use:
 *   struct sieve_error err;
 *   struct sieve_script *sc = sieve_compile(text, len, NULL, &err);
 *   if (sc == NULL) report "line %d: %s", err.line, err.msg
 *   struct sieve_result r;
 *   sieve_run(&sc, 1, &msg, &env, NULL, &r);   (never fails: on a
 *       run-time error r.error is set and r holds an implicit keep)
 *   ... apply r.actions in order ...
 *   sieve_result_free(&r); sieve_script_free(&sc);
 */
#ifndef TEM_SIEVE_H
#define TEM_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sieve_script;

/* Limits; sieve_limits_default() fills these values. */
struct sieve_limits {
	size_t		 max_script_size;	/* 1 MiB: octets of source */
	unsigned	 max_nesting;		/* 32: blocks and tests */
	unsigned	 max_commands;		/* 10000: commands + tests */
	size_t		 max_string;		/* 64 KiB: one string literal */
	unsigned	 max_steps;		/* 100000: commands+tests run */
	uint64_t	 max_match_steps;	/* 1000000: :matches backtracking,
						 * per run */
	unsigned	 max_variables;		/* 128 per scope */
	size_t		 max_variable_size;	/* 4 KiB: a value is cut */
	unsigned	 max_redirects;		/* 4 per run */
	unsigned	 max_actions;		/* 32 per run (all kinds) */
	unsigned	 max_include_depth;	/* 5 */
	unsigned	 max_includes;		/* 10 scripts per run */
	unsigned	 max_header_edits;	/* 64 addheader/deleteheader */
	size_t		 max_body;		/* 1 MiB of decoded body text
						 * searched by the body test */
};
void sieve_limits_default(struct sieve_limits *l);

/* A compile error: where and what ("unknown command 'filein'", "missing
 * require \"fileinto\"", "expected ';'"). line is 1-based. */
struct sieve_error {
	int		 line;
	int		 column;
	char		 msg[256];
};

/*
 * Compiles text[0..len) (any bytes; UTF-8 expected). NULL on error with
 * *err filled; limits NULL: the defaults. The result is immutable.
 */
struct sieve_script *sieve_compile(const char *text, size_t len,
    const struct sieve_limits *limits, struct sieve_error *err);
void sieve_script_free(struct sieve_script **sc);

/* The message, as the run sees it. */
struct sieve_msg {
	const char	*head;		/* header section (LF or CRLF line ends,
					 * may end with the empty line) */
	size_t		 head_len;
	/* The body (after the empty line), loaded on first use by the body
	 * test only; NULL: the message has no body. The callback returns 0
	 * and a pointer valid until the run ends, or -1 (the body test is
	 * then false and the error logged by the caller). */
	int		(*body)(void *arg, const char **data, size_t *len);
	void		*body_arg;
	uint64_t	 size;		/* RFC 5228 size: octets of the message */
	const char	*env_from;	/* MAIL FROM address, "" for <> */
	const char	*env_to;	/* this recipient as RCPT TO gave it */
	const char	*auth;		/* authenticated sender, or NULL */
	time_t		 now;		/* currentdate, vacation, duplicate */
	int		 now_zone;	/* the local zone: minutes east of UTC */
};

/* The recipient and the state a run may ask about. */
struct sieve_env {
	const char	*user;		/* the account's own address */
	/* the recipient's own addresses (aliases), for vacation's "is it to
	 * me" check; user is always one of them */
	const char * const *addresses;
	size_t		 naddresses;
	const char	*subaddress_sep;	/* "+" */
	void		*arg;
	/* include (RFC 6609): the script text, malloc'd; NULL: not found
	 * (an error unless :optional). global: ":global" location. */
	char		*(*include_load)(void *arg, bool global,
			    const char *name, size_t *len);
	/* mailboxexists (RFC 5490): NULL means none exists */
	bool		(*mailbox_exists)(void *arg, const char *name);
	/* duplicate (RFC 7352): true when id was recorded for handle and
	 * has not expired. The run records nothing: the result lists the
	 * ids to record once the message is delivered. NULL: never seen. */
	bool		(*duplicate_seen)(void *arg, const char *handle,
			    const char *id);
};

enum sieve_action_type {
	SIEVE_KEEP,		/* into INBOX (explicit or implicit) */
	SIEVE_FILEINTO,		/* into mailbox */
	SIEVE_REDIRECT,		/* to address */
	SIEVE_REJECT,		/* refuse with text (reject / ereject) */
	SIEVE_DISCARD,		/* explicit discard (no keep happens) */
	SIEVE_VACATION,		/* send a vacation reply */
};

struct sieve_action {
	enum sieve_action_type type;
	int		 line;		/* where in the script; 0: implicit */
	char		*mailbox;	/* FILEINTO: UTF-8, '/' separated */
	bool		 create;	/* FILEINTO :create */
	bool		 copy;		/* FILEINTO/REDIRECT :copy */
	bool		 ereject;	/* REJECT from ereject */
	char		**flags;	/* KEEP/FILEINTO: IMAP flags to set */
	size_t		 nflags;
	char		*address;	/* REDIRECT: target; VACATION: the
					 * address the reply goes to */
	char		*text;		/* REJECT: reason; VACATION: body */
	/* VACATION (RFC 5230/6131); the run already applied RFC 5230's "do
	 * not reply" rules that need only the message (list mail, <>,
	 * Auto-Submitted, not addressed to one of env's addresses): an
	 * action here means "reply unless handle+address was answered
	 * within seconds" (the caller's durable memory). */
	char		*subject;	/* final Subject (default "Auto: ...") */
	char		*from;		/* :from, or NULL: the user */
	char		*handle;	/* :handle, else a digest of the
					 * arguments (RFC 5230 4.2) */
	uint64_t	 seconds;	/* period; :days N = N*86400 */
	bool		 mime;		/* :mime: text is a MIME entity */
	char		*in_reply_to;	/* the message's Message-ID, or NULL */
	char		*references;	/* its References + Message-ID */
};

/* One duplicate id to record (RFC 7352) when delivery succeeds. */
struct sieve_dup {
	char		*handle;
	char		*id;
	uint64_t	 seconds;	/* expiry */
};

struct sieve_result {
	struct sieve_action *actions;	/* in execution order */
	size_t		 nactions;
	bool		 implicit_keep;	/* the KEEP in actions is implicit */
	/* editheader (RFC 5293): the header section after the edits, for
	 * every stored/redirected copy of this recipient; NULL: unchanged */
	char		*head;
	size_t		 head_len;
	struct sieve_dup *dups;
	size_t		 ndups;
	/* A run-time error (limit hit, include missing, an action
	 * conflict): "line N: what". actions then hold exactly one implicit
	 * KEEP into INBOX, and the caller logs the error and tells the user
	 * (a message in their INBOX, as Pigeonhole does). */
	char		*error;
};

/*
 * Runs scripts[0..n) in order on msg for env's user (sieve_before first,
 * then the user's script: one result, one implicit keep for all, as
 * Pigeonhole runs a sequence). limits NULL: the defaults. Never fails;
 * always fills *r (sieve_result_free it).
 */
void sieve_run(struct sieve_script * const *scripts, size_t n,
    const struct sieve_msg *msg, const struct sieve_env *env,
    const struct sieve_limits *limits, struct sieve_result *r);
void sieve_result_free(struct sieve_result *r);

#endif
