/*
 * mailbox_view - one session's view of a shared folder: its sequence
 * numbers, what it has seen, the changes it has not, its watch
 * (see mailbox.h).
 *
 * Trust: callers are protocol sessions; seqs and uids they pass are
 * range-checked here. A view is used by one thread at a time; the shared
 * folder it reads is guarded by f->mu.
 *
 * What a view knows is three numbers: uidnext (messages below it are in
 * its map unless reported expunged), modseq (flag changes up to it are
 * reported) and expunge_gen (the folder's expunge count when it last
 * compared maps). mbox_md_view_changes() compares them with the folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define RECENT_SAVE_MS	1000	/* \Recent claims written at most this often */

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- watches -------------------------------------------------------------- */

static void
watch_fire(void *arg)
{
	struct mbox_watch *w = arg;
	void (*cb)(void *);
	void *cb_arg;
	bool alive, last;

	mbox_lock(&watch_lock, MBOX_LK_WATCH);
	w->pending = false;
	alive = w->alive;
	cb = w->cb;
	cb_arg = w->arg;
	last = --w->refs == 0;
	mbox_unlock(&watch_lock, MBOX_LK_WATCH);
	if (last)
		free(w);
	if (alive)
		cb(cb_arg);
}

void
mbox_watch_post(struct mbox_watch *w)
{
	mbox_lock(&watch_lock, MBOX_LK_WATCH);
	if (w->alive && !w->pending) {
		w->pending = true;
		w->refs++;
		loop_post(w->loop, watch_fire, w);
	}
	mbox_unlock(&watch_lock, MBOX_LK_WATCH);
}

void
mbox_watch_drop(struct mbox_watch *w)
{
	bool last;

	mbox_lock(&watch_lock, MBOX_LK_WATCH);
	w->alive = false;
	last = --w->refs == 0;
	mbox_unlock(&watch_lock, MBOX_LK_WATCH);
	if (last)
		free(w);
}

struct mbox_watch *
mbox_watch_new(struct loop *loop, void (*cb)(void *), void *arg)
{
	struct mbox_watch *w = xmalloc(sizeof(*w));

	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->alive = true;
	w->refs = 1;
	return w;
}

void
mbox_folder_wake(struct mbox_folder *f, const struct mbox_md_view *actor)
{
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	for (struct mbox_md_view *v = f->views; v; v = v->next)
		if (v != actor && v->watch)
			mbox_watch_post(v->watch);
	if (!f->gone)	/* NOTIFY's STATUS (a delete says itself) */
		mbox_user_event(f->u, MBOX_EV_MESSAGES, f->name, NULL);
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
}

void
mbox_md_view_watch(struct mbox_md_view *v, struct loop *loop, void (*cb)(void *),
    void *arg)
{
	struct mbox_folder *f = v->f;
	struct mbox_watch *old = v->watch, *w = NULL;

	if (loop)
		w = mbox_watch_new(loop, cb, arg);
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	v->watch = w;
	if (w && !old)
		f->n_watch++;
	else if (!w && old)
		f->n_watch--;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	if (old)
		mbox_watch_drop(old);
	if (w)
		mbox_poller_start();
}

/* ---- open and close ----------------------------------------------------- */

/* Under f->mu: uids in [lo, f->uidnext) that no view claimed yet are
 * \Recent for v; a read-write view claims them (RFC 3501 2.3.2: only one
 * session sees a message as recent), a read-only one (EXAMINE) only
 * looks, as STATUS does. */
static void
claim_recent(struct mbox_md_view *v, uint32_t lo)
{
	struct mbox_folder *f = v->f;

	if (lo < f->recent_next)
		lo = f->recent_next;
	if (lo < f->uidnext) {
		struct mbox_uid_range *last = v->n_recent ?
		    &v->recent[v->n_recent - 1] : NULL;
		if (last && last->last + 1 == lo)
			last->last = f->uidnext - 1;
		else {
			struct mbox_uid_range *r = ARRAY_PUSH(v->recent,
			    v->n_recent, v->cap_recent);

			r->first = lo;
			r->last = f->uidnext - 1;
		}
	}
	if (!v->readonly && f->recent_next < f->uidnext)
		f->recent_next = f->uidnext;
}

/* With u->io: writes f's recent_next to the index if it moved, so the
 * claims outlive the folder's time in memory (best effort: a lost write
 * only makes messages recent once more). */
