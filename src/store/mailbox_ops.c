/*
 * mailbox_ops - changing messages: STORE (a rename in cur/), EXPUNGE
 * (unlink), APPEND (tmp/, fsync, rename into cur/), COPY (link) and MOVE
 * (rename into the other folder); see mailbox.h.
 *
 * Trust: seqs, uids, flags and keywords come from authenticated clients
 * and are checked against the view; message data is written as given
 * (CRLF -> LF) and never interpreted. Every function here is BLOCKING and
 * holds u->io throughout, so the folder cannot change under it except on
 * disk by other tools: a file renamed by one (ENOENT) makes us look again
 * once before giving up on that message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "store/mailbox_spool.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Starts a change through v: u->io taken, folder synced. */
static int
begin(struct mbox_md_view *v, bool write, char **error_r)
{
	int r;

	if (write && v->readonly) {
		mbox_error(error_r, "Folder is read-only");
		return MBOX_ERR_CANNOT;
	}
	mbox_lock(&v->u->io, MBOX_LK_IO);
	r = mbox_sync(v->f, false, v, error_r);
	if (r < 0)
		mbox_unlock(&v->u->io, MBOX_LK_IO);
	return r;
}

static char *
msg_path(const struct mbox_folder *f, const struct mbox_msg *m)
{
	return xasprintf("%s/%s/%s", f->path,
	    (m->flags & MBOX_FI_INNEW) ? "new" : "cur", m->name);
}

/* ---- STORE -------------------------------------------------------------- */

struct store_req {
	enum mbox_store_op	op;
	unsigned		flags;
	uint32_t		kwmask;
	uint64_t		unchangedsince;
	uint32_t		*modified;
	size_t			n_modified;
};

static void
new_flags(const struct store_req *q, unsigned *fl, uint32_t *kw)
{
	switch (q->op) {
	case MBOX_STORE_ADD:
		*fl |= q->flags;
		*kw |= q->kwmask;
		break;
	case MBOX_STORE_REMOVE:
		*fl &= ~q->flags;
		*kw &= ~q->kwmask;
		break;
	case MBOX_STORE_REPLACE:
		*fl = q->flags;
		*kw = q->kwmask;
		break;
	}
}

/* One pass over seqs; ENOENT ones go to *retry. -1: a disk error. */
static int
store_pass(struct mbox_md_view *v, struct store_req *q, const uint32_t *seqs,
    size_t n, uint32_t **retry, size_t *n_retry, struct mbox_delta *d)
{
	struct mbox_folder *f = v->f;

	for (size_t i = 0; i < n; i++) {
		long idx = mbox_folder_find(f, mbox_md_view_uid(v, seqs[i]));
		if (idx < 0)
			continue;	/* expunged meanwhile */
		const struct mbox_msg *m = &f->msgs[idx];
		if (q->unchangedsince && m->modseq > q->unchangedsince) {
			q->modified = xrealloc(q->modified,
			    (q->n_modified + 1) * sizeof(*q->modified));
			q->modified[q->n_modified++] = seqs[i];
			continue;
		}
		unsigned fl = m->flags & MBOX_F_STORABLE, fl0 = fl;
		uint32_t kw = m->letters & f->kw_mask, kw0 = kw;
		new_flags(q, &fl, &kw);
		if (fl == fl0 && kw == kw0)
			continue;
		char *name = mbox_info_build(m->name, m->base_len, fl, kw,
		    f->kw_mask);
		char *from = msg_path(f, m);
		char *to = xasprintf("%s/cur/%s", f->path, name);
		int r = rename(from, to), e = errno;
		free(from);
		free(to);
		if (r < 0) {
			free(name);
			if (e != ENOENT) {
				errno = e;
				return -1;
			}
			*retry = xrealloc(*retry, (*n_retry + 1) *
			    sizeof(**retry));
			(*retry)[(*n_retry)++] = seqs[i];
			continue;
		}
		struct mbox_upd *p = mbox_delta_upd(d);
		p->uid = m->uid;
		p->name = name;
		mbox_info_parse(name, &fl, &p->letters);
		p->flags = (uint16_t)fl;
		p->bump = true;
		mbox_view_own(v, m->uid, d->modseq);
	}
	return 0;
}

