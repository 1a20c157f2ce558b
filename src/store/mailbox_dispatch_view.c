/*
 * mailbox_dispatch_view - the public mbox_view_* and the message
 * changes made through a view (STORE, EXPUNGE, COPY, VANISHED), each
 * sent to the view's backend (see mailbox_dispatch.c).
 *
 * Trust: none of its own; arguments go through unchanged.
 */
#include "store/mailbox_backend.h"

#define MU(u)	((struct mbox_md_user *)(u))
#define MV(v)	((struct mbox_md_view *)(v))
#define CMV(v)	((const struct mbox_md_view *)(v))
#define ON_PG(v) ((v)->be == MBOX_PG)

int
mbox_view_open(struct mbox_user *u, const char *name, bool readonly,
    struct mbox_view **v_r, char **error_r)
{
	struct mbox_md_view *mv = NULL;
	int r;

	*v_r = NULL;
	if (ON_PG(u))
		return mbox_pg_view_open(u, name, readonly, v_r, error_r);
	if ((r = mbox_md_view_open(MU(u), name, readonly, &mv, error_r)) < 0)
		return r;
	*v_r = (struct mbox_view *)mv;
	return 0;
}

void
mbox_view_close(struct mbox_view **v)
{
	struct mbox_md_view *mv;

	if (*v == NULL)
		return;
	if (ON_PG(*v)) {
		mbox_pg_view_close(v);
		return;
	}
	mv = MV(*v);
	*v = NULL;
	mbox_md_view_close(&mv);
}

char *
mbox_view_name(struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_name(v);
	return mbox_md_view_name(MV(v));
}

bool
mbox_view_readonly(const struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_readonly(v);
	return mbox_md_view_readonly(CMV(v));
}

uint32_t
mbox_view_count(const struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_count(v);
	return mbox_md_view_count(CMV(v));
}

uint32_t
mbox_view_uid(const struct mbox_view *v, uint32_t seq)
{
	if (ON_PG(v))
		return mbox_pg_view_uid(v, seq);
	return mbox_md_view_uid(CMV(v), seq);
}

uint32_t
mbox_view_seq(const struct mbox_view *v, uint32_t uid)
{
	if (ON_PG(v))
		return mbox_pg_view_seq(v, uid);
	return mbox_md_view_seq(CMV(v), uid);
}

uint32_t
mbox_view_seq_ceil(const struct mbox_view *v, uint32_t uid)
{
	if (ON_PG(v))
		return mbox_pg_view_seq_ceil(v, uid);
	return mbox_md_view_seq_ceil(CMV(v), uid);
}

void
mbox_view_status(struct mbox_view *v, struct mbox_status *st)
{
	if (ON_PG(v))
		mbox_pg_view_status(v, st);
	else
		mbox_md_view_status(MV(v), st);
}

int
mbox_view_msg(struct mbox_view *v, uint32_t seq, struct mbox_msg_info *info_r)
{
	if (ON_PG(v))
		return mbox_pg_view_msg(v, seq, info_r);
	return mbox_md_view_msg(MV(v), seq, info_r);
}

unsigned
mbox_view_n_keywords(struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_n_keywords(v);
	return mbox_md_view_n_keywords(MV(v));
}

const char *
mbox_view_keyword(struct mbox_view *v, unsigned i)
{
	if (ON_PG(v))
		return mbox_pg_view_keyword(v, i);
	return mbox_md_view_keyword(MV(v), i);
}

bool
mbox_view_keywords_news(struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_keywords_news(v);
	return mbox_md_view_keywords_news(MV(v));
}

uint32_t
mbox_view_keywords_told(const struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_keywords_told(v);
	return mbox_md_view_keywords_told(CMV(v));
}

bool
mbox_view_can_add_keywords(struct mbox_view *v)
{
	if (ON_PG(v))
		return mbox_pg_view_can_add_keywords(v);
	return mbox_md_view_can_add_keywords(MV(v));
}

int
mbox_view_msg_open(struct mbox_view *v, uint32_t seq)
{
	if (ON_PG(v))
		return mbox_pg_view_msg_open(v, seq);
	return mbox_md_view_msg_open(MV(v), seq);
}

void
mbox_view_msg_prefetch(struct mbox_view *v, uint32_t seq)
{
	if (ON_PG(v))
		mbox_pg_view_msg_prefetch(v, seq);
	else
		mbox_md_view_msg_prefetch(MV(v), seq);
}

char *
mbox_view_msg_path(struct mbox_view *v, uint32_t seq)
{
	if (ON_PG(v))
		return mbox_pg_view_msg_path(v, seq);
	return mbox_md_view_msg_path(MV(v), seq);
}

int
mbox_view_uidl(struct mbox_view *v, uint32_t seq,
    char out[MBOX_UIDL_MAX + 1])
{
	if (ON_PG(v))
		return mbox_pg_view_uidl(v, seq, out);
	return mbox_md_view_uidl(MV(v), seq, out);
}

int
mbox_view_sync(struct mbox_view *v, char **error_r)
{
	if (ON_PG(v))
		return mbox_pg_view_sync(v, error_r);
	return mbox_md_view_sync(MV(v), error_r);
}

int
mbox_view_refresh(struct mbox_view *v, char **error_r)
{
	if (ON_PG(v))
		return mbox_pg_view_sync(v, error_r);
	(void)error_r;
	return 0;
}

void
mbox_view_changes(struct mbox_view *v, struct mbox_changes *ch)
{
	if (ON_PG(v))
		mbox_pg_view_changes(v, ch);
	else
		mbox_md_view_changes(MV(v), ch);
}

void
mbox_view_watch(struct mbox_view *v, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	if (ON_PG(v))
		mbox_pg_view_watch(v, loop, cb, arg);
	else
		mbox_md_view_watch(MV(v), loop, cb, arg);
}

int
mbox_store(struct mbox_view *v, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r)
{
	if (ON_PG(v))
		return mbox_pg_store(v, seqs, n, op, flags, keywords,
		    unchangedsince, modified_r, n_modified_r, error_r);
	return mbox_md_store(MV(v), seqs, n, op, flags, keywords,
	    unchangedsince, modified_r, n_modified_r, error_r);
}

int
mbox_expunge(struct mbox_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r)
{
	if (ON_PG(v))
		return mbox_pg_expunge(v, uids, n, require_deleted,
		    expunged_r, n_expunged_r, error_r);
	return mbox_md_expunge(MV(v), uids, n, require_deleted, expunged_r,
	    n_expunged_r, error_r);
}

int
mbox_copy(struct mbox_view *v, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r)
{
	if (ON_PG(v))
		return mbox_pg_copy(v, seqs, n, dest, move, uidvalidity_r,
		    src_uids_r, dst_uids_r, n_r, error_r);
	return mbox_md_copy(MV(v), seqs, n, dest, move, uidvalidity_r,
	    src_uids_r, dst_uids_r, n_r, error_r);
}

int
mbox_vanished_since(struct mbox_view *v, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r)
{
	if (ON_PG(v))
		return mbox_pg_vanished_since(v, modseq, ranges_r, n_r,
		    error_r);
	return mbox_md_vanished_since(MV(v), modseq, ranges_r, n_r, error_r);
}
