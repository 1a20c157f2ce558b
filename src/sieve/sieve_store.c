/*
 * sieve_store - each user's Sieve scripts on disk (contract: sieve_store.h).
 *
 * Trust: names and script texts come from users (ManageSieve) or the
 * administrator (`tem sieve`): a name is checked (sieve_store_name_ok)
 * before it becomes part of a path, and a text is compiled before it is
 * stored. The user is an account's address, already authenticated or
 * checked against the accounts DB by the caller; it is canonicalised here
 * again (accounts_address_parse) so that no '/' or ".." reaches a path.
 *
 * Every call blocks (disk): workers and CLI commands only. Changes
 * (put, activate, delete, rename) hold an exclusive flock(2) on the
 * user's directory, so the CLI and the ManageSieve server never race a
 * count check or the active mark; readers take no lock (every file is
 * replaced atomically, fsutil_atomic_write).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/accounts_addr.h"
#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "sieve/sieve_store.h"
#include "sieve/sieve_store_pg.h"
#include "util/fsutil.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define SUFFIX		".sieve"
#define SUFFIX_LEN	(sizeof(SUFFIX) - 1)
#define ACTIVE_FILE	"active"

/* Set once at start (sieve_store_setup), read by every thread after. */
static bool on_pg;

void
sieve_store_setup(const struct conf *c)
{
	on_pg = c->storage == CONF_STORAGE_POSTGRESQL;
	if (on_pg)
		pg_conn_setup(c->postgresql_dsn);
}

bool
sieve_store_on_pg(void)
{
	return on_pg;
}

bool
sieve_store_name_ok(const char *name)
{
	size_t len = strlen(name), i = 0, n;
	uint32_t cp;

	if (len == 0 || len > SIEVE_STORE_NAME_MAX ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	/* RFC 5804 1.6: no controls (0000-001F, 007F-009F), no line or
	 * paragraph separator; '/' would be a path. */
	while (i < len) {
		if ((n = utf8_decode(name + i, len - i, &cp)) == 0)
			return false;
		if (utf8_is_control(cp) || cp == 0x2028 || cp == 0x2029 ||
		    cp == '/')
			return false;
		i += n;
	}
	return true;
}

/* errno for a bad name: ENAMETOOLONG when only its length is wrong. */
static int
name_check(const char *name)
{
	if (sieve_store_name_ok(name))
		return 0;
	errno = strlen(name) > SIEVE_STORE_NAME_MAX ? ENAMETOOLONG : EINVAL;
	return -1;
}

/* data_dir/sieve/DOMAIN/LOCALPART (malloc'd), as data_dir/mail/; NULL
 * with EINVAL when user is not an address of ours. */
static char *
user_dir(const char *data_dir, const char *user)
{
	char *lp, *dom, *err = NULL, *dir;

	if (accounts_address_parse(user, true, &lp, &dom, &err) < 0) {
		free(err);
		errno = EINVAL;
		return NULL;
	}
	dir = xasprintf("%s/sieve/%s/%s", data_dir, dom, lp);
	free(lp);
	free(dom);
	return dir;
}

/* mkdir 0700 of path, durable in its parent; 0 when it exists. */
static int
mkdir_durable(const char *path)
{
	if (mkdir(path, 0700) == 0)
		return fsutil_fsync_parent(path);
	return errno == EEXIST ? 0 : -1;
}

/* Makes data_dir/sieve/DOMAIN/LOCALPART (each level 0700). */
static int
make_user_dir(const char *data_dir, const char *dir)
{
	size_t base = strlen(data_dir);
	char *p = xstrdup(dir);
	int ret = 0;

	/* Each '/' after data_dir ends one level to make. */
	for (char *s = p + base + 1; ret == 0 && (s = strchr(s, '/')) != NULL;
	    s++) {
		*s = '\0';
		ret = mkdir_durable(p);
		*s = '/';
	}
	if (ret == 0)
		ret = mkdir_durable(p);
	free(p);
	return ret;
}

/* Reads path whole, at most max octets (more: EFBIG); malloc'd, NUL
 * terminated. */
static char *
read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e;
	char *data = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			data = xrealloc(data, cap + 1);
		}
		r = read(fd, data + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	if (data == NULL)
		data = xmalloc(1);
	data[n] = '\0';
	if (len != NULL)
		*len = n;
	return data;
fail:
	e = errno;
	close(fd);
	free(data);
	errno = e;
	return NULL;
}

static char *
script_path(const char *dir, const char *name)
{
	return xasprintf("%s/%s" SUFFIX, dir, name);
}

static bool
script_exists(const char *dir, const char *name)
{
	char *path = script_path(dir, name);
	struct stat st;
	bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);

	free(path);
	return ok;
}

