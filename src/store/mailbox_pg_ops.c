/*
 * mailbox_pg_ops - changes made through a view on PostgreSQL: STORE,
 * EXPUNGE, COPY/MOVE, and QRESYNC's VANISHED (mbox_pg_*,
 * mailbox_backend.h), each one pg_ms_* call committed before it returns.
 *
 * After a change the view syncs (pg_ms_changes) so that its next state
 * has the change; a STORE's results are copied into what the session
 * sees at once (its FETCH answers show them, and mbox_view_changes does
 * not report them again), while expunges (EXPUNGE, MOVE) reach the
 * session through mbox_view_changes as the contract says. A failed
 * sync after a committed change is not an error: the next sync reads it.
 *
 * Trust: seqs are the session's (checked against the view); keywords
 * from clients are checked (mbox_keyword_valid); dest names with
 * mbox_name_check.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "util/array.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PV(v)	((struct mbox_pg_view *)(v))

static int
cannot_readonly(char **error_r)
{
	mbox_error(error_r, "The folder is read-only");
	return MBOX_ERR_CANNOT;
}

/* The UIDs of seqs in the view (out-of-range ones left out). */
static uint32_t *
uids_of(struct mbox_pg_view *v, const uint32_t *seqs, size_t n,
    size_t *n_r)
{
	uint32_t *uids = xcalloc(n ? n : 1, sizeof(*uids));
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (seqs[i] >= 1 && seqs[i] <= v->cur.n)
			uids[k++] = v->cur.m[seqs[i] - 1].uid;
	*n_r = k;
	return uids;
}

static void
resync(struct mbox_pg_view *v)
{
	char *err = NULL;

	if (mbox_pg_view_sync(&v->base, &err) < 0)
		free(err);
}

int
mbox_pg_store(struct mbox_view *vv, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r)
{
	static const enum pg_ms_op ops[] = {
		[MBOX_STORE_ADD] = PG_MS_ADD,
		[MBOX_STORE_REMOVE] = PG_MS_REMOVE,
		[MBOX_STORE_REPLACE] = PG_MS_REPLACE,
	};
	struct mbox_pg_view *v = PV(vv);
	uint32_t *uids, *mod = NULL, *mseq = NULL;
	size_t nu, n_mod = 0, nm = 0, cap = 0;
	uint64_t modseq = 0;
	char *err = NULL;
	int r;

	if (modified_r) {
		*modified_r = NULL;
		*n_modified_r = 0;
	}
	if (v->readonly)
		return cannot_readonly(error_r);
	for (size_t i = 0; keywords && keywords[i]; i++) {
		if (!mbox_keyword_valid(keywords[i])) {
			mbox_error(error_r, "Invalid keyword");
			return MBOX_ERR_BADNAME;
		}
		/* the view names every keyword it may show: past
		 * MBOX_KEYWORDS_MAX, a new one is refused as on Maildir */
		if (op != MBOX_STORE_REMOVE && mbox_pg_kw_bit(v, keywords[i],
		    strlen(keywords[i]), true) < 0) {
			mbox_error(error_r, "Too many keywords (%d)",
			    MBOX_KEYWORDS_MAX);
			return MBOX_ERR_LIMIT;
		}
	}
	uids = uids_of(v, seqs, n, &nu);
	if (nu == 0) {
		free(uids);
		return 0;
	}
	r = mbox_pg_rc(pg_ms_store(v->mailbox_id, uids, nu, ops[op],
	    flags & MBOX_F_STORABLE, keywords, unchangedsince, &modseq, &mod,
	    &n_mod, &err), &err, error_r);
	if (r == 0 && modseq != 0) {
		resync(v);
		for (size_t i = 0; i < nu; i++) {
			long c = mbox_pg_list_find(&v->cur, uids[i]);
			long x = mbox_pg_list_find(&v->next, uids[i]);
			if (c >= 0 && x >= 0 && v->next.m[x].modseq == modseq)
				v->cur.m[c] = v->next.m[x];
		}
	}
	for (size_t i = 0; i < n_mod; i++) {
		long c = mbox_pg_list_find(&v->cur, mod[i]);
		if (c >= 0)
			*ARRAY_PUSH(mseq, nm, cap) = (uint32_t)c + 1;
	}
	free(mod);
	free(uids);
	if (modified_r && nm > 0) {
		*modified_r = mseq;
		*n_modified_r = nm;
	} else
		free(mseq);
	return r;
}

/*
 * The expunge log (QRESYNC's VANISHED) is bounded as on Maildir: kept to
 * its newest PG_MS_EXPUNGED_KEEP once past PG_MS_EXPUNGED_AT. The check
 * is an index look-up 20,000 rows deep, so one EXPUNGE in
 * TRIM_EVERY on this node pays it (for its own folder): a folder
 * overshoots by a few hundred rows at most before some EXPUNGE trims it.
 * Failing here is harmless (the EXPUNGE is committed): logged, retried
 * at a later one.
 */
#define TRIM_EVERY	64

static void
trim_expunged(int64_t mailbox_id)
{
	static atomic_uint calls;
	char *err = NULL;
	size_t n = 0;

	if (atomic_fetch_add(&calls, 1) % TRIM_EVERY != 0)
		return;
	if (pg_ms_trim_expunged(mailbox_id, PG_MS_EXPUNGED_KEEP,
	    PG_MS_EXPUNGED_AT, &n, &err) != 0) {
		log_warn("- imap expunged-trim-failed folder=%lld error=\"%s\"",
		    (long long)mailbox_id, err ? err : "?");
		free(err);
	} else if (n > 0)
		log_info("- imap expunged-trimmed folder=%lld rows=%zu",
		    (long long)mailbox_id, n);
}

