/*
 * mailbox_deliver - what a delivery filter (Sieve fileinto, :create,
 * imap4flags) needs from the store without opening it: the Maildir
 * folder of a name, created and subscribed on request, and the file
 * name's info letters for a set of flags, keywords added to the folder's
 * keyword map (see mailbox.h).
 *
 * Trust: names and flags come from users' scripts (untrusted): names are
 * checked by the store's own rules (mailbox_name.c) before they name a
 * directory, keywords by mbox_keyword_valid; an invalid keyword, or one
 * over the folder's 26, is left out (the copy is still delivered).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/mailbox.h"
#include "store/mailbox_int.h"
#include "store/maildir.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Creates name in root's store and subscribes it (as Pigeonhole's
 * :create does). */
static int
deliver_create(const char *root, const char *name, char **error_r)
{
	struct mbox_md_user *u = NULL;
	int r;

	if (maildir_make(root) < 0) {
		mbox_error(error_r, "Cannot create the Maildir: %s",
		    strerror(errno));
		return MBOX_ERR_TEMP;
	}
	if ((r = mbox_md_user_open(root, &u, error_r)) < 0)
		return r;
	r = mbox_md_create(u, name, 0, error_r);
	if (r == MBOX_ERR_EXISTS) {	/* a concurrent delivery made it */
		XFREE(error_r);
		r = 0;
	}
	if (r == 0 && mbox_md_subscribe(u, name, true, error_r) < 0) {
		/* the folder is there: a missing subscription loses nothing */
		log_warn("- store subscribe-failed folder=%s error=\"%s\"",
		    name, *error_r ? *error_r : "");
		XFREE(error_r);
	}
	mbox_md_user_unref(&u);
	return r;
}

int
mbox_deliver_folder(const char *root, const char *name, bool create,
    char **dir_r, char **error_r)
{
	char *norm = NULL, *dir = NULL, *path;
	int r;

	*dir_r = NULL;
	if (name == NULL || *name == '\0' || strcasecmp(name, "INBOX") == 0) {
		*dir_r = xstrdup(root);
		return 0;
	}
	if ((r = mbox_name_resolve(name, create, &norm, &dir, error_r)) < 0)
		return r;
	path = xasprintf("%s/%s", root, dir);
	if (mbox_folder_exists(path) < 0) {
		if (!create)
			r = MBOX_ERR_NONEXISTENT;
		else
			r = deliver_create(root, norm, error_r);
	}
	if (r == 0)
		*dir_r = path;
	else
		free(path);
	free(norm);
	free(dir);
	return r;
}

static const struct {
	const char	*name;
	char		 letter;
} system_flags[] = {
	{ "\\Draft", 'D' }, { "\\Flagged", 'F' }, { "\\Answered", 'R' },
	{ "\\Seen", 'S' }, { "\\Deleted", 'T' },
};

char *
mbox_deliver_info(const char *dir, const char *const *flags, size_t n)
{
	struct mbox_folder f;
	const char **kws = xcalloc(n + 1, sizeof(*kws));
	size_t nkw = 0;
	bool on[128] = { false };
	uint32_t mask = 0;
	char *error = NULL;
	struct buf b;

	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < sizeof(system_flags) / sizeof(system_flags[0]);
		    j++)
			if (strcasecmp(flags[i], system_flags[j].name) == 0) {
				on[(unsigned char)system_flags[j].letter] = true;
				break;
			}
		if (j == sizeof(system_flags) / sizeof(system_flags[0]) &&
		    flags[i][0] != '\\' && mbox_keyword_valid(flags[i]))
			kws[nkw++] = flags[i];
	}
	if (nkw > 0) {
		/* the keyword map, read and extended as a session would */
		memset(&f, 0, sizeof(f));
		pthread_mutex_init(&f.mu, NULL);
		f.path = (char *)(uintptr_t)dir;
		mbox_kw_load(&f);
		if (mbox_kw_resolve(&f, kws, true, &mask, &error) < 0) {
			log_warn("- store keywords-failed folder=%s error=\"%s\"",
			    dir, error ? error : "");
			free(error);
			mask = 0;
		}
		for (int i = 0; i < MBOX_KEYWORDS_MAX; i++)
			free(f.kw[i]);
		pthread_mutex_destroy(&f.mu);
	}
	free(kws);
	for (int i = 0; i < 26; i++)
		if (mask & (1u << i))
			on['a' + i] = true;
	buf_init(&b, 0);
	for (int c = 0x21; c < 0x7f; c++)
		if (on[c])
			buf_putc(&b, (char)c);
	buf_putc(&b, '\0');
	return buf_steal(&b, NULL);
}