static void
save_recent(struct mbox_folder *f)
{
	uint32_t next;

	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	next = f->recent_next;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	if (next <= f->recent_saved ||
	    mbox_index_recent_save(f->u, f, next) < 0)
		return;
	f->recent_saved_ms = clock_mono_ms();
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	f->recent_saved = next;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
}

static void
view_push(struct mbox_md_view *v, uint32_t uid)
{
	*ARRAY_PUSH(v->uids, v->count, v->cap) = uid;
}

int
mbox_md_view_open(struct mbox_md_user *u, const char *name, bool readonly,
    struct mbox_md_view **v_r, char **error_r)
{
	struct mbox_folder *f;
	struct mbox_md_view *v;
	char *norm, *dir;
	int r = mbox_name_resolve(name, false, &norm, &dir, error_r);

	if (r < 0)
		return r;
	mbox_lock(&u->io, MBOX_LK_IO);
	r = mbox_folder_get(u, dir, &f, error_r);
	if (r == 0) {
		v = xmalloc(sizeof(*v));
		v->base.be = MBOX_MAILDIR;
		mbox_user_ref(u);
		v->u = u;
		v->f = f;
		v->readonly = readonly;
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		v->cap = f->count ? f->count : 16;
		v->uids = xcalloc(v->cap, sizeof(*v->uids));
		for (uint32_t i = 0; i < f->count; i++)
			v->uids[i] = f->msgs[i].uid;
		v->count = f->count;
		v->uidnext = f->uidnext;
		v->modseq = f->highestmodseq;
		v->expunge_gen = f->expunge_gen;
		v->kw_told = f->kw_mask;
		claim_recent(v, 1);
		v->next = f->views;
		if (f->views)
			f->views->prev = v;
		f->views = v;
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
		save_recent(f);
		*v_r = v;
	}
	mbox_unlock(&u->io, MBOX_LK_IO);
	free(norm);
	free(dir);
	if (r == 0 && (*v_r)->count >= MBOX_TRIM_AFTER)
		xmalloc_trim();		/* a big load or first sync's garbage */
	return r;
}

void
mbox_md_view_close(struct mbox_md_view **vp)
{
	struct mbox_md_view *v = *vp;
	struct mbox_folder *f;
	bool unsaved;

	if (v == NULL)
		return;
	*vp = NULL;
	f = v->f;
	if (v->watch)
		mbox_md_view_watch(v, NULL, NULL, NULL);
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	unsaved = f->recent_next > f->recent_saved;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	if (unsaved) {		/* claimed since the last sync */
		mbox_lock(&v->u->io, MBOX_LK_IO);
		save_recent(f);
		mbox_unlock(&v->u->io, MBOX_LK_IO);
	}
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	if (v->prev)
		v->prev->next = v->next;
	else
		f->views = v->next;
	if (v->next)
		v->next->prev = v->prev;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	mbox_folder_put(&v->f);
	mbox_md_user_unref(&v->u);
	free(v->uids);
	free(v->recent);
	free(v->own);
	free(v);
}

/* ---- in-memory queries ----------------------------------------------------- */

char *
mbox_md_view_name(struct mbox_md_view *v)
{
	char *s;

	mbox_lock(&v->f->mu, MBOX_LK_FOLDER);
	s = xstrdup(v->f->name);
	mbox_unlock(&v->f->mu, MBOX_LK_FOLDER);
	return s;
}

bool
mbox_md_view_readonly(const struct mbox_md_view *v)
{
	return v->readonly;
}

uint32_t
mbox_md_view_count(const struct mbox_md_view *v)
{
	return v->count;
}

uint32_t
mbox_md_view_uid(const struct mbox_md_view *v, uint32_t seq)
{
	return seq >= 1 && seq <= v->count ? v->uids[seq - 1] : 0;
}

uint32_t
mbox_md_view_seq_ceil(const struct mbox_md_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo + 1;
}

uint32_t
mbox_md_view_seq(const struct mbox_md_view *v, uint32_t uid)
{
	uint32_t seq = mbox_md_view_seq_ceil(v, uid);

	return seq <= v->count && v->uids[seq - 1] == uid ? seq : 0;
}

static bool
is_recent(const struct mbox_md_view *v, uint32_t uid)
{
	for (size_t i = 0; i < v->n_recent; i++)
		if (uid >= v->recent[i].first && uid <= v->recent[i].last)
			return true;
	return false;
}

static uint32_t
recent_count(const struct mbox_md_view *v)
{
	uint32_t n = 0;

	for (size_t i = 0; i < v->n_recent; i++)
		n += mbox_md_view_seq_ceil(v, v->recent[i].last + 1) -
		    mbox_md_view_seq_ceil(v, v->recent[i].first);
	return n;
}

