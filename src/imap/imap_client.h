/*
 * imap_client - one IMAP session, and the contract between the session
 * core (imap_client.c, imap_server.c) and the command handlers
 * (cmd-*.c). Internal to src/imap/.
 *
 * Trust: the client is untrusted; before LOGIN it can only reach
 * CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE, ID.
 *
 * Execution model (Dovecot's resumable commands on tem's loop + workers):
 * - The core reads bytes, feeds the parser, and runs one command at a
 *   time; while a command runs, no further input is parsed (so the
 *   parser's argument tree stays valid for the whole command).
 * - A handler is called on the loop thread when its entry has
 *   IMAP_CMD_F_LOOP, else on a worker thread (disk work: the mail store
 *   is blocking and thread-safe). It appends response lines to cmd->out
 *   (each ending in CRLF: use imap_out_* helpers) and returns:
 *     IMAP_CMD_DONE   cmd->tagged holds "OK ...", "NO ..." or "BAD ..."
 *                     (set with imap_cmd_ok/no/bad);
 *     IMAP_CMD_MORE   cmd->out holds a chunk (keep it around 256 KiB):
 *                     the core writes it, waits until it drained, and
 *                     calls the handler again (state in cmd->ctx);
 *     IMAP_CMD_ASYNC  (loop handlers only) the handler will call
 *                     imap_cmd_finish(cmd) itself later (IDLE, LOGIN).
 * - Before the tagged reply of every command the core adds the pending
 *   mailbox changes (EXPUNGE/VANISHED, EXISTS, FETCH FLAGS) from
 *   imap_client_updates(), except that EXPUNGE/VANISHED are held back
 *   after FETCH, STORE, SEARCH (not UID variants) as RFC 9051 7.5.1 says.
 * - cmd->free_ctx(cmd) is called when the command ends, to free ctx.
 */
#ifndef TEM_IMAP_CLIENT_H
#define TEM_IMAP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_args.h"
#include "imap/imap_parser.h"
#include "server/session.h"
#include "util/buf.h"

struct io;
struct conf;
struct mbox_user;
struct mbox_view;
struct loop_timer;

/* Limits (STYLE.md habit 5). */
#define IMAP_LINE_MAX		(64 * 1024)	/* command line, no literals */
/* Before login the same line: an RFC 2971 ID at its limits (30 pairs of
   a 30-octet field and a 1,024-octet value) is ~32 KB, ~63 KB with every
   character quoted-escaped; AUTHENTICATE's SASL-IR is SASL_LINE_MAX.
   Literals are smaller there: a LOGIN password or an ID value. */
#define IMAP_PREAUTH_LINE_MAX	IMAP_LINE_MAX
#define IMAP_PREAUTH_LITERAL_MAX (16 * 1024)
#define IMAP_LITERAL_MAX	(64 * 1024)	/* literals except APPEND's */
#define IMAP_OUT_CHUNK		(256 * 1024)	/* a handler's MORE chunk */
#define IMAP_MAX_BAD		20	/* BAD replies in a row: BYE */
#define IMAP_IDLE_TIMEOUT	(30 * 60)	/* RFC 9051 5.4: >= 30 min */
#define IMAP_PREAUTH_TIMEOUT	60	/* to log in */

enum imap_state {
	IMAP_STATE_NOAUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

enum imap_cmd_result { IMAP_CMD_DONE, IMAP_CMD_MORE, IMAP_CMD_ASYNC };

struct imap_cmd;
typedef enum imap_cmd_result imap_cmd_fn(struct imap_cmd *cmd);

/* Command table entry flags. */
#define IMAP_CMD_F_NOAUTH	0x01	/* allowed before login */
#define IMAP_CMD_F_AUTH		0x02	/* allowed once logged in */
#define IMAP_CMD_F_SELECTED	0x04	/* needs a selected mailbox */
#define IMAP_CMD_F_LOOP		0x08	/* runs on the loop thread */
#define IMAP_CMD_F_UID		0x10	/* may be prefixed with UID */
#define IMAP_CMD_F_NO_EXPUNGE	0x20	/* hold EXPUNGE back (non-UID
					   FETCH, STORE, SEARCH) */

struct imap_command_def {
	const char	*name;
	imap_cmd_fn	*fn;
	unsigned	 flags;
};

