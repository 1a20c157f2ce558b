/*
 * cmd-quota - QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA, and the
 * [OVERQUOTA] check APPEND and COPY make before they store anything.
 *
 * One quota root per user, named "" (every folder is in it), with the
 * resources STORAGE (units of 1024 octets) and MESSAGE. The limits are
 * the administrator's (`tem user quota`, else config default_quota and
 * default_quota_messages), read from the current accounts snapshot at
 * each command, so a change shows at once; a resource without a limit is
 * not listed, and a user with no limit at all has no quota root. Usage is
 * the store's counter (store/quota.h), or on PostgreSQL the database's
 * sum over the user's messages. SETQUOTA is refused: limits are
 * the administrator's (QUOTASET is not announced).
 *
 * MOVE is not checked: all folders share the one root, so a MOVE never
 * adds to the usage.
 *
 * Trust: runs for an authenticated, untrusted client on a worker thread
 * (the usage may need a walk of the user's folders once).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "imap/cmd-mailbox.h"
#include "imap/imap_quota.h"
#include "server/state.h"
#include "store/mailbox.h"
#include "store/quota.h"
#include "util/log.h"

/* The limits of c's user; false when it has none at all. */
static bool
user_limits(struct imap_client *c, struct acct_quota *q)
{
	struct acct_quota def = { c->conf->default_quota,
	    c->conf->default_quota_messages };
	struct acct_snapshot *s = server_accounts();
	bool known = s != NULL && acct_user_quota(s, c->user, &def, q);

	acct_snapshot_unref(&s);
	if (!known)
		*q = def;	/* deleted meanwhile: the default */
	return q->storage != 0 || q->messages != 0;
}

bool
imap_quota_allows(struct imap_cmd *cmd, uint64_t bytes, uint64_t messages)
{
	struct imap_client *c = cmd->c;
	struct acct_quota q;
	struct quota_usage u;

	if (!user_limits(c, &q))
		return true;
	if (quota_user_check(c->mu, q.storage, q.messages, bytes, messages,
	    &u) != QUOTA_OVER)
		return true;
	log_info("%s imap over-quota user=%s cmd=%s used=%llu/%llu "
	    "messages=%llu/%llu add=%llu", c->base.id, c->user, cmd->name,
	    (unsigned long long)u.bytes, (unsigned long long)q.storage,
	    (unsigned long long)u.messages, (unsigned long long)q.messages,
	    (unsigned long long)bytes);
	imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded (mailbox is full)");
	return false;
}

/* "* QUOTA "" (STORAGE used limit MESSAGE used limit)" */
static void
quota_line(struct imap_client *c, struct buf *out, const struct acct_quota *q)
{
	struct quota_usage u;
	const char *sp = "";

	if (quota_user_usage(c->mu, &u) < 0)
		u = (struct quota_usage){ 0, 0 };
	buf_puts(out, "* QUOTA \"\" (");
	if (q->storage != 0) {
		buf_printf(out, "STORAGE %llu %llu", (unsigned long long)
		    ((u.bytes + 1023) / 1024),
		    (unsigned long long)(q->storage / 1024));
		sp = " ";
	}
	if (q->messages != 0)
		buf_printf(out, "%sMESSAGE %llu %llu", sp,
		    (unsigned long long)u.messages,
		    (unsigned long long)q->messages);
	buf_puts(out, ")\r\n");
}

enum imap_cmd_result
cmd_getquota(struct imap_cmd *cmd)
{
	struct acct_quota q;
	const char *root;
	size_t len;

	if (cmd->count != 1 ||
	    !imap_arg_get_astring(&cmd->args[0], &root, &len)) {
		imap_cmd_bad(cmd, "GETQUOTA needs a quota root");
		return IMAP_CMD_DONE;
	}
	if (len != 0 || !user_limits(cmd->c, &q)) {
		imap_cmd_no(cmd, "[NONEXISTENT] No such quota root");
		return IMAP_CMD_DONE;
	}
	quota_line(cmd->c, &cmd->out, &q);
	imap_cmd_ok(cmd, "GETQUOTA completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_getquotaroot(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct acct_quota q;
	char *name, *err = NULL;
	int r;

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "GETQUOTAROOT needs a mailbox name");
		return IMAP_CMD_DONE;
	}
	if ((name = cmd_mbox_arg(cmd, &cmd->args[0])) == NULL)
		return IMAP_CMD_DONE;
	if ((r = mbox_exists(c->mu, name, &err)) < 0) {
		free(name);
		return cmd_mbox_fail(cmd, r, false, err);
	}
	buf_puts(&cmd->out, "* QUOTAROOT ");
	imap_out_mailbox(&cmd->out, name, c->utf8);
	if (user_limits(c, &q)) {
		buf_puts(&cmd->out, " \"\"\r\n");
		quota_line(c, &cmd->out, &q);
	} else
		buf_puts(&cmd->out, "\r\n");
	free(name);
	imap_cmd_ok(cmd, "GETQUOTAROOT completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_setquota(struct imap_cmd *cmd)
{
	if (cmd->count != 2 || cmd->args[1].type != IMAP_ARG_LIST) {
		imap_cmd_bad(cmd, "SETQUOTA needs a quota root and a list");
		return IMAP_CMD_DONE;
	}
	imap_cmd_no(cmd, "[NOPERM] Quotas are set by the administrator");
	return IMAP_CMD_DONE;
}
