/*
 * imap_notify - NOTIFY (RFC 5465) for a session: NOTIFY SET/NONE, and
 * the unsolicited STATUS and LIST responses about mailboxes other than
 * the selected one.
 *
 * Trust: the client is authenticated but untrusted; its event groups are
 * parsed and bounded by imap_notify_args.c, its mailbox names decoded
 * like any other. Only the user's own mailboxes are ever named.
 *
 * How it hears of changes: the mail store's user watch (store/
 * mailbox_notify.c) queues what happens to any folder of the user - no
 * folder is polled for this; the selected mailbox keeps the view watch
 * IDLE uses. The queue is read where the session reports the selected
 * mailbox's changes (imap_client_updates: before every tagged reply, on
 * IDLE's wake-ups, and between commands by imap_notify_push.c, which the
 * watches wake), so the client gets these responses as they happen or,
 * while a command runs, with its answer. A queue overflow (MBOX_EVENTS_MAX) ends the
 * notifications with "* OK [NOTIFICATIONOVERFLOW]", as RFC 5465 5.8
 * allows; the client then asks for STATUS itself.
 *
 * What is sent: MessageNew/MessageExpunge/FlagChange of another mailbox
 * give "* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)" (and
 * HIGHESTMODSEQ under CONDSTORE), one per mailbox per report however many
 * messages moved, and only when it differs from the last one sent in what
 * the client asked about (a flag change needs FlagChange). MailboxName
 * gives LIST ("\NonExistent" for a deleted one, OLDNAME for a rename);
 * SubscriptionChange gives LIST with or without "\Subscribed";
 * MailboxMetadataChange and ServerMetadataChange (required with METADATA,
 * RFC 5465 5.6 and 5.7) give "* METADATA mailbox entry" (RFC 5464 4.4:
 * the name, not the value; "" for the server). Changes the client made
 * itself are not told (mbox_user_watch_acting).
 *
 * The selected mailbox: the usual EXISTS, EXPUNGE and FETCH FLAGS at the
 * end of every command whatever the NOTIFY (the base protocol's
 * updates), and during IDLE when SELECTED or SELECTED-DELAYED asks for
 * message events, between commands for SELECTED; without them (or with
 * NONE, RFC 5465 3.1) IDLE is quiet about it. MessageNew's fetch
 * attributes (RFC 5465 5.2) are planned by cmd-fetch.c at NOTIFY time
 * and sent as "* n FETCH" right after the EXISTS, wherever that goes
 * out, for each new message but those the session APPENDed, COPYed or
 * MOVEd there itself (imap_notify_own_added: the client knows them).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "imap/imap_notify.h"
#include "store/mailbox.h"
#include "util/xmalloc.h"

/* The last STATUS sent about a mailbox, so that a flag change the
   client did not ask about (no FlagChange) sends nothing. */
struct sent_status {
	char			*name;
	struct mbox_status	 st;
};

/* UIDs the session put into its selected mailbox itself (APPEND, COPY,
   MOVE): it knows them, so MessageNew sends them no FETCH. */
#define NOTIFY_OWN_MAX		64	/* UID ranges kept */
#define NOTIFY_FETCH_MAX	1000	/* FETCHes in one report; the
					   client FETCHes the rest */
#define NOTIFY_FETCH_BYTES	(4 * 1024 * 1024)	/* ... and octets
					   (one message may exceed it) */

struct own_range {
	uint32_t		 lo, hi;
};

struct imap_notify_state {
	struct imap_notify	 spec;		/* names decoded to UTF-8 */
	struct fetch_ctx	*fetch;		/* SELECTED MessageNew's
						   attributes, planned */
	struct own_range	*own;		/* at most NOTIFY_OWN_MAX */
	size_t			 n_own;
	struct mbox_user_watch	*watch;		/* other mailboxes */
	bool			 subscribed;	/* a SUBSCRIBED group */
	struct sent_status	*sent;		/* at most MBOX_FOLDERS_MAX */
	size_t			 n_sent, cap_sent;
};

static void
sent_clear(struct imap_notify_state *st)
{
	for (size_t i = 0; i < st->n_sent; i++)
		free(st->sent[i].name);
	st->n_sent = 0;
}

