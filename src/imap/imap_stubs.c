/*
 * imap_stubs - weak fallbacks for command handlers not written yet: the
 * command answers NO instead of the build failing. A handler defined in
 * its cmd-*.c file replaces its stub at link time.
 */
#include "imap/imap_client.h"

static enum imap_cmd_result
imap_not_yet(struct imap_cmd *cmd)
{
	imap_cmd_no(cmd, "[CANNOT] %s is not implemented yet", cmd->name);
	return IMAP_CMD_DONE;
}

#define STUB(fn) __attribute__((weak)) enum imap_cmd_result \
	fn(struct imap_cmd *cmd) { return imap_not_yet(cmd); }

STUB(cmd_select) STUB(cmd_examine) STUB(cmd_create) STUB(cmd_delete)
STUB(cmd_rename) STUB(cmd_subscribe) STUB(cmd_unsubscribe) STUB(cmd_list)
STUB(cmd_lsub) STUB(cmd_namespace) STUB(cmd_status) STUB(cmd_append)
STUB(cmd_check) STUB(cmd_close) STUB(cmd_unselect) STUB(cmd_expunge)
STUB(cmd_fetch) STUB(cmd_store) STUB(cmd_search) STUB(cmd_sort)
STUB(cmd_thread) STUB(cmd_copy) STUB(cmd_move)
