/*
 * cmd-mailbox - IMAP commands on folders as a whole: CREATE (with RFC 6154
 * USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (RFC 8438 SIZE,
 * RFC 7162 HIGHESTMODSEQ), and the helpers cmd-select.c, cmd-list.c and
 * cmd-append.c share.
 *
 * Trust: runs for an authenticated, untrusted client, on a worker thread
 * (the store calls block). Arguments come through the typed parsers of
 * imap_args.h; names are decoded here and validated again by the store.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "imap/imap_metadata.h"
#include "imap/imap_quota.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/xmalloc.h"

_Static_assert(IMAP_FLAG_ANSWERED == MBOX_F_ANSWERED &&
    IMAP_FLAG_FLAGGED == MBOX_F_FLAGGED && IMAP_FLAG_DELETED ==
    MBOX_F_DELETED && IMAP_FLAG_SEEN == MBOX_F_SEEN && IMAP_FLAG_DRAFT ==
    MBOX_F_DRAFT, "IMAP and store flag bits differ");

/* ---- shared helpers ------------------------------------------------- */

char *
cmd_mbox_try(struct imap_cmd *cmd, const char *s, size_t len,
    const char **error_r)
{
	char *name = imap_mailbox_decode(s, len, cmd->c->utf8, error_r);

	if (name != NULL && strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == CMD_MBOX_SEP))
		memcpy(name, "INBOX", 5);
	return name;
}

char *
cmd_mbox_decode(struct imap_cmd *cmd, const char *s, size_t len)
{
	const char *error;
	char *name = cmd_mbox_try(cmd, s, len, &error);

	if (name == NULL)
		imap_cmd_bad(cmd, "%s", error);
	return name;
}

char *
cmd_mbox_lookup(struct imap_cmd *cmd, const char *s, size_t len)
{
	const char *error;
	char *name = cmd_mbox_try(cmd, s, len, &error);

	if (name == NULL)
		imap_cmd_no(cmd, "[NONEXISTENT] Mailbox doesn't exist (%s)",
		    error);
	return name;
}

/* An astring argument (BAD when it is none), decoded for lookup or not. */
static char *
name_arg(struct imap_cmd *cmd, const struct imap_arg *arg, bool lookup)
{
	const char *s;
	size_t len;

	if (!imap_arg_get_astring(arg, &s, &len)) {
		imap_cmd_bad(cmd, "Invalid mailbox name");
		return NULL;
	}
	return lookup ? cmd_mbox_lookup(cmd, s, len) :
	    cmd_mbox_decode(cmd, s, len);
}

char *
cmd_mbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg)
{
	return name_arg(cmd, arg, false);
}

char *
cmd_mbox_lookup_arg(struct imap_cmd *cmd, const struct imap_arg *arg)
{
	return name_arg(cmd, arg, true);
}

enum imap_cmd_result
cmd_mbox_fail(struct imap_cmd *cmd, int r, bool trycreate, char *err)
{
	imap_cmd_store_error(cmd, r, trycreate, err ? err : "Mail store error");
	free(err);
	return IMAP_CMD_DONE;
}