struct imap_client {
	struct session		 base;	/* first: the session core (busy:
					   a command or a job runs) */
	struct conf		*conf;
	struct imap_parser	*parser;
	enum imap_state		 state;

	bool			 idling;
	/* ENABLEd extensions */
	bool			 rev2;		/* IMAP4rev2 */
	bool			 utf8;		/* UTF8=ACCEPT (or rev2) */
	bool			 condstore;	/* CONDSTORE (or QRESYNC, or a
						   CONDSTORE-ish command) */
	bool			 qresync;
	unsigned		 bad_count;

	char			*user;		/* canonical address */
	struct mbox_user	*mu;
	struct mbox_view	*view;		/* SELECTED */
	bool			 readonly;	/* EXAMINE */
	/* IDLE / updates */
	bool			 changes_pending;	/* watch fired */
	struct imap_cmd		*cmd;		/* the running command */
	struct loop_timer	*timer;		/* auth failure delay */
	unsigned		 ncommands;
	/* APPEND message literals, streamed to disk by the core as they
	 * come (imap_spool.c): an argument of type IMAP_ARG_STREAM with
	 * index i is spooled message i. spool_cmd: the command is parsed
	 * and waits for its last bytes to reach the disk. */
	struct imap_spool	*spool;
	bool			 spool_cmd;
	/* SEARCHRES (RFC 5182): the saved result, as UIDs of the selected
	 * mailbox (emptied when another mailbox is selected or closed). */
	uint32_t		*searchres;
	size_t			 n_searchres;
	bool			 searchres_set;
	/* COMPRESS answered OK: deflate starts once the OK is queued. */
	bool			 deflate_on_end;
	/* ACL (imap_acl.c): the owner when the selected folder is another
	 * user's (NULL: the user's own, every right), this user's rights
	 * on it and the ACL serial they were read at. */
	char			*acl_owner;
	unsigned		 acl_rights;
	uint64_t		 acl_serial;
	/* CONTEXT=SEARCH/SORT (RFC 5267): searches kept up to date while
	 * the mailbox stays selected (imap_context.c). */
	struct imap_context	*contexts;
	/* NOTIFY (RFC 5465): what to tell about other mailboxes, and the
	 * store's user watch (imap_notify.c); NULL: NOTIFY NONE. */
	struct imap_notify_state *notify;
	bool			 notify_later;	/* a wake while busy */
	struct mbox_view	*notify_view;	/* the view it watches (NULL:
						   none, IDLE took it) */
};

struct imap_cmd {
	struct imap_client		*c;
	const struct imap_command_def	*def;
	/* tag and name are the command's own copies (the parser's go away
	 * when IDLE or AUTHENTICATE read a further line); args are the
	 * parser's and valid while the handler runs, not after a read_line. */
	const char			*tag;
	const char			*name;	/* upper-case, no UID prefix */
	bool				 uid;	/* UID FETCH etc. */
	const struct imap_arg		*args;
	unsigned			 count;
	struct buf			 out;	/* untagged lines, CRLF ended */
	char				*tagged;	/* "OK ..." */
	void				*ctx;
	void				(*free_ctx)(struct imap_cmd *cmd);
	bool				 no_updates;	/* LOGOUT, IDLE */
	bool				 more;	/* a MORE chunk is draining */
};

/* ---- imap_client.c ---- */
/* Sets the tagged reply (printf-style, without tag and CRLF). */
void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The tagged NO for a mail store error (mbox_err), with its response
 * code ([NONEXISTENT], [TRYCREATE] when trycreate, [ALREADYEXISTS], ...). */
void imap_cmd_store_error(struct imap_cmd *cmd, int err, bool trycreate,
    const char *text);
/* Ends an IMAP_CMD_ASYNC command (loop thread). */
void imap_cmd_finish(struct imap_cmd *cmd);

/* Appends pending mailbox changes of the selected view to out (worker
 * thread: calls mbox_view_sync). allow_expunge false: EXPUNGE/VANISHED
 * are kept for later. Returns false when the mailbox is gone (BYE). */
bool imap_client_updates(struct imap_client *c, struct buf *out,
    bool allow_expunge);
/* The CAPABILITY list for c's state (no "* CAPABILITY " prefix). */
void imap_client_capabilities(struct imap_client *c, struct buf *out);

/* The spool's writes moved on: dispatch a waiting APPEND or read on. */
void imap_client_spool_ready(struct imap_client *c);

