/*
 * cmd-acl - the RFC 4314 commands: SETACL, DELETEACL, GETACL, LISTRIGHTS,
 * MYRIGHTS. Capability "ACL RIGHTS=texk": the rights l r s w i p k x t e
 * a, with RFC 2086's c (= k x) and d (= t e) read and shown.
 *
 * Choices: identifiers are account addresses (any case; the canonical
 * one is kept) and "anyone", each also with "-" for negative rights (RFC
 * 4314 2: what "-ident" holds is taken from what ident and anyone grant;
 * GETACL lists them as stored, MYRIGHTS and every check see the
 * difference); the owner holds every right, is listed first by GETACL,
 * and its rights cannot be changed nor taken. SETACL, DELETEACL, GETACL and LISTRIGHTS need
 * "a" on the folder, MYRIGHTS any right (RFC 4314 4).
 *
 * Trust: runs for an authenticated, untrusted client on a worker thread.
 * The mailbox goes through imap_acl_open (which checks the rights); the
 * identifier is looked up in the accounts snapshot (at most
 * MBOX_ACL_IDENT_MAX octets); the rights string must be RFC 4314 letters
 * (BAD otherwise, as 3.1 asks); each folder keeps at most
 * MBOX_ACL_IDENTS_MAX identifiers.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "server/state.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The arguments every ACL command starts with: the folder, opened with
 * need, and (with_ident) the identifier as sent. */
struct acl_args {
	char			*name;	/* UTF-8, as the client named it */
	struct imap_acl_ref	 ref;
	const char		*ident;
};

static void
acl_args_free(struct acl_args *a)
{
	free(a->name);
	imap_acl_ref_free(&a->ref);
}

/* Parses "mailbox [identifier]" + extra arguments; false after a reply. */
static bool
acl_args(struct imap_cmd *cmd, unsigned nargs, unsigned need,
    struct acl_args *a)
{
	size_t len;

	memset(a, 0, sizeof(*a));
	if (cmd->count != nargs) {
		imap_cmd_bad(cmd, "%s needs %u arguments", cmd->name, nargs);
		return false;
	}
	if (nargs >= 2 && (!imap_arg_get_astring(&cmd->args[1], &a->ident,
	    &len) || len == 0 || len > MBOX_ACL_IDENT_MAX ||
	    strlen(a->ident) != len)) {
		imap_cmd_bad(cmd, "Invalid identifier");
		return false;
	}
	if ((a->name = cmd_mbox_lookup_arg(cmd, &cmd->args[0])) == NULL)
		return false;	/* BAD, or NO [NONEXISTENT] for a bad name */
	if (imap_acl_open(cmd, a->name, need, false, &a->ref) < 0) {
		XFREE(&a->name);
		return false;
	}
	return true;
}

/* True when the folder exists (ACLs are kept for folders only). */
static bool
folder_exists(struct imap_cmd *cmd, const struct imap_acl_ref *ref)
{
	struct mbox_folder_info *list = NULL;
	size_t n = 0;
	char *err = NULL;
	bool found = false;
	int r = mbox_list(ref->u, &list, &n, &err);

	for (size_t i = 0; r == 0 && i < n && !found; i++)
		found = strcmp(list[i].name, ref->folder) == 0 &&
		    !(list[i].flags & (MBOX_NOSELECT | MBOX_NONEXISTENT));
	mbox_list_free(list, n);
	if (r < 0)
		cmd_mbox_fail(cmd, r, false, err);
	else if (!found) {
		free(err);
		imap_cmd_no(cmd, "[NONEXISTENT] Mailbox does not exist");
	}
	return found;
}

/* The identifier to store: "anyone", or an account's canonical address,
 * each with its "-" for negative rights (RFC 4314 2). NULL after a NO. */
static char *
ident_canonical(struct imap_cmd *cmd, const struct acl_args *a)
{
	struct acct_snapshot *snap;
	const char *canon, *id = a->ident;
	bool neg = id[0] == MBOX_ACL_NEGATIVE;
	char *r = NULL;

	if (neg)
		id++;
	if (strcasecmp(id, MBOX_ACL_ANYONE) == 0)
		return xasprintf("%s%s", neg ? "-" : "", MBOX_ACL_ANYONE);
	snap = server_accounts();
	canon = snap && id[0] != '\0' ? acct_user_canonical(snap, id) : NULL;
	if (canon != NULL)
		r = xasprintf("%s%s", neg ? "-" : "", canon);
	if (snap)
		acct_snapshot_unref(&snap);
	if (r == NULL)
		imap_cmd_no(cmd, "[CANNOT] Unknown identifier");
	else if (strcmp(r + neg, a->ref.owner) == 0) {
		imap_cmd_no(cmd, "[CANNOT] The owner's rights cannot change");
		XFREE(&r);
	}
	return r;
}

/* ident's stored rights on the folder (0 when none). */
static int
current_rights(struct imap_cmd *cmd, const struct acl_args *a,
    const char *ident, unsigned *rights_r)
{
	struct mbox_acl_entry *list;
	size_t n;
	char *err = NULL;
	int r = mbox_acl_get(cmd->c->conf->data_dir, a->ref.owner,
	    a->ref.folder, &list, &n, &err);

	*rights_r = 0;
	if (r < 0) {
		cmd_mbox_fail(cmd, r, false, err);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].ident, ident) == 0)
			*rights_r = list[i].rights;
	mbox_acl_entries_free(list, n);
	return 0;
}

