/*
 * imap_learn - spam learning from what a user does over IMAP: which
 * COPY, MOVE and STORE teach rspamd what, and the hand-off of the opened
 * message files to the learner (src/spam/learn.h). Internal to src/imap/.
 *
 * Trust: the user is authenticated and allowed to do the command (checked
 * before these are called); what the user files as spam is the user's
 * judgement, so it is learned as is.
 *
 * Only while the session's config has rspamd_controller. What counts
 * (folder names are the user's own top-level "Junk" and "Trash", the
 * special folders every user has; SPEC "Special folders"):
 * - COPY or MOVE (UID forms too) into Junk from any other folder: spam.
 * - COPY or MOVE out of Junk into any folder but Junk and Trash: ham.
 *   Into Trash nothing: deleting spam says nothing new about it (as
 *   Dovecot's antispam plugin treats its trash).
 * - STORE FLAGS or +FLAGS with $Junk: spam; with $NotJunk: ham (RFC 5788
 *   keywords, any case); both at once, or -FLAGS: nothing.
 * - APPEND: nothing (a client saving its own copy tells nothing).
 *
 * BLOCKING: the message files are opened here, on the command's worker
 * (at most spam_learn_room() of them); never read. The learner reads and
 * sends them after the command has answered.
 */
#ifndef TEM_IMAP_LEARN_H
#define TEM_IMAP_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_cmd;
struct imap_flags;
struct imap_learn;

/*
 * Before a COPY/MOVE of the n seqs of the selected folder to dest (the
 * decoded name): the files of a learning copy, opened now (a MOVE renames
 * them away); NULL when this copy teaches nothing.
 */
struct imap_learn *imap_learn_copy_begin(struct imap_cmd *cmd,
    const uint32_t *seq, size_t n, const char *dest);
/* After it: ok hands the files to the learner, else closes them; frees
 * *l (may be NULL) and sets it to NULL. */
void imap_learn_copy_end(struct imap_cmd *cmd, struct imap_learn **l,
    bool ok);

/*
 * After a STORE (op: enum imap_store_op) of flags on the n seqs of the
 * selected folder; modified (ascending, n_modified) are the seqs
 * UNCHANGEDSINCE left alone.
 */
void imap_learn_store(struct imap_cmd *cmd, int op,
    const struct imap_flags *flags, const uint32_t *seq, size_t n,
    const uint32_t *modified, size_t n_modified);

#endif
