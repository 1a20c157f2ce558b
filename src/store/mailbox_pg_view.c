/*
 * mailbox_pg_view - a folder as one session sees it, on PostgreSQL
 * (mbox_pg_view_*, mailbox_backend.h): the sequence map and the flags,
 * keywords, MODSEQs and sizes the session was shown (cur), and the
 * newest state a sync read (next). pg_ms_select fills both at open;
 * mbox_view_sync reads pg_ms_changes since next's MODSEQ (flags, new
 * messages, VANISHED) into next; mbox_view_changes tells the difference
 * (expunges by descending seq, EXISTS/RECENT, FETCH FLAGS) and makes
 * cur next. A pruned expunge log (vanished_complete false) re-reads the
 * whole folder instead.
 *
 * The view's own STOREs: their results are copied into cur at once
 * (FETCH after STORE shows them), so changes() does not report them
 * again. \Recent: a read-write view claims with pg_ms_claim_recent at
 * open and whenever a sync finds new messages (each message is recent
 * in exactly one session across nodes); EXAMINE claims nothing and
 * shows the messages nobody claimed yet.
 *
 * Message content (mbox_view_msg_open) is mailbox_pg_read.c's.
 *
 * Memory: ~40 bytes per message twice (cur and next) per view.
 * Threads: one view is used by one thread at a time (its session's);
 * only next's MODSEQ is read by the listener (atomic).
 * Trust: keywords from clients are checked (mbox_keyword_valid); keyword
 * names from the database are kept as they are (at most
 * MBOX_KEYWORDS_MAX per view, others are not shown).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "util/array.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PV(v)	((struct mbox_pg_view *)(v))
#define CPV(v)	((const struct mbox_pg_view *)(v))

/* ---- message lists -------------------------------------------------- */

/* The index of the first message with a UID >= uid. */
static size_t
list_ceil(const struct mbox_pg_list *l, uint32_t uid)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long
mbox_pg_list_find(const struct mbox_pg_list *l, uint32_t uid)
{
	size_t k = list_ceil(l, uid);

	return k < l->n && l->m[k].uid == uid ? (long)k : -1;
}

static void
list_copy(struct mbox_pg_list *to, const struct mbox_pg_list *from)
{
	free(to->m);
	to->cap = from->n ? from->n : 1;
	to->m = xcalloc(to->cap, sizeof(*to->m));
	if (from->n)
		memcpy(to->m, from->m, from->n * sizeof(*to->m));
	to->n = from->n;
}

/* ---- keywords ------------------------------------------------------- */

int
mbox_pg_kw_bit(struct mbox_pg_view *v, const char *name, size_t len, bool add)
{
	for (unsigned i = 0; i < v->n_kw; i++)
		if (strlen(v->kw[i]) == len &&
		    strncasecmp(v->kw[i], name, len) == 0)
			return (int)i;
	if (!add || v->n_kw >= MBOX_KEYWORDS_MAX)
		return -1;
	v->kw[v->n_kw] = xstrndup(name, len);
	return (int)v->n_kw++;
}

/* Bits of "a b c" (pg_ms_msg.keywords), learning new names. */
static uint32_t
kw_mask(struct mbox_pg_view *v, const char *names)
{
	uint32_t mask = 0;

	while (names && *names) {
		size_t len = strcspn(names, " ");
		int b = len ? mbox_pg_kw_bit(v, names, len, true) : -1;
		if (b >= 0)
			mask |= 1u << b;
		names += len;
		names += *names == ' ';
	}
	return mask;
}

static uint32_t
kw_all(const struct mbox_pg_view *v)
{
	return v->n_kw ? (uint32_t)((1ull << v->n_kw) - 1) : 0;
}

/* ---- reading the database ------------------------------------------- */

static void
msg_set(struct mbox_pg_view *v, struct mbox_pg_msg *d,
    const struct pg_ms_msg *s, uint16_t keep)
{
	d->uid = s->uid;
	d->flags = (uint16_t)((s->flags & MBOX_F_STORABLE) | keep);
	d->kw = kw_mask(v, s->keywords);
	d->modseq = s->modseq;
	d->size = s->size;
	d->idate = s->internaldate;
	d->sdate = s->savedate;
	d->blob = s->blob_id;
	d->exact = s->exact;
}

/* Marks the messages a claim gave this view as \Recent in next. */
static int
claim(struct mbox_pg_view *v, char **error_r)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	char *err = NULL;
	int rc = pg_ms_claim_recent(v->mailbox_id, &uids, &n, &err);

	if (rc != PG_OK)
		return mbox_pg_rc(rc, &err, error_r);
	for (size_t i = 0; i < n; i++) {
		long k = mbox_pg_list_find(&v->next, uids[i]);
		if (k >= 0)
			v->next.m[k].flags |= MBOX_F_RECENT;
	}
	free(uids);
	return 0;
}

