/*
 * mailbox_list - the folder tree of a user: LIST, CREATE, DELETE, RENAME,
 * SUBSCRIBE, STATUS (see mailbox.h).
 *
 * Trust: names come from authenticated clients and are validated and
 * encoded (mailbox_name.c) before any path is made; directory entries
 * that do not decode to a name we would have written are ignored.
 * Every function is BLOCKING and holds u->io.
 *
 * DELETE first renames the folder to tem-deleted-* (atomic: it is gone
 * for every reader at once), then removes the tree; a crash in between
 * leaves a tem-deleted-* directory that the next open removes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "store/quota.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SUBS_FILE	"subscriptions"
#define SUBS_MAX	(1024 * 1024)
#define PRESENT		0x80000000u	/* hashmap values are never NULL */

static const struct {
	const char	*name;
	unsigned	 use;
} default_uses[] = {
	{ "Drafts", MBOX_DRAFTS }, { "Sent", MBOX_SENT },
	{ "Trash", MBOX_TRASH }, { "Junk", MBOX_JUNK },
	{ "Archive", MBOX_ARCHIVE },
};

/* ---- subscriptions ---------------------------------------------------------- */

struct strv {
	char	**v;
	size_t	  n, cap;
};

static void
strv_push(struct strv *s, char *str)
{
	*ARRAY_PUSH(s->v, s->n, s->cap) = str;
}

static void
strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void
subs_read(struct mbox_md_user *u, struct strv *s)
{
	char *path = xasprintf("%s/%s", u->root, SUBS_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct buf b;
	char chunk[8192];
	ssize_t r;

	free(path);
	if (fd < 0)
		return;
	buf_init(&b, SUBS_MAX);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)r) < 0)
			break;
	close(fd);
	for (char *line = b.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line)
			strv_push(s, xstrdup(line));
	}
	buf_free(&b);
}

static int
subs_write(struct mbox_md_user *u, const struct strv *s, char **error_r)
{
	struct buf b;
	int r;

	buf_init(&b, 0);
	for (size_t i = 0; i < s->n; i++)
		buf_printf(&b, "%s\n", s->v[i]);
	r = fsutil_atomic_write(u->root, SUBS_FILE, buf_cstr(&b), b.len);
	buf_free(&b);
	if (r < 0) {
		mbox_error(error_r, "Cannot save subscriptions: %s",
		    strerror(errno));
		return MBOX_ERR_TEMP;
	}
	return 0;
}

/* A subscriptions line normalized like a name (a copy), or NULL. */
static char *
subs_norm(const char *line)
{
	char *norm = NULL;

	return mbox_name_check(line, false, &norm, NULL) == 0 ? norm : NULL;
}

int
mbox_md_subscribe(struct mbox_md_user *u, const char *name, bool on, char **error_r)
{
	struct strv s = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	bool found = false;
	char *norm;
	int r = mbox_name_check(name, false, &norm, error_r);

	if (r < 0)
		return r;
	mbox_lock(&u->io, MBOX_LK_IO);
	subs_read(u, &s);
	for (size_t i = 0; i < s.n; i++) {
		char *n = subs_norm(s.v[i]);
		bool same = n && strcmp(n, norm) == 0;
		free(n);
		found = found || same;
		if (same && !on)
			continue;
		strv_push(&out, s.v[i]);
		s.v[i] = NULL;
	}
	if (on && !found && out.n >= MBOX_SUBSCRIPTIONS_MAX) {
		mbox_error(error_r, "Too many subscriptions (%d)",
		    MBOX_SUBSCRIPTIONS_MAX);
		r = MBOX_ERR_LIMIT;
	} else if (on && !found) {
		strv_push(&out, norm);
		norm = NULL;
	}
	if (r == 0 && on != found &&
	    (r = subs_write(u, &out, error_r)) == 0)
		mbox_user_event(u, on ? MBOX_EV_SUBSCRIBE :
		    MBOX_EV_UNSUBSCRIBE, on ? out.v[out.n - 1] : norm, NULL);
	mbox_unlock(&u->io, MBOX_LK_IO);
	strv_free(&s);
	strv_free(&out);
	free(norm);
	return r;
}

/* ---- LIST ----------------------------------------------------------------- */

unsigned
mbox_list_default_use(const char *name)
{
	for (size_t i = 0; i < sizeof(default_uses) /
	    sizeof(default_uses[0]); i++)
		if (strcmp(name, default_uses[i].name) == 0)
			return default_uses[i].use;
	return 0;
}