void
mbox_md_view_status(struct mbox_md_view *v, struct mbox_status *st)
{
	struct mbox_folder *f = v->f;
	uint32_t j = 0;

	memset(st, 0, sizeof(*st));
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	st->messages = v->count;
	st->recent = recent_count(v);
	st->uidnext = v->uidnext;
	st->uidvalidity = f->uidvalidity;
	st->highestmodseq = v->modseq;
	mbox_folder_mailboxid(f, st->mailboxid);
	for (uint32_t i = 0; i < v->count; i++) {
		while (j < f->count && f->msgs[j].uid < v->uids[i])
			j++;
		if (j == f->count || f->msgs[j].uid != v->uids[i])
			continue;
		const struct mbox_msg *m = &f->msgs[j];
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
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
}

int
mbox_md_view_msg(struct mbox_md_view *v, uint32_t seq, struct mbox_msg_info *info)
{
	struct mbox_folder *f = v->f;
	uint32_t uid = mbox_md_view_uid(v, seq);
	long idx;

	if (uid == 0)
		return -1;
	memset(info, 0, sizeof(*info));
	info->uid = uid;
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	idx = mbox_folder_find(f, uid);
	if (idx < 0)
		info->expunged = true;
	else {
		const struct mbox_msg *m = &f->msgs[idx];
		info->flags = m->flags & MBOX_F_STORABLE;
		info->keywords = m->letters & f->kw_mask;
		info->modseq = m->modseq;
		info->size = m->size;
		info->internaldate = (time_t)m->idate;
		info->exact = mbox_name_exact(m->name, m->base_len);
		info->savedate = (time_t)m->savedate;
		info->emailid = mbox_name_emailid(m->name, m->base_len);
	}
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	if (!info->expunged && is_recent(v, uid))
		info->flags |= MBOX_F_RECENT;
	return 0;
}

unsigned
mbox_md_view_n_keywords(struct mbox_md_view *v)
{
	uint32_t mask;

	mbox_lock(&v->f->mu, MBOX_LK_FOLDER);
	mask = v->f->kw_mask;
	mbox_unlock(&v->f->mu, MBOX_LK_FOLDER);
	return mask ? 32 - (unsigned)__builtin_clz(mask) : 0;
}

const char *
mbox_md_view_keyword(struct mbox_md_view *v, unsigned i)
{
	const char *s;

	if (i >= MBOX_KEYWORDS_MAX)
		return NULL;
	mbox_lock(&v->f->mu, MBOX_LK_FOLDER);
	s = v->f->kw[i];
	mbox_unlock(&v->f->mu, MBOX_LK_FOLDER);
	return s;
}

bool
mbox_md_view_keywords_news(struct mbox_md_view *v)
{
	bool news;

	mbox_lock(&v->f->mu, MBOX_LK_FOLDER);
	news = (v->f->kw_mask & ~v->kw_told) != 0;
	v->kw_told = v->f->kw_mask;
	mbox_unlock(&v->f->mu, MBOX_LK_FOLDER);
	return news;
}

uint32_t
mbox_md_view_keywords_told(const struct mbox_md_view *v)
{
	return v->kw_told;
}

bool
mbox_md_view_can_add_keywords(struct mbox_md_view *v)
{
	bool ok;

	mbox_lock(&v->f->mu, MBOX_LK_FOLDER);
	ok = !v->readonly && v->f->n_kw < MBOX_KEYWORDS_MAX;
	mbox_unlock(&v->f->mu, MBOX_LK_FOLDER);
	return ok;
}

char *
mbox_md_view_msg_path(struct mbox_md_view *v, uint32_t seq)
{
	struct mbox_folder *f = v->f;
	uint32_t uid = mbox_md_view_uid(v, seq);
	char *path = NULL;
	long idx;

	if (uid == 0)
		return NULL;
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	if ((idx = mbox_folder_find(f, uid)) >= 0)
		path = xasprintf("%s/%s/%s", f->path,
		    (f->msgs[idx].flags & MBOX_FI_INNEW) ? "new" : "cur",
		    f->msgs[idx].name);
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	return path;
}

int
mbox_md_view_msg_open(struct mbox_md_view *v, uint32_t seq)
{
	if (mbox_md_view_uid(v, seq) == 0) {
		errno = ERANGE;
		return -1;
	}
	for (int tries = 0; tries < 4; tries++) {
		char *path = mbox_md_view_msg_path(v, seq);
		int fd;

		if (path == NULL)
			break;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		free(path);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		if (tries == 1) {	/* renamed behind our back: look */
			mbox_lock(&v->u->io, MBOX_LK_IO);
			(void)mbox_sync(v->f, true, v, NULL);
			mbox_unlock(&v->u->io, MBOX_LK_IO);
		}
	}
	errno = ENOENT;
	return -1;
}

void
mbox_md_view_msg_prefetch(struct mbox_md_view *v, uint32_t seq)
{
	char *path = mbox_md_view_msg_path(v, seq);
	int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK) : -1;

	free(path);
	if (fd >= 0) {
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		close(fd);
	}
}