/* Stores ident's new rights, logs the change, answers OK. */
static void
acl_store(struct imap_cmd *cmd, const struct acl_args *a, const char *ident,
    unsigned rights)
{
	char str[MBOX_ACL_STR_MAX], *err = NULL;
	int r = mbox_acl_set(cmd->c->conf->data_dir, a->ref.owner,
	    a->ref.folder, ident, rights, &err);

	if (r < 0) {
		cmd_mbox_fail(cmd, r, false, err);
		return;
	}
	mbox_acl_format(rights, str);
	log_info("%s imap acl-set user=%s owner=%s folder=\"%s\" ident=%s "
	    "rights=%s", cmd->c->base.id, cmd->c->user, a->ref.owner,
	    a->ref.folder, ident, str[0] ? str : "-");
	imap_cmd_ok(cmd, "%s completed", cmd->name);
}

enum imap_cmd_result
cmd_setacl(struct imap_cmd *cmd)
{
	struct acl_args a;
	const char *mod;
	size_t len;
	unsigned rights, old;
	char bad = '?', *ident;

	if (!acl_args(cmd, 3, MBOX_ACL_ADMIN, &a))
		return IMAP_CMD_DONE;
	if (!imap_arg_get_astring(&cmd->args[2], &mod, &len) ||
	    strlen(mod) != len || mbox_acl_parse(mod + (*mod == '+' ||
	    *mod == '-'), &rights, &bad) < 0)
		imap_cmd_bad(cmd, "Unknown right '%c'", bad);
	else if (folder_exists(cmd, &a.ref) &&
	    (ident = ident_canonical(cmd, &a)) != NULL) {
		if (*mod != '+' && *mod != '-')
			acl_store(cmd, &a, ident, rights);
		else if (current_rights(cmd, &a, ident, &old) == 0)
			acl_store(cmd, &a, ident, *mod == '+' ?
			    old | rights : old & ~rights);
		free(ident);
	}
	acl_args_free(&a);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_deleteacl(struct imap_cmd *cmd)
{
	struct acl_args a;
	char *ident;

	if (!acl_args(cmd, 2, MBOX_ACL_ADMIN, &a))
		return IMAP_CMD_DONE;
	if ((ident = ident_canonical(cmd, &a)) != NULL) {
		acl_store(cmd, &a, ident, 0);
		free(ident);
	}
	acl_args_free(&a);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_getacl(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct mbox_acl_entry *list;
	struct acl_args a;
	size_t n;
	char str[MBOX_ACL_STR_MAX], *err = NULL;
	int r;

	if (!acl_args(cmd, 1, MBOX_ACL_ADMIN, &a))
		return IMAP_CMD_DONE;
	if (!folder_exists(cmd, &a.ref)) {
		acl_args_free(&a);
		return IMAP_CMD_DONE;
	}
	r = mbox_acl_get(c->conf->data_dir, a.ref.owner, a.ref.folder, &list,
	    &n, &err);
	if (r < 0) {
		acl_args_free(&a);
		return cmd_mbox_fail(cmd, r, false, err);
	}
	buf_puts(&cmd->out, "* ACL ");
	imap_out_mailbox(&cmd->out, a.name, c->utf8);
	mbox_acl_format(MBOX_ACL_ALL, str);
	buf_putc(&cmd->out, ' ');
	imap_out_astring(&cmd->out, a.ref.owner, strlen(a.ref.owner), c->utf8);
	buf_printf(&cmd->out, " %s", str);
	for (size_t i = 0; i < n; i++) {
		mbox_acl_format(list[i].rights, str);
		buf_putc(&cmd->out, ' ');
		imap_out_astring(&cmd->out, list[i].ident,
		    strlen(list[i].ident), c->utf8);
		buf_printf(&cmd->out, " %s", str);
	}
	buf_puts(&cmd->out, "\r\n");
	mbox_acl_entries_free(list, n);
	acl_args_free(&a);
	imap_cmd_ok(cmd, "GETACL completed");
	return IMAP_CMD_DONE;
}

/* LISTRIGHTS: the owner holds everything, always; any other identifier
 * nothing by necessity and each right on its own (c and d as groups). */
enum imap_cmd_result
cmd_listrights(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct acl_args a;
	char str[MBOX_ACL_STR_MAX];
	bool owner;

	if (!acl_args(cmd, 2, MBOX_ACL_ADMIN, &a))
		return IMAP_CMD_DONE;
	owner = strcasecmp(a.ident, a.ref.owner) == 0;
	buf_puts(&cmd->out, "* LISTRIGHTS ");
	imap_out_mailbox(&cmd->out, a.name, c->utf8);
	buf_putc(&cmd->out, ' ');
	imap_out_astring(&cmd->out, a.ident, strlen(a.ident), c->utf8);
	mbox_acl_format(MBOX_ACL_ALL, str);
	if (owner)
		buf_printf(&cmd->out, " %s\r\n", str);
	else
		buf_puts(&cmd->out, " \"\" l r s w i p k x t e a c d\r\n");
	acl_args_free(&a);
	imap_cmd_ok(cmd, "LISTRIGHTS completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_myrights(struct imap_cmd *cmd)
{
	struct acl_args a;
	char str[MBOX_ACL_STR_MAX];

	if (!acl_args(cmd, 1, 0, &a))
		return IMAP_CMD_DONE;
	if (!a.ref.shared && !folder_exists(cmd, &a.ref)) {
		acl_args_free(&a);
		return IMAP_CMD_DONE;
	}
	mbox_acl_format(a.ref.rights, str);
	buf_puts(&cmd->out, "* MYRIGHTS ");
	imap_out_mailbox(&cmd->out, a.name, cmd->c->utf8);
	buf_printf(&cmd->out, " %s\r\n", str);
	acl_args_free(&a);
	imap_cmd_ok(cmd, "MYRIGHTS completed");
	return IMAP_CMD_DONE;
}