void
mbox_list_add(struct hashmap *m, const char *name, unsigned flags)
{
	uintptr_t old = (uintptr_t)hashmap_get(m, name);

	hashmap_put(m, name, (void *)(old | flags | PRESENT));
}

static bool
is_dir(const char *root, const struct dirent *de)
{
	struct stat st;
	char *path;
	bool ok;

	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return false;
	path = xasprintf("%s/%s", root, de->d_name);
	ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	free(path);
	return ok;
}

/* Real folders (with their special use) into m. */
static int
list_real(struct mbox_md_user *u, struct hashmap *m, char **error_r)
{
	static atomic_bool warned;
	struct hashmap *uses = mbox_index_special_uses(u);
	DIR *d = opendir(u->root);
	struct dirent *de;
	char *name;

	if (d == NULL) {
		hashmap_free(&uses, NULL);
		mbox_error(error_r, "Cannot list folders: %s", strerror(errno));
		return MBOX_ERR_TEMP;
	}
	mbox_list_add(m, "INBOX", 0);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || !is_dir(u->root, de))
			continue;
		if (mbox_name_from_dir(de->d_name, &name) < 0) {
			if (!atomic_exchange(&warned, true))
				log_warn("- store folder-name-ignored root=%s "
				    "dir=\"%s\"", u->root, de->d_name);
			continue;
		}
		unsigned use = (unsigned)(uintptr_t)hashmap_get(uses, de->d_name);
		mbox_list_add(m, name, (use | mbox_list_default_use(name)) &
		    MBOX_SPECIAL_USE);
		free(name);
	}
	closedir(d);
	hashmap_free(&uses, NULL);
	return 0;
}

void
mbox_list_tree(struct hashmap *m)
{
	struct strv names = { NULL, 0, 0 };
	struct hashmap_iter it = { 0 };
	const char *key;

	while (hashmap_next(m, &it, &key, NULL))
		strv_push(&names, xstrdup(key));
	for (size_t i = 0; i < names.n; i++) {
		char *p = names.v[i], *slash;
		while ((slash = strrchr(p, '/')) != NULL) {
			*slash = '\0';
			bool had = hashmap_get(m, p) != NULL;
			mbox_list_add(m, p, had ? MBOX_HASCHILDREN :
			    MBOX_HASCHILDREN | MBOX_NOSELECT);
		}
	}
	strv_free(&names);
}

int
mbox_folder_info_cmp(const void *a, const void *b)
{
	const struct mbox_folder_info *x = a, *y = b;

	if (strcmp(x->name, "INBOX") == 0)
		return -1;
	if (strcmp(y->name, "INBOX") == 0)
		return 1;
	return strcmp(x->name, y->name);
}

int
mbox_md_list(struct mbox_md_user *u, struct mbox_folder_info **list_r, size_t *n_r,
    char **error_r)
{
	struct hashmap *m = hashmap_new(0);
	struct strv subs = { NULL, 0, 0 };
	int r;

	mbox_lock(&u->io, MBOX_LK_IO);
	r = list_real(u, m, error_r);
	if (r == 0) {
		mbox_list_tree(m);
		subs_read(u, &subs);
	}
	mbox_unlock(&u->io, MBOX_LK_IO);
	for (size_t i = 0; i < subs.n; i++) {
		char *norm = subs_norm(subs.v[i]);
		if (norm)
			mbox_list_add(m, norm, hashmap_get(m, norm) ?
			    MBOX_SUBSCRIBED : MBOX_SUBSCRIBED | MBOX_NONEXISTENT |
			    MBOX_NOSELECT);
		free(norm);
	}
	strv_free(&subs);
	if (r < 0) {
		hashmap_free(&m, NULL);
		return r;
	}
	mbox_list_take(&m, list_r, n_r);
	return 0;
}

void
mbox_list_take(struct hashmap **mp, struct mbox_folder_info **list_r,
    size_t *n_r)
{
	struct hashmap *m = *mp;
	struct hashmap_iter it = { 0 };
	struct mbox_folder_info *list;
	const char *key;
	void *val;
	size_t n = 0;

	list = xcalloc(hashmap_count(m) + 1, sizeof(*list));
	while (hashmap_next(m, &it, &key, &val)) {
		unsigned fl = (unsigned)(uintptr_t)val & ~PRESENT;
		if (!(fl & MBOX_HASCHILDREN))
			fl |= MBOX_HASNOCHILDREN;
		list[n].name = xstrdup(key);
		list[n++].flags = fl;
	}
	hashmap_free(mp, NULL);
	qsort(list, n, sizeof(*list), mbox_folder_info_cmp);
	*list_r = list;
	*n_r = n;
}

