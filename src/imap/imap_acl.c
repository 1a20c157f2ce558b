/*
 * imap_acl - the other users' namespace and the rights checks behind
 * every command that names or uses a folder (the contract is in
 * imap_acl.h; the ACL commands themselves are in cmd-acl.c).
 *
 * Trust: runs for an authenticated, untrusted client on a worker thread.
 * A shared name's owner part is only ever a key into the accounts
 * snapshot; the path to the owner's Maildir is built from the canonical
 * address found there, and the ACL database is asked with the session's
 * own canonical address, so no client text can reach a folder that was
 * not shared with this user, nor a path outside data_dir/mail.
 *
 * Rights are read once per command that names a folder; the selected
 * folder's are cached and read again only when mbox_acl_serial() moved
 * (any SETACL, DELETEACL, RENAME or DELETE), so a revoke takes effect at
 * the other user's next command.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "imap/imap_acl.h"
#include "server/state.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/array.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define NS_LEN	(sizeof(IMAP_ACL_NS) - 1)

bool
imap_acl_in_ns(const char *name)
{
	return strncmp(name, IMAP_ACL_NS, NS_LEN) == 0 &&
	    (name[NS_LEN] == '\0' || name[NS_LEN] == '/');
}

void
imap_acl_ref_free(struct imap_acl_ref *ref)
{
	if (ref->own_u)
		mbox_user_unref(&ref->u);
	free(ref->owner);
	free(ref->folder);
	memset(ref, 0, sizeof(*ref));
}

/* The canonical address of the account addr, malloc'd, or NULL. */
static char *
account_canonical(const char *addr)
{
	struct acct_snapshot *snap = server_accounts();
	const char *canon = snap ? acct_user_canonical(snap, addr) : NULL;
	char *r = canon ? xstrdup(canon) : NULL;

	if (snap)
		acct_snapshot_unref(&snap);
	return r;
}

/*
 * Splits a shared name "shared/<owner>/<folder>" of another account into
 * the owner's canonical address and the folder (first level INBOX in any
 * case made "INBOX"), both malloc'd into ref; false when it names no
 * folder of another account.
 */
static bool
split_shared(struct imap_client *c, const char *name, struct imap_acl_ref *ref)
{
	const char *o = name + NS_LEN + (name[NS_LEN] == '/'), *slash;
	char *owner;

	if ((slash = strchr(o, '/')) == NULL || slash == o || slash[1] == '\0')
		return false;
	owner = xstrndup(o, (size_t)(slash - o));
	ref->owner = account_canonical(owner);
	free(owner);
	if (ref->owner == NULL || strchr(ref->owner, '@') == NULL ||
	    strcasecmp(ref->owner, c->user) == 0)
		return false;
	ref->folder = xstrdup(slash + 1);
	if (strncasecmp(ref->folder, "INBOX", 5) == 0 &&
	    (ref->folder[5] == '\0' || ref->folder[5] == '/'))
		memcpy(ref->folder, "INBOX", 5);
	return true;
}

/*
 * Fills ref for name without opening the owner's store: the user's own
 * folder (every right), or "shared/<owner>/<folder>" with the rights the
 * ACL gives. MBOX_ERR_NONEXISTENT for a shared name that names no
 * folder of another account.
 */
static int
resolve(struct imap_client *c, const char *name, struct imap_acl_ref *ref,
    char **err_r)
{
	memset(ref, 0, sizeof(*ref));
	if (!imap_acl_in_ns(name)) {
		ref->u = c->mu;
		ref->owner = xstrdup(c->user);
		ref->folder = xstrdup(name);
		ref->rights = MBOX_ACL_ALL;
		return 0;
	}
	if (!split_shared(c, name, ref))
		return MBOX_ERR_NONEXISTENT;
	ref->shared = true;
	ref->serial = mbox_acl_serial();
	return mbox_acl_rights(c->conf->data_dir, ref->owner, ref->folder,
	    c->user, &ref->rights, err_r);
}