int
mbox_md_store(struct mbox_md_view *v, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r)
{
	struct store_req q = { op, flags & MBOX_F_STORABLE, 0, unchangedsince,
	    NULL, 0 };
	struct mbox_folder *f = v->f;
	uint32_t *todo = NULL, *retry = NULL;
	size_t n_retry = 0;
	int r = begin(v, true, error_r);

	*modified_r = NULL;
	*n_modified_r = 0;
	if (r < 0)
		return r;
	r = mbox_kw_resolve(f, keywords, op != MBOX_STORE_REMOVE, &q.kwmask,
	    error_r);
	for (int pass = 0; r == 0 && pass < 2; pass++) {
		struct mbox_delta d = { .modseq = f->highestmodseq + 1 };
		int pr = store_pass(v, &q, pass ? todo : seqs, n, &retry,
		    &n_retry, &d);
		int e = errno;
		r = mbox_delta_commit(f, &d, v, error_r);
		if (r == 0 && pr < 0) {
			mbox_error(error_r, "Cannot change flags: %s",
			    strerror(e));
			r = MBOX_ERR_TEMP;
		}
		if (r < 0 || n_retry == 0 || pass == 1)
			break;
		free(todo);
		todo = retry;
		n = n_retry;
		retry = NULL;
		n_retry = 0;
		r = mbox_sync(f, true, v, error_r);
	}
	mbox_sync_restamp(f);
	mbox_unlock(&v->u->io, MBOX_LK_IO);
	free(todo);
	free(retry);
	*modified_r = q.modified;
	*n_modified_r = q.n_modified;
	return r;
}

/* A message's file size for the quota (store/quota.h): its ",S=", else
 * the wire size (a little more; only files from outside lack S=). */
static uint64_t
msg_fsize(const struct mbox_msg *m)
{
	uint64_t size;

	return mbox_base_field(m->name, m->base_len, 'S', &size) ? size :
	    m->size;
}

/* ---- EXPUNGE ------------------------------------------------------------- */

/* The uids to remove, as the view knows them. */
static uint32_t *
expunge_targets(struct mbox_md_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, size_t *n_r)
{
	struct mbox_folder *f = v->f;
	size_t count = uids ? n : v->count, k = 0;
	uint32_t *t = xcalloc(count ? count : 1, sizeof(*t));

	for (size_t i = 0; i < count; i++) {
		uint32_t uid = uids ? uids[i] : v->uids[i];
		long idx = mbox_folder_find(f, uid);
		if (idx < 0 || (uids && mbox_md_view_seq(v, uid) == 0))
			continue;
		if ((require_deleted || !uids) &&
		    !(f->msgs[idx].flags & MBOX_F_DELETED))
			continue;
		t[k++] = uid;
	}
	*n_r = k;
	return t;
}

