/*
 * imap_learn - spam learning from COPY, MOVE and STORE (imap_learn.h).
 *
 * Trust: runs inside an authorised command of a logged-in user, on the
 * command's worker thread; opens files through the store (a rename by
 * another session is retried there), never reads them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf.h"
#include "imap/imap_args.h"
#include "imap/imap_client.h"
#include "imap/imap_learn.h"
#include "spam/learn.h"
#include "store/mailbox.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define JUNK	"Junk"
#define TRASH	"Trash"

struct imap_learn {
	enum spam_class	 cls;
	int		*fds;
	size_t		 n_fds;
	size_t		 dropped;	/* the learner had no room */
};

static bool
learning_on(struct imap_cmd *cmd)
{
	return cmd->c->conf != NULL && cmd->c->conf->rspamd_controller != NULL;
}

/* True when the selected folder is the user's own Junk. */
static bool
selected_is_junk(struct imap_cmd *cmd)
{
	char *name;
	bool junk;

	if (cmd->c->view == NULL || cmd->c->acl_owner != NULL)
		return false;
	name = mbox_view_name(cmd->c->view);
	junk = name != NULL && strcmp(name, JUNK) == 0;
	free(name);
	return junk;
}

static void
log_dropped(struct imap_cmd *cmd, enum spam_class cls, size_t n)
{
	if (n > 0)
		log_warn("%s spam learn-dropped user=%s class=%s count=%zu "
		    "reason=queue-full", cmd->c->base.id, cmd->c->user,
		    spam_class_name(cls), n);
}

/* Opens message seq[i] for i < n (but those in skip, ascending) while
 * the learner has room; the rest count as dropped. */
static struct imap_learn *
open_msgs(struct imap_cmd *cmd, enum spam_class cls, const uint32_t *seq,
    size_t n, const uint32_t *skip, size_t n_skip)
{
	struct imap_learn *l = xmalloc(sizeof(*l));
	size_t room = spam_learn_room(), k = 0;

	l->cls = cls;
	l->fds = xcalloc(n ? n : 1, sizeof(*l->fds));
	for (size_t i = 0; i < n; i++) {
		int fd;
		while (k < n_skip && skip[k] < seq[i])
			k++;
		if (k < n_skip && skip[k] == seq[i])
			continue;	/* STORE left it alone */
		if (l->n_fds == room)
			l->dropped++;
		else if ((fd = mbox_view_msg_open(cmd->c->view, seq[i])) >= 0)
			l->fds[l->n_fds++] = fd;
		/* else expunged meanwhile: nothing to learn */
	}
	return l;
}

struct imap_learn *
imap_learn_copy_begin(struct imap_cmd *cmd, const uint32_t *seq, size_t n,
    const char *dest)
{
	bool from_junk, to_junk;
	enum spam_class cls;

	if (!learning_on(cmd) || n == 0)
		return NULL;
	from_junk = selected_is_junk(cmd);
	to_junk = strcmp(dest, JUNK) == 0;
	if (to_junk && !from_junk)
		cls = SPAM_CLASS_SPAM;
	else if (from_junk && !to_junk && strcmp(dest, TRASH) != 0)
		cls = SPAM_CLASS_HAM;
	else
		return NULL;
	return open_msgs(cmd, cls, seq, n, NULL, 0);
}

static void
submit_all(struct imap_cmd *cmd, struct imap_learn *l)
{
	const struct conf *conf = cmd->c->conf;
	size_t queued = 0;

	for (size_t i = 0; i < l->n_fds; i++)
		if (spam_learn_submit(cmd->c->base.id, cmd->c->user,
		    conf->rspamd_controller, conf->rspamd_password, l->cls,
		    l->fds[i]))
			queued++;
		else
			l->dropped++;
	l->n_fds = 0;
	if (queued > 0)
		log_debug("%s spam learn-queued user=%s class=%s count=%zu",
		    cmd->c->base.id, cmd->c->user, spam_class_name(l->cls),
		    queued);
	log_dropped(cmd, l->cls, l->dropped);
}

static void
learn_free(struct imap_learn *l)
{
	for (size_t i = 0; i < l->n_fds; i++)
		close(l->fds[i]);
	free(l->fds);
	free(l);
}

void
imap_learn_copy_end(struct imap_cmd *cmd, struct imap_learn **lp, bool ok)
{
	struct imap_learn *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	if (ok)
		submit_all(cmd, l);
	learn_free(l);
}

/* True when the flags name keyword (case-insensitive). */
static bool
has_keyword(const struct imap_flags *fl, const char *keyword)
{
	for (unsigned i = 0; i < fl->keyword_count; i++)
		if (strcasecmp(fl->keywords[i], keyword) == 0)
			return true;
	return false;
}

void
imap_learn_store(struct imap_cmd *cmd, int op, const struct imap_flags *fl,
    const uint32_t *seq, size_t n, const uint32_t *modified,
    size_t n_modified)
{
	bool junk, notjunk;
	struct imap_learn *l;

	if (!learning_on(cmd) || op == IMAP_STORE_REMOVE || n == 0)
		return;
	junk = has_keyword(fl, "$Junk");
	notjunk = has_keyword(fl, "$NotJunk");
	if (junk == notjunk)
		return;		/* neither, or a contradiction */
	l = open_msgs(cmd, junk ? SPAM_CLASS_SPAM : SPAM_CLASS_HAM, seq, n,
	    modified, n_modified);
	submit_all(cmd, l);
	learn_free(l);
}