/* A read-only view: its messages from UID from up that no read-write
 * view claimed (UID >= recent_uid) are \Recent for it too (RFC 3501
 * 2.3.2, as STATUS counts them), and stay unclaimed. */
static void
mark_unclaimed(struct mbox_pg_view *v, uint32_t from, uint32_t recent_uid)
{
	uint32_t lo = from > recent_uid ? from : recent_uid;

	for (size_t i = list_ceil(&v->next, lo); i < v->next.n; i++)
		v->next.m[i].flags |= MBOX_F_RECENT;
}

/* st (everything, or changes since next's MODSEQ) into next. */
static void
apply(struct mbox_pg_view *v, const struct pg_ms_state *st, bool whole)
{
	struct mbox_pg_list nl = { NULL, 0, 0 };

	if (whole) {
		nl.cap = st->n ? (uint32_t)st->n : 1;
		nl.m = xcalloc(nl.cap, sizeof(*nl.m));
		for (size_t i = 0; i < st->n; i++) {
			long k = mbox_pg_list_find(&v->next, st->msgs[i].uid);
			msg_set(v, &nl.m[nl.n++], &st->msgs[i], k >= 0 ?
			    v->next.m[k].flags & MBOX_F_RECENT : 0);
		}
		free(v->next.m);
		v->next = nl;
		return;
	}
	for (size_t i = 0; i < st->n_vanished; i++) {
		long k = mbox_pg_list_find(&v->next, st->vanished[i]);
		if (k >= 0) {
			memmove(&v->next.m[k], &v->next.m[k + 1],
			    (v->next.n - (size_t)k - 1) * sizeof(*v->next.m));
			v->next.n--;
		}
	}
	for (size_t i = 0; i < st->n; i++) {
		long k = mbox_pg_list_find(&v->next, st->msgs[i].uid);
		if (k >= 0) {
			msg_set(v, &v->next.m[k], &st->msgs[i],
			    v->next.m[k].flags & MBOX_F_RECENT);
			continue;
		}
		size_t at = list_ceil(&v->next, st->msgs[i].uid);
		ARRAY_PUSH(v->next.m, v->next.n, v->next.cap);
		memmove(&v->next.m[at + 1], &v->next.m[at],
		    (v->next.n - at - 1) * sizeof(*v->next.m));
		msg_set(v, &v->next.m[at], &st->msgs[i], 0);
	}
}

int
mbox_pg_view_sync(struct mbox_view *vv, char **error_r)
{
	struct mbox_pg_view *v = PV(vv);
	struct pg_ms_state st;
	uint32_t old_uidnext = v->uidnext;
	char *err = NULL;
	bool whole = false;
	int rc;

	if (v->gone) {
		mbox_error(error_r, "The folder was deleted");
		return MBOX_ERR_GONE;
	}
	if (atomic_exchange(&v->renamed, false)) {
		int64_t owner;
		char *name = NULL;
		if ((rc = pg_ms_folder_name(v->mailbox_id, &owner, &name,
		    &err)) == PG_OK)
			mbox_pg_view_set_name(v, name);
		else if (rc != PG_MS_NONEXISTENT) {
			atomic_store(&v->renamed, true);
			return mbox_pg_rc(rc, &err, error_r);
		}
		free(err);
		err = NULL;
	}
	rc = pg_ms_changes(v->mailbox_id, atomic_load(&v->modseq), &st, &err);
	if (rc == PG_OK && !st.vanished_complete) {
		pg_ms_state_free(&st);
		whole = true;
		rc = pg_ms_changes(v->mailbox_id, 0, &st, &err);
	}
	if (rc == PG_MS_NONEXISTENT) {
		free(err);
		v->gone = true;
		mbox_error(error_r, "The folder was deleted");
		return MBOX_ERR_GONE;
	}
	if (rc != PG_OK)
		return mbox_pg_rc(rc, &err, error_r);
	if (st.uidvalidity != v->uidvalidity) {
		/* a folder by that id is never re-created: defensive */
		pg_ms_state_free(&st);
		v->gone = true;
		mbox_error(error_r, "The folder was reset");
		return MBOX_ERR_GONE;
	}
	apply(v, &st, whole);
	if (v->readonly)	/* EXAMINE: the unclaimed ones, unclaimed */
		mark_unclaimed(v, old_uidnext, st.recent_uid);
	v->uidnext = st.uidnext;
	atomic_store(&v->modseq, st.highestmodseq);
	pg_ms_state_free(&st);
	if (!v->readonly && v->uidnext > old_uidnext)
		return claim(v, error_r);
	return 0;
}