int
mbox_md_expunge(struct mbox_md_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r)
{
	struct mbox_folder *f = v->f;
	uint32_t *t, *done = NULL;
	size_t nt, n_done = 0;
	int64_t freed = 0;
	int r = begin(v, true, error_r);

	if (expunged_r)
		*expunged_r = NULL;
	if (n_expunged_r)
		*n_expunged_r = 0;
	if (r < 0)
		return r;
	t = expunge_targets(v, uids, n, require_deleted, &nt);
	for (int pass = 0; r == 0 && pass < 2; pass++) {
		struct mbox_delta d = { .modseq = f->highestmodseq + 1 };
		size_t left = 0;
		for (size_t i = 0; i < nt && r == 0; i++) {
			long idx = mbox_folder_find(f, t[i]);
			if (idx < 0)
				continue;
			char *path = msg_path(f, &f->msgs[idx]);
			uint64_t fsize = msg_fsize(&f->msgs[idx]);
			if (unlink(path) == 0) {
				mbox_delta_exp(&d, t[i]);
				freed += (int64_t)fsize;
			} else if (errno == ENOENT)
				t[left++] = t[i];
			else {
				mbox_error(error_r, "Cannot expunge: %s",
				    strerror(errno));
				r = MBOX_ERR_TEMP;
			}
			free(path);
		}
		done = xrealloc(done, (n_done + d.n_exp + 1) * sizeof(*done));
		if (d.n_exp)
			memcpy(done + n_done, d.exp, d.n_exp * sizeof(*done));
		n_done += d.n_exp;
		int cr = mbox_delta_commit(f, &d, v, r < 0 ? NULL : error_r);
		if (r == 0)
			r = cr;
		nt = left;
		if (r < 0 || nt == 0 || pass == 1)
			break;
		r = mbox_sync(f, true, v, error_r);
	}
	mbox_sync_restamp(f);
	quota_usage_add(v->u->root, -freed, -(int64_t)n_done);
	mbox_unlock(&v->u->io, MBOX_LK_IO);
	free(t);
	if (expunged_r && r == 0) {
		*expunged_r = done;
		*n_expunged_r = n_done;
	} else
		free(done);
	return r;
}

/* ---- APPEND --------------------------------------------------------------- */

uint32_t
mbox_delta_add_file(struct mbox_folder *f, struct mbox_delta *d, char *name,
    uint64_t size, int64_t idate)
{
	struct mbox_msg *m = mbox_delta_add(d);
	unsigned fl;

	m->uid = f->uidnext + (uint32_t)d->n_add - 1;
	m->name = name;
	m->base_len = (uint16_t)mbox_base_len(name);
	m->size = size;
	m->idate = idate;
	m->modseq = d->modseq;
	mbox_info_parse(name, &fl, &m->letters);
	m->flags = (uint16_t)fl;
	return m->uid;
}

/* A spool failure as a store error (one log line: the caller's). */
static int
spool_error(int e, char **error_r)
{
	if (e == ENOSPC || e == EDQUOT) {
		mbox_error(error_r, "Not enough disk space");
		return MBOX_ERR_NOSPACE;
	}
	mbox_error(error_r, "Cannot save the message: %s", strerror(e));
	return MBOX_ERR_TEMP;
}

/* Moves the finished spool s into f's cur/ durably: internal date set
 * and the file fsynced, renamed, cur/ fsynced. *cur_r is the new path
 * (for an undo), *name_r the file name. */
static int
spool_place(struct mbox_folder *f, struct mbox_spool *s, unsigned flags,
    uint32_t kwmask, time_t idate, char **cur_r, char **name_r,
    char **error_r)
{
	char *base = mbox_unique_base(s->fsize, s->wsize, s->exact, 0);
	char *name = mbox_info_build(base, strlen(base), flags, kwmask,
	    f->kw_mask);
	char *cur = xasprintf("%s/cur/%s", f->path, name);
	char *curdir = xasprintf("%s/cur", f->path);
	struct timespec ts[2] = { { idate, 0 }, { idate, 0 } };
	int fd = open(s->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), r = 0, e;
	bool moved = false;

	if (fd < 0 || futimens(fd, ts) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || (fd = -1, !(moved = rename(s->path, cur) == 0)) ||
	    fsutil_fsync_dir(curdir) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		log_error("- store append-failed folder=%s error=\"%s\"",
		    f->path, strerror(e));
		if (moved)
			unlink(cur);
		r = spool_error(e, error_r);
	}
	if (moved)
		s->opened = false;	/* the file is cur's now (or gone) */
	free(base);
	free(curdir);
	if (r == 0) {
		*name_r = name;
		*cur_r = cur;
	} else {
		free(name);
		free(cur);
	}
	return r;
}

/* Undoes the placing of n files (a later one failed: all or nothing). */
static void
unplace(char **curs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (curs[i] != NULL)
			unlink(curs[i]);
}

