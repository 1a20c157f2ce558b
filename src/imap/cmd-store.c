/*
 * cmd-store - STORE, COPY and MOVE with their UID forms (RFC 9051 6.4.6,
 * 6.4.7, 6.4.8), UNCHANGEDSINCE (RFC 7162 3.1.3), COPYUID (RFC 4315).
 *
 * Trust: authenticated but untrusted client; arguments are parsed by
 * imap_args.c, sets checked against the view in imap_msgs.c, the mailbox
 * name decoded strictly by cmd_mbox_lookup() (a name that is no modified
 * UTF-7 names no mailbox: NO [NONEXISTENT]) and validated again by the
 * store.
 *
 * STORE answers: without .SILENT an untagged FETCH (FLAGS, UID for UID
 * STORE or under QRESYNC, MODSEQ under CONDSTORE) for every message of
 * the set that is still there and was not refused by UNCHANGEDSINCE.
 * With .SILENT and CONDSTORE on, RFC 7162 3.1.3 still wants the new
 * MODSEQ of each message this STORE changed: "* n FETCH (MODSEQ (m))"
 * (plus UID as above). Messages that failed UNCHANGEDSINCE are listed in
 * the tagged "OK [MODIFIED set]" (UIDs for UID STORE) and get no FETCH.
 *
 * COPY, MOVE and STORE that file messages as spam or ham (into or out of
 * Junk, $Junk, $NotJunk) hand them to the spam learner (imap_learn.h).
 *
 * MOVE answers "* OK [COPYUID ...]" first; the EXPUNGE (or VANISHED)
 * responses for the moved messages come from the session core, which adds
 * the view's pending changes before the tagged OK (RFC 6851 3.3).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "imap/imap_client.h"
#include "imap/imap_learn.h"
#include "imap/imap_msgs.h"
#include "imap/imap_notify.h"
#include "imap/imap_quota.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/xmalloc.h"

/* The seqs of a resolved set as an array (*n_r of them; NULL when 0). */
static uint32_t *
expand(const struct imap_seqset *s, size_t *n_r)
{
	uint64_t total = imap_seqset_count(s);
	uint32_t *a, seq;
	size_t n = 0;
	unsigned i;

	*n_r = 0;
	if (total == 0)
		return NULL;
	a = xcalloc((size_t)total, sizeof(*a));
	for (i = 0; i < s->count; i++)
		for (seq = s->ranges[i].lo;; seq++) {
			a[n++] = seq;
			if (seq == s->ranges[i].hi)
				break;
		}
	*n_r = n;
	return a;
}

static bool
readonly(struct imap_cmd *cmd)
{
	return cmd->c->readonly || mbox_view_readonly(cmd->c->view);
}

/* ---- STORE ------------------------------------------------------------- */

struct store_run {
	struct imap_store	 st;
	struct imap_seqset	 seqs;
	uint32_t		*seq;		/* the set, expanded */
	size_t			 n;
	uint64_t		*before;	/* MODSEQs before (silent) */
	uint32_t		*modified;	/* UNCHANGEDSINCE failures */
	size_t			 n_modified;
	const char		**keywords;	/* NULL-terminated */
};

static void
store_run_free(struct store_run *s)
{
	imap_store_free(&s->st);
	imap_seqset_free(&s->seqs);
	free(s->seq);
	free(s->before);
	free(s->modified);
	free(s->keywords);
}

static enum mbox_store_op
store_op(enum imap_store_op op)
{
	switch (op) {
	case IMAP_STORE_ADD:
		return MBOX_STORE_ADD;
	case IMAP_STORE_REMOVE:
		return MBOX_STORE_REMOVE;
	case IMAP_STORE_SET:
		break;
	}
	return MBOX_STORE_REPLACE;
}

/* Remembers each message's MODSEQ, so .SILENT can tell what changed. */
static void
note_before(struct imap_cmd *cmd, struct store_run *s)
{
	struct mbox_msg_info info;
	size_t i;

	s->before = xcalloc(s->n ? s->n : 1, sizeof(*s->before));
	for (i = 0; i < s->n; i++)
		if (mbox_view_msg(cmd->c->view, s->seq[i], &info) == 0 &&
		    !info.expunged)
			s->before[i] = info.modseq;
}

/* UNCHANGEDSINCE 0 fails for every message (RFC 7162 3.1.3). */
static void
all_modified(struct imap_cmd *cmd, struct store_run *s)
{
	struct mbox_msg_info info;
	size_t i;

	s->modified = xcalloc(s->n ? s->n : 1, sizeof(*s->modified));
	for (i = 0; i < s->n; i++)
		if (mbox_view_msg(cmd->c->view, s->seq[i], &info) == 0 &&
		    !info.expunged)
			s->modified[s->n_modified++] = s->seq[i];
}

