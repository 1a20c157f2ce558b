/*
 * check - the checks stage of the message pipeline: the checks a message
 * passes between receive and routing (SPF, DKIM, DMARC and the DKIM
 * signature of submitted mail), each a module behind one interface, run
 * for one transaction by one runner that merges their answers into a
 * single verdict.
 *
 * Trust: the envelope and the message are the client's; a check's answer
 * is trusted (it comes from our own modules). Nothing here knows a
 * protocol or a reply code: the protocol maps the verdict to its replies
 * (SMTP: reject 550, tempfail 451), and only the protocol does.
 *
 * Modules register their ops once at start, before any loop runs
 * (msg_check_register, from serve.c); a protocol never names a check.
 *
 * Use (on the session's loop, for one transaction):
 *   cs = msg_checks_new(&env);         MAIL accepted: each registered
 *                                      check's start() may begin work
 *   msg_checks_rcpt(cs, addr);         each recipient accepted
 *   msg_checks_tap(cs, spool);         after each piece spooled: once the
 *                                      header is complete the checks'
 *                                      body taps get every body byte, on
 *                                      the spool writer's thread
 *   msg_checks_end(cs, &msg, done, arg);  all bytes spooled: every end()
 *                                      runs (in parallel); done(verdict)
 *                                      runs once, when the last answered
 *                                      (possibly from inside this call)
 *   msg_checks_final_wanted(cs)        after done: true when checks wait
 *                                      for the message as the filters
 *                                      (milters) left it: keep cs, run
 *   msg_checks_final(cs, &msg, done, arg)  once the filters are done:
 *                                      every final() runs, done(verdict)
 *                                      once, as for msg_checks_end
 *   msg_checks_free(&cs);              any time (reset, close, after done):
 *                                      cancels what runs; nothing calls
 *                                      back afterwards
 *
 * The final phase: a check that must see the message as it leaves (the
 * DKIM signature of submitted mail: a filter that edits the header or
 * replaces the body would break a signature made before) has a final()
 * hook; it runs only for a transaction whose env says filters follow
 * (env->filtered), so without filters nothing waits for it. Such a check
 * still answers end() (with what it knows by then); its final answer's
 * headers go on top of the message as the filters left it. A check keeps
 * its tap object from end() to final(): when the body was not replaced
 * the hashes made on the spool writer's thread still hold.
 *
 * Lifecycle: a check's work in flight (DNS, worker) is cancelled or
 * detached by its free(), so a session that closes frees the runner in
 * its `closed` hook and is never called back. Work that cannot be
 * cancelled (a worker job) must hold its own data, not the check's.
 */
#ifndef TEM_MSG_CHECK_H
#define TEM_MSG_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/buf.h"

struct acct_snapshot;
struct dns_resolver;
struct loop;
struct msg_check;
struct msg_checks;
struct msg_spool;
struct server_state;

/* What is done with the message, weakest first: the merge keeps the
 * strongest (a reject wins over a tempfail over a discard over a
 * quarantine over an accept). */
enum msg_action {
	MSG_ACCEPT,
	MSG_QUARANTINE,		/* delivered into the recipients' Junk */
	MSG_DISCARD,		/* accepted, then dropped (logged) */
	MSG_TEMPFAIL,		/* refused for now: try again later */
	MSG_REJECT,		/* refused for good */
};

/*
 * One check's answer, and the runner's merged verdict. status and text
 * make the reply after the protocol's code ("5.7.1", "Error: ..."); for
 * reject and tempfail only, from the first check (in registration order)
 * with the winning action. headers: complete header lines (LF-ended,
 * folded as they should be stored) to put on top of the message, under
 * the protocol's trace; the merge concatenates them in registration
 * order, whatever the action. head: a rewritten header section (e.g.
 * forged fields removed) when head_set; the first check's wins.
 */
struct msg_verdict {
	enum msg_action	 action;
	const char	*status;	/* static string, or NULL */
	const char	*text;		/* static string, or NULL */
	struct buf	 headers;
	struct buf	 head;
	bool		 head_set;
};

void msg_verdict_init(struct msg_verdict *v);
void msg_verdict_clear(struct msg_verdict *v);
/* Folds one check's answer src (emptied) into the merged dst. */
void msg_verdict_merge(struct msg_verdict *dst, struct msg_verdict *src);
const char *msg_action_name(enum msg_action a);

/* The transaction as the protocol saw it up to MAIL. Every pointer stays
 * valid until msg_checks_free (they point into the session). */
