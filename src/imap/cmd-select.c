/*
 * cmd-select - IMAP commands that open, close and clean the selected
 * folder: SELECT and EXAMINE (with RFC 7162 CONDSTORE and QRESYNC), CHECK,
 * CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315).
 *
 * Trust: runs for an authenticated, untrusted client, on a worker thread
 * (the store calls block). The QRESYNC sets and the UID EXPUNGE set come
 * from the client: they are parsed by imap_args.h, resolved and walked in
 * time linear in the set plus the folder, never expanded number by number.
 *
 * Output of SELECT, in Dovecot's order: [CLOSED] for the folder left
 * behind (QRESYNC or IMAP4rev2 clients), FLAGS, PERMANENTFLAGS, EXISTS,
 * RECENT and UNSEEN (IMAP4rev1 only), UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
 * (always: RFC 7162 3.1.2.1 wants it from every CONDSTORE server for
 * folders with modseqs, and older clients ignore an unknown code), the
 * LIST of the folder (IMAP4rev2, RFC 9051 6.3.2), then QRESYNC's VANISHED
 * (EARLIER) and FETCH responses, sent in chunks (IMAP_CMD_MORE) since a
 * big folder can have changed everywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/xmalloc.h"

/* QRESYNC state kept across IMAP_CMD_MORE calls. */
struct select_ctx {
	uint64_t		 modseq;	/* the client's */
	struct imap_seqset	 known;		/* resolved; count 0: all */
	uint32_t		 next_seq;	/* next message to look at */
	bool			 readonly;
};

static void
select_ctx_free(struct imap_cmd *cmd)
{
	struct select_ctx *x = cmd->ctx;

	if (x == NULL)
		return;
	imap_seqset_free(&x->known);
	free(x);
	cmd->ctx = NULL;
}

/* Leaves the selected folder, if any. announce: SELECT/EXAMINE closing it
 * implicitly, which RFC 7162 3.2.11 and RFC 9051 7.1 mark with
 * "OK [CLOSED]" for QRESYNC and IMAP4rev2 clients. */
static void
deselect(struct imap_cmd *cmd, bool announce)
{
	struct imap_client *c = cmd->c;

	if (c->view == NULL)
		return;
	mbox_view_close(&c->view);
	c->readonly = false;
	c->state = IMAP_STATE_AUTH;
	XFREE(&c->searchres);
	c->n_searchres = 0;
	c->searchres_set = false;
	imap_context_clear(c);
	if (announce && (c->qresync || c->rev2))
		buf_puts(&cmd->out, "* OK [CLOSED] Previous mailbox closed\r\n");
}

/* RFC 9051 6.3.2: IMAP4rev2 wants the folder's LIST response. shared:
 * the name the client used for another user's folder (no attributes). */
static void
select_list_line(struct imap_cmd *cmd, struct mbox_view *v,
    const char *shared)
{
	struct mbox_folder_info *list = NULL;
	char *name = shared ? xstrdup(shared) : mbox_view_name(v);
	unsigned flags = 0;
	size_t n = 0;

	if (shared == NULL && mbox_list(cmd->c->mu, &list, &n, NULL) == 0)
		for (size_t i = 0; i < n; i++)
			if (strcmp(list[i].name, name) == 0)
				flags = list[i].flags;
	mbox_list_free(list, n);
	buf_puts(&cmd->out, "* LIST (");
	cmd_mbox_attrs(&cmd->out, flags, false);
	buf_puts(&cmd->out, ") \"/\" ");
	imap_out_mailbox(&cmd->out, name, true);
	buf_puts(&cmd->out, "\r\n");
	free(name);
}

static void
select_output(struct imap_cmd *cmd, struct mbox_view *v, bool readonly,
    const char *shared)
{
	struct imap_client *c = cmd->c;
	struct buf *out = &cmd->out;
	struct mbox_status st;

	mbox_view_status(v, &st);
	imap_out_flag_lists(out, v, readonly);
	buf_printf(out, "* %u EXISTS\r\n", st.messages);
	if (!c->rev2) {
		buf_printf(out, "* %u RECENT\r\n", st.recent);
		if (st.first_unseen)
			buf_printf(out, "* OK [UNSEEN %u] First unseen\r\n",
			    st.first_unseen);
	}
	buf_printf(out, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest\r\n"
	    "* OK [MAILBOXID (%s)] Ok\r\n", st.uidvalidity,
	    st.uidnext, (unsigned long long)st.highestmodseq, st.mailboxid);
	if (c->rev2)
		select_list_line(cmd, v, shared);
}