int
mbox_md_append_spools(struct mbox_md_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r)
{
	struct mbox_folder *f = NULL;
	struct mbox_delta d = { 0 };
	char *norm = NULL, *dir = NULL, **curs = xcalloc(n, sizeof(*curs));
	char **files = xcalloc(n, sizeof(*files));
	unsigned placed = 0;
	int r = 0;

	for (unsigned i = 0; i < n && r == 0; i++)
		if (items[i].spool->err || !items[i].spool->finished)
			r = spool_error(items[i].spool->err ?
			    items[i].spool->err : EINVAL, error_r);
	if (r == 0)
		r = mbox_name_resolve(name, false, &norm, &dir, error_r);
	if (r < 0)
		goto out;
	mbox_lock(&u->io, MBOX_LK_IO);
	r = mbox_folder_get(u, dir, &f, error_r);
	if (r == 0 && UINT32_MAX - f->uidnext < n) {
		mbox_error(error_r, "Folder is out of UIDs");
		r = MBOX_ERR_LIMIT;
	}
	for (; r == 0 && placed < n; placed++) {
		struct mbox_append_item *it = &items[placed];
		uint32_t kwmask = 0;

		if (it->internaldate <= 0)
			it->internaldate = time(NULL);
		r = mbox_kw_resolve(f, it->keywords, true, &kwmask, error_r);
		if (r == 0)
			r = spool_place(f, it->spool, it->flags &
			    MBOX_F_STORABLE, kwmask, it->internaldate,
			    &curs[placed], &files[placed], error_r);
	}
	if (r == 0) {
		d.modseq = f->highestmodseq + 1;
		for (unsigned i = 0; i < n; i++) {
			uids_r[i] = mbox_delta_add_file(f, &d, files[i],
			    items[i].spool->wsize, items[i].internaldate);
			files[i] = NULL;	/* the delta's now */
		}
		r = mbox_delta_commit(f, &d, NULL, error_r);
		if (r < 0) {
			/* not indexed: not appended (the NO says so) */
			int e = errno;
			unplace(curs, n);
			if (e == ENOSPC || e == EDQUOT)
				r = MBOX_ERR_NOSPACE;
		}
		mbox_sync_restamp(f);
	} else if (f != NULL)
		unplace(curs, placed);
	if (r == 0) {
		int64_t fsize = 0;

		*uidvalidity_r = f->uidvalidity;
		for (unsigned i = 0; i < n; i++)
			fsize += (int64_t)items[i].spool->fsize;
		quota_usage_add(u->root, fsize, (int64_t)n);
	}
	mbox_folder_put(&f);
	mbox_unlock(&u->io, MBOX_LK_IO);
out:
	for (unsigned i = 0; i < n; i++) {
		mbox_spool_free(&items[i].spool);
		free(curs[i]);
		free(files[i]);
	}
	free(curs);
	free(files);
	free(norm);
	free(dir);
	return r;
}

int
mbox_md_append(struct mbox_md_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	struct mbox_spool *s = mbox_spool_new(&u->base);

	if (mbox_spool_write(s, data, len) == 0)
		(void)mbox_spool_finish(s);	/* an error stays in s */
	return mbox_append_spool(&u->base, name, &s, flags, keywords,
	    internaldate, uidvalidity_r, uid_r, error_r);
}

/* ---- COPY and MOVE ---------------------------------------------------------- */

struct copied {
	uint32_t	 src_uid;
	char		*name;		/* in dest's cur/ */
	char		*from, *to;
	uint64_t	 size;
	uint64_t	 fsize;		/* for the quota */
	int64_t		 idate;
};

/* Copies a file's bytes and mtime (when it cannot be linked). */
static int
copy_bytes(const char *from, const char *to, const char *tmpdir)
{
	char buf[65536], *tmp;
	int in = open(from, O_RDONLY | O_CLOEXEC), out, ret = -1;
	struct stat st;
	ssize_t r;

	if (in < 0)
		return -1;
	tmp = xasprintf("%s/%s", tmpdir, strrchr(to, '/') + 1);
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 || fstat(in, &st) < 0)
		goto done;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			goto done;
	struct timespec ts[2] = { st.st_mtim, st.st_mtim };
	if (r == 0 && futimens(out, ts) == 0 && fsync(out) == 0 &&
	    rename(tmp, to) == 0)
		ret = 0;