bool
imap_acl_is_selected(struct imap_client *c, const char *name)
{
	struct imap_acl_ref ref = { 0 };
	char *cur;
	bool same = false;

	if (c->view == NULL || c->acl_owner == NULL || !imap_acl_in_ns(name))
		return false;
	if (split_shared(c, name, &ref) && strcmp(ref.owner,
	    c->acl_owner) == 0) {
		cur = mbox_view_name(c->view);
		same = strcmp(cur, ref.folder) == 0;
		free(cur);
	}
	imap_acl_ref_free(&ref);
	return same;
}

int
imap_acl_open(struct imap_cmd *cmd, const char *name, unsigned need,
    bool trycreate, struct imap_acl_ref *ref)
{
	struct imap_client *c = cmd->c;
	char *err = NULL, *root;
	int r = resolve(c, name, ref, &err);

	if (r == 0 && ref->shared && (ref->rights == 0 ||
	    (ref->rights & need) != need)) {
		if (ref->rights & MBOX_ACL_LOOKUP)
			imap_cmd_no(cmd, "[NOPERM] Permission denied");
		else
			r = MBOX_ERR_NONEXISTENT;
		if (r == 0) {
			imap_acl_ref_free(ref);
			return -1;
		}
	}
	if (r == 0 && ref->shared) {
		root = imap_user_root(c->conf, ref->owner);
		r = mbox_user_open_account(ref->owner, root, &ref->u, &err);
		ref->own_u = r == 0;
		free(root);
	}
	if (r < 0) {
		/* nobody can create another user's top folders */
		imap_cmd_store_error(cmd, r, trycreate &&
		    !imap_acl_in_ns(name), err ? err :
		    "Mailbox does not exist");
		free(err);
		imap_acl_ref_free(ref);
		return -1;
	}
	return 0;
}

/* ---- the selected folder ------------------------------------------------ */

void
imap_acl_select(struct imap_client *c, const struct imap_acl_ref *ref)
{
	XFREE(&c->acl_owner);
	if (ref == NULL || !ref->shared)
		return;
	c->acl_owner = xstrdup(ref->owner);
	c->acl_rights = ref->rights;
	c->acl_serial = ref->serial;
}

unsigned
imap_acl_selected_rights(struct imap_client *c)
{
	uint64_t serial = mbox_acl_serial();
	unsigned rights;
	char *folder, *err = NULL;
	int r;

	if (c->acl_owner == NULL || c->view == NULL)
		return MBOX_ACL_ALL;
	if (serial == c->acl_serial)
		return c->acl_rights;
	/* the view follows renames, and so does the ACL */
	folder = mbox_view_name(c->view);
	r = mbox_acl_rights(c->conf->data_dir, c->acl_owner, folder, c->user,
	    &rights, &err);
	free(folder);
	if (r < 0) {
		log_error("%s imap acl-read-failed error=\"%s\"", c->base.id,
		    err ? err : "?");
		free(err);
		return 0;	/* fail closed; asked again next time */
	}
	c->acl_rights = rights;
	c->acl_serial = serial;
	return rights;
}

bool
imap_acl_need(struct imap_cmd *cmd, unsigned need)
{
	if ((imap_acl_selected_rights(cmd->c) & need) == need)
		return true;
	imap_cmd_no(cmd, "[NOPERM] Permission denied");
	return false;
}

bool
imap_acl_gate(struct imap_cmd *cmd)
{
	if (!(cmd->def->flags & IMAP_CMD_F_SELECTED) ||
	    cmd->c->acl_owner == NULL || cmd->def->fn == cmd_close ||
	    cmd->def->fn == cmd_unselect)
		return true;
	return imap_acl_need(cmd, MBOX_ACL_READ);
}