int
mbox_md_view_uidl(struct mbox_md_view *v, uint32_t seq, char out[MBOX_UIDL_MAX + 1])
{
	struct mbox_folder *f = v->f;
	uint32_t uid = mbox_md_view_uid(v, seq);
	long idx;
	int ret = -1;

	if (uid == 0)
		return -1;
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	if ((idx = mbox_folder_find(f, uid)) >= 0) {
		const char *name = f->msgs[idx].name;
		size_t n = strcspn(name, ",:");
		bool ok = n > 0 && n <= MBOX_UIDL_MAX;
		uint64_t h = 0xcbf29ce484222325ULL;
		for (size_t i = 0; i < n; i++) {
			ok = ok && name[i] > 0x20 && name[i] < 0x7f;
			h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
		}
		if (ok) {
			memcpy(out, name, n);
			out[n] = '\0';
		} else
			snprintf(out, MBOX_UIDL_MAX + 1, "%016llx",
			    (unsigned long long)h);
		ret = 0;
	}
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	return ret;
}

/* ---- changes ------------------------------------------------------------- */

int
mbox_md_view_sync(struct mbox_md_view *v, char **error_r)
{
	int r;

	mbox_lock(&v->u->io, MBOX_LK_IO);
	r = mbox_sync(v->f, false, v, error_r);
	/* At most once a second while the folder is open: what SELECT and
	   STATUS read is in memory, and closing the view saves the rest; a
	   transaction of its own after every APPEND (the session claims
	   what it appended) was a fifth of bench/imap's index commits. */
	if (clock_mono_ms() - v->f->recent_saved_ms >= RECENT_SAVE_MS)
		save_recent(v->f);
	mbox_unlock(&v->u->io, MBOX_LK_IO);
	return r;
}

void
mbox_view_own(struct mbox_md_view *v, uint32_t uid, uint64_t modseq)
{
	if (v->n_own == v->cap_own) {
		if (v->cap_own >= 1000000) {
			v->n_own = 0;	/* never asked: forget, report twice */
		} else {
			v->cap_own = v->cap_own ? v->cap_own * 2 : 16;
			v->own = xrealloc(v->own, v->cap_own * sizeof(*v->own));
		}
	}
	v->own[v->n_own].uid = uid;
	v->own[v->n_own++].modseq = modseq;
}