struct msg_check_env {
	const char		*proto;		/* log module: "smtp" */
	const char		*logid;		/* the session's log id */
	const char		*msgid;		/* the message's (set by DATA) */
	const char		*hostname;	/* ours (Authentication-Results) */
	const char		*ip;
	const struct sockaddr	*peer;
	const char		*helo;		/* "" when none */
	bool			 inbound;	/* MX port, not logged in */
	bool			 authenticated;	/* a logged-in user's mail */
	bool			 null_sender;	/* MAIL FROM:<> */
	const char		*sender;	/* "" for <> */
	const char		*sender_domain;	/* NULL for <> */
	struct loop		*loop;		/* the session's */
	struct dns_resolver	*resolver;	/* the loop's, or NULL */
	/* the running state the session started with (server/state.h;
	 * opaque here): a check module above server/ reads its keys and
	 * public suffix list, and may take a reference */
	struct server_state	*run;
	/* filters (milters) run after the verdict and may change the
	 * message: final() hooks run on the message as they left it */
	bool			 filtered;
};

/* The message at its end (valid until the check answers or is freed). */
struct msg_check_msg {
	const char		*head;		/* the header section as it will
						   be stored */
	size_t			 hlen;
	const char		*spool_head;	/* as it came (what taps saw) */
	size_t			 spool_hlen;
	const char		*mem_body;	/* the body when it stayed in
						   memory (never tapped), else
						   NULL */
	size_t			 mem_blen;
	struct acct_snapshot	*acct;		/* the newest accounts */
	/* final() only: the filters replaced the body, so the taps' bytes
	 * are not it; it is mem_body when that is set, else [body_off,
	 * body_off + body_len) of body_fd (LF line ends; read it on a
	 * worker, never on the loop; the fd is the spool's: dup it) */
	bool			 body_replaced;
	int			 body_fd;
	uint64_t		 body_off, body_len;
};

struct msg_check_ops {
	const char	*name;
	/* MAIL accepted: this transaction's state, or NULL when the check
	 * has nothing to do for it. chk is the handle to answer with. */
	void	*(*start)(const struct msg_check_env *env,
		    struct msg_check *chk);
	/* A recipient accepted (optional). */
	void	 (*rcpt)(void *st, const char *addr);
	/* The header section is complete (optional): an object for the
	 * body tap, or NULL when the body is not wanted. From then on it
	 * belongs to the spool until end() gets it back. */
	void	*(*tap_begin)(void *st, const char *head, size_t hlen);
	/* Body bytes, in order, on the spool writer's thread (a worker):
	 * touch nothing but the tap object. */
	void	 (*tap)(void *tap, const char *p, size_t n);
	/* The tap object was never given back (the spool went first). */
	void	 (*tap_free)(void *tap);
	/* Every byte is spooled: decide, now or later, and answer once with
	 * msg_check_done(chk, &v). tap is the tap object (or NULL). */
	void	 (*end)(void *st, void *tap, const struct msg_check_msg *m);
	/* The filters are done (optional; called only when env->filtered,
	 * after end() answered): m->head is the whole header section as
	 * they left it, trace included. Answer once more with
	 * msg_check_done; the answer's headers go on top of the message. */
	void	 (*final)(void *st, const struct msg_check_msg *m);
	/* Cancels what runs and frees st: no answer after this. */
	void	 (*free)(void *st);
};

/* At start, before any loop runs (at most MSG_CHECKS_MAX checks). */
#define MSG_CHECKS_MAX	8
void msg_check_register(const struct msg_check_ops *ops);
/* Tests: forget every registration. */
void msg_check_unregister_all(void);

/* NULL when no registered check wants this transaction. */
struct msg_checks *msg_checks_new(const struct msg_check_env *env);
void msg_checks_free(struct msg_checks **cs);
void msg_checks_rcpt(struct msg_checks *cs, const char *addr);
/* Idempotent; taps the spool once its header is complete. */
void msg_checks_tap(struct msg_checks *cs, struct msg_spool *sp);

typedef void msg_checks_done_fn(const struct msg_verdict *v, void *arg);
/* Runs every check's end(); sp is untapped first (sp may be NULL when
 * it was never tapped). done runs exactly once, on the loop, unless
 * the runner is freed first; v is valid during the call only, and done
 * may free the runner. */
void msg_checks_end(struct msg_checks *cs, struct msg_spool *sp,
    const struct msg_check_msg *m, msg_checks_done_fn *done, void *arg);

/* After the verdict: the transaction has final() hooks to run (its env
 * said filtered, and a check has one). cs may be NULL. */
bool msg_checks_final_wanted(const struct msg_checks *cs);
/* The filters are done: every final() runs; done as for msg_checks_end
 * (the verdict merges the final answers only). */
void msg_checks_final(struct msg_checks *cs, const struct msg_check_msg *m,
    msg_checks_done_fn *done, void *arg);

/* A check's answer (its content is taken): exactly once per end(), and
 * once per final(). */
void msg_check_done(struct msg_check *chk, struct msg_verdict *v);

#endif
