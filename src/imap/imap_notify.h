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

#include "imap/imap_parser.h"

struct buf;
struct imap_client;

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
 * checked to be a list of atoms and otherwise ignored.
 */
int imap_notify_parse(const struct imap_arg *args, unsigned count,
    struct imap_notify *n, const char **error_r);
void imap_notify_free(struct imap_notify *n);

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
/* Loop thread: whether events wait (IDLE then reports at once). */
bool imap_notify_pending(const struct imap_client *c);
/* Loop thread, at the session's end: no more wake-ups, all freed. */
void imap_notify_end(struct imap_client *c);

#endif