void
mbox_list_free(struct mbox_folder_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

/* ---- CREATE, DELETE --------------------------------------------------------- */

/* An open folder object for dir that no longer matches the disk: its
 * views end (the name is being reused or removed). */
static void
evict(struct mbox_md_user *u, const char *dir)
{
	struct mbox_folder *f;

	mbox_lock(&u->mu, MBOX_LK_USER);
	f = hashmap_get(u->folders, dir);
	if (f)
		f->refs++;
	mbox_unlock(&u->mu, MBOX_LK_USER);
	if (f == NULL)
		return;
	mbox_lock(&f->mu, MBOX_LK_FOLDER);
	f->gone = true;
	mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	mbox_folder_unmap(f);
	mbox_folder_wake(f, NULL);
	mbox_folder_put(&f);
}

/* Folders of u, counted from the directory (up to the limit + 1). */
static size_t
count_folders(const struct mbox_md_user *u)
{
	DIR *d = opendir(u->root);
	struct dirent *de;
	size_t n = 0;

	while (d && n <= MBOX_FOLDERS_MAX && (de = readdir(d)) != NULL)
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static char *
dir_path(const struct mbox_md_user *u, const char *dir)
{
	return dir[0] ? xasprintf("%s/%s", u->root, dir) : xstrdup(u->root);
}

int
mbox_md_create(struct mbox_md_user *u, const char *name, unsigned special_use,
    char **error_r)
{
	char *norm, *dir, *path;
	int r = mbox_name_resolve(name, true, &norm, &dir, error_r);

	if (r < 0)
		return r;
	path = dir_path(u, dir);
	mbox_lock(&u->io, MBOX_LK_IO);
	if (dir[0] == '\0' || mbox_folder_exists(path) == 0) {
		mbox_error(error_r, "Folder already exists");
		r = MBOX_ERR_EXISTS;
	} else if (count_folders(u) >= MBOX_FOLDERS_MAX) {
		mbox_error(error_r, "Too many folders (%d)", MBOX_FOLDERS_MAX);
		r = MBOX_ERR_LIMIT;
	} else if (mbox_folder_mkdir(path, false) < 0) {
		mbox_error(error_r, "Cannot create folder: %s",
		    strerror(errno));
		r = MBOX_ERR_TEMP;
	} else {
		evict(u, dir);
		r = mbox_index_folder_new(u, dir, special_use &
		    MBOX_SPECIAL_USE, error_r);
		if (r == 0)
			mbox_user_event(u, MBOX_EV_CREATE, norm, NULL);
	}
	mbox_unlock(&u->io, MBOX_LK_IO);
	free(norm);
	free(dir);
	free(path);
	return r;
}

int
mbox_md_exists(struct mbox_md_user *u, const char *name, char **error_r)
{
	char *norm, *dir, *path;
	int r = mbox_name_resolve(name, false, &norm, &dir, error_r);

	if (r < 0)
		return r;
	path = dir_path(u, dir);
	if (mbox_folder_exists(path) < 0) {
		mbox_error(error_r, "No such folder");
		r = MBOX_ERR_NONEXISTENT;
	}
	free(path);
	free(norm);
	free(dir);
	return r;
}

int
mbox_md_delete(struct mbox_md_user *u, const char *name, char **error_r)
{
	static atomic_uint seq;
	char *norm, *dir, *path, *trash = NULL;
	int r = mbox_name_resolve(name, false, &norm, &dir, error_r);

	if (r < 0)
		return r;
	path = dir_path(u, dir);
	mbox_lock(&u->io, MBOX_LK_IO);
	if (dir[0] == '\0') {
		mbox_error(error_r, "INBOX cannot be deleted");
		r = MBOX_ERR_CANNOT;
	} else if (mbox_folder_exists(path) < 0) {
		mbox_error(error_r, "No such folder");
		r = MBOX_ERR_NONEXISTENT;
	} else {
		trash = xasprintf("%s/tem-deleted-%lld-%d-%u", u->root,
		    (long long)time(NULL), (int)getpid(),
		    atomic_fetch_add(&seq, 1));
		if (rename(path, trash) < 0) {
			mbox_error(error_r, "Cannot delete folder: %s",
			    strerror(errno));
			r = MBOX_ERR_TEMP;
		}
	}
	if (r == 0) {
		(void)fsutil_fsync_dir(u->root);
		evict(u, dir);
		r = mbox_index_folder_drop(u, dir, false, error_r);
		quota_usage_forget(u->root);	/* its messages left */
		mbox_user_event(u, MBOX_EV_DELETE, norm, NULL);
		if (mbox_rmtree(trash) < 0)
			log_warn("- store delete-incomplete path=%s error=%s",
			    trash, strerror(errno));
	}
	mbox_unlock(&u->io, MBOX_LK_IO);
	free(norm);
	free(dir);
	free(path);
	free(trash);
	return r;
}

/* ---- RENAME ---------------------------------------------------------------- */

struct move {
	char	*from, *to;	/* directory names */
};

/* od and its children's directories, paired with their new names. */
static int
rename_plan(struct mbox_md_user *u, const char *od, const char *nd,
    struct move **mv_r, size_t *n_r, char **error_r)
{
	size_t ol = strlen(od), n = 0, cap = 0;
	struct move *mv = NULL;
	DIR *d = opendir(u->root);
	struct dirent *de;
	int r = 0;

	if (d == NULL) {
		mbox_error(error_r, "Cannot list folders: %s", strerror(errno));
		return MBOX_ERR_TEMP;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, od, ol) != 0 ||
		    (de->d_name[ol] != '\0' && de->d_name[ol] != '.'))
			continue;
		char *to = xasprintf("%s%s", nd, de->d_name + ol);
		char *tp = xasprintf("%s/%s", u->root, to);
		struct stat st;
		if (strlen(to) > NAME_MAX) {
			mbox_error(error_r, "Folder name too long");
			r = MBOX_ERR_BADNAME;
		} else if (lstat(tp, &st) == 0) {
			mbox_error(error_r, "Folder already exists");
			r = MBOX_ERR_EXISTS;
		}
		free(tp);
		struct move *m = ARRAY_PUSH(mv, n, cap);

		m->from = xstrdup(de->d_name);
		m->to = to;
	}
	closedir(d);
	if (r == 0 && n == 0) {
		mbox_error(error_r, "No such folder");
		r = MBOX_ERR_NONEXISTENT;
	}
	*mv_r = mv;
	*n_r = n;
	return r;
}