/* ---- open, close ---------------------------------------------------- */

int
mbox_pg_view_open(struct mbox_user *u, const char *name, bool readonly,
    struct mbox_view **v_r, char **error_r)
{
	struct mbox_pg_user *pu = (struct mbox_pg_user *)u;
	struct mbox_pg_view *v;
	struct pg_ms_state st;
	char *norm, *err = NULL;
	int r = mbox_name_check(name, false, &norm, error_r);

	*v_r = NULL;
	if (r < 0)
		return r;
	if ((r = pg_ms_select(pu->id, norm, &st, &err)) != PG_OK) {
		free(norm);
		return mbox_pg_rc(r, &err, error_r);
	}
	v = xcalloc(1, sizeof(*v));
	v->base.be = MBOX_PG;
	mbox_pg_user_ref(pu);
	v->u = pu;
	v->name = norm;
	v->readonly = readonly;
	v->mailbox_id = st.mailbox_id;
	v->uidvalidity = st.uidvalidity;
	v->uidnext = st.uidnext;
	atomic_store(&v->modseq, st.highestmodseq);
	apply(v, &st, true);
	if (readonly)
		mark_unclaimed(v, 1, st.recent_uid);
	pg_ms_state_free(&st);
	mbox_pg_views_add(v);
	if (!readonly && (r = claim(v, error_r)) < 0) {
		mbox_pg_view_close((struct mbox_view **)&v);
		return r;
	}
	list_copy(&v->cur, &v->next);
	v->cur_modseq = atomic_load(&v->modseq);
	v->cur_uidnext = v->uidnext;
	v->kw_told = kw_all(v);
	*v_r = &v->base;
	return 0;
}

void
mbox_pg_view_close(struct mbox_view **vp)
{
	struct mbox_pg_view *v = PV(*vp);
	struct mbox_user *u;

	*vp = NULL;
	if (v == NULL)
		return;
	mbox_pg_views_remove(v);
	for (unsigned i = 0; i < v->n_kw; i++)
		free(v->kw[i]);
	free(v->cur.m);
	free(v->next.m);
	free(v->name);
	u = &v->u->base;
	mbox_pg_user_unref(&u);
	free(v);
}

bool
mbox_pg_view_readonly(const struct mbox_view *v)
{
	return CPV(v)->readonly;
}

/* ---- the sequence map ----------------------------------------------- */

uint32_t
mbox_pg_view_count(const struct mbox_view *v)
{
	return CPV(v)->cur.n;
}

uint32_t
mbox_pg_view_uid(const struct mbox_view *v, uint32_t seq)
{
	const struct mbox_pg_list *l = &CPV(v)->cur;

	return seq >= 1 && seq <= l->n ? l->m[seq - 1].uid : 0;
}

uint32_t
mbox_pg_view_seq(const struct mbox_view *v, uint32_t uid)
{
	long k = mbox_pg_list_find(&CPV(v)->cur, uid);

	return k >= 0 ? (uint32_t)k + 1 : 0;
}

uint32_t
mbox_pg_view_seq_ceil(const struct mbox_view *v, uint32_t uid)
{
	return (uint32_t)list_ceil(&CPV(v)->cur, uid) + 1;
}

void
mbox_pg_view_status(struct mbox_view *vv, struct mbox_status *st)
{
	const struct mbox_pg_view *v = PV(vv);

	memset(st, 0, sizeof(*st));
	mbox_pg_mailboxid(v->mailbox_id, st->mailboxid);
	st->messages = v->cur.n;
	st->uidnext = v->cur_uidnext;
	st->uidvalidity = v->uidvalidity;
	st->highestmodseq = v->cur_modseq;
	for (uint32_t i = 0; i < v->cur.n; i++) {
		const struct mbox_pg_msg *m = &v->cur.m[i];
		st->recent += (m->flags & MBOX_F_RECENT) != 0;
		if (!(m->flags & MBOX_F_SEEN)) {
			st->unseen++;
			if (st->first_unseen == 0)
				st->first_unseen = i + 1;
		}
		if (m->flags & MBOX_F_DELETED) {
			st->deleted++;
			st->deleted_size += m->size;
		}
		st->size += m->size;
	}
}

int
mbox_pg_view_msg(struct mbox_view *vv, uint32_t seq,
    struct mbox_msg_info *info_r)
{
	struct mbox_pg_view *v = PV(vv);
	const struct mbox_pg_msg *m, *now;
	uint64_t h = 0xcbf29ce484222325ULL;
	long k;

