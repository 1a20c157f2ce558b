/*
 * queue_admin - what `tem queue list|flush|del` does to the queue files
 * (queue.h), safely while the server runs.
 *
 * Trust: run by the administrator, usually root, possibly while the
 * server (another user) appends to the same files. So it only reads
 * message files (a record being appended looks torn and is ignored, and
 * nothing here truncates), removes one with a single unlink, and never
 * creates a directory the server would then not own. Callers:
 * cli/cli_queue.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue_int.h"
#include "util/array.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

static int
by_arrival(const void *a, const void *b)
{
	const struct queue_listing *x = a, *y = b;

	if ((x->damaged != NULL) != (y->damaged != NULL))
		return x->damaged ? 1 : -1;
	if (x->msg.arrival != y->msg.arrival)
		return x->msg.arrival < y->msg.arrival ? -1 : 1;
	return strcmp(x->msg.id, y->msg.id);
}

/* Reads one file into l. false when it vanished meanwhile. */
static bool
list_one(const char *msgdir, const char *id, struct queue_listing *l)
{
	struct queue_file_info info;
	const char *why = NULL;

	memset(l, 0, sizeof(*l));
	if (queue_file_load(msgdir, id, O_RDONLY, &l->msg, &info, &why,
	    NULL) == 0)
		return true;
	if (errno == ENOENT)
		return false;
	memset(&l->msg, 0, sizeof(l->msg));
	memcpy(l->msg.id, id, 17);
	l->damaged = errno == EBADMSG ? xstrdup(why) :
	    xasprintf("cannot read: %s", strerror(errno));
	return true;
}

int
queue_admin_list(const char *data_dir, struct queue_listing **list_r,
    size_t *n_r, char **error_r)
{
	char *msgdir = xasprintf("%s/queue/msg", data_dir);
	struct queue_listing *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir(msgdir);

	*list_r = NULL;
	*n_r = 0;
	if (d == NULL) {
		int err = errno;
		if (err == ENOENT) {
			free(msgdir);
			return 0;
		}
		*error_r = xasprintf("cannot open %s: %s", msgdir,
		    strerror(err));
		free(msgdir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!queue_id_valid(e->d_name))
			continue;
		ARRAY_RESERVE(list, n, cap);
		if (list_one(msgdir, e->d_name, &list[n]))
			n++;
	}
	closedir(d);
	free(msgdir);
	if (n > 1)
		qsort(list, n, sizeof(*list), by_arrival);
	*list_r = list;
	*n_r = n;
	return 0;
}

void
queue_listing_free(struct queue_listing *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		queue_msg_clear(&list[i].msg);
		free(list[i].damaged);
	}
	free(list);
}

int
queue_admin_del(const char *data_dir, const char *id, char **error_r)
{
	char lower[17], *msgdir, *path;
	size_t len = strlen(id);
	int r = -1;

	for (size_t i = 0; i < 16 && i < len; i++)
		lower[i] = (id[i] >= 'A' && id[i] <= 'F') ?
		    (char)(id[i] - 'A' + 'a') : id[i];
	lower[len < 16 ? len : 16] = '\0';
	if (len != 16 || !queue_id_valid(lower)) {
		*error_r = xstrdup("a queue id is 16 hex digits (see tem "
		    "queue list)");
		return -1;
	}
	msgdir = xasprintf("%s/queue/msg", data_dir);
	path = xasprintf("%s/%s", msgdir, lower);
	if (unlink(path) < 0)
		*error_r = errno == ENOENT ?
		    xasprintf("no message %s in the queue", lower) :
		    xasprintf("cannot remove %s: %s", path, strerror(errno));
	else if (fsutil_fsync_dir(msgdir) < 0)
		*error_r = xasprintf("cannot sync %s: %s", msgdir,
		    strerror(errno));
	else
		r = 0;
	free(path);
	free(msgdir);
	return r;
}

int
queue_admin_flush(const char *data_dir, char **error_r)
{
	char *dir = xasprintf("%s/queue", data_dir);
	char *path = xasprintf("%s/flush", dir);
	struct stat st;
	int fd, r = 0;

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT) {	/* absent: nothing is queued */
			*error_r = xasprintf("cannot open %s: %s", dir,
			    strerror(errno));
			r = -1;
		}
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	/* a new mtime even when an unnoticed marker is still there */
	if (fd < 0 || futimens(fd, NULL) < 0) {
		*error_r = xasprintf("cannot write %s: %s", path,
		    strerror(errno));
		r = -1;
	}
	if (fd >= 0)
		close(fd);
out:
	free(path);
	free(dir);
	return r;
}