static void
state_free(struct imap_notify_state **sp)
{
	struct imap_notify_state *st = *sp;

	if (st == NULL)
		return;
	mbox_user_watch_free(&st->watch);
	imap_fetch_plan_free(&st->fetch);
	free(st->own);
	imap_notify_free(&st->spec);
	sent_clear(st);
	free(st->sent);
	free(st);
	*sp = NULL;
}

void
imap_notify_end(struct imap_client *c)
{
	state_free(&c->notify);
}


void
imap_notify_acting(struct imap_client *c, bool on)
{
	mbox_user_watch_acting(on && c->notify != NULL ? c->notify->watch :
	    NULL);
}

/* The SELECTED (delayed: or SELECTED-DELAYED) group asks for message
   events. */
static bool
selected_events(const struct imap_notify *n, bool delayed)
{
	for (unsigned i = 0; i < n->n_groups; i++)
		if ((n->groups[i].filter == IMAP_NF_SELECTED || (delayed &&
		    n->groups[i].filter == IMAP_NF_SELECTED_DELAYED)) &&
		    n->groups[i].events != 0)
			return true;
	return false;
}

bool
imap_notify_selected_quiet(const struct imap_client *c)
{
	return c->notify != NULL && !selected_events(&c->notify->spec, true);
}

bool
imap_notify_expunge_now(const struct imap_client *c)
{
	return c->notify != NULL && selected_events(&c->notify->spec, false);
}

void
imap_notify_catch_up(const struct imap_client *c)
{
	if (c->notify != NULL && c->notify->watch != NULL)
		mbox_user_watch_catch_up();
}

bool
imap_notify_pending(const struct imap_client *c)
{
	return c->notify != NULL && c->notify->watch != NULL &&
	    mbox_user_watch_pending(c->notify->watch);
}

/* ---- which events a mailbox gets ------------------------------------- */

static bool
in_subtree(const char *name, const char *top)
{
	size_t n = strlen(top);

	return strncmp(name, top, n) == 0 && (name[n] == '\0' ||
	    name[n] == CMD_MBOX_SEP);
}

static bool
name_in(const struct imap_notify_group *g, const char *name, bool subtree)
{
	for (unsigned i = 0; i < g->n_names; i++)
		if (subtree ? in_subtree(name, g->names[i]) :
		    strcmp(name, g->names[i]) == 0)
			return true;
	return false;
}

/* The events the groups ask for about mailbox name (not selected). */
static unsigned
events_for(const struct imap_notify *n, const char *name, bool subscribed)
{
	const struct imap_notify_group *g;
	unsigned ev = 0, i;
	bool m;

	for (i = 0; i < n->n_groups; i++) {
		g = &n->groups[i];
		switch (g->filter) {
		case IMAP_NF_INBOXES:
			m = strcmp(name, "INBOX") == 0;
			break;
		case IMAP_NF_PERSONAL:
			m = true;
			break;
		case IMAP_NF_SUBSCRIBED:
			m = subscribed;
			break;
		case IMAP_NF_SUBTREE:
			m = name_in(g, name, true);
			break;
		case IMAP_NF_MAILBOXES:
			m = name_in(g, name, false);
			break;
		default:
			m = false;	/* SELECTED: the view's updates */
			break;
		}
		if (m)
			ev |= g->events;
	}
	return ev;
}

/* The folder list, for SUBSCRIBED groups and NOTIFY SET STATUS. */
static struct mbox_folder_info *
folders(struct imap_client *c, size_t *n_r)
{
	struct mbox_folder_info *list = NULL;
	char *err = NULL;

	if (mbox_list(c->mu, &list, n_r, &err) < 0) {
		free(err);
		*n_r = 0;
		return NULL;
	}
	return list;
}

/* The events of every group (ServerMetadataChange has no mailbox). */
static unsigned
any_events(const struct imap_notify *n)
{
	unsigned ev = 0;

	for (unsigned i = 0; i < n->n_groups; i++)
		ev |= n->groups[i].events;
	return ev;
}

static bool
is_subscribed(const struct mbox_folder_info *list, size_t n,
    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return (list[i].flags & MBOX_SUBSCRIBED) != 0;
	return false;
}

/* Whether st differs from what was last sent about name in a way the
   client asked to hear of (flags: FlagChange); remembers st if so. */