/* ---- imap_spool.c: APPEND messages streamed to disk ---- */
struct imap_literal;
struct mbox_spool;
/* Loop: takes one chunk of an APPEND message (copied). */
void imap_spool_chunk(struct imap_client *c, const struct imap_literal *lit);
/* Loop: true while input must wait for the disk. */
bool imap_spool_full(const struct imap_client *c);
/* Loop: true when every chunk taken is on disk (APPEND may run) but for
   a last buffer kept back for the command's job. */
bool imap_spool_idle(const struct imap_client *c);
/* Worker, first thing in a command's job (the session is busy, so the
   loop leaves the spool alone): writes the buffer kept back, if any. */
void imap_spool_write_kept(struct imap_client *c);
/* Worker (APPEND, spool idle): message index's finished spool, handed
 * over (to mbox_append_spool or mbox_spool_free), or NULL; its size as
 * the client sent it (UINT64_MAX: none). */
struct mbox_spool *imap_spool_take(struct imap_client *c, unsigned index);
uint64_t imap_spool_size(const struct imap_client *c, unsigned index);
/* Loop: drops what is spooled (files removed on a worker). */
void imap_spool_drop(struct imap_client *c);

/* ---- imap_compress.c: COMPRESS=DEFLATE (RFC 4978) ---- */
/* Loop: a command ended (its tagged reply queued): start deflate if
 * COMPRESS said OK, else give the next command its inflate budget. */
void imap_compress_command_done(struct imap_client *c);
/* Loop: a streamed APPEND literal's chunk: its first grants its size. */
void imap_compress_literal(struct imap_client *c,
    const struct imap_literal *lit);

/* ---- imap_context.c: ESORT, CONTEXT=SEARCH, CONTEXT=SORT (RFC 5267) ---- */
#define IMAP_CONTEXT_MAX	8	/* updating contexts per session */
struct imap_search;
struct imap_msgs_found;
struct mbox_changes;
/* SEARCH with RETURN (UPDATE): -1 after a tagged BAD (the tag names a
   context already); call before the search runs. */
int imap_context_search_check(struct imap_cmd *cmd,
    const struct imap_search *s);
/* After SEARCH answered: RETURN (UPDATE) keeps s (moved out, zeroed) and
   the result f as the context of cmd's tag, or says "* NO [NOUPDATE]"
   past IMAP_CONTEXT_MAX. Nothing without UPDATE. */
void imap_context_add_search(struct imap_cmd *cmd, struct imap_search *s,
    const struct imap_msgs_found *f);
/* " PARTIAL (lo:hi set)" of the n results nums (in result order). */
void imap_context_partial(struct buf *out, const struct imap_search *s,
    const uint32_t *nums, size_t n);
/* Worker, from imap_client_updates: REMOVEFROM for expunged results
   (before the EXPUNGE/VANISHED lines), then ADDTO/REMOVEFROM for what
   the change did to each result (after EXISTS and FETCH FLAGS). */
void imap_context_expunged(struct imap_client *c, struct buf *out,
    const struct mbox_changes *ch);
void imap_context_refresh(struct imap_client *c, struct buf *out,
    const struct mbox_changes *ch);
/* Drops every context (the mailbox is closed, the session ends). */
void imap_context_clear(struct imap_client *c);

/* ---- imap_out.c: response formatting ---- */
/* An astring/nstring as IMAP wants it: atom-safe text as is, else a
 * quoted string, else a literal {n}; utf8: the client may get UTF-8 in
 * quoted strings (IMAP4rev2 / UTF8=ACCEPT). */
void imap_out_astring(struct buf *out, const char *s, size_t len, bool utf8);
void imap_out_nstring(struct buf *out, const char *s, size_t len, bool utf8);
/* Always a string (quoted or literal), never an atom. */
void imap_out_string(struct buf *out, const char *s, size_t len, bool utf8);
/* A literal {n}CRLF + bytes (literal8 ~{n} when binary). */
void imap_out_literal(struct buf *out, const char *s, size_t len, bool binary);
/* A mailbox name: UTF-8 as is for utf8 clients, else modified UTF-7. */
void imap_out_mailbox(struct buf *out, const char *name, bool utf8);
/* "(\Seen \Answered kw1 ...)" for a message; recent adds \Recent. */
void imap_out_flags(struct buf *out, struct mbox_view *v, unsigned flags,
    uint32_t keywords);
