/*
 * mailbox_sync - keeps a shared folder in step with its Maildir: new files
 * get UIDs (and leave new/ for cur/), renamed files get their new flags
 * and a new MODSEQ, vanished files are expunged; then the change set is
 * committed to the index and applied in memory (see mailbox.h).
 *
 * Trust: the directories may be changed by other tools (mutt, a backup
 * restore) while we read them; nothing from them is trusted beyond being
 * a file name. Called with u->io held.
 *
 * When to look: a sync reads the two directory listings only when new/ or
 * cur/ has a new mtime, a delivery was announced, or the last look was
 * within MBOX_RECHECK_MS of the newest mtime (timestamps are coarse: a
 * change in the same tick as our look leaves the mtime as it was, so such
 * a look is repeated once the tick is surely over). A listing that
 * changed while being read (mtimes before != after) is read again.
 * A known file missing from a fresh listing is not expunged at once but at
 * the recheck: a rename by another tool may hide it from one readdir.
 * Within one worker job the mtimes are looked at once: a command's own
 * changes restamp the folder, and the updates sent before its tagged
 * reply then need no second look (an outside change in those
 * microseconds is seen by the next command, as one just after them is).
 * Deliveries mark the folder dirty, which is always looked at.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

#define MBOX_FI_DEAD	0x4000	/* being removed by apply() */

struct ent {
	size_t		off;		/* of the name in listing.names */
	uint16_t	base_len;
	bool		innew;
};

struct listing {
	struct ent	*e;
	size_t		 n, cap;
	struct buf	 names;
};

/* A new file on its way to a UID. */
struct newfile {
	char		*base;
	const char	*name;
	bool		 innew;
};

