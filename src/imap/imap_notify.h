/*
 * imap_notify - NOTIFY (RFC 5465): the command's grammar (imap_notify_args.c,
 * pure, fuzzed by fuzz/fuzz-imap-notify.c) and the session's notifications
 * (imap_notify.c). Internal to src/imap/.
 *
 * Trust: the arguments come from an authenticated but untrusted client;
 * the parser checks the whole grammar and bounds what it keeps
 * (IMAP_NOTIFY_GROUPS_MAX event groups, IMAP_NOTIFY_NAMES_MAX names).
 */
#ifndef TEM_IMAP_NOTIFY_H
#define TEM_IMAP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"

struct buf;
struct imap_client;
struct imap_fetch;

#define IMAP_NOTIFY_GROUPS_MAX	32	/* event groups in one NOTIFY SET */
#define IMAP_NOTIFY_NAMES_MAX	256	/* mailbox names in one NOTIFY SET */

/* The events (RFC 5465 5). */
#define IMAP_NE_MESSAGENEW		0x01u
#define IMAP_NE_MESSAGEEXPUNGE		0x02u
#define IMAP_NE_FLAGCHANGE		0x04u
#define IMAP_NE_ANNOTATIONCHANGE	0x08u
#define IMAP_NE_MAILBOXNAME		0x10u
#define IMAP_NE_SUBSCRIPTIONCHANGE	0x20u
#define IMAP_NE_MAILBOXMETADATACHANGE	0x40u
#define IMAP_NE_SERVERMETADATACHANGE	0x80u
#define IMAP_NE_UNKNOWN			0x100u	/* an event-ext */
#define IMAP_NE_MESSAGE		(IMAP_NE_MESSAGENEW | IMAP_NE_MESSAGEEXPUNGE | \
	IMAP_NE_FLAGCHANGE | IMAP_NE_ANNOTATIONCHANGE)
/* What tem sends; the list the BADEVENT code gives. */
#define IMAP_NE_SUPPORTED	(IMAP_NE_MESSAGENEW | IMAP_NE_MESSAGEEXPUNGE | \
	IMAP_NE_FLAGCHANGE | IMAP_NE_MAILBOXNAME | \
	IMAP_NE_SUBSCRIPTIONCHANGE | IMAP_NE_MAILBOXMETADATACHANGE | \
	IMAP_NE_SERVERMETADATACHANGE)
#define IMAP_NOTIFY_BADEVENT	"[BADEVENT (MessageNew MessageExpunge " \
	"FlagChange MailboxName SubscriptionChange MailboxMetadataChange " \
	"ServerMetadataChange)]"

enum imap_notify_filter {
	IMAP_NF_SELECTED, IMAP_NF_SELECTED_DELAYED, IMAP_NF_INBOXES,
	IMAP_NF_PERSONAL, IMAP_NF_SUBSCRIBED, IMAP_NF_SUBTREE,
	IMAP_NF_MAILBOXES,
};

struct imap_notify_group {
	enum imap_notify_filter	 filter;
	char			**names;	/* SUBTREE, MAILBOXES: as sent
						   (NUL-free astrings) */
	unsigned		 n_names;
	unsigned		 events;	/* IMAP_NE_*; 0 for NONE */
	struct imap_fetch	*fetch;		/* MessageNew's fetch-att
						   (SELECTED only), or NULL */
};

struct imap_notify {
	bool			 none;		/* NOTIFY NONE */
	bool			 status;	/* NOTIFY SET STATUS */
	struct imap_notify_group *groups;
	unsigned		 n_groups;
};