/* The untagged FETCH responses after the store. */
static void
store_answer(struct imap_cmd *cmd, struct store_run *s)
{
	struct imap_client *c = cmd->c;
	struct mbox_msg_info info;
	bool want_uid = cmd->uid || c->qresync;
	size_t i, m = 0;

	for (i = 0; i < s->n; i++) {
		while (m < s->n_modified && s->modified[m] < s->seq[i])
			m++;
		if (m < s->n_modified && s->modified[m] == s->seq[i])
			continue;
		if (mbox_view_msg(c->view, s->seq[i], &info) < 0 ||
		    info.expunged)
			continue;
		if (s->st.silent && (!c->condstore ||
		    info.modseq == s->before[i]))
			continue;
		/* silent here implies condstore: MODSEQ is never empty */
		buf_printf(&cmd->out, "* %u FETCH (", s->seq[i]);
		if (want_uid)
			buf_printf(&cmd->out, "UID %u%s", info.uid,
			    s->st.silent && !c->condstore ? "" : " ");
		if (!s->st.silent) {
			buf_puts(&cmd->out, "FLAGS ");
			imap_out_flags(&cmd->out, c->view,
			    imap_msgs_flags(c, info.flags), info.keywords);
			if (c->condstore)
				buf_putc(&cmd->out, ' ');
		}
		if (c->condstore)
			buf_printf(&cmd->out, "MODSEQ (%llu)",
			    (unsigned long long)info.modseq);
		buf_puts(&cmd->out, ")\r\n");
	}
}

/* "OK [MODIFIED set]" with seqs, or UIDs for UID STORE. */
static void
store_modified(struct imap_cmd *cmd, struct store_run *s)
{
	struct buf set;
	size_t i;

	if (cmd->uid)
		for (i = 0; i < s->n_modified; i++)
			s->modified[i] = mbox_view_uid(cmd->c->view,
			    s->modified[i]);
	buf_init(&set, 0);
	imap_msgs_format_set(&set, s->modified, s->n_modified);
	imap_cmd_ok(cmd, "[MODIFIED %s] Conditional STORE failed",
	    buf_cstr(&set));
	buf_free(&set);
}

static void
store_run(struct imap_cmd *cmd, struct store_run *s)
{
	struct imap_flags *fl = &s->st.flags;
	char *error = NULL;
	unsigned i;
	int r = 0;

	s->seq = expand(&s->seqs, &s->n);
	if (s->st.silent && cmd->c->condstore)
		note_before(cmd, s);
	s->keywords = xcalloc(fl->keyword_count + 1, sizeof(*s->keywords));
	for (i = 0; i < fl->keyword_count; i++)
		s->keywords[i] = fl->keywords[i];
	if (s->st.unchangedsince_given && s->st.unchangedsince == 0)
		all_modified(cmd, s);
	else if (s->n > 0)
		r = mbox_store(cmd->c->view, s->seq, s->n,
		    store_op(s->st.op), fl->system & MBOX_F_STORABLE,
		    fl->keyword_count ? s->keywords : NULL,
		    s->st.unchangedsince_given ? s->st.unchangedsince : 0,
		    &s->modified, &s->n_modified, &error);
	if (r < 0) {
		imap_cmd_store_error(cmd, r, false, error);
		free(error);
		return;
	}
	imap_learn_store(cmd, s->st.op, fl, s->seq, s->n, s->modified,
	    s->n_modified);
	imap_out_new_keywords(&cmd->out, cmd->c->view, cmd->c->readonly);
	store_answer(cmd, s);
	if (s->n_modified > 0)
		store_modified(cmd, s);
	else
		imap_cmd_ok(cmd, "Store completed");
}

enum imap_cmd_result
cmd_store(struct imap_cmd *cmd)
{
	struct store_run s;
	const char *error;

	memset(&s, 0, sizeof(s));
	if (imap_args_parse_store(cmd->args, cmd->count, &s.st, &error) < 0 ||
	    imap_msgs_resolve(cmd->c, &s.st.set, cmd->uid, &s.seqs,
	    &error) < 0)
		imap_cmd_bad(cmd, "%s", error);
	else if (readonly(cmd))
		imap_cmd_no(cmd, "Mailbox is read-only");
	else if (!imap_acl_need(cmd, s.st.op == IMAP_STORE_SET ?
	    MBOX_ACL_SEEN | MBOX_ACL_WRITE | MBOX_ACL_DELMSG :
	    imap_acl_flag_rights(s.st.flags.system, s.st.flags.keyword_count)))
		;	/* NO [NOPERM] */
	else {
		if (s.st.unchangedsince_given)
			imap_msgs_condstore_on(cmd);
		store_run(cmd, &s);
	}
	store_run_free(&s);
	return IMAP_CMD_DONE;
}

/* ---- COPY / MOVE ------------------------------------------------------- */