	if (seq < 1 || seq > v->cur.n)
		return -1;
	m = &v->cur.m[seq - 1];
	memset(info_r, 0, sizeof(*info_r));
	info_r->uid = m->uid;
	if ((k = mbox_pg_list_find(&v->next, m->uid)) < 0) {
		info_r->expunged = true;
		return 0;
	}
	/* flags as of the last sync, as the Maildir view shows the shared
	 * folder's: a FETCH (which must not renumber) still shows another
	 * session's STORE; changes() reports it again, harmlessly */
	now = &v->next.m[k];
	info_r->flags = now->flags;
	info_r->keywords = now->kw;
	info_r->modseq = now->modseq;
	info_r->size = m->size;
	info_r->internaldate = (time_t)m->idate;
	info_r->savedate = (time_t)m->sdate;
	info_r->exact = m->exact;
	/* RFC 8474 EMAILID: the blob's id, which COPY and MOVE share and
	 * every APPEND or delivery makes anew; hashed so that it does not
	 * show how many messages the cluster has stored */
	for (int i = 0; i < 8; i++)
		h = (h ^ ((uint64_t)m->blob >> (i * 8) & 0xff)) *
		    0x100000001b3ULL;
	info_r->emailid = h ? h : 1;
	return 0;
}

/* ---- keywords ------------------------------------------------------- */

unsigned
mbox_pg_view_n_keywords(struct mbox_view *v)
{
	return PV(v)->n_kw;
}

const char *
mbox_pg_view_keyword(struct mbox_view *v, unsigned i)
{
	return i < PV(v)->n_kw ? PV(v)->kw[i] : NULL;
}

bool
mbox_pg_view_keywords_news(struct mbox_view *vv)
{
	struct mbox_pg_view *v = PV(vv);
	bool news = (kw_all(v) & ~v->kw_told) != 0;

	v->kw_told = kw_all(v);
	return news;
}

uint32_t
mbox_pg_view_keywords_told(const struct mbox_view *v)
{
	return CPV(v)->kw_told;
}

bool
mbox_pg_view_can_add_keywords(struct mbox_view *v)
{
	return !PV(v)->readonly && PV(v)->n_kw < MBOX_KEYWORDS_MAX;
}

/* ---- what changed --------------------------------------------------- */

void
mbox_pg_view_changes(struct mbox_view *vv, struct mbox_changes *ch)
{
	struct mbox_pg_view *v = PV(vv);
	size_t cap = 0, fcap = 0, n_uids = 0, ucap = 0;

	memset(ch, 0, sizeof(*ch));
	if (v->gone) {
		ch->gone = true;
		return;
	}
	/* as mailbox_view.c: a keyword the view has not told is reported
	 * once, and the caller's FLAGS line tells it (FETCH may show it) */
	ch->keywords_changed = (kw_all(v) & ~v->kw_told) != 0;
	v->kw_told = kw_all(v);
	if (atomic_load(&v->modseq) == v->cur_modseq &&
	    v->uidnext == v->cur_uidnext) {
		/* nothing new since the last report: no copy of the map */
		ch->exists = v->cur.n;
		ch->highestmodseq = v->cur_modseq;
		return;
	}
	/* expunged: in cur, not in next; descending seqs stay valid */
	for (uint32_t i = v->cur.n; i > 0; i--) {
		if (mbox_pg_list_find(&v->next, v->cur.m[i - 1].uid) >= 0)
			continue;
		*ARRAY_PUSH(ch->expunged_seqs, ch->n_expunged, cap) = i;
		*ARRAY_PUSH(ch->expunged_uids, n_uids, ucap) =
		    v->cur.m[i - 1].uid;
	}
	/* flags that others changed (own STOREs are already in cur) */
	for (uint32_t i = 0; i < v->next.n; i++) {
		long k = mbox_pg_list_find(&v->cur, v->next.m[i].uid);
		if (k >= 0 && v->cur.m[k].modseq != v->next.m[i].modseq)
			*ARRAY_PUSH(ch->flag_seqs, ch->n_flags, fcap) = i + 1;
	}
	ch->exists_changed = v->next.n > 0 && (v->cur.n == 0 ||
	    v->next.m[v->next.n - 1].uid > v->cur.m[v->cur.n - 1].uid);
	list_copy(&v->cur, &v->next);
	v->cur_modseq = atomic_load(&v->modseq);
	v->cur_uidnext = v->uidnext;
	ch->exists = v->cur.n;
	for (uint32_t i = 0; i < v->cur.n; i++)
		ch->recent += (v->cur.m[i].flags & MBOX_F_RECENT) != 0;
	ch->highestmodseq = v->cur_modseq;
}

void
mbox_pg_view_watch(struct mbox_view *v, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	mbox_pg_watch_set(PV(v), loop, cb, arg);
}