void
cmd_mbox_status_line(struct buf *out, const char *name, unsigned items,
    const struct mbox_status *st, bool utf8)
{
	const char *sp = "";

	buf_puts(out, "* STATUS ");
	imap_out_mailbox(out, name, utf8);
	buf_puts(out, " (");
#define ITEM(bit, fmt, val) do {					\
	if (items & (bit)) {						\
		buf_printf(out, "%s" fmt, sp, (val));			\
		sp = " ";						\
	}								\
} while (0)
	ITEM(IMAP_STATUS_MESSAGES, "MESSAGES %u", st->messages);
	ITEM(IMAP_STATUS_UIDNEXT, "UIDNEXT %u", st->uidnext);
	ITEM(IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY %u", st->uidvalidity);
	ITEM(IMAP_STATUS_UNSEEN, "UNSEEN %u", st->unseen);
	ITEM(IMAP_STATUS_DELETED, "DELETED %u", st->deleted);
	ITEM(IMAP_STATUS_SIZE, "SIZE %llu", (unsigned long long)st->size);
	ITEM(IMAP_STATUS_RECENT, "RECENT %u", st->recent);
	ITEM(IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu",
	    (unsigned long long)st->highestmodseq);
	/* RFC 9208 5: in units of 1024 octets, what EXPUNGE would free */
	ITEM(IMAP_STATUS_DELETED_STORAGE, "DELETED-STORAGE %llu",
	    (unsigned long long)((st->deleted_size + 1023) / 1024));
	ITEM(IMAP_STATUS_MAILBOXID, "MAILBOXID (%s)", st->mailboxid);
#undef ITEM
	buf_puts(out, ")\r\n");
}

void
cmd_mbox_attrs(struct buf *out, unsigned flags, bool subscribed)
{
	static const struct { unsigned bit; const char *name; } uses[] = {
		{ MBOX_ARCHIVE, "\\Archive" }, { MBOX_DRAFTS, "\\Drafts" },
		{ MBOX_JUNK, "\\Junk" }, { MBOX_SENT, "\\Sent" },
		{ MBOX_TRASH, "\\Trash" },
	};
	const char *sp = "";

	if (flags & MBOX_NONEXISTENT) {
		buf_puts(out, "\\NonExistent");
		sp = " ";
	} else if (flags & MBOX_NOSELECT) {
		buf_puts(out, "\\Noselect");
		sp = " ";
	}
	if (flags & (MBOX_HASCHILDREN | MBOX_HASNOCHILDREN)) {
		buf_printf(out, "%s%s", sp, flags & MBOX_HASCHILDREN ?
		    "\\HasChildren" : "\\HasNoChildren");
		sp = " ";
	}
	if (subscribed && (flags & MBOX_SUBSCRIBED)) {
		buf_printf(out, "%s\\Subscribed", sp);
		sp = " ";
	}
	if (flags & (MBOX_NOSELECT | MBOX_NONEXISTENT))
		return;
	for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
		if (flags & uses[i].bit) {
			buf_printf(out, "%s%s", sp, uses[i].name);
			sp = " ";
		}
}

/* ---- CREATE DELETE RENAME ------------------------------------------- */

/* A new name as sent to CREATE or RENAME: the decoded name without the
 * trailing delimiter RFC 9051 6.3.4 allows ("a/b/" creates "a/b"). */
static char *
new_name_arg(struct imap_cmd *cmd, const struct imap_arg *arg)
{
	char *name = cmd_mbox_arg(cmd, arg);
	size_t len;

	if (name == NULL)
		return NULL;
	len = strlen(name);
	if (len > 1 && name[len - 1] == CMD_MBOX_SEP)
		name[len - 1] = '\0';
	return name;
}

/* RFC 6154 special-use attribute name -> MBOX_* bit, 0 if unknown. */
static unsigned
special_use_bit(const char *s)
{
	static const struct { const char *name; unsigned bit; } uses[] = {
		{ "\\Archive", MBOX_ARCHIVE }, { "\\Drafts", MBOX_DRAFTS },
		{ "\\Junk", MBOX_JUNK }, { "\\Sent", MBOX_SENT },
		{ "\\Trash", MBOX_TRASH },
	};

	for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
		if (strcasecmp(s, uses[i].name) == 0)
			return uses[i].bit;
	return 0;
}

/*
 * CREATE's optional (USE (\Drafts ...)) (RFC 6154 CREATE-SPECIAL-USE).
 * Returns 0 with *use_r; -1 after a BAD; -2 after a NO [USEATTR] (a
 * special use tem does not keep, such as \All or \Flagged).
 */