unsigned
imap_acl_flag_rights(unsigned flags, unsigned n_keywords)
{
	unsigned need = 0;

	if (flags & MBOX_F_SEEN)
		need |= MBOX_ACL_SEEN;
	if (flags & MBOX_F_DELETED)
		need |= MBOX_ACL_DELMSG;
	if ((flags & MBOX_F_STORABLE & ~(MBOX_F_SEEN | MBOX_F_DELETED)) ||
	    n_keywords > 0)
		need |= MBOX_ACL_WRITE;
	return need;
}

unsigned
imap_acl_allowed_flags(unsigned rights, unsigned flags)
{
	if (!(rights & MBOX_ACL_SEEN))
		flags &= ~MBOX_F_SEEN;
	if (!(rights & MBOX_ACL_DELMSG))
		flags &= ~MBOX_F_DELETED;
	if (!(rights & MBOX_ACL_WRITE))
		flags &= MBOX_F_SEEN | MBOX_F_DELETED;
	return flags;
}

/* ---- LIST --------------------------------------------------------------- */

struct merge {
	struct mbox_folder_info	*e;
	size_t			 n, cap;
	struct hashmap		*idx;	/* name -> index + 1 */
};

/* Adds name (taken) with flags, or merges the flags into an entry of that
 * name: a real folder wins over a subscription-only name. */
static size_t
merge_put(struct merge *m, char *name, unsigned flags)
{
	uintptr_t k = (uintptr_t)hashmap_get(m->idx, name);
	struct mbox_folder_info *e;

	if (k != 0) {
		e = &m->e[k - 1];
		if (e->flags & MBOX_NONEXISTENT)
			e->flags = flags | (e->flags & MBOX_SUBSCRIBED);
		else
			e->flags |= flags & MBOX_SUBSCRIBED;
		free(name);
		return k - 1;
	}
	e = ARRAY_PUSH(m->e, m->n, m->cap);
	e->name = name;
	e->flags = flags;
	hashmap_put(m->idx, name, (void *)(uintptr_t)m->n);
	return m->n - 1;
}

/* Adds "shared/<owner>/<folder>" and its missing parents (\Noselect). */
static void
merge_share(struct merge *m, const struct mbox_acl_share *s)
{
	char *name = xasprintf("%s/%s/%s", IMAP_ACL_NS, s->owner, s->folder);
	char *p = xstrdup(name), *slash;

	merge_put(m, name, 0);
	while ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		if (hashmap_get(m->idx, p) == NULL)
			merge_put(m, xstrdup(p), MBOX_NOSELECT);
	}
	free(p);
}

/* \HasChildren or \HasNoChildren on each name of the namespace. */
static void
merge_children(struct merge *m)
{
	char *p, *slash;
	uintptr_t k;

	for (size_t i = 0; i < m->n; i++)
		if (imap_acl_in_ns(m->e[i].name) &&
		    !(m->e[i].flags & MBOX_NONEXISTENT))
			m->e[i].flags = (m->e[i].flags & ~MBOX_HASCHILDREN) |
			    MBOX_HASNOCHILDREN;
	for (size_t i = 0; i < m->n; i++) {
		if (!imap_acl_in_ns(m->e[i].name) ||
		    (m->e[i].flags & MBOX_NONEXISTENT))
			continue;
		p = xstrdup(m->e[i].name);
		if ((slash = strrchr(p, '/')) != NULL) {
			*slash = '\0';
			if ((k = (uintptr_t)hashmap_get(m->idx, p)) != 0)
				m->e[k - 1].flags = (m->e[k - 1].flags &
				    ~MBOX_HASNOCHILDREN) | MBOX_HASCHILDREN;
		}
		free(p);
	}
}

