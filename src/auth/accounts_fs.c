/*
 * accounts_fs - the files the accounts commands create: new users'
 * Maildir++ trees, the serial file, data_dir itself (see accounts_fs.h).
 *
 * Trust: runs as root or the server's user on paths built from validated
 * names (accounts_addr.c). Everything new is chowned to run_as when root,
 * so the unprivileged server can use it; existing files are left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/accounts_addr.h"
#include "auth/accounts_fs.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

const char *const accounts_special_folders[] = {
	"Drafts", "Sent", "Trash", "Junk", "Archive",
};
const size_t accounts_n_special_folders =
    sizeof(accounts_special_folders) / sizeof(accounts_special_folders[0]);

void
accounts_owner_init(struct accounts_owner *o, const char *run_as)
{
	struct passwd *pw;

	o->do_chown = false;
	if (geteuid() != 0 || run_as == NULL || run_as[0] == '\0')
		return;
	if ((pw = getpwnam(run_as)) == NULL)
		return;
	o->do_chown = true;
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
}

/* Creates path 0600 (chowned) if missing, so SQLite inherits the owner
 * and mode for its -wal and -shm files. */
int
accounts_fs_precreate(const struct accounts_owner *o, const char *path, char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		accounts_fs_own(o, path);
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
	return -1;
}

void
accounts_fs_own(const struct accounts_owner *o, const char *path)
{
	if (o->do_chown && lchown(path, o->uid, o->gid) < 0) {
		/* best effort: the server reports what it cannot open */
	}
}

/* mkdir, chowned when new; 0 if it exists or was made, -1 + error. */
static int
make_dir(const struct accounts_owner *o, const char *path, mode_t mode, char **error_r)
{
	if (mkdir(path, mode) == 0) {
		accounts_fs_own(o, path);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* mkdir -p: each missing component made with mode (and chowned). */
int
accounts_fs_make_dirs(const struct accounts_owner *o, const char *path, mode_t mode, char **error_r)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; ret == 0 && *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		ret = make_dir(o, p, mode, error_r);
		*s = '/';
	}
	if (ret == 0)
		ret = make_dir(o, p, mode, error_r);
	free(p);
	return ret;
}

/* Writes content to dir/name through a temporary file, fsync and rename,
 * then fsyncs dir: readers see the old or the new file, never a part. */
int
accounts_fs_write_atomic(const struct accounts_owner *o, const char *dir, const char *name,
    const char *content, char **error_r)
{
	char *tmp = xasprintf("%s/.%s.tmp.%ld", dir, name, (long)getpid());
	char *path = xasprintf("%s/%s", dir, name);
	size_t len = strlen(content);
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd < 0 || fsutil_write_all(fd, content, len) < 0 ||
	    fsync(fd) < 0) {
		*error_r = xasprintf("cannot write %s: %s", tmp,
		    strerror(errno));
	} else {
		accounts_fs_own(o, tmp);
		if (rename(tmp, path) < 0)
			*error_r = xasprintf("cannot rename %s: %s", tmp,
			    strerror(errno));
		else
			ret = 0;
	}
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	else
		(void)fsutil_fsync_dir(dir);
	free(tmp);
	free(path);
	return ret;
}

/* Creates dir/name empty unless it exists. */
static int
touch_file(const struct accounts_owner *o, const char *dir, const char *name,
    char **error_r)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd >= 0) {
		accounts_fs_own(o, path);
		close(fd);
	} else if (errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", path,
		    strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

/* dir itself plus cur/ new/ tmp/. */
static int
make_maildir(const struct accounts_owner *o, const char *dir, char **error_r)
{
	static const char *const subs[] = { "cur", "new", "tmp" };

	if (make_dir(o, dir, 0700, error_r) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", dir, subs[i]);
		int r = make_dir(o, sub, 0700, error_r);

		free(sub);
		if (r < 0)
			return -1;
	}
	(void)fsutil_fsync_dir(dir);
	return 0;
}

static int
make_special_folders(const struct accounts_owner *o, const char *box, char **error_r)
{
	struct buf subs;
	char *sub_path;
	int ret = 0;

	buf_init(&subs, 0);
	for (size_t i = 0; ret == 0 && i < accounts_n_special_folders; i++) {
		char *dir = xasprintf("%s/.%s", box,
		    accounts_special_folders[i]);

		ret = make_maildir(o, dir, error_r);
		if (ret == 0)
			ret = touch_file(o, dir, "maildirfolder", error_r);
		free(dir);
		buf_printf(&subs, "%s\n", accounts_special_folders[i]);
	}
	/* An existing subscriptions file is the user's: keep it. */
	sub_path = xasprintf("%s/subscriptions", box);
	if (ret == 0 && access(sub_path, F_OK) < 0)
		ret = accounts_fs_write_atomic(o, box, "subscriptions", buf_cstr(&subs),
		    error_r);
	free(sub_path);
	buf_free(&subs);
	return ret;
}

int
accounts_fs_create_mailbox(const struct accounts_owner *o,
    const char *data_dir, const char *domain, const char *localpart,
    char **error_r)
{
	char *mail = xasprintf("%s/mail", data_dir);
	char *dom = xasprintf("%s/%s", mail, domain);
	char *box = accounts_mailbox_path(data_dir, domain, localpart);
	int ret = -1;

	if (make_dir(o, mail, 0750, error_r) == 0 &&
	    make_dir(o, dom, 0750, error_r) == 0 &&
	    make_maildir(o, box, error_r) == 0 &&
	    make_special_folders(o, box, error_r) == 0) {
		(void)fsutil_fsync_dir(box);
		(void)fsutil_fsync_dir(dom);
		(void)fsutil_fsync_dir(mail);
		ret = 0;
	}
	free(mail);
	free(dom);
	free(box);
	return ret;
}