/* The name in dir's active file (malloc'd), or NULL (errno ENOENT when
 * none is active; a damaged mark counts as none). */
static char *
active_name(const char *dir)
{
	char *path = xasprintf("%s/" ACTIVE_FILE, dir);
	char *name = read_file(path, SIEVE_STORE_NAME_MAX, NULL);

	free(path);
	if (name == NULL) {
		if (errno == EFBIG)
			errno = ENOENT;
		return NULL;
	}
	if (!sieve_store_name_ok(name)) {
		free(name);
		errno = ENOENT;
		return NULL;
	}
	return name;
}

static int
set_active(const char *dir, const char *name)
{
	char *path;
	int ret;

	if (name != NULL)
		return fsutil_atomic_write(dir, ACTIVE_FILE, name,
		    strlen(name));
	path = xasprintf("%s/" ACTIVE_FILE, dir);
	ret = unlink(path);
	if (ret == 0)
		ret = fsutil_fsync_dir(dir);
	else if (errno == ENOENT)
		ret = 0;
	free(path);
	return ret;
}

/*
 * Opens (making it when make) the user's directory and locks it for a
 * change: the lock's fd (close it to unlock) and *dir_r, or -1.
 */
static int
lock_user(const char *data_dir, const char *user, bool make, char **dir_r)
{
	char *dir = user_dir(data_dir, user);
	int fd, e;

	if (dir == NULL)
		return -1;
	if (make && make_user_dir(data_dir, dir) < 0)
		goto fail;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (flock(fd, LOCK_EX) < 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	*dir_r = dir;
	return fd;
fail:
	e = errno;
	free(dir);
	errno = e;
	return -1;
}

static void
unlock_user(int fd, char *dir)
{
	int e = errno;

	close(fd);
	free(dir);
	errno = e;
}

/* The text of dir's script name (malloc'd), or NULL with errno. */
static char *
read_script(const char *dir, const char *name, size_t *len)
{
	char *path = script_path(dir, name), *text;
	int e;

	text = read_file(path, SIEVE_STORE_SIZE_MAX, len);
	e = errno;
	free(path);
	errno = e;
	return text;
}

char *
sieve_store_active(const char *data_dir, const char *user, size_t *len,
    char **name_r)
{
	char *dir, *name = NULL, *text = NULL;
	int e;

	if (on_pg)
		return sieve_store_pg_active(user, len, name_r);
	if ((dir = user_dir(data_dir, user)) == NULL)
		return NULL;
	if ((name = active_name(dir)) != NULL)
		text = read_script(dir, name, len);
	e = errno;
	free(dir);
	if (text != NULL && name_r != NULL)
		*name_r = name;
	else
		free(name);
	errno = e;
	return text;
}

char *
sieve_store_active_path(const char *data_dir, const char *user)
{
	char *dir, *name, *path = NULL;

	if (on_pg) {
		errno = ENOTSUP;
		return NULL;
	}
	if ((dir = user_dir(data_dir, user)) == NULL)
		return NULL;
	if ((name = active_name(dir)) != NULL)
		path = xasprintf("%s/%s" SUFFIX, dir, name);
	free(name);
	free(dir);
	return path;
}

char *
sieve_store_get(const char *data_dir, const char *user, const char *name,
    size_t *len)
{
	char *dir, *text;
	int e;

	if (name_check(name) < 0)
		return NULL;
	if (on_pg)
		return sieve_store_pg_get(user, name, len);
	if ((dir = user_dir(data_dir, user)) == NULL)
		return NULL;
	text = read_script(dir, name, len);
	e = errno;
	free(dir);
	errno = e;
	return text;
}

/* Compares two names for qsort (octet order, as i;octet). */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/*
 * The scripts in dir: NAME.sieve files whose NAME is a valid name (the
 * temporary files of atomic writes end otherwise). names NULL: only
 * counts. A missing dir has none. Returns the count or -1.
 */
static int
scan_dir(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, cap = 0;
	char *name;

	if (names != NULL)
		*names = NULL;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l <= SUFFIX_LEN ||
		    strcmp(de->d_name + l - SUFFIX_LEN, SUFFIX) != 0)
			continue;
		name = xstrndup(de->d_name, l - SUFFIX_LEN);
		if (!sieve_store_name_ok(name) || names == NULL) {
			n += sieve_store_name_ok(name);
			free(name);
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			*names = xrealloc(*names, cap * sizeof(**names));
		}
		(*names)[n++] = name;
	}
	closedir(d);
	if (names != NULL && n > 1)
		qsort(*names, n, sizeof(**names), name_cmp);
	return (int)n;
}