long
mbox_folder_find(const struct mbox_folder *f, uint32_t uid)
{
	long lo = 0, hi = (long)f->count - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		if (f->msgs[mid].uid == uid)
			return mid;
		if (f->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* ---- deltas ----------------------------------------------------------- */

struct mbox_upd *
mbox_delta_upd(struct mbox_delta *d)
{
	return ARRAY_PUSH(d->upd, d->n_upd, d->cap_upd);
}

void
mbox_delta_exp(struct mbox_delta *d, uint32_t uid)
{
	*ARRAY_PUSH(d->exp, d->n_exp, d->cap_exp) = uid;
}

struct mbox_msg *
mbox_delta_add(struct mbox_delta *d)
{
	return ARRAY_PUSH(d->add, d->n_add, d->cap_add);
}

bool
mbox_delta_empty(const struct mbox_delta *d)
{
	return d->n_add == 0 && d->n_upd == 0 && d->n_exp == 0;
}

void
mbox_delta_free(struct mbox_delta *d)
{
	for (size_t i = 0; i < d->n_add; i++)
		free(d->add[i].name);
	for (size_t i = 0; i < d->n_upd; i++)
		free(d->upd[i].name);
	free(d->add);
	free(d->upd);
	free(d->exp);
	memset(d, 0, sizeof(*d));
}

/* Under u->io and f->mu: d into f->msgs (names move from d to f). */
static void
apply(struct mbox_folder *f, struct mbox_delta *d, uint32_t uidnext,
    uint64_t hms)
{
	size_t j = 0;

	/* folder state is written only with both held (mailbox_int.h) */
	TEM_ASSERT(mbox_lock_held(MBOX_LK_IO) &&
	    mbox_lock_held(MBOX_LK_FOLDER));

	for (size_t i = 0; i < d->n_upd; i++) {
		struct mbox_upd *p = &d->upd[i];
		long idx = mbox_folder_find(f, p->uid);
		if (idx < 0)
			continue;
		struct mbox_msg *m = &f->msgs[idx];
		free(m->name);
		m->name = p->name;
		p->name = NULL;
		m->base_len = (uint16_t)mbox_base_len(m->name);
		m->flags = p->flags;
		m->letters = p->letters;
		if (p->bump)
			m->modseq = d->modseq;
	}
	for (size_t i = 0; i < d->n_exp; i++) {
		long idx = mbox_folder_find(f, d->exp[i]);
		if (idx >= 0)
			f->msgs[idx].flags |= MBOX_FI_DEAD;
	}
	if (d->n_exp) {
		for (size_t i = 0; i < f->count; i++) {
			if (f->msgs[i].flags & MBOX_FI_DEAD)
				free(f->msgs[i].name);
			else
				f->msgs[j++] = f->msgs[i];
		}
		f->count = (uint32_t)j;
		f->expunge_gen++;
	}
	if (f->count + d->n_add > f->cap) {
		f->cap = (uint32_t)(f->count + d->n_add + f->count / 2 + 16);
		f->msgs = xrealloc(f->msgs, f->cap * sizeof(*f->msgs));
	}
	for (size_t i = 0; i < d->n_add; i++) {
		f->msgs[f->count++] = d->add[i];
		d->add[i].name = NULL;
	}
	f->uidnext = uidnext;
	f->highestmodseq = hms;
}

int
mbox_delta_commit(struct mbox_folder *f, struct mbox_delta *d,
    struct mbox_md_view *actor, char **error_r)
{
	uint32_t uidnext = f->uidnext;
	uint64_t hms = f->highestmodseq;
	bool bump = d->n_add || d->n_exp;
	int r;

	if (mbox_delta_empty(d)) {
		mbox_delta_free(d);
		return 0;
	}
	for (size_t i = 0; i < d->n_upd; i++)
		bump = bump || d->upd[i].bump;
	for (size_t i = 0; i < d->n_add; i++)	/* saved now: SAVEDATE */
		if (d->add[i].savedate == 0)
			d->add[i].savedate = (uint32_t)time(NULL);
	if (d->n_add)
		uidnext = d->add[d->n_add - 1].uid + 1;
	if (bump)
		hms = d->modseq;
	r = mbox_index_commit(f->u, f, d, uidnext, hms, error_r);
	if (r == 0) {
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		apply(f, d, uidnext, hms);
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
		if (bump)
			mbox_folder_wake(f, actor);
	}
	mbox_delta_free(d);
	return r;
}

/* ---- looking at the disk ---------------------------------------------- */

static bool
ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int64_t
ts_ms(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

/* mtimes of new/ and cur/; -1 with errno. Looked at around every
   command: the paths are made on the stack, not malloc'd (xasprintf was a
   quarter of this in bench/imap's profile). */
static int
stat_dirs(const struct mbox_folder *f, struct timespec *nm, struct timespec *cm)
{
	char n[PATH_MAX], c[PATH_MAX];
	struct stat sn, sc;
	int r;

	if ((size_t)snprintf(n, sizeof(n), "%s/new", f->path) >= sizeof(n) ||
	    (size_t)snprintf(c, sizeof(c), "%s/cur", f->path) >= sizeof(c)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	r = stat(n, &sn) == 0 && stat(c, &sc) == 0 ? 0 : -1;
	if (r == 0) {
		*nm = sn.st_mtim;
		*cm = sc.st_mtim;
	}
	return r;
}

static void
stamp(struct mbox_folder *f, const struct timespec *nm,
    const struct timespec *cm, int64_t now)
{
	int64_t newest = ts_ms(nm) > ts_ms(cm) ? ts_ms(nm) : ts_ms(cm);

	f->new_mt = *nm;
	f->cur_mt = *cm;
	f->stamped = true;
	f->recheck_ms = newest + MBOX_RECHECK_MS > now ?
	    newest + MBOX_RECHECK_MS : 0;
	f->looked_job = worker_job_id();
}

void
mbox_sync_restamp(struct mbox_folder *f)
{
	struct timespec nm, cm;

	if (f->stamped && stat_dirs(f, &nm, &cm) == 0)
		stamp(f, &nm, &cm, clock_real_ms());
}

static bool
sync_needed(struct mbox_folder *f, int64_t now)
{
	struct timespec nm, cm;

	if (atomic_load(&f->dirty) || !f->stamped)
		return true;
	if (f->looked_job != 0 && f->looked_job == worker_job_id() &&
	    (f->recheck_ms == 0 || now < f->recheck_ms))
		return false;	/* looked at in this job already */
	if (stat_dirs(f, &nm, &cm) < 0 || !ts_eq(&nm, &f->new_mt) ||
	    !ts_eq(&cm, &f->cur_mt))
		return true;
	if (f->recheck_ms != 0 && now >= f->recheck_ms)
		return true;
	f->looked_job = worker_job_id();
	return false;
}

static int
list_dir(struct listing *l, const char *path, const char *sub, bool innew)
{
	char *dirpath = xasprintf("%s/%s", path, sub);
	DIR *d = opendir(dirpath);
	struct dirent *de;

	free(dirpath);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		struct ent *e = ARRAY_PUSH(l->e, l->n, l->cap);

		e->off = l->names.len;
		e->base_len = (uint16_t)mbox_base_len(de->d_name);
		e->innew = innew;
		buf_append(&l->names, de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	return 0;
}

/* Reads cur/ and new/ until they hold still (3 tries); stamps in nm/cm. */
static int
read_listing(struct mbox_folder *f, struct listing *l, struct timespec *nm,
    struct timespec *cm)
{
	struct timespec nm2, cm2;

	for (int tries = 0;; tries++) {
		l->n = 0;
		buf_reset(&l->names);
		if (stat_dirs(f, nm, cm) < 0 ||
		    list_dir(l, f->path, "cur", false) < 0 ||
		    list_dir(l, f->path, "new", true) < 0 ||
		    stat_dirs(f, &nm2, &cm2) < 0)
			return -1;
		if ((ts_eq(nm, &nm2) && ts_eq(cm, &cm2)) || tries == 2)
			return 0;
	}
}

/* ---- a hash of the folder's base names (no copies) ---------------------- */

struct msg_hash {
	uint32_t	*slots;		/* index + 1; 0 is empty */
	size_t		 mask;
};

/* Slices of the folder's names, not copies: hashmap.c's hash only. */
static uint64_t
hash_bytes(const char *p, size_t n)
{
	return hashmap_hash(p, n, 0);
}

static void
mh_build(struct msg_hash *h, const struct mbox_folder *f)
{
	size_t cap = 64;

	while (cap < (size_t)f->count * 2)
		cap *= 2;
	h->slots = xcalloc(cap, sizeof(*h->slots));
	h->mask = cap - 1;
	for (uint32_t i = 0; i < f->count; i++) {
		const struct mbox_msg *m = &f->msgs[i];
		size_t s = hash_bytes(m->name, m->base_len) & h->mask;
		while (h->slots[s])
			s = (s + 1) & h->mask;
		h->slots[s] = i + 1;
	}
}

static long
mh_find(const struct msg_hash *h, const struct mbox_folder *f, const char *base,
    size_t len)
{
	size_t s = hash_bytes(base, len) & h->mask;

	for (; h->slots[s]; s = (s + 1) & h->mask) {
		const struct mbox_msg *m = &f->msgs[h->slots[s] - 1];
		if (m->base_len == len && memcmp(m->name, base, len) == 0)
			return (long)h->slots[s] - 1;
	}
	return -1;
}

/* ---- the sync ----------------------------------------------------------- */

/* Known files: flag changes into d; unknown ones into *nf. */
static void
match(struct mbox_folder *f, struct listing *l, bool *seen,
    struct mbox_delta *d, struct newfile **nf, size_t *n_nf)
{
	struct msg_hash h;

	mh_build(&h, f);
	*nf = xcalloc(l->n ? l->n : 1, sizeof(**nf));
	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];
		const char *name = l->names.data + e->off;
		long idx = mh_find(&h, f, name, e->base_len);
		if (idx < 0) {
			(*nf)[*n_nf].base = xstrndup(name, e->base_len);
			(*nf)[*n_nf].name = name;
			(*nf)[(*n_nf)++].innew = e->innew;
			continue;
		}
		if (seen[idx])
			continue;
		seen[idx] = true;
		struct mbox_msg *m = &f->msgs[idx];
		if (((m->flags & MBOX_FI_INNEW) != 0) == e->innew &&
		    strcmp(m->name, name) == 0)
			continue;
		unsigned fl;
		uint32_t letters;
		mbox_info_parse(name, &fl, &letters);
		struct mbox_upd *p = mbox_delta_upd(d);
		p->uid = m->uid;
		p->name = xstrdup(name);
		p->flags = (uint16_t)(fl | (e->innew ? MBOX_FI_INNEW : 0));
		p->letters = letters;
		p->bump = fl != (m->flags & MBOX_F_STORABLE) ||
		    ((letters ^ m->letters) & f->kw_mask) != 0;
	}
	free(h.slots);
}

/* Known files not listed: expunged, unless still there or just changed. */
static void
missing(struct mbox_folder *f, const bool *seen, bool fresh,
    struct mbox_delta *d)
{
	for (uint32_t i = 0; i < f->count; i++) {
		const struct mbox_msg *m = &f->msgs[i];
		if (seen[i])
			continue;
		char *path = xasprintf("%s/%s/%s", f->path,
		    (m->flags & MBOX_FI_INNEW) ? "new" : "cur", m->name);
		bool there = access(path, F_OK) == 0;
		free(path);
		if (!there && !fresh)
			mbox_delta_exp(d, m->uid);
	}
}

static int
cmp_newfile(const void *a, const void *b)
{
	const struct newfile *x = a, *y = b;
	int c = strverscmp(x->base, y->base);

	return c ? c : (int)x->innew - (int)y->innew;
}

/* Moves a new/ file to cur/ (adding ":2,"); its name now, or NULL if it
 * is gone. Stays in new/ when it cannot be moved. */
static char *
take_new(struct mbox_folder *f, struct newfile *n, bool *innew_r)
{
	size_t bl = strlen(n->base);
	char *cur = n->name[bl] == ':' ? xstrdup(n->name) :
	    xasprintf("%s:2,", n->base);
	char *from = xasprintf("%s/new/%s", f->path, n->name);
	char *to = xasprintf("%s/cur/%s", f->path, cur);
	int r = rename(from, to), e = errno;

	free(from);
	free(to);
	*innew_r = false;
	if (r == 0)
		return cur;
	free(cur);
	if (e == ENOENT)
		return NULL;
	log_warn("- store take-new-failed folder=%s file=%s error=%s",
	    f->path, n->name, strerror(e));
	*innew_r = true;
	return xstrdup(n->name);
}

/* Stats and sizes one new file into a message; false if it is gone. */
static bool
examine(struct mbox_folder *f, const char *name, bool innew,
    struct mbox_msg *m)
{
	char *path = xasprintf("%s/%s/%s", f->path, innew ? "new" : "cur",
	    name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	unsigned fl;
	bool ok = false;

	free(path);
	if (fd < 0)
		return false;
	m->base_len = (uint16_t)mbox_base_len(name);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (mbox_base_field(name, m->base_len, 'W', &m->size) ||
	    mbox_file_wire_size(fd, &m->size) == 0)) {
		m->idate = st.st_mtim.tv_sec;
		mbox_info_parse(name, &fl, &m->letters);
		m->flags = (uint16_t)(fl | (innew ? MBOX_FI_INNEW : 0));
		ok = true;
	}
	close(fd);
	return ok;
}

/* New files into d, in name order, with UIDs from f->uidnext. */
static bool
add_new(struct mbox_folder *f, struct newfile *nf, size_t n,
    struct mbox_delta *d)
{
	uint32_t uid = f->uidnext;
	bool moved = false;

	qsort(nf, n, sizeof(*nf), cmp_newfile);
	for (size_t i = 0; i < n; i++) {
		bool innew = nf[i].innew;
		char *name;
		struct mbox_msg m;

		if (i > 0 && strcmp(nf[i].base, nf[i - 1].base) == 0)
			continue;	/* the same base in cur/ and new/ */
		if (uid == UINT32_MAX) {
			log_error("- store uid-space-exhausted folder=%s",
			    f->path);
			break;
		}
		name = innew ? take_new(f, &nf[i], &innew) : xstrdup(nf[i].name);
		if (name == NULL)
			continue;
		moved = moved || (nf[i].innew && !innew);
		memset(&m, 0, sizeof(m));
		if (!examine(f, name, innew, &m)) {
			free(name);
			continue;
		}
		m.uid = uid++;
		m.name = name;
		m.modseq = d->modseq;
		*mbox_delta_add(d) = m;
	}
	return moved;
}

/* The folder's directory went away: its views end. */
static int
folder_vanished(struct mbox_folder *f, char **error_r)
{
	log_info("- store folder-gone folder=%s", f->path);
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	f->gone = true;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	mbox_folder_unmap(f);
	mbox_folder_wake(f, NULL);
	mbox_error(error_r, "Folder no longer exists");
	return MBOX_ERR_GONE;
}

static int
full_sync(struct mbox_folder *f, struct mbox_md_view *actor, char **error_r)
{
	struct listing l = { NULL, 0, 0, { NULL, 0, 0, 0 } };
	struct mbox_delta d = { 0 };
	struct timespec nm, cm;
	struct newfile *nf = NULL;
	size_t n_nf = 0;
	bool *seen, moved, fresh;
	int64_t now = clock_real_ms();
	int r = 0;

	atomic_store(&f->dirty, false);
	mbox_kw_load(f);
	if (read_listing(f, &l, &nm, &cm) < 0) {
		int e = errno;
		free(l.e);
		buf_free(&l.names);
		if (e == ENOENT && mbox_folder_exists(f->path) < 0)
			return folder_vanished(f, error_r);
		mbox_error(error_r, "Cannot read folder: %s", strerror(e));
		return MBOX_ERR_TEMP;
	}
	fresh = (ts_ms(&nm) > ts_ms(&cm) ? ts_ms(&nm) : ts_ms(&cm)) +
	    MBOX_RECHECK_MS > now;
	d.modseq = f->highestmodseq + 1;
	seen = xcalloc(f->count ? f->count : 1, sizeof(*seen));
	match(f, &l, seen, &d, &nf, &n_nf);
	missing(f, seen, fresh, &d);
	moved = add_new(f, nf, n_nf, &d);
	for (size_t i = 0; i < n_nf; i++)
		free(nf[i].base);
	free(nf);
	free(seen);
	free(l.e);
	buf_free(&l.names);
	if (!mbox_delta_empty(&d))
		r = mbox_delta_commit(f, &d, actor, error_r);
	if (r == 0) {
		stamp(f, &nm, &cm, now);
		if (moved)	/* our renames need no second look */
			mbox_sync_restamp(f);
	}
	return r;
}

int
mbox_sync(struct mbox_folder *f, bool force, struct mbox_md_view *actor,
    char **error_r)
{
	if (f->gone) {
		mbox_error(error_r, "Folder no longer exists");
		return MBOX_ERR_GONE;
	}
	if (!force && !sync_needed(f, clock_real_ms()))
		return 0;
	return full_sync(f, actor, error_r);
}