static int
cmp_own(const void *a, const void *b)
{
	const struct mbox_own *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static bool
is_own(const struct mbox_md_view *v, uint32_t uid, uint64_t modseq)
{
	struct mbox_own key = { uid, 0 };
	const struct mbox_own *o;

	if (v->n_own == 0)
		return false;
	o = bsearch(&key, v->own, v->n_own,
	    sizeof(*v->own), cmp_own);

	return o && o->modseq == modseq;
}

/* Under f->mu: drops expunged uids from v's map into ch. */
static void
changes_expunged(struct mbox_md_view *v, struct mbox_changes *ch)
{
	struct mbox_folder *f = v->f;
	uint32_t j = 0, k = 0;
	size_t n, n_seqs = 0, cap_seqs = 0, cap_uids = 0;

	for (uint32_t i = 0; i < v->count; i++) {
		uint32_t uid = v->uids[i];
		while (j < f->count && f->msgs[j].uid < uid)
			j++;
		if (j < f->count && f->msgs[j].uid == uid) {
			v->uids[k++] = uid;
			continue;
		}
		*ARRAY_PUSH(ch->expunged_seqs, n_seqs, cap_seqs) = i + 1;
		*ARRAY_PUSH(ch->expunged_uids, ch->n_expunged, cap_uids) = uid;
	}
	v->count = k;
	v->expunge_gen = f->expunge_gen;
	n = ch->n_expunged;
	for (size_t i = 0; i < n / 2; i++) {	/* descending */
		uint32_t t = ch->expunged_seqs[i];
		ch->expunged_seqs[i] = ch->expunged_seqs[n - 1 - i];
		ch->expunged_seqs[n - 1 - i] = t;
		t = ch->expunged_uids[i];
		ch->expunged_uids[i] = ch->expunged_uids[n - 1 - i];
		ch->expunged_uids[n - 1 - i] = t;
	}
}

/* Under f->mu: flag changes of messages below old_uidnext. */
static void
changes_flags(struct mbox_md_view *v, uint32_t old_uidnext,
    struct mbox_changes *ch)
{
	struct mbox_folder *f = v->f;
	uint32_t j = 0;
	size_t cap = 0;

	if (v->n_own)
		qsort(v->own, v->n_own, sizeof(*v->own), cmp_own);
	for (uint32_t i = 0; i < v->count && v->uids[i] < old_uidnext; i++) {
		uint32_t uid = v->uids[i];
		while (j < f->count && f->msgs[j].uid < uid)
			j++;
		if (j == f->count)
			break;
		const struct mbox_msg *m = &f->msgs[j];
		if (m->uid == uid && m->modseq > v->modseq &&
		    !is_own(v, uid, m->modseq))
			*ARRAY_PUSH(ch->flag_seqs, ch->n_flags, cap) = i + 1;
	}
	v->n_own = 0;
}

void
mbox_md_view_changes(struct mbox_md_view *v, struct mbox_changes *ch)
{
	struct mbox_folder *f = v->f;
	uint32_t old_uidnext = v->uidnext;

	memset(ch, 0, sizeof(*ch));
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	ch->gone = f->gone;
	if (v->expunge_gen != f->expunge_gen)
		changes_expunged(v, ch);
	if (f->uidnext > v->uidnext) {
		long lo = 0, hi = (long)f->count;
		while (lo < hi) {	/* first uid >= v->uidnext */
			long mid = lo + (hi - lo) / 2;
			if (f->msgs[mid].uid < v->uidnext)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (long i = lo; i < (long)f->count; i++)
			view_push(v, f->msgs[i].uid);
		claim_recent(v, v->uidnext);
		v->uidnext = f->uidnext;
		ch->exists_changed = true;
	}
	if (f->highestmodseq > v->modseq)
		changes_flags(v, old_uidnext, ch);
	v->modseq = f->highestmodseq;
	v->n_own = 0;
	ch->keywords_changed = (f->kw_mask & ~v->kw_told) != 0;
	v->kw_told = f->kw_mask;
	ch->exists = v->count;
	ch->recent = recent_count(v);
	ch->highestmodseq = v->modseq;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
}

void
mbox_changes_free(struct mbox_changes *ch)
{
	free(ch->expunged_seqs);
	free(ch->expunged_uids);
	free(ch->flag_seqs);
	memset(ch, 0, sizeof(*ch));
}

/* ---- QRESYNC -------------------------------------------------------------- */

/* Appends first..last to r[0..n), joined to the last range when they touch. */
static void
push_range(struct mbox_uid_range **r, size_t *n, size_t *cap, uint32_t first,
    uint32_t last)
{
	struct mbox_uid_range *e;

	if (*n && (*r)[*n - 1].last + 1 == first) {
		(*r)[*n - 1].last = last;
		return;
	}
	e = ARRAY_PUSH(*r, *n, *cap);
	e->first = first;
	e->last = last;
}

int
mbox_md_vanished_since(struct mbox_md_view *v, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r)
{
	uint32_t *uids = NULL;
	size_t n = 0, nr = 0, cap = 0;
	struct mbox_uid_range *r = NULL;
	bool complete;
	int ret;

	mbox_lock(&v->u->io, MBOX_LK_IO);
	ret = mbox_index_vanished(v->u, v->f, modseq, &uids, &n, &complete,
	    error_r);
	mbox_unlock(&v->u->io, MBOX_LK_IO);
	if (ret < 0)
		return ret;
	if (complete) {
		for (size_t i = 0; i < n; i++)
			if (uids[i] < v->uidnext && mbox_md_view_seq(v, uids[i]) == 0)
				push_range(&r, &nr, &cap, uids[i], uids[i]);
	} else {
		uint32_t next = 1;	/* every gap in the map */
		for (uint32_t i = 0; i <= v->count; i++) {
			uint32_t uid = i < v->count ? v->uids[i] : v->uidnext;
			if (uid > next)
				push_range(&r, &nr, &cap, next, uid - 1);
			next = uid + 1;
		}
	}
	free(uids);
	*ranges_r = r;
	*n_r = nr;
	return 0;
}