/* Appends first:last, or first, with a comma unless *first_r. */
static void
put_range(struct buf *out, uint32_t first, uint32_t last, bool *first_r)
{
	if (!*first_r)
		buf_putc(out, ',');
	*first_r = false;
	if (first == last)
		buf_printf(out, "%u", first);
	else
		buf_printf(out, "%u:%u", first, last);
}

/* "* VANISHED (EARLIER) ..." for the ranges, cut to the known UIDs when
 * the client gave them (RFC 7162 3.2.5.1). Both lists are ascending and
 * disjoint, so one merge walk intersects them. */
static void
vanished_line(struct buf *out, const struct mbox_uid_range *r, size_t n,
    const struct imap_seqset *known)
{
	struct buf line;
	size_t k = 0;
	bool first = true;

	buf_init(&line, 0);
	for (size_t i = 0; i < n; i++) {
		if (known->count == 0) {
			put_range(&line, r[i].first, r[i].last, &first);
			continue;
		}
		while (k < known->count && known->ranges[k].hi < r[i].first)
			k++;
		for (size_t j = k; j < known->count &&
		    known->ranges[j].lo <= r[i].last; j++) {
			uint32_t lo = known->ranges[j].lo > r[i].first ?
			    known->ranges[j].lo : r[i].first;
			uint32_t hi = known->ranges[j].hi < r[i].last ?
			    known->ranges[j].hi : r[i].last;
			put_range(&line, lo, hi, &first);
		}
	}
	if (!first)	/* nothing vanished: no line */
		buf_printf(out, "* VANISHED (EARLIER) %s\r\n",
		    buf_cstr(&line));
	buf_free(&line);
}

/* FETCH (UID FLAGS MODSEQ) of messages changed since the client's modseq,
 * from x->next_seq on; stops after about a chunk. True when done. */
static bool
qresync_fetches(struct imap_cmd *cmd, struct select_ctx *x)
{
	struct mbox_view *v = cmd->c->view;
	struct buf *out = &cmd->out;
	uint32_t count = mbox_view_count(v);
	struct mbox_msg_info mi;

	for (; x->next_seq <= count; x->next_seq++) {
		if (out->len >= IMAP_OUT_CHUNK)
			return false;
		if (mbox_view_msg(v, x->next_seq, &mi) < 0 || mi.expunged ||
		    mi.modseq <= x->modseq || (x->known.count > 0 &&
		    !imap_seqset_contains(&x->known, mi.uid)))
			continue;
		if (cmd->c->rev2)
			mi.flags &= ~MBOX_F_RECENT;
		buf_printf(out, "* %u FETCH (UID %u FLAGS ", x->next_seq,
		    mi.uid);
		imap_out_flags(out, v, mi.flags, mi.keywords);
		buf_printf(out, " MODSEQ (%llu))\r\n",
		    (unsigned long long)mi.modseq);
	}
	return true;
}

static enum imap_cmd_result
select_done(struct imap_cmd *cmd)
{
	struct select_ctx *x = cmd->ctx;

	imap_cmd_ok(cmd, "[%s] %s completed", x->readonly ? "READ-ONLY" :
	    "READ-WRITE", cmd->name);
	return IMAP_CMD_DONE;
}