int
sieve_store_put(const char *data_dir, const char *user, const char *name,
    const char *text, size_t len, struct sieve_error *err)
{
	struct sieve_script *sc;
	char *dir, *file;
	int fd, n, ret = -1;

	memset(err, 0, sizeof(*err));
	if (name_check(name) < 0)
		return -1;
	if (len > SIEVE_STORE_SIZE_MAX) {
		errno = EDQUOT;
		return -1;
	}
	if ((sc = sieve_compile(text, len, NULL, err)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	sieve_script_free(&sc);
	if (on_pg)
		return sieve_store_pg_put(user, name, text, len);
	if ((fd = lock_user(data_dir, user, true, &dir)) < 0)
		return -1;
	if (!script_exists(dir, name)) {
		if ((n = scan_dir(dir, NULL)) < 0)
			goto out;
		if (n >= SIEVE_STORE_SCRIPTS_MAX) {
			errno = EDQUOT;
			goto out;
		}
	}
	file = xasprintf("%s" SUFFIX, name);
	ret = fsutil_atomic_write(dir, file, text, len);
	free(file);
out:
	unlock_user(fd, dir);
	return ret;
}

int
sieve_store_list(const char *data_dir, const char *user, char ***names,
    size_t *n, char **active)
{
	char *dir;
	int count, e;

	*names = NULL;
	*n = 0;
	*active = NULL;
	if (on_pg)
		return sieve_store_pg_list(user, names, n, active);
	if ((dir = user_dir(data_dir, user)) == NULL)
		return -1;
	if ((count = scan_dir(dir, names)) < 0) {
		e = errno;
		free(dir);
		errno = e;
		return -1;
	}
	*n = (size_t)count;
	/* A mark naming no script (damaged by hand) shows as none. */
	*active = active_name(dir);
	if (*active != NULL && !script_exists(dir, *active)) {
		free(*active);
		*active = NULL;
	}
	free(dir);
	return 0;
}

void
sieve_store_names_free(char ***names, size_t n)
{
	if (*names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
}

int
sieve_store_activate(const char *data_dir, const char *user,
    const char *name)
{
	char *dir;
	int fd, ret = -1;

	if (name != NULL && name[0] == '\0')
		name = NULL;
	if (name != NULL && name_check(name) < 0)
		return -1;
	if (on_pg)
		return sieve_store_pg_activate(user, name);
	if ((fd = lock_user(data_dir, user, name != NULL, &dir)) < 0) {
		/* No directory: no script, so none is active already. */
		return name == NULL && errno == ENOENT ? 0 : -1;
	}
	if (name != NULL && !script_exists(dir, name))
		errno = ENOENT;
	else
		ret = set_active(dir, name);
	unlock_user(fd, dir);
	return ret;
}

/* True when name is dir's active script. */
static bool
is_active(const char *dir, const char *name)
{
	char *active = active_name(dir);
	bool yes = active != NULL && strcmp(active, name) == 0;

	free(active);
	return yes;
}

int
sieve_store_delete(const char *data_dir, const char *user,
    const char *name)
{
	char *dir, *path;
	int fd, ret = -1;

	if (name_check(name) < 0)
		return -1;
	if (on_pg)
		return sieve_store_pg_delete(user, name);
	if ((fd = lock_user(data_dir, user, false, &dir)) < 0)
		return -1;
	path = script_path(dir, name);
	if (!script_exists(dir, name))
		errno = ENOENT;
	else if (is_active(dir, name))
		errno = EBUSY;
	else if (unlink(path) == 0)
		ret = fsutil_fsync_dir(dir);
	free(path);
	unlock_user(fd, dir);
	return ret;
}

int
sieve_store_rename(const char *data_dir, const char *user,
    const char *oldname, const char *newname)
{
	char *dir, *from = NULL, *to = NULL;
	int fd, ret = -1;
	bool active;

	if (name_check(oldname) < 0 || name_check(newname) < 0)
		return -1;
	if (on_pg)
		return sieve_store_pg_rename(user, oldname, newname);
	if ((fd = lock_user(data_dir, user, false, &dir)) < 0)
		return -1;
	if (!script_exists(dir, oldname)) {
		errno = ENOENT;
		goto out;
	}
	if (script_exists(dir, newname)) {
		errno = EEXIST;
		goto out;
	}
	active = is_active(dir, oldname);
	from = script_path(dir, oldname);
	to = script_path(dir, newname);
	/*
	 * The active mark follows: a crash between the two steps leaves a
	 * mark naming no script, read as "none active" (never a wrong
	 * script), and the administrator activates it again.
	 */
	if (rename(from, to) == 0 && fsutil_fsync_dir(dir) == 0)
		ret = active ? set_active(dir, newname) : 0;
out:
	free(from);
	free(to);
	unlock_user(fd, dir);
	return ret;
}