/* Renames the directories, all or (undoing) none. */
static int
rename_dirs(struct mbox_md_user *u, struct move *mv, size_t n, char **error_r)
{
	for (size_t i = 0; i < n; i++) {
		char *from = xasprintf("%s/%s", u->root, mv[i].from);
		char *to = xasprintf("%s/%s", u->root, mv[i].to);
		int rr = rename(from, to), e = errno;
		free(from);
		free(to);
		if (rr == 0)
			continue;
		while (i-- > 0) {
			from = xasprintf("%s/%s", u->root, mv[i].from);
			to = xasprintf("%s/%s", u->root, mv[i].to);
			if (rename(to, from) < 0)
				log_error("- store rename-undo-failed dir=%s "
				    "error=%s", to, strerror(errno));
			free(from);
			free(to);
		}
		mbox_error(error_r, "Cannot rename folder: %s", strerror(e));
		return MBOX_ERR_TEMP;
	}
	(void)fsutil_fsync_dir(u->root);
	return 0;
}

/* Open folders follow their directories. */
static void
rename_open(struct mbox_md_user *u, const struct move *mv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mbox_folder *f;
		mbox_lock(&u->mu, MBOX_LK_USER);
		f = hashmap_get(u->folders, mv[i].from);
		if (f)
			f->refs++;
		mbox_unlock(&u->mu, MBOX_LK_USER);
		if (f == NULL)
			continue;
		mbox_folder_unmap(f);
		char *name = NULL;
		if (mbox_name_from_dir(mv[i].to, &name) < 0)
			name = xstrdup(mv[i].to + 1);
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		free(f->dir);
		free(f->path);
		free(f->name);
		f->dir = xstrdup(mv[i].to);
		f->path = xasprintf("%s/%s", u->root, mv[i].to);
		f->name = name;
		f->stamped = false;
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
		mbox_folder_remap(f);
		mbox_folder_put(&f);
	}
}