/*
 * Parses NOTIFY's arguments (RFC 5465 8): NONE, or SET [STATUS] followed
 * by event groups. Returns 0 with *n filled (free with
 * imap_notify_free); -1 for a BAD (grammar, or the rules of RFC 5465 5
 * and 6.1: MessageNew and MessageExpunge together, FlagChange and
 * AnnotationChange only with them, SELECTED and SELECTED-DELAYED not
 * both, only message events for them) with *error_r; -2 when an event
 * tem does not send was asked for (NO IMAP_NOTIFY_BADEVENT). *n holds
 * nothing to free after a failure. MessageNew's fetch attributes are
 * parsed with FETCH's grammar (imap_args_parse_fetch_atts) into the
 * group's fetch, and are a BAD outside SELECTED and SELECTED-DELAYED.
 */
int imap_notify_parse(const struct imap_arg *args, unsigned count,
    struct imap_notify *n, const char **error_r);
void imap_notify_free(struct imap_notify *n);

/* ---- cmd-fetch.c: the FETCH after MessageNew's EXISTS (RFC 5465 5.2) ---- */
struct fetch_ctx;
/* Plans the FETCH of items f (moved out: f is left empty) as FETCH
 * would; NULL with *error_r (a BAD) for a section FETCH refuses. Body
 * items never set \Seen here, PEEK or not: a notification changes no
 * flag. */
struct fetch_ctx *imap_fetch_plan(struct imap_fetch *f, const char **error_r);
void imap_fetch_plan_free(struct fetch_ctx **x);
/* Worker: appends message seq's "* seq FETCH (...)" of the selected view
 * to out, as FETCH sends it; nothing when it is gone or unreadable. */
void imap_fetch_unsolicited(struct imap_client *c, struct fetch_ctx *x,
    uint32_t seq, struct buf *out);

/* ---- imap_notify.c: the session's side ---- */
/* From imap_client_updates (worker): appends the STATUS and LIST lines
 * for what happened to other mailboxes since last time. */
void imap_notify_updates(struct imap_client *c, struct buf *out);
/* Worker, around a command's handler: what it changes is the client's
 * own doing, not reported back to it. */
void imap_notify_acting(struct imap_client *c, bool on);
/* A NOTIFY without SELECTED message events is on: IDLE says nothing
 * about the selected mailbox (its changes wait for the next command). */
bool imap_notify_selected_quiet(const struct imap_client *c);
/* Worker, from APPEND, COPY and MOVE: the n UIDs (ascending) the
 * command put into folder to; those in the selected mailbox get no
 * MessageNew FETCH (RFC 5465 5.2: the client knows them). */
struct imap_acl_ref;
void imap_notify_own_added(struct imap_client *c,
    const struct imap_acl_ref *to, const uint32_t *uids, size_t n);
/* Worker, from imap_client_updates after EXISTS: the FETCH responses
 * SELECTED's MessageNew attributes ask for, for the messages above UID
 * last_uid (what the client knew before); at most 1,000 messages and
 * 4 MiB a report (the client FETCHes the rest). */
void imap_notify_new_messages(struct imap_client *c, struct buf *out,
    uint32_t last_uid);
/* SELECTED (not SELECTED-DELAYED) asks for message events: the
 * selected mailbox's changes, expunges too, go out between commands. */
bool imap_notify_expunge_now(const struct imap_client *c);
/* Loop thread: whether events wait (IDLE then reports at once). */
bool imap_notify_pending(const struct imap_client *c);
/* BLOCKING. Under NOTIFY: every change committed before is queued for
 * c's watch (mbox_user_watch_catch_up), so the poll that follows
 * reports it. */
void imap_notify_catch_up(const struct imap_client *c);
/* ---- imap_notify_push.c: between commands ---- */
/* Loop thread: the store's watch callback; reports now (IDLE's job, or
 * a job of its own when no command runs), else after the command. */
void imap_notify_wake(void *c);
/* Loop thread, when the session is free again (a command or job ended):
 * (un)watches the selected mailbox as NOTIFY wants, runs a kept wake. */
void imap_notify_resume(struct imap_client *c);
/* Loop thread, at the session's end: no more wake-ups, all freed. */
void imap_notify_end(struct imap_client *c);

#endif