static int
create_params(struct imap_cmd *cmd, const struct imap_arg *a, unsigned *use_r)
{
	const struct imap_arg *p = a->list, *u;
	unsigned n = a->list_count, bit;

	*use_r = 0;
	for (unsigned i = 0; i < n; i += 2) {
		if (!imap_arg_atom_equals(&p[i], "USE") || i + 1 >= n ||
		    p[i + 1].type != IMAP_ARG_LIST) {
			imap_cmd_bad(cmd, "Unknown CREATE parameter");
			return -1;
		}
		for (unsigned k = 0; k < p[i + 1].list_count; k++) {
			u = &p[i + 1].list[k];
			if (u->type != IMAP_ARG_ATOM || u->str[0] != '\\') {
				imap_cmd_bad(cmd, "Invalid USE attribute");
				return -1;
			}
			if ((bit = special_use_bit(u->str)) == 0) {
				imap_cmd_no(cmd, "[USEATTR] Special use %s is "
				    "not supported", u->str);
				return -2;
			}
			*use_r |= bit;
		}
	}
	return 0;
}

enum imap_cmd_result
cmd_create(struct imap_cmd *cmd)
{
	struct mbox_status st;
	unsigned use = 0;
	char *name, *err = NULL;
	int r;

	if (cmd->count < 1 || cmd->count > 2 ||
	    (cmd->count == 2 && cmd->args[1].type != IMAP_ARG_LIST)) {
		imap_cmd_bad(cmd, "CREATE needs a mailbox name [(USE (...))]");
		return IMAP_CMD_DONE;
	}
	if (cmd->count == 2 && create_params(cmd, &cmd->args[1], &use) < 0)
		return IMAP_CMD_DONE;
	if ((name = new_name_arg(cmd, &cmd->args[0])) == NULL)
		return IMAP_CMD_DONE;
	if (imap_acl_in_ns(name)) {
		imap_acl_create_shared(cmd, name, use);
		free(name);
		return IMAP_CMD_DONE;
	}
	r = mbox_create(cmd->c->mu, name, use, &err);
	if (r == 0)	/* rows left by a folder removed outside IMAP */
		imap_acl_dropped(cmd, name);
	if (r < 0) {
		free(name);
		return cmd_mbox_fail(cmd, r, false, err);
	}
	/* RFC 8474 4.1: the new folder's MAILBOXID */
	if (mbox_status(cmd->c->mu, name, &st, NULL) == 0)
		imap_cmd_ok(cmd, "[MAILBOXID (%s)] CREATE completed",
		    st.mailboxid);
	else
		imap_cmd_ok(cmd, "CREATE completed");
	free(name);
	return IMAP_CMD_DONE;
}

/* True when the selected folder is name (the store follows renames). */
static bool
is_selected(struct imap_client *c, const char *name)
{
	char *cur;
	bool same;

	if (c->view == NULL)
		return false;
	if (c->acl_owner != NULL || imap_acl_in_ns(name))
		return imap_acl_is_selected(c, name);
	cur = mbox_view_name(c->view);
	same = strcmp(cur, name) == 0;
	free(cur);
	return same;
}