void
imap_acl_list_merge(struct imap_client *c, struct mbox_folder_info **list,
    size_t *n)
{
	struct merge m = { .idx = hashmap_new(0) };
	struct mbox_acl_share *shares = NULL;
	size_t n_shares = 0;
	char *err = NULL, *canon;

	for (size_t i = 0; i < *n; i++) {
		struct mbox_folder_info *e = &(*list)[i];
		/* a personal folder in the namespace is hidden; a subscribed
		 * shared name is kept (\NonExistent unless shared below) */
		if (imap_acl_in_ns(e->name) && !(e->flags & MBOX_NONEXISTENT))
			free(e->name);
		else
			merge_put(&m, e->name, e->flags);
		e->name = NULL;
	}
	mbox_list_free(*list, *n);
	if (mbox_acl_shared_with(c->conf->data_dir, c->user, &shares,
	    &n_shares, &err) < 0) {
		log_error("%s imap acl-read-failed error=\"%s\"", c->base.id,
		    err ? err : "?");
		free(err);
	}
	for (size_t i = 0; i < n_shares; i++) {
		if (!(shares[i].rights & MBOX_ACL_LOOKUP))
			continue;
		/* a deleted account's shares stay invisible */
		if ((canon = account_canonical(shares[i].owner)) == NULL)
			continue;
		free(canon);
		merge_share(&m, &shares[i]);
	}
	mbox_acl_shares_free(shares, n_shares);
	merge_children(&m);
	hashmap_free(&m.idx, NULL);
	qsort(m.e, m.n, sizeof(*m.e), mbox_folder_info_cmp);
	*list = m.e;
	*n = m.n;
}

void
imap_acl_list_myrights(struct imap_client *c, struct buf *out,
    const char *name, unsigned flags)
{
	struct imap_acl_ref ref;
	char str[MBOX_ACL_STR_MAX], *err = NULL;

	if (flags & (MBOX_NOSELECT | MBOX_NONEXISTENT))
		return;
	if (resolve(c, name, &ref, &err) == 0 && ref.rights != 0) {
		mbox_acl_format(ref.rights, str);
		buf_puts(out, "* MYRIGHTS ");
		imap_out_mailbox(out, name, c->utf8);
		buf_printf(out, " %s\r\n", str);
	}
	free(err);
	imap_acl_ref_free(&ref);
}

/* ---- the owner's folders change ------------------------------------------ */

static void
acl_change_failed(struct imap_cmd *cmd, const char *what, char *err)
{
	log_error("%s imap acl-%s-failed user=%s error=\"%s\"", cmd->c->base.id,
	    what, cmd->c->user, err ? err : "?");
	free(err);
}

static void
acl_renamed(struct imap_cmd *cmd, const char *owner, const char *oldname,
    const char *newname)
{
	char *err = NULL;

	if (strcmp(oldname, "INBOX") == 0)
		return;		/* INBOX stays; its messages moved */
	if (mbox_acl_rename(cmd->c->conf->data_dir, owner, oldname, newname,
	    &err) < 0)
		acl_change_failed(cmd, "rename", err);
}

void
imap_acl_renamed(struct imap_cmd *cmd, const char *oldname,
    const char *newname)
{
	acl_renamed(cmd, cmd->c->user, oldname, newname);
}

void
imap_acl_dropped(struct imap_cmd *cmd, const char *name)
{
	char *err = NULL;

	if (mbox_acl_drop(cmd->c->conf->data_dir, cmd->c->user, name,
	    &err) < 0)
		acl_change_failed(cmd, "drop", err);
}

/* ---- CREATE and DELETE in the shared namespace ------------------------ */

/* Gives folder the entries of parent (both of owner). */
static int
inherit_acl(struct imap_client *c, const char *owner, const char *parent,
    const char *folder, char **err_r)
{
	struct mbox_acl_entry *list;
	size_t n;
	int r = mbox_acl_get(c->conf->data_dir, owner, parent, &list, &n,
	    err_r);

	for (size_t i = 0; r == 0 && i < n; i++)
		r = mbox_acl_set(c->conf->data_dir, owner, folder,
		    list[i].ident, list[i].rights, err_r);
	mbox_acl_entries_free(list, n);
	return r;
}