static bool
status_news(struct imap_notify_state *ns, const char *name,
    const struct mbox_status *st, bool flags)
{
	struct sent_status *s = NULL;
	size_t i;

	for (i = 0; i < ns->n_sent && s == NULL; i++)
		if (strcmp(ns->sent[i].name, name) == 0)
			s = &ns->sent[i];
	if (s != NULL && s->st.messages == st->messages &&
	    s->st.uidnext == st->uidnext &&
	    s->st.uidvalidity == st->uidvalidity &&
	    (!flags || (s->st.unseen == st->unseen &&
	    s->st.highestmodseq == st->highestmodseq)))
		return false;
	if (s == NULL) {
		if (ns->n_sent >= MBOX_FOLDERS_MAX)
			sent_clear(ns);		/* forget; at worst a repeat */
		if (ns->n_sent == ns->cap_sent) {
			ns->cap_sent = ns->cap_sent ? ns->cap_sent * 2 : 8;
			ns->sent = xrealloc(ns->sent, ns->cap_sent *
			    sizeof(*ns->sent));
		}
		s = &ns->sent[ns->n_sent++];
		s->name = xstrdup(name);
	}
	s->st = *st;
	return true;
}

/* "* STATUS name (...)" for another mailbox when it has news for the
   client (events: what it asked for); nothing if it is gone. */
static void
put_status(struct imap_client *c, struct imap_notify_state *ns,
    struct buf *out, const char *name, unsigned events)
{
	struct mbox_status st;
	unsigned items = IMAP_STATUS_MESSAGES | IMAP_STATUS_UIDNEXT |
	    IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_UNSEEN;
	char *err = NULL;

	if (mbox_status(c->mu, name, &st, &err) < 0) {
		free(err);
		return;
	}
	if (!status_news(ns, name, &st, (events & IMAP_NE_FLAGCHANGE) != 0))
		return;
	if (c->condstore)
		items |= IMAP_STATUS_HIGHESTMODSEQ;
	cmd_mbox_status_line(out, name, items, &st, c->utf8);
}

static void
put_list(struct imap_client *c, struct buf *out, const char *attrs,
    const char *name, const char *oldname)
{
	buf_printf(out, "* LIST (%s) \"%c\" ", attrs, CMD_MBOX_SEP);
	imap_out_mailbox(out, name, c->utf8);
	if (oldname != NULL) {
		buf_puts(out, " (\"OLDNAME\" (");
		imap_out_mailbox(out, oldname, c->utf8);
		buf_puts(out, "))");
	}
	buf_puts(out, "\r\n");
}

/* The selected mailbox's name when it is one of the user's own (a
   shared folder of another user is not among the user's mailboxes). */
static char *
selected_name(struct imap_client *c)
{
	return c->view != NULL && c->acl_owner == NULL ?
	    mbox_view_name(c->view) : NULL;
}

/* RFC 5464 4.4's unsolicited METADATA: the entry's name, no value. */
static void
put_metadata(struct imap_client *c, struct buf *out, const char *mailbox,
    const char *entry)
{
	buf_puts(out, "* METADATA ");
	if (mailbox[0] == '\0')
		buf_puts(out, "\"\"");
	else
		imap_out_mailbox(out, mailbox, c->utf8);
	buf_putc(out, ' ');
	imap_out_astring(out, entry, strlen(entry), c->utf8);
	buf_puts(out, "\r\n");
}

static bool
is_selected(const char *selected, const char *name)
{
	return selected != NULL && strcmp(selected, name) == 0;
}