/* RFC 9051 6.3.6: INBOX's messages move to a new folder nd. */
static int
rename_inbox(struct mbox_md_user *u, const char *nd, char **error_r)
{
	struct mbox_folder *f = NULL;
	struct mbox_delta d = { 0 };
	char *np = dir_path(u, nd);
	int r;

	if (mbox_folder_exists(np) == 0) {
		free(np);
		mbox_error(error_r, "Folder already exists");
		return MBOX_ERR_EXISTS;
	}
	if (count_folders(u) >= MBOX_FOLDERS_MAX) {
		free(np);
		mbox_error(error_r, "Too many folders (%d)", MBOX_FOLDERS_MAX);
		return MBOX_ERR_LIMIT;
	}
	r = mbox_folder_get(u, "", &f, error_r);
	if (r == 0 && mbox_folder_mkdir(np, false) < 0) {
		mbox_error(error_r, "Cannot create folder: %s", strerror(errno));
		r = MBOX_ERR_TEMP;
	}
	if (r == 0)
		r = mbox_index_folder_new(u, nd, 0, error_r);
	if (r == 0) {
		mbox_kw_copy_file(f, np);
		d.modseq = f->highestmodseq + 1;
		for (uint32_t i = 0; i < f->count; i++) {
			const struct mbox_msg *m = &f->msgs[i];
			const char *sub = (m->flags & MBOX_FI_INNEW) ? "new" : "cur";
			char *from = xasprintf("%s/%s/%s", u->root, sub, m->name);
			char *to = xasprintf("%s/%s/%s", np, sub, m->name);
			if (rename(from, to) == 0)
				mbox_delta_exp(&d, m->uid);
			else if (errno != ENOENT)
				log_warn("- store rename-inbox-skip file=%s "
				    "error=%s", from, strerror(errno));
			free(from);
			free(to);
		}
		(void)fsutil_fsync_dir(np);
		r = mbox_delta_commit(f, &d, NULL, error_r);
		mbox_sync_restamp(f);
	}
	mbox_folder_put(&f);
	free(np);
	return r;
}

int
mbox_md_rename(struct mbox_md_user *u, const char *oldname, const char *newname,
    char **error_r)
{
	char *on = NULL, *od = NULL, *nn = NULL, *nd = NULL;
	struct move *mv = NULL;
	size_t n = 0, ol;
	int r = mbox_name_resolve(oldname, false, &on, &od, error_r);

	if (r == 0)
		r = mbox_name_resolve(newname, true, &nn, &nd, error_r);
	if (r < 0)
		goto done;
	ol = strlen(on);
	if (nd[0] == '\0' || strcmp(on, nn) == 0) {
		mbox_error(error_r, "Folder already exists");
		r = MBOX_ERR_EXISTS;
		goto done;
	}
	if (od[0] && strncmp(nn, on, ol) == 0 && nn[ol] == '/') {
		mbox_error(error_r, "Cannot move a folder below itself");
		r = MBOX_ERR_CANNOT;
		goto done;
	}
	mbox_lock(&u->io, MBOX_LK_IO);
	if (od[0] == '\0')
		r = rename_inbox(u, nd, error_r);
	else {
		r = rename_plan(u, od, nd, &mv, &n, error_r);
		if (r == 0)
			r = rename_dirs(u, mv, n, error_r);
		if (r == 0) {
			for (size_t i = 0; i < n; i++)
				evict(u, mv[i].to);
			rename_open(u, mv, n);
			r = mbox_index_folder_rename(u, od, nd, error_r);
		}
	}
	if (r == 0)
		mbox_user_event(u, od[0] == '\0' ? MBOX_EV_CREATE :
		    MBOX_EV_RENAME, nn, od[0] == '\0' ? NULL : on);
	mbox_unlock(&u->io, MBOX_LK_IO);
done:
	for (size_t i = 0; i < n; i++) {
		free(mv[i].from);
		free(mv[i].to);
	}
	free(mv);
	free(on);
	free(od);
	free(nn);
	free(nd);
	return r;
}

/* ---- STATUS ---------------------------------------------------------------- */

int
mbox_md_status(struct mbox_md_user *u, const char *name, struct mbox_status *st,
    char **error_r)
{
	struct mbox_folder *f = NULL;
	char *norm, *dir;
	int r = mbox_name_resolve(name, false, &norm, &dir, error_r);

	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	mbox_lock(&u->io, MBOX_LK_IO);
	r = mbox_folder_get(u, dir, &f, error_r);
	if (r == 0) {
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		st->messages = f->count;
		st->uidnext = f->uidnext;
		st->uidvalidity = f->uidvalidity;
		st->highestmodseq = f->highestmodseq;
		mbox_folder_mailboxid(f, st->mailboxid);
		for (uint32_t i = 0; i < f->count; i++) {
			const struct mbox_msg *m = &f->msgs[i];
			st->recent += m->uid >= f->recent_next;
			st->unseen += !(m->flags & MBOX_F_SEEN);
			st->deleted += (m->flags & MBOX_F_DELETED) != 0;
			if (m->flags & MBOX_F_DELETED)
				st->deleted_size += m->size;
			st->size += m->size;
		}
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
		mbox_folder_put(&f);
	}
	mbox_unlock(&u->io, MBOX_LK_IO);
	free(norm);
	free(dir);
	return r;
}