/*
 * The shared folder that is to be name's parent, opened with need, and
 * the new name in its owner's store; -1 after a NO. The namespace itself
 * and an owner's level hold no folders: nobody creates there.
 */
static int
open_parent(struct imap_cmd *cmd, const char *name, unsigned need,
    struct imap_acl_ref *parent, char **folder_r)
{
	const char *slash = strrchr(name, '/');
	char *pname;
	int r = -1;

	if (slash != NULL && slash[1] != '\0') {
		pname = xstrndup(name, (size_t)(slash - name));
		r = imap_acl_open(cmd, pname, need, false, parent);
		free(pname);
	}
	if (r == 0 && !parent->shared) {
		imap_acl_ref_free(parent);
		r = -1;
	}
	if (r < 0) {
		free(cmd->tagged);
		cmd->tagged = NULL;
		imap_cmd_no(cmd, "[NOPERM] Cannot create a folder here");
		return -1;
	}
	*folder_r = xasprintf("%s/%s", parent->folder, slash + 1);
	return 0;
}

void
imap_acl_create_shared(struct imap_cmd *cmd, const char *name,
    unsigned special_use)
{
	struct imap_acl_ref parent;
	char *folder, *err = NULL;
	int r;

	if (open_parent(cmd, name, MBOX_ACL_CREATE, &parent, &folder) < 0)
		return;
	r = mbox_create(parent.u, folder, special_use, &err);
	if (r == 0 && (r = mbox_acl_drop(cmd->c->conf->data_dir, parent.owner,
	    folder, &err)) == 0)
		r = inherit_acl(cmd->c, parent.owner, parent.folder, folder,
		    &err);
	if (r < 0)
		imap_cmd_store_error(cmd, r, false, err);
	else
		imap_cmd_ok(cmd, "CREATE completed");
	free(err);
	free(folder);
	imap_acl_ref_free(&parent);
}

void
imap_acl_rename_shared(struct imap_cmd *cmd, const char *from, const char *to)
{
	struct imap_acl_ref src, parent;
	char *folder, *err = NULL;
	int r;

	if (!imap_acl_in_ns(from) || !imap_acl_in_ns(to)) {
		imap_cmd_no(cmd, "[CANNOT] Folders cannot move between users");
		return;
	}
	if (imap_acl_open(cmd, from, MBOX_ACL_DELETE, false, &src) < 0)
		return;
	if (open_parent(cmd, to, MBOX_ACL_CREATE, &parent, &folder) < 0) {
		imap_acl_ref_free(&src);
		return;
	}
	if (strcmp(src.owner, parent.owner) != 0) {
		r = MBOX_ERR_CANNOT;
		err = xstrdup("Folders cannot move between users");
	} else if ((r = mbox_rename(src.u, src.folder, folder, &err)) == 0)
		acl_renamed(cmd, src.owner, src.folder, folder);
	if (r < 0)
		imap_cmd_store_error(cmd, r, false, err);
	else
		imap_cmd_ok(cmd, "RENAME completed");
	free(err);
	free(folder);
	imap_acl_ref_free(&parent);
	imap_acl_ref_free(&src);
}

void
imap_acl_delete_shared(struct imap_cmd *cmd, const char *name)
{
	struct imap_acl_ref ref;
	char *err = NULL;
	int r;

	if (imap_acl_open(cmd, name, MBOX_ACL_DELETE, false, &ref) < 0)
		return;
	if ((r = mbox_delete(ref.u, ref.folder, &err)) == 0)
		r = mbox_acl_drop(cmd->c->conf->data_dir, ref.owner,
		    ref.folder, &err);
	if (r < 0)
		imap_cmd_store_error(cmd, r, false, err);
	else
		imap_cmd_ok(cmd, "DELETE completed");
	free(err);
	imap_acl_ref_free(&ref);
}