/* FLAGS and PERMANENTFLAGS lines of a view. */
void imap_out_flag_lists(struct buf *out, struct mbox_view *v, bool readonly);
/* Those lines again when the folder got keywords the session was not
 * told of: before any FETCH response that could show one. */
void imap_out_new_keywords(struct buf *out, struct mbox_view *v,
    bool readonly);

/* ---- the command handlers (cmd-*.c), as in imap_commands.c's table ---- */
/* cmd-session.c: CAPABILITY NOOP LOGOUT STARTTLS ENABLE ID;
 * imap_login.c: LOGIN AUTHENTICATE; imap_idle.c: IDLE */
imap_cmd_fn cmd_capability, cmd_noop, cmd_logout, cmd_starttls, cmd_login,
    cmd_authenticate, cmd_enable, cmd_id, cmd_idle;
/* imap_compress.c: COMPRESS */
imap_cmd_fn cmd_compress;
/* cmd-mailbox.c: SELECT EXAMINE CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE
 * LIST LSUB NAMESPACE STATUS CHECK CLOSE UNSELECT EXPUNGE; cmd-append.c:
 * APPEND (MULTIAPPEND, CATENATE) */
imap_cmd_fn cmd_select, cmd_examine, cmd_create, cmd_delete, cmd_rename,
    cmd_subscribe, cmd_unsubscribe, cmd_list, cmd_lsub, cmd_namespace,
    cmd_status, cmd_append, cmd_check, cmd_close, cmd_unselect,
    cmd_expunge;
/* cmd-message.c (and cmd-fetch.c, cmd-search.c): FETCH STORE SEARCH SORT
 * THREAD COPY MOVE (and their UID forms; UID EXPUNGE is cmd_expunge) */
imap_cmd_fn cmd_fetch, cmd_store, cmd_search, cmd_sort, cmd_thread,
    cmd_copy, cmd_move;
/* imap_context.c: SORT RETURN (...) (cmd_sort hands it on), CANCELUPDATE */
imap_cmd_fn cmd_esort, cmd_cancelupdate;
/* imap_notify.c: NOTIFY */
imap_cmd_fn cmd_notify;

/* ---- the session core's internals, shared by its files ---- */
/* imap_client.c */
/* Takes fd and runs the session on the session core (c->base registered
 * by imap_accept, c->conf set). */
void imap_client_start(struct imap_client *c, int fd);
/* Queues one response line (CRLF added); nothing once the client left. */
void imap_send(struct imap_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Closes once the queued output drained (BYE queued first). */
void imap_close(struct imap_client *c);
/* A command waits for a raw line (IDLE's DONE, a SASL response): input
 * is read again while it still runs. */
void imap_read_line(struct imap_client *c);
/* Parses and runs the buffered input while the session is free. */
void imap_process(struct imap_client *c);
/* imap_login.c */
/* The per-user session counter's key (a thread-local buffer). */
const char *imap_user_key(const char *user);
/* The Maildir++ root of the account with canonical address addr:
 * data_dir/mail/DOMAIN/LOCAL (malloc'd). */
char *imap_user_root(const struct conf *conf, const char *addr);
/* The raw line after AUTHENTICATE's "+ ". */
void imap_auth_line(struct imap_cmd *cmd, const char *line, size_t len);
/* imap_idle.c */
/* The raw line that ends IDLE. */
void imap_idle_line(struct imap_client *c, const char *line, size_t len);
/* Stops IDLE's wake-ups (the session is leaving or DONE came). */
void imap_idle_stop(struct imap_client *c);
/* Loop: something changed; an idling session computes its updates. */
void imap_idle_wake(void *c);
/* The worker job of IDLE's and NOTIFY's reports (imap_notify_push.c):
 * the updates of imap_client_updates (quiet: only imap_notify_updates's,
 * for other mailboxes) into out; gone: the selected mailbox went. */
struct imap_updates_job {
	struct imap_client	*c;
	struct buf		 out;
	bool			 gone;
	bool			 quiet;
};
void imap_updates_work(void *job);
/* Loop, when it is done: drops the job's session reference, writes the
 * lines (BYE and close when gone), frees j; false when the session had
 * closed meanwhile (touch nothing more of it). */
bool imap_updates_deliver(struct imap_updates_job *j);

/* imap_commands.c */
const struct imap_command_def *imap_command_find(const char *name);

/* imap_server.c */
void imap_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc);

#endif