/* QRESYNC's VANISHED (EARLIER), then starts the FETCHes. */
static enum imap_cmd_result
qresync_start(struct imap_cmd *cmd, struct imap_select *sel)
{
	struct select_ctx *x = cmd->ctx;
	struct mbox_view *v = cmd->c->view;
	struct mbox_uid_range *r = NULL;
	struct mbox_status st;
	size_t n = 0;
	char *err = NULL;
	int ret;

	mbox_view_status(v, &st);
	if (sel->uidvalidity != st.uidvalidity)
		return select_done(cmd);	/* the client starts over */
	x->modseq = sel->modseq;
	x->known = sel->known_uids;
	memset(&sel->known_uids, 0, sizeof(sel->known_uids));
	imap_seqset_resolve(&x->known, st.uidnext);
	ret = mbox_vanished_since(v, x->modseq, &r, &n, &err);
	if (ret < 0) {
		deselect(cmd, false);
		return cmd_mbox_fail(cmd, ret, false, err);
	}
	vanished_line(&cmd->out, r, n, &x->known);
	free(r);
	x->next_seq = 1;
	if (!qresync_fetches(cmd, x))
		return IMAP_CMD_MORE;
	return select_done(cmd);
}

static enum imap_cmd_result
select_common(struct imap_cmd *cmd, bool readonly)
{
	struct imap_client *c = cmd->c;
	struct imap_select sel;
	struct imap_acl_ref ref;
	struct mbox_view *v;
	struct select_ctx *x;
	const char *error;
	char *name, *err = NULL;
	enum imap_cmd_result res;
	int r;

	if (cmd->ctx != NULL) {		/* more QRESYNC FETCHes */
		if (c->view != NULL && !qresync_fetches(cmd, cmd->ctx))
			return IMAP_CMD_MORE;
		return select_done(cmd);
	}
	if (imap_args_parse_select(cmd->args, cmd->count, &sel, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return IMAP_CMD_DONE;
	}
	if (sel.qresync && !c->qresync) {
		imap_select_free(&sel);
		imap_cmd_bad(cmd, "QRESYNC is not enabled");
		return IMAP_CMD_DONE;
	}
	name = cmd_mbox_lookup(cmd, sel.mailbox, strlen(sel.mailbox));
	if (name == NULL) {		/* a failed SELECT deselects */
		deselect(cmd, true);
		imap_select_free(&sel);
		return IMAP_CMD_DONE;
	}
	/* RFC 9051 6.3.2: a SELECT that fails leaves nothing selected. */
	deselect(cmd, true);
	if (imap_acl_open(cmd, name, MBOX_ACL_READ, false, &ref) < 0) {
		free(name);
		imap_select_free(&sel);
		return IMAP_CMD_DONE;
	}
	/* RFC 4314 4: no right to change anything, so read-only */
	if (!(ref.rights & (MBOX_ACL_SEEN | MBOX_ACL_WRITE | MBOX_ACL_DELMSG |
	    MBOX_ACL_EXPUNGE)))
		readonly = true;
	r = mbox_view_open(ref.u, ref.folder, readonly, &v, &err);
	if (r < 0) {
		free(name);
		imap_acl_ref_free(&ref);
		imap_select_free(&sel);
		return cmd_mbox_fail(cmd, r, false, err);
	}
	if (sel.condstore || sel.qresync)
		c->condstore = true;	/* RFC 7162 3.1: enabling */
	readonly = readonly || mbox_view_readonly(v);
	select_output(cmd, v, readonly, ref.shared ? name : NULL);
	imap_acl_select(c, &ref);
	imap_acl_ref_free(&ref);
	free(name);
	c->view = v;
	c->readonly = readonly;
	c->state = IMAP_STATE_SELECTED;
	x = xmalloc(sizeof(*x));
	x->readonly = readonly;
	cmd->ctx = x;
	cmd->free_ctx = select_ctx_free;
	res = sel.qresync ? qresync_start(cmd, &sel) : select_done(cmd);
	imap_select_free(&sel);
	return res;
}

enum imap_cmd_result
cmd_select(struct imap_cmd *cmd)
{
	return select_common(cmd, false);
}

enum imap_cmd_result
cmd_examine(struct imap_cmd *cmd)
{
	return select_common(cmd, true);
}

/* ---- CHECK CLOSE UNSELECT ------------------------------------------- */

static bool
no_args(struct imap_cmd *cmd)
{
	if (cmd->count == 0)
		return true;
	imap_cmd_bad(cmd, "%s takes no arguments", cmd->name);
	return false;
}

/* CHECK (IMAP4rev1 only; harmless for rev2): everything is on disk
 * already, and the core reports what changed before the tagged OK. */
enum imap_cmd_result
cmd_check(struct imap_cmd *cmd)
{
	if (no_args(cmd))
		imap_cmd_ok(cmd, "CHECK completed");
	return IMAP_CMD_DONE;
}

/* CLOSE: expunges \Deleted messages silently (unless EXAMINEd), then
 * deselects. A failed expunge is told untagged; the folder is closed
 * anyway, as the client will not use it any more. */
enum imap_cmd_result
cmd_close(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	char *err = NULL;

	if (!no_args(cmd))
		return IMAP_CMD_DONE;
	if (!c->readonly && (imap_acl_selected_rights(c) & MBOX_ACL_EXPUNGE) &&
	    mbox_expunge(c->view, NULL, 0, true, NULL, NULL, &err) < 0)
		buf_printf(&cmd->out, "* NO %s\r\n",
		    err ? err : "Expunge failed");
	free(err);
	deselect(cmd, false);
	imap_cmd_ok(cmd, "CLOSE completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_unselect(struct imap_cmd *cmd)
{
	if (!no_args(cmd))
		return IMAP_CMD_DONE;
	deselect(cmd, false);
	imap_cmd_ok(cmd, "UNSELECT completed");
	return IMAP_CMD_DONE;
}

/* ---- EXPUNGE, UID EXPUNGE ------------------------------------------- */

/* The UIDs of the view inside UID EXPUNGE's set (malloc'd, *n_r). */
static int
uid_expunge_set(struct imap_cmd *cmd, uint32_t **uids_r, size_t *n_r)
{
	struct mbox_view *v = cmd->c->view;
	uint32_t count = mbox_view_count(v), seq, uid;
	struct imap_seqset set;
	const char *s, *error;
	size_t n = 0;

	*uids_r = NULL;
	*n_r = 0;
	if (cmd->count != 1 || !imap_arg_get_atom(&cmd->args[0], &s) ||
	    imap_seqset_parse(s, false, &set, &error) < 0) {
		imap_cmd_bad(cmd, "UID EXPUNGE needs a UID set");
		return -1;
	}
	imap_seqset_resolve(&set, mbox_view_uid(v, count));
	*uids_r = xcalloc(count ? count : 1, sizeof(**uids_r));
	for (unsigned i = 0; i < set.count; i++) {
		seq = mbox_view_seq_ceil(v, set.ranges[i].lo);
		for (; seq <= count; seq++) {
			uid = mbox_view_uid(v, seq);
			if (uid > set.ranges[i].hi)
				break;
			(*uids_r)[n++] = uid;
		}
	}
	imap_seqset_free(&set);
	*n_r = n;
	return 0;
}

/*
 * The store removes the messages; the untagged EXPUNGE (or VANISHED for
 * QRESYNC) lines come from imap_client_updates(), which moves the view's
 * numbering forward exactly as it announces each one.
 */
enum imap_cmd_result
cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct mbox_status st;
	uint32_t *uids = NULL;
	size_t n = 0;
	char *err = NULL;
	int r = 0;

	if (cmd->uid ? uid_expunge_set(cmd, &uids, &n) < 0 : !no_args(cmd))
		return IMAP_CMD_DONE;
	if (c->readonly) {
		free(uids);
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return IMAP_CMD_DONE;
	}
	if (!imap_acl_need(cmd, MBOX_ACL_EXPUNGE)) {
		free(uids);
		return IMAP_CMD_DONE;
	}
	if (!cmd->uid || n > 0)
		r = mbox_expunge(c->view, uids, n, true, NULL, NULL, &err);
	free(uids);
	if (r < 0)
		return cmd_mbox_fail(cmd, r, false, err);
	imap_client_updates(c, &cmd->out, true);
	if (c->qresync && c->view != NULL) {
		mbox_view_status(c->view, &st);
		imap_cmd_ok(cmd, "[HIGHESTMODSEQ %llu] %sEXPUNGE completed",
		    (unsigned long long)st.highestmodseq,
		    cmd->uid ? "UID " : "");
	} else
		imap_cmd_ok(cmd, "%sEXPUNGE completed", cmd->uid ? "UID " : "");
	return IMAP_CMD_DONE;
}
