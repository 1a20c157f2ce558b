/*
 * imap_commands - the command table: name, handler, where it may run.
 * (Dovecot's imap-commands.c idea: a table plus small handlers.)
 */
#include <string.h>
#include <strings.h>

#include "imap/imap_acl.h"
#include "imap/imap_client.h"
#include "imap/imap_metadata.h"
#include "imap/imap_quota.h"

#define NA	IMAP_CMD_F_NOAUTH
#define AU	IMAP_CMD_F_AUTH
#define SE	(IMAP_CMD_F_AUTH | IMAP_CMD_F_SELECTED)
#define LO	IMAP_CMD_F_LOOP
#define UI	IMAP_CMD_F_UID
#define NX	IMAP_CMD_F_NO_EXPUNGE

static const struct imap_command_def commands[] = {
	{ "CAPABILITY",	cmd_capability,	NA | AU | LO },
	{ "NOOP",	cmd_noop,	NA | AU },
	{ "LOGOUT",	cmd_logout,	NA | AU | LO },
	{ "STARTTLS",	cmd_starttls,	NA | LO },
	{ "LOGIN",	cmd_login,	NA | LO },
	{ "AUTHENTICATE", cmd_authenticate, NA | LO },
	{ "ID",		cmd_id,		NA | AU | LO },
	{ "ENABLE",	cmd_enable,	AU | LO },
	{ "IDLE",	cmd_idle,	AU | LO },
	{ "COMPRESS",	cmd_compress,	AU | LO },
	{ "SELECT",	cmd_select,	AU },
	{ "EXAMINE",	cmd_examine,	AU },
	{ "CREATE",	cmd_create,	AU },
	{ "DELETE",	cmd_delete,	AU },
	{ "RENAME",	cmd_rename,	AU },
	{ "SUBSCRIBE",	cmd_subscribe,	AU },
	{ "UNSUBSCRIBE", cmd_unsubscribe, AU },
	{ "LIST",	cmd_list,	AU },
	{ "LSUB",	cmd_lsub,	AU },
	{ "NAMESPACE",	cmd_namespace,	AU },
	{ "STATUS",	cmd_status,	AU },
	{ "APPEND",	cmd_append,	AU },
	{ "CHECK",	cmd_check,	SE },
	{ "CLOSE",	cmd_close,	SE },
	{ "UNSELECT",	cmd_unselect,	SE },
	{ "EXPUNGE",	cmd_expunge,	SE | UI },
	{ "FETCH",	cmd_fetch,	SE | UI | NX },
	{ "STORE",	cmd_store,	SE | UI | NX },
	{ "SEARCH",	cmd_search,	SE | UI | NX },
	{ "SORT",	cmd_sort,	SE | UI | NX },
	{ "THREAD",	cmd_thread,	SE | UI | NX },
	{ "COPY",	cmd_copy,	SE | UI },
	{ "MOVE",	cmd_move,	SE | UI },
	{ "SETACL",	cmd_setacl,	AU },
	{ "DELETEACL",	cmd_deleteacl,	AU },
	{ "GETACL",	cmd_getacl,	AU },
	{ "LISTRIGHTS",	cmd_listrights,	AU },
	{ "MYRIGHTS",	cmd_myrights,	AU },
	{ "GETQUOTA",	cmd_getquota,	AU },
	{ "GETQUOTAROOT", cmd_getquotaroot, AU },
	{ "SETQUOTA",	cmd_setquota,	AU },
	{ "GETMETADATA", cmd_getmetadata, AU },
	{ "SETMETADATA", cmd_setmetadata, AU },
	{ "CANCELUPDATE", cmd_cancelupdate, SE },
	{ "NOTIFY",	cmd_notify,	AU },
};

const struct imap_command_def *
imap_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