int
mbox_pg_expunge(struct mbox_view *vv, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r)
{
	struct mbox_pg_view *v = PV(vv);
	uint32_t *mine = xcalloc(uids ? (n ? n : 1) :
	    (v->cur.n ? v->cur.n : 1), sizeof(*mine));
	size_t k = 0;
	char *err = NULL;
	int r = 0;

	if (expunged_r) {
		*expunged_r = NULL;
		*n_expunged_r = 0;
	}
	if (v->readonly) {
		free(mine);
		return cannot_readonly(error_r);
	}
	/* only what the view has: EXPUNGE spares \Deleted messages the
	 * session has not been told of yet */
	if (uids == NULL) {
		for (size_t i = 0; i < v->cur.n; i++)
			if (v->cur.m[i].flags & MBOX_F_DELETED)
				mine[k++] = v->cur.m[i].uid;
		require_deleted = true;
	} else
		for (size_t i = 0; i < n; i++)
			if (mbox_pg_list_find(&v->cur, uids[i]) >= 0)
				mine[k++] = uids[i];
	if (k > 0) {
		r = mbox_pg_rc(pg_ms_expunge(v->mailbox_id, mine, k,
		    require_deleted, expunged_r, n_expunged_r, &err), &err,
		    error_r);
		if (r == 0) {
			resync(v);
			trim_expunged(v->mailbox_id);
		}
	}
	free(mine);
	return r;
}

int
mbox_pg_copy(struct mbox_view *vv, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r)
{
	struct mbox_pg_view *v = PV(vv);
	uint32_t *uids, *src = NULL, *dst = NULL;
	size_t nu, nc = 0, k = 0;
	char *norm = NULL, *err = NULL;
	int r;

	*src_uids_r = *dst_uids_r = NULL;
	*n_r = 0;
	if (move && v->readonly)
		return cannot_readonly(error_r);
	if ((r = mbox_name_check(dest, false, &norm, error_r)) < 0)
		return r;
	uids = uids_of(v, seqs, n, &nu);
	r = mbox_pg_rc(pg_ms_copy(v->mailbox_id, uids, nu, v->u->id, norm,
	    move, uidvalidity_r, &src, &dst, &nc, &err), &err, error_r);
	free(norm);
	if (r == 0 && nc == 0 && nu > 0) {
		mbox_error(error_r, "Some messages were expunged");
		r = MBOX_ERR_EXPUNGED;
	}
	if (r == 0) {
		/* COPYUID pairs in the order of seqs (src is ascending) */
		uint32_t *s2 = xcalloc(nu ? nu : 1, sizeof(*s2));
		uint32_t *d2 = xcalloc(nu ? nu : 1, sizeof(*d2));
		for (size_t i = 0; i < nu; i++) {
			size_t lo = 0, hi = nc;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (src[mid] < uids[i])
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < nc && src[lo] == uids[i]) {
				s2[k] = uids[i];
				d2[k++] = dst[lo];
			}
		}
		*src_uids_r = s2;
		*dst_uids_r = d2;
		*n_r = k;
		if (move)
			resync(v);
	}
	free(src);
	free(dst);
	free(uids);
	return r;
}

static void
range_add(struct mbox_uid_range **r, size_t *n, size_t *cap, uint32_t uid)
{
	if (*n > 0 && (*r)[*n - 1].last + 1 == uid)
		(*r)[*n - 1].last = uid;
	else {
		struct mbox_uid_range *x = ARRAY_PUSH(*r, *n, *cap);
		x->first = x->last = uid;
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
mbox_pg_vanished_since(struct mbox_view *vv, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r)
{
	struct mbox_pg_view *v = PV(vv);
	struct mbox_uid_range *rg = NULL;
	struct pg_ms_state st;
	size_t n = 0, cap = 0;
	char *err = NULL;
	int rc = pg_ms_changes(v->mailbox_id, modseq, &st, &err);

	*ranges_r = NULL;
	*n_r = 0;
	if (rc != PG_OK)
		return mbox_pg_rc(rc, &err, error_r);
	if (!st.vanished_complete) {
		/* the log was pruned: every UID the view lacks */
		uint32_t prev = 0;
		for (size_t i = 0; i <= v->cur.n; i++) {
			uint32_t next = i < v->cur.n ? v->cur.m[i].uid :
			    v->cur_uidnext;
			if (next > prev + 1) {
				struct mbox_uid_range *x = ARRAY_PUSH(rg, n,
				    cap);
				x->first = prev + 1;
				x->last = next - 1;
			}
			prev = next;
		}
	} else if (st.n_vanished > 0) {	/* qsort(NULL, 0): UB */
		qsort(st.vanished, st.n_vanished, sizeof(*st.vanished),
		    cmp_u32);
		for (size_t i = 0; i < st.n_vanished; i++) {
			uint32_t uid = st.vanished[i];
			if (uid < v->cur_uidnext &&
			    mbox_pg_list_find(&v->cur, uid) < 0)
				range_add(&rg, &n, &cap, uid);
		}
	}
	pg_ms_state_free(&st);
	*ranges_r = rg;
	*n_r = n;
	return 0;
}