void
imap_notify_updates(struct imap_client *c, struct buf *out)
{
	struct imap_notify_state *st = c->notify;
	struct mbox_folder_info *list = NULL;
	struct mbox_event *ev;
	size_t n, n_list = 0, i;
	bool overflow, sub;
	char *selected;
	unsigned want;

	if (st == NULL || st->watch == NULL ||
	    !mbox_user_watch_pending(st->watch))
		return;
	ev = mbox_user_watch_take(st->watch, &n, &overflow);
	if (overflow) {
		buf_puts(out, "* OK [NOTIFICATIONOVERFLOW] Too many changes: "
		    "notifications are off\r\n");
		mbox_events_free(ev, n);
		state_free(&c->notify);
		return;
	}
	selected = selected_name(c);
	if (st->subscribed)
		list = folders(c, &n_list);
	for (i = 0; i < n; i++) {
		sub = is_subscribed(list, n_list, ev[i].name);
		want = events_for(&st->spec, ev[i].name, sub);
		switch (ev[i].kind) {
		case MBOX_EV_MESSAGES:
			if ((want & IMAP_NE_MESSAGE) &&
			    !is_selected(selected, ev[i].name))
				put_status(c, st, out, ev[i].name, want);
			break;
		case MBOX_EV_CREATE:
		case MBOX_EV_DELETE:
		case MBOX_EV_RENAME:
			if (want & IMAP_NE_MAILBOXNAME)
				put_list(c, out, ev[i].kind == MBOX_EV_DELETE ?
				    "\\NonExistent" : "", ev[i].name,
				    ev[i].oldname);
			break;
		case MBOX_EV_SUBSCRIBE:
		case MBOX_EV_UNSUBSCRIBE:
			if (want & IMAP_NE_SUBSCRIPTIONCHANGE)
				put_list(c, out, ev[i].kind ==
				    MBOX_EV_SUBSCRIBE ? "\\Subscribed" : "",
				    ev[i].name, NULL);
			break;
		case MBOX_EV_METADATA:
			if (ev[i].name[0] == '\0' ?
			    (any_events(&st->spec) &
			    IMAP_NE_SERVERMETADATACHANGE) :
			    (want & IMAP_NE_MAILBOXMETADATACHANGE))
				put_metadata(c, out, ev[i].name,
				    ev[i].oldname);
			break;
		}
	}
	free(selected);
	mbox_list_free(list, n_list);
	mbox_events_free(ev, n);
}

/* ---- MessageNew's FETCH in the selected mailbox (RFC 5465 5.2) ------- */

void
imap_notify_own_added(struct imap_client *c, const struct imap_acl_ref *to,
    const uint32_t *uids, size_t n)
{
	struct imap_notify_state *st = c->notify;
	char *selected;
	bool same;
	size_t i;

	if (st == NULL || st->fetch == NULL || c->view == NULL || n == 0)
		return;
	selected = mbox_view_name(c->view);
	same = (to->shared ? c->acl_owner != NULL &&
	    strcmp(to->owner, c->acl_owner) == 0 : c->acl_owner == NULL) &&
	    strcmp(to->folder, selected) == 0;
	free(selected);
	for (i = 0; same && i < n; i++) {
		struct own_range *r = st->n_own ? &st->own[st->n_own - 1] :
		    NULL;

		if (r != NULL && uids[i] == r->hi + 1) {
			r->hi++;
			continue;
		}
		if (st->n_own == NOTIFY_OWN_MAX)
			break;	/* the rest get a FETCH they could do without */
		st->own = xrealloc(st->own, (st->n_own + 1) *
		    sizeof(*st->own));
		st->own[st->n_own].lo = st->own[st->n_own].hi = uids[i];
		st->n_own++;
	}
}

static bool
is_own(const struct imap_notify_state *st, uint32_t uid)
{
	for (size_t i = 0; i < st->n_own; i++)
		if (uid >= st->own[i].lo && uid <= st->own[i].hi)
			return true;
	return false;
}

void
imap_notify_new_messages(struct imap_client *c, struct buf *out,
    uint32_t last_uid)
{
	struct imap_notify_state *st = c->notify;
	uint32_t seq, n, uid, sent = 0;

	if (st == NULL || st->fetch == NULL || c->view == NULL)
		return;
	n = mbox_view_count(c->view);
	for (seq = mbox_view_seq_ceil(c->view, last_uid + 1); seq <= n &&
	    sent < NOTIFY_FETCH_MAX && out->len < NOTIFY_FETCH_BYTES; seq++) {
		uid = mbox_view_uid(c->view, seq);
		if (is_own(st, uid))
			continue;
		imap_fetch_unsolicited(c, st->fetch, seq, out);
		sent++;
	}
	st->n_own = 0;
}

/* ---- the command ------------------------------------------------------- */