done:
	{
		int e = errno;
		if (out >= 0)
			close(out);
		if (ret < 0)
			unlink(tmp);
		close(in);
		free(tmp);
		errno = e;
	}
	return ret;
}

/* The dest file name for m: same flags, keywords mapped to df's. */
static char *
dest_name(struct mbox_folder *sf, const struct mbox_msg *m,
    struct mbox_folder *df)
{
	char *base, *name;
	const char *names[MBOX_KEYWORDS_MAX + 1];
	uint32_t mask = 0;
	uint64_t size;
	size_t k = 0;

	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if (m->letters & sf->kw_mask & (1u << i))
			names[k++] = sf->kw[i];
	names[k] = NULL;
	if (k && mbox_kw_resolve(df, names, true, &mask, NULL) < 0)
		(void)mbox_kw_resolve(df, names, false, &mask, NULL);
	base = mbox_unique_base(mbox_base_field(m->name, m->base_len, 'S',
	    &size) ? size : UINT64_MAX, m->size,
	    mbox_name_exact(m->name, m->base_len),
	    mbox_name_emailid(m->name, m->base_len));
	name = mbox_info_build(base, strlen(base), m->flags & MBOX_F_STORABLE,
	    mask, df->kw_mask);
	free(base);
	return name;
}

/* Links (copy) or renames (move) one message; -1 with errno. */
static int
copy_one(struct mbox_folder *sf, const struct mbox_msg *m,
    struct mbox_folder *df, bool move, struct copied *c)
{
	int r;

	c->name = dest_name(sf, m, df);
	c->src_uid = m->uid;
	c->size = m->size;
	c->fsize = msg_fsize(m);
	c->idate = m->idate;
	c->from = msg_path(sf, m);
	c->to = xasprintf("%s/cur/%s", df->path, c->name);
	if (move)
		r = rename(c->from, c->to);
	else if ((r = link(c->from, c->to)) < 0 && errno != ENOENT) {
		char *tmpdir = xasprintf("%s/tmp", df->path);
		r = copy_bytes(c->from, c->to, tmpdir);
		free(tmpdir);
	}
	if (r < 0) {
		int e = errno;
		XFREE(&c->name);
		XFREE(&c->from);
		XFREE(&c->to);
		errno = e;
	}
	return r;
}

static void
copied_free(struct copied *c, size_t n, bool undo, bool move)
{
	for (size_t i = 0; i < n; i++) {
		if (undo && (move ? rename(c[i].to, c[i].from) :
		    unlink(c[i].to)) < 0)
			log_error("- store copy-undo-failed file=%s error=%s",
			    c[i].to, strerror(errno));
		free(c[i].name);
		free(c[i].from);
		free(c[i].to);
	}
	free(c);
}

/* Does the file work of a COPY/MOVE; MBOX_ERR_* on failure (undone). */
static int
copy_files(struct mbox_md_view *v, const uint32_t *seqs, size_t n,
    struct mbox_folder *df, bool move, struct copied **c_r, size_t *n_r,
    char **error_r)
{
	struct mbox_folder *sf = v->f;
	struct copied *c = xcalloc(n ? n : 1, sizeof(*c));
	size_t k = 0;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		uint32_t uid = mbox_md_view_uid(v, seqs[i]);
		for (int tries = 0; uid && tries < 2; tries++) {
			long idx = mbox_folder_find(sf, uid);
			if (idx < 0)
				break;
			if (copy_one(sf, &sf->msgs[idx], df, move, &c[k]) == 0) {
				k++;
				uid = 0;
			} else if (errno != ENOENT || tries == 1) {
				break;
			} else if (mbox_sync(sf, true, v, NULL) < 0)
				break;
		}
		if (uid == 0)
			continue;
		if (errno == ENOENT || mbox_folder_find(sf, uid) < 0) {
			mbox_error(error_r, "Some of the messages no longer "
			    "exist");
			r = MBOX_ERR_EXPUNGED;
		} else {
			mbox_error(error_r, "Cannot copy: %s", strerror(errno));
			r = MBOX_ERR_TEMP;
		}
	}
	if (r < 0) {
		copied_free(c, k, true, move);
		return r;
	}
	*c_r = c;
	*n_r = k;
	return 0;
}