/* "[COPYUID v src dst]" */
static void
put_copyuid(struct buf *out, uint32_t uidvalidity, const uint32_t *src,
    const uint32_t *dst, size_t n)
{
	buf_printf(out, "[COPYUID %u ", uidvalidity);
	imap_msgs_format_set(out, src, n);
	buf_putc(out, ' ');
	imap_msgs_format_set(out, dst, n);
	buf_putc(out, ']');
}

static void
copy_done(struct imap_cmd *cmd, bool move, uint32_t uidvalidity,
    const uint32_t *src, const uint32_t *dst, size_t n)
{
	struct buf code;

	buf_init(&code, 0);
	if (n > 0)
		put_copyuid(&code, uidvalidity, src, dst, n);
	if (!move)
		imap_cmd_ok(cmd, "%s%sCopy completed", buf_cstr(&code),
		    n > 0 ? " " : "");
	else {
		if (n > 0)
			buf_printf(&cmd->out, "* OK %s Moved\r\n",
			    buf_cstr(&code));
		imap_cmd_ok(cmd, "Move completed");
	}
	buf_free(&code);
}

/* The set and the destination name (UTF-8, malloc'd); -1 after the
   tagged BAD or NO. */
static int
copy_args(struct imap_cmd *cmd, struct imap_seqset *set, char **dest_r)
{
	const char *s, *name, *error;
	size_t len;

	memset(set, 0, sizeof(*set));
	*dest_r = NULL;
	if (cmd->count != 2 || !imap_arg_get_atom(&cmd->args[0], &s) ||
	    !imap_arg_get_astring(&cmd->args[1], &name, &len)) {
		imap_cmd_bad(cmd, "Expected a sequence set and a mailbox name");
		return -1;
	}
	if (imap_seqset_parse(s, true, set, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return -1;
	}
	if ((*dest_r = cmd_mbox_lookup(cmd, name, len)) == NULL) {
		imap_seqset_free(set);
		return -1;
	}
	return 0;
}

/* The wire size of the n messages seqs (what COPY would add). */
static uint64_t
msgs_size(struct imap_cmd *cmd, const uint32_t *seqs, size_t n)
{
	struct mbox_msg_info info;
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		if (mbox_view_msg(cmd->c->view, seqs[i], &info) == 0)
			total += info.size;
	return total;
}

static enum imap_cmd_result
copy_or_move(struct imap_cmd *cmd, bool move)
{
	struct imap_seqset set, seqs;
	struct imap_acl_ref to = { 0 };
	struct imap_learn *learn;
	uint32_t *seq = NULL, *src = NULL, *dst = NULL, uidvalidity = 0;
	size_t n = 0, n_copied = 0;
	const char *error;
	char *dest = NULL, *serror = NULL;
	int r;

	memset(&seqs, 0, sizeof(seqs));
	if (copy_args(cmd, &set, &dest) < 0)
		return IMAP_CMD_DONE;
	if (imap_msgs_resolve(cmd->c, &set, cmd->uid, &seqs, &error) < 0)
		imap_cmd_bad(cmd, "%s", error);
	else if (move && readonly(cmd))
		imap_cmd_no(cmd, "Mailbox is read-only");
	else if (move && !imap_acl_need(cmd, MBOX_ACL_DELMSG |
	    MBOX_ACL_EXPUNGE))
		;	/* NO [NOPERM]: RFC 6851 with RFC 4314 */
	else if (imap_acl_open(cmd, dest, MBOX_ACL_INSERT, true, &to) < 0)
		;	/* NO [TRYCREATE] or [NOPERM] */
	else if ((seq = expand(&seqs, &n)) == NULL)
		imap_cmd_ok(cmd, "No messages %s", move ? "moved" : "copied");
	else if (!move && !imap_quota_allows(cmd, msgs_size(cmd, seq, n), n))
		;	/* NO [OVERQUOTA] */
	else {
		learn = imap_learn_copy_begin(cmd, seq, n, dest);
		if ((r = imap_acl_copy(cmd, seq, n, &to, move, &uidvalidity,
		    &src, &dst, &n_copied, &serror)) < 0)
			imap_cmd_store_error(cmd, r, true, serror);
		else {
			imap_notify_own_added(cmd->c, &to, dst, n_copied);
			copy_done(cmd, move, uidvalidity, src, dst, n_copied);
		}
		imap_learn_copy_end(cmd, &learn, r >= 0);
	}
	imap_acl_ref_free(&to);
	imap_seqset_free(&set);
	imap_seqset_free(&seqs);
	free(seq);
	free(src);
	free(dst);
	free(dest);
	free(serror);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_copy(struct imap_cmd *cmd)
{
	return copy_or_move(cmd, false);
}

enum imap_cmd_result
cmd_move(struct imap_cmd *cmd)
{
	return copy_or_move(cmd, true);
}