enum imap_cmd_result
cmd_delete(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	char *name, *err = NULL;
	int r;

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "DELETE needs a mailbox name");
		return IMAP_CMD_DONE;
	}
	if ((name = cmd_mbox_lookup_arg(cmd, &cmd->args[0])) == NULL)
		return IMAP_CMD_DONE;
	/* Deleting the selected folder deselects it first (as Dovecot
	 * does), so this session never sees its own BYE for it. */
	if (strcmp(name, "INBOX") != 0 && is_selected(c, name)) {
		mbox_view_close(&c->view);
		c->readonly = false;
		c->state = IMAP_STATE_AUTH;
		XFREE(&c->searchres);
		c->n_searchres = 0;
		c->searchres_set = false;
		imap_context_clear(c);
	}
	if (imap_acl_in_ns(name)) {
		imap_acl_delete_shared(cmd, name);
		free(name);
		return IMAP_CMD_DONE;
	}
	r = mbox_delete(c->mu, name, &err);
	if (r == 0) {
		imap_acl_dropped(cmd, name);
		imap_metadata_mailbox_gone(cmd, name, NULL);
	}
	free(name);
	if (r < 0)
		return cmd_mbox_fail(cmd, r, false, err);
	imap_cmd_ok(cmd, "DELETE completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_rename(struct imap_cmd *cmd)
{
	char *from, *to = NULL, *err = NULL;
	int r;

	if (cmd->count != 2) {
		imap_cmd_bad(cmd, "RENAME needs two mailbox names");
		return IMAP_CMD_DONE;
	}
	if ((from = cmd_mbox_lookup_arg(cmd, &cmd->args[0])) == NULL ||
	    (to = new_name_arg(cmd, &cmd->args[1])) == NULL) {
		free(from);
		return IMAP_CMD_DONE;
	}
	if (imap_acl_in_ns(from) || imap_acl_in_ns(to))
		imap_acl_rename_shared(cmd, from, to);	/* sets the reply */
	else if ((r = mbox_rename(cmd->c->mu, from, to, &err)) < 0)
		cmd_mbox_fail(cmd, r, false, err);
	else {
		imap_acl_renamed(cmd, from, to);
		imap_metadata_mailbox_gone(cmd, from, to);
		imap_cmd_ok(cmd, "RENAME completed");
	}
	free(from);
	free(to);
	return IMAP_CMD_DONE;
}

/* ---- SUBSCRIBE UNSUBSCRIBE ------------------------------------------ */

static enum imap_cmd_result
subscribe(struct imap_cmd *cmd, bool on)
{
	char *name, *err = NULL;
	int r;

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "%s needs a mailbox name", cmd->name);
		return IMAP_CMD_DONE;
	}
	if ((name = cmd_mbox_arg(cmd, &cmd->args[0])) == NULL)
		return IMAP_CMD_DONE;
	r = mbox_subscribe(cmd->c->mu, name, on, &err);
	free(name);
	if (r < 0)
		return cmd_mbox_fail(cmd, r, false, err);
	imap_cmd_ok(cmd, "%s completed", cmd->name);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_subscribe(struct imap_cmd *cmd)
{
	return subscribe(cmd, true);
}

enum imap_cmd_result
cmd_unsubscribe(struct imap_cmd *cmd)
{
	return subscribe(cmd, false);
}

/* ---- STATUS --------------------------------------------------------- */

enum imap_cmd_result
cmd_status(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct imap_status sa;
	struct imap_acl_ref ref;
	struct mbox_status st;
	const char *error;
	char *name, *err = NULL;
	int r;

	if (imap_args_parse_status(cmd->args, cmd->count, &sa, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return IMAP_CMD_DONE;
	}
	name = cmd_mbox_lookup(cmd, sa.mailbox, strlen(sa.mailbox));
	if (name == NULL) {
		imap_status_free(&sa);
		return IMAP_CMD_DONE;
	}
	/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE. */
	if (sa.items & IMAP_STATUS_HIGHESTMODSEQ)
		c->condstore = true;
	if (imap_acl_open(cmd, name, MBOX_ACL_READ, false, &ref) < 0) {
		free(name);
		imap_status_free(&sa);
		return IMAP_CMD_DONE;
	}
	r = mbox_status(ref.u, ref.folder, &st, &err);
	if (r == 0)
		cmd_mbox_status_line(&cmd->out, name, sa.items, &st, c->utf8);
	imap_acl_ref_free(&ref);
	free(name);
	imap_status_free(&sa);
	if (r < 0)
		return cmd_mbox_fail(cmd, r, false, err);
	imap_cmd_ok(cmd, "STATUS completed");
	return IMAP_CMD_DONE;
}
