/*
 * deliver_pg - local delivery into PostgreSQL (storage = postgresql):
 * the commit stage's mailbox copies (msg/commit.c) and the Sieve job's
 * folders and flags (msg/sieve_job.c) go to pg_mailstore instead of the
 * Maildir committer and mailbox_deliver.c.
 *
 * A copy is still named by the path the Maildir side would use, so the
 * routing, the Sieve stage's caches and the commit's de-duplication stay
 * one code: data_dir/mail/DOMAIN/LOCALPART is the user's INBOX, and
 * that root + "/." + NAME the folder NAME as IMAP names it (normalised,
 * "/" between levels; ".Junk" is Junk). The user is the copy's label
 * (its address). A copy's info is its flags by name, separated by
 * spaces ("\\Seen $label"), instead of Maildir info letters.
 *
 * The stored bytes are the wire form (CRLF: what the mail store core and
 * IMAP expect): the LF-only pipeline form with each bare LF made CRLF.
 *
 * Durability: a copy succeeds only once pg_ms_append_one returned 0 (one
 * transaction, committed with synchronous_commit on). A failure is an
 * errno for the commit (EAGAIN: the database is unavailable; EIO: it
 * refused), so the client hears 451 4.3.0 and nothing is acknowledged;
 * the copy's filename then holds the database's one-line error for the
 * commit's log line. On success it names the message:
 * "NAME;UIDVALIDITY=V;UID=U".
 *
 * Threads: deliver_pg_setup before threads; deliver_pg_folder and
 * deliver_pg_info BLOCK (worker threads: the Sieve job);
 * deliver_pg_submit runs its job on the worker pool and calls job->done
 * on job->origin.
 * Trust: names and flags come from users' scripts: checked here by the
 * store's rules (mbox_name_check, mbox_keyword_valid).
 */
#ifndef TEM_MSG_DELIVER_PG_H
#define TEM_MSG_DELIVER_PG_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct maildir_job;

/* Once at start: whether deliveries go to PostgreSQL. */
void deliver_pg_setup(const struct conf *c);
bool deliver_pg_on(void);

/*
 * The copy path of folder name for the user address whose INBOX path is
 * root (NULL, "" or INBOX: root): 0 with *dir_r (malloc'd) when the
 * folder exists or, with create, was made and subscribed (RFC 5490 as
 * Pigeonhole does); PG_MS_NONEXISTENT when it does not; another
 * PG_* code with *error_r for a bad name or a database failure.
 */
int deliver_pg_folder(const char *address, const char *root,
    const char *name, bool create, char **dir_r, char **error_r);
/* The info string (malloc'd, "" for none) of flags[0..n): system flags
 * and valid keywords, by name; others left out. */
char *deliver_pg_info(const char *const *flags, size_t n);

/* A delivery filter's folder and flags on the process's store: the
 * two above on PostgreSQL, mbox_deliver_folder / mbox_deliver_info on
 * Maildir (store/mailbox.h), so a filter does not ask which. */
int deliver_folder(const char *address, const char *root, const char *name,
    bool create, char **dir_r, char **error_r);
char *deliver_info(const char *dir, const char *const *flags, size_t n);

/* The Maildir committer's contract (store/maildir.h: maildir_submit),
 * into PostgreSQL. */
void deliver_pg_submit(struct maildir_job *job);

#endif