/* The copies join df with new UIDs: the COPYUID sets. */
static int
copy_commit(struct mbox_md_view *v, struct mbox_folder *df, struct copied *c,
    size_t n, uint32_t **src_r, uint32_t **dst_r, char **error_r)
{
	struct mbox_delta d = { .modseq = df->highestmodseq + 1 };
	int r;

	*src_r = xcalloc(n ? n : 1, sizeof(**src_r));
	*dst_r = xcalloc(n ? n : 1, sizeof(**dst_r));
	for (size_t i = 0; i < n; i++) {
		(*src_r)[i] = c[i].src_uid;
		(*dst_r)[i] = mbox_delta_add_file(df, &d, c[i].name, c[i].size,
		    c[i].idate);
		c[i].name = NULL;
	}
	r = mbox_delta_commit(df, &d, df == v->f ? v : NULL, error_r);
	if (r < 0) {
		XFREE(src_r);
		XFREE(dst_r);
	}
	return r;
}

/* MOVE: the sources leave the source folder now. */
static int
move_expunge(struct mbox_md_view *v, struct copied *c, size_t n, char **error_r)
{
	struct mbox_delta d = { .modseq = v->f->highestmodseq + 1 };

	for (size_t i = 0; i < n; i++)
		if (mbox_folder_find(v->f, c[i].src_uid) >= 0)
			mbox_delta_exp(&d, c[i].src_uid);
	return mbox_delta_commit(v->f, &d, v, error_r);
}

int
mbox_md_copy(struct mbox_md_view *v, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r)
{
	struct mbox_folder *df = NULL;
	struct copied *c = NULL;
	size_t k = 0;
	char *norm, *dir;
	int r;

	*uidvalidity_r = 0;
	*src_uids_r = *dst_uids_r = NULL;
	*n_r = 0;
	if ((r = mbox_name_resolve(dest, false, &norm, &dir, error_r)) < 0)
		return r;
	r = begin(v, move, error_r);
	free(norm);
	if (r < 0) {
		free(dir);
		return r;
	}
	r = mbox_folder_get(v->u, dir, &df, error_r);
	free(dir);
	if (r == 0 && df->uidnext > UINT32_MAX - n) {
		mbox_error(error_r, "Folder is out of UIDs");
		r = MBOX_ERR_LIMIT;
	}
	if (r == 0)
		r = copy_files(v, seqs, n, df, move, &c, &k, error_r);
	if (r == 0) {
		char *cur = xasprintf("%s/cur", df->path);
		char *scur = xasprintf("%s/cur", v->f->path);
		if (fsutil_fsync_dir(cur) < 0 || (move && fsutil_fsync_dir(scur) < 0))
			log_warn("- store fsync-failed folder=%s error=%s",
			    df->path, strerror(errno));
		free(cur);
		free(scur);
	}
	if (r == 0)
		r = copy_commit(v, df, c, k, src_uids_r, dst_uids_r, error_r);
	if (r == 0) {
		*n_r = k;
		*uidvalidity_r = df->uidvalidity;
		if (move && (r = move_expunge(v, c, k, error_r)) < 0) {
			XFREE(src_uids_r);
			XFREE(dst_uids_r);
			*n_r = 0;
			*uidvalidity_r = 0;
		}
		mbox_sync_restamp(df);
		mbox_sync_restamp(v->f);
	}
	if (r == 0 && !move) {
		int64_t added = 0;
		for (size_t i = 0; i < k; i++)
			added += (int64_t)c[i].fsize;
		quota_usage_add(v->u->root, added, (int64_t)k);
	}
	if (c)
		copied_free(c, k, false, move);
	mbox_folder_put(&df);
	mbox_unlock(&v->u->io, MBOX_LK_IO);
	return r;
}
