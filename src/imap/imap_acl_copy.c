/*
 * imap_acl_copy - COPY and MOVE when the destination may be another
 * user's folder (a shared one, or the user's own while a shared folder is
 * selected). Within one user's store the store's own mbox_copy does the
 * work (hard links, all or nothing). Across two stores each message is
 * streamed from its file into a spool of the destination's store and
 * appended there with its flags and INTERNALDATE, 64 KiB at a time.
 *
 * Trust: runs for an authenticated, untrusted client on a worker; the
 * destination was resolved and checked ("i") by imap_acl_open, the
 * source by the command gate ("r"). Flags and keywords the destination's
 * rights do not allow are dropped (RFC 4314 4, as APPEND).
 *
 * Across stores a failure part way expunges the messages copied so far
 * from the destination again (the stores share no transaction; a session
 * watching the destination may see them come and go).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap/imap_acl.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/xmalloc.h"

#define COPY_CHUNK	(64 * 1024)

/* The keywords of a message as a NULL-terminated list (names owned by the
 * view), or NULL when none may be set. */
static const char **
msg_keywords(struct mbox_view *v, uint32_t bits, bool allowed)
{
	const char **kw;
	size_t n = 0;

	if (!allowed || bits == 0)
		return NULL;
	kw = xcalloc(MBOX_KEYWORDS_MAX + 1, sizeof(*kw));
	for (unsigned i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if ((bits & (1u << i)) && mbox_view_keyword(v, i) != NULL)
			kw[n++] = mbox_view_keyword(v, i);
	return kw;
}

/* Streams message seq of v into a spool of u (stored as received when
 * the original was: exact). */
static int
spool_msg(struct mbox_view *v, uint32_t seq, bool exact, struct mbox_user *u,
    struct mbox_spool **s_r, char **err_r)
{
	char *buf;
	ssize_t got;
	int fd, r = 0;

	*s_r = NULL;
	if ((fd = mbox_view_msg_open(v, seq)) < 0) {
		*err_r = xstrdup(errno == ENOENT ? "Message was expunged" :
		    "Cannot read a message");
		return errno == ENOENT ? MBOX_ERR_EXPUNGED : MBOX_ERR_TEMP;
	}
	*s_r = mbox_spool_new(u);
	if (exact)
		mbox_spool_exact(*s_r);
	buf = xmalloc(COPY_CHUNK);
	while (r == 0 && (got = read(fd, buf, COPY_CHUNK)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = -1;
		else
			r = mbox_spool_write(*s_r, buf, (size_t)got);
	}
	free(buf);
	close(fd);
	if (r == 0)
		r = mbox_spool_finish(*s_r);
	if (r != 0) {
		int e = mbox_spool_error(*s_r);
		*err_r = xstrdup("Cannot copy a message");
		mbox_spool_free(s_r);
		return e == ENOSPC || e == EDQUOT ? MBOX_ERR_NOSPACE :
		    MBOX_ERR_TEMP;
	}
	return 0;
}

/* One message of v into to's folder; its new UID in *uid_r. */
static int
copy_one(struct mbox_view *v, uint32_t seq, const struct imap_acl_ref *to,
    uint32_t *uidvalidity_r, uint32_t *uid_r, char **err_r)
{
	struct mbox_msg_info mi;
	struct mbox_spool *s;
	const char **kw;
	int r;

	if (mbox_view_msg(v, seq, &mi) < 0 || mi.expunged) {
		*err_r = xstrdup("Message was expunged");
		return MBOX_ERR_EXPUNGED;
	}
	if ((r = spool_msg(v, seq, mi.exact, to->u, &s, err_r)) < 0)
		return r;
	kw = msg_keywords(v, mi.keywords, to->rights & MBOX_ACL_WRITE);
	r = mbox_append_spool(to->u, to->folder, &s, imap_acl_allowed_flags(
	    to->rights, mi.flags & MBOX_F_STORABLE), kw, mi.internaldate,
	    uidvalidity_r, uid_r, err_r);
	free(kw);
	return r;
}

/* Removes the n messages just appended to to's folder, so that a failed
 * COPY leaves the destination as it was (RFC 9051 6.4.7). */
static void
undo_appends(const struct imap_acl_ref *to, const uint32_t *uids, size_t n)
{
	struct mbox_view *v;

	if (n == 0 || mbox_view_open(to->u, to->folder, false, &v, NULL) < 0)
		return;
	mbox_expunge(v, uids, n, false, NULL, NULL, NULL);
	mbox_view_close(&v);
}

static int
copy_across(struct imap_cmd *cmd, const uint32_t *seqs, size_t n,
    const struct imap_acl_ref *to, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_r, uint32_t **dst_r, size_t *n_r, char **err_r)
{
	struct mbox_view *v = cmd->c->view;
	uint32_t *src = xcalloc(n, sizeof(*src));
	uint32_t *dst = xcalloc(n, sizeof(*dst));
	size_t done;
	int r = 0;

	for (done = 0; done < n; done++) {
		src[done] = mbox_view_uid(v, seqs[done]);
		r = copy_one(v, seqs[done], to, uidvalidity_r, &dst[done],
		    err_r);
		if (r < 0)
			break;
	}
	if (r == 0 && move)
		r = mbox_expunge(v, src, n, false, NULL, NULL, err_r);
	if (r < 0) {
		undo_appends(to, dst, done);
		free(src);
		free(dst);
		return r;
	}
	*src_r = src;
	*dst_r = dst;
	*n_r = n;
	return 0;
}

int
imap_acl_copy(struct imap_cmd *cmd, const uint32_t *seqs, size_t n,
    const struct imap_acl_ref *to, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_r, uint32_t **dst_r, size_t *n_r, char **err_r)
{
	struct imap_client *c = cmd->c;
	const char *from = c->acl_owner ? c->acl_owner : c->user;

	*src_r = *dst_r = NULL;
	*n_r = 0;
	if (strcmp(from, to->owner) == 0)
		return mbox_copy(c->view, seqs, n, to->folder, move,
		    uidvalidity_r, src_r, dst_r, n_r, err_r);
	return copy_across(cmd, seqs, n, to, move, uidvalidity_r, src_r,
	    dst_r, n_r, err_r);
}