/* Decodes the group's names as any mailbox argument; false after BAD. */
static bool
decode_names(struct imap_cmd *cmd, struct imap_notify *n)
{
	struct imap_notify_group *g;
	char *dec;
	size_t len;

	for (unsigned i = 0; i < n->n_groups; i++) {
		g = &n->groups[i];
		for (unsigned k = 0; k < g->n_names; k++) {
			if ((dec = cmd_mbox_decode(cmd, g->names[k],
			    strlen(g->names[k]))) == NULL)
				return false;
			len = strlen(dec);
			if (len > 1 && dec[len - 1] == CMD_MBOX_SEP)
				dec[len - 1] = '\0';
			free(g->names[k]);
			g->names[k] = dec;
		}
	}
	return true;
}

/* NOTIFY SET STATUS: the current STATUS of every other mailbox whose
   message events were asked for (RFC 5465 3.1). */
static void
initial_status(struct imap_cmd *cmd, struct imap_notify_state *st)
{
	struct imap_client *c = cmd->c;
	struct mbox_folder_info *list;
	char *selected = selected_name(c);
	size_t n, i;
	unsigned want;

	list = folders(c, &n);
	for (i = 0; i < n; i++) {
		if (list[i].flags & (MBOX_NOSELECT | MBOX_NONEXISTENT) ||
		    is_selected(selected, list[i].name))
			continue;
		want = events_for(&st->spec, list[i].name,
		    (list[i].flags & MBOX_SUBSCRIBED) != 0);
		if (want & IMAP_NE_MESSAGE)
			put_status(c, st, &cmd->out, list[i].name, want);
	}
	mbox_list_free(list, n);
	free(selected);
}

/* SELECTED's MessageNew attributes: planned as FETCH plans them (a
   section FETCH refuses is a BAD here too); MODSEQ turns CONDSTORE on
   as FETCH MODSEQ does. -1 after the tagged BAD. */
static int
plan_fetch(struct imap_cmd *cmd, struct imap_notify_state *st)
{
	struct imap_notify_group *g;
	const char *error = NULL;

	for (unsigned i = 0; i < st->spec.n_groups; i++) {
		g = &st->spec.groups[i];
		if (g->fetch == NULL)
			continue;
		if ((g->fetch->items & IMAP_FETCH_MODSEQ) &&
		    !cmd->c->condstore)
			imap_msgs_condstore_on(cmd);
		if ((st->fetch = imap_fetch_plan(g->fetch, &error)) == NULL) {
			imap_cmd_bad(cmd, "%s", error);
			return -1;
		}
	}
	return 0;
}

enum imap_cmd_result
cmd_notify(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct imap_notify_state *st;
	const char *error = NULL;
	unsigned i, other = 0;
	int r;

	st = xcalloc(1, sizeof(*st));
	if ((r = imap_notify_parse(cmd->args, cmd->count, &st->spec,
	    &error)) < 0 || !decode_names(cmd, &st->spec)) {
		if (r == -2)
			imap_cmd_no(cmd, IMAP_NOTIFY_BADEVENT " %s", error);
		else if (r == -1)
			imap_cmd_bad(cmd, "%s", error);
		state_free(&st);
		return IMAP_CMD_DONE;	/* the old NOTIFY stays */
	}
	if (plan_fetch(cmd, st) < 0) {
		state_free(&st);
		return IMAP_CMD_DONE;	/* the old NOTIFY stays */
	}
	state_free(&c->notify);
	if (st->spec.none) {
		state_free(&st);
		imap_cmd_ok(cmd, "NOTIFY completed");
		return IMAP_CMD_DONE;
	}
	for (i = 0; i < st->spec.n_groups; i++) {
		if (st->spec.groups[i].filter == IMAP_NF_SUBSCRIBED)
			st->subscribed = true;
		if (st->spec.groups[i].filter != IMAP_NF_SELECTED &&
		    st->spec.groups[i].filter != IMAP_NF_SELECTED_DELAYED)
			other |= st->spec.groups[i].events;
	}
	if (other != 0)
		st->watch = mbox_user_watch_new(c->mu,
		    server_thread_loop(c->base.thread), imap_notify_wake, c);
	if (st->spec.status)
		initial_status(cmd, st);
	c->notify = st;
	imap_cmd_ok(cmd, "NOTIFY completed");
	return IMAP_CMD_DONE;
}
