/*
 * cmd-mailbox - helpers shared by the mailbox command handlers
 * (cmd-mailbox.c, cmd-select.c, cmd-list.c). Internal to src/imap/.
 *
 * Trust: the names come from an authenticated but untrusted client; they
 * are decoded and bounded here (imap_mailbox_decode) before the store
 * validates them again.
 */
#ifndef TEM_IMAP_CMD_MAILBOX_H
#define TEM_IMAP_CMD_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap_client.h"

struct mbox_status;

/* The hierarchy delimiter of every name tem serves. */
#define CMD_MBOX_SEP	'/'

/*
 * The UTF-8 name of a mailbox given as sent (s, len): modified UTF-7 is
 * decoded for IMAP4rev1 clients, a first level "INBOX" in any case
 * becomes "INBOX". Returns a malloc'd string, or NULL after setting the
 * tagged BAD reply.
 */
char *cmd_mbox_decode(struct imap_cmd *cmd, const char *s, size_t len);
/* The same without a reply: NULL with *error_r (static text). */
char *cmd_mbox_try(struct imap_cmd *cmd, const char *s, size_t len,
    const char **error_r);
/* The same for an astring argument (BAD when it is no astring). */
char *cmd_mbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg);
/*
 * The same for the name of a mailbox that must exist (SELECT, EXAMINE,
 * STATUS, DELETE, RENAME's source, APPEND, COPY/MOVE's target): a name
 * that decodes to nothing tem can hold (a valid atom that is no modified
 * UTF-7, such as "&AOk-&AOk-" or "!#$&'+", or no UTF-8) names no mailbox,
 * so NULL after "NO [NONEXISTENT]", as Dovecot answers. CREATE, RENAME's
 * target and (UN)SUBSCRIBE keep cmd_mbox_arg's BAD: they would make or
 * record such a name, and RFC 3501 5.1.3 has the server reject it.
 */
char *cmd_mbox_lookup(struct imap_cmd *cmd, const char *s, size_t len);
char *cmd_mbox_lookup_arg(struct imap_cmd *cmd, const struct imap_arg *arg);

/* Sets the tagged NO for store error r (a negative enum mbox_err) with
 * the store's text err (may be NULL), frees err, returns IMAP_CMD_DONE. */
enum imap_cmd_result cmd_mbox_fail(struct imap_cmd *cmd, int r,
    bool trycreate, char *err);

/* Appends "* STATUS name (ITEM n ...)\r\n" with the IMAP_STATUS_* items
 * asked for, in RFC 9051 order. */
void cmd_mbox_status_line(struct buf *out, const char *name, unsigned items,
    const struct mbox_status *st, bool utf8);

/* Appends the LIST attributes of store flags (MBOX_NOSELECT ...), without
 * parentheses: \NonExistent or \Noselect, \HasChildren or \HasNoChildren,
 * \Subscribed when subscribed is true and the flags have it, then the
 * special uses. */
void cmd_mbox_attrs(struct buf *out, unsigned flags, bool subscribed);

#endif
