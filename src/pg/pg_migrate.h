/*
 * pg_migrate - `tem migrate`: copies an embedded data_dir (accounts.db,
 * Maildir++ folders with tem-index.sqlite, queue files, Sieve scripts)
 * into the PostgreSQL database at postgresql_dsn (schema made by `tem db
 * init`), keeping every folder's UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ
 * and every message's UID, MODSEQ, flags, keywords and INTERNALDATE, so
 * IMAP clients do not download anything again.
 *
 * Units, each one transaction, skipped when already in the database (so
 * a run stopped anywhere, even by kill -9, is finished by running it
 * again, with nothing copied twice): the accounts (all rows, ON CONFLICT
 * DO NOTHING), one folder with all its messages and expunge log (skipped
 * when the user has a folder of that name), a user's subscriptions and
 * METADATA entries (ON CONFLICT DO NOTHING), a user's Sieve scripts
 * (skipped when the user has any), the ACLs (after every folder: rows
 * of folders that are gone are left out), one queued message (skipped
 * when its id is there). One line per unit on out. Before a user's
 * folders are read, the user's store is opened and every folder synced
 * as the next login would (mail in new/ gets its UID, a lost index is
 * rebuilt). Each message gets a blob of its own (copies are not shared).
 *
 * Message bytes: the embedded store keeps LF line ends and serves every
 * bare LF as CRLF; pg_mailstore stores and serves bytes as given, so the
 * database gets the wire form (CRLF), whose size is what the index holds
 * as RFC822.SIZE. Queue content stays LF (queue_pg keeps it so).
 *
 * Not copied: Sieve duplicate/vacation memory (state.db: a vacation
 * reply may go once more), DKIM keys (they stay files on every node).
 *
 * Checks, after the copy: every accounts.db row (domain, user with its
 * hash, alias with its targets, quota) has its twin; per folder
 * UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, the message count and the octets
 * (the index's wire sizes against the blobs' lengths) agree; each queue
 * file's recipients and content size are there.
 *
 * Threads: blocking (libpq, SQLite, files): the CLI's main thread.
 * Trust: the data_dir is the administrator's and ours, but files are
 * checked as they are read (sizes, names); nothing is spliced into SQL.
 */
#ifndef TEM_PG_MIGRATE_H
#define TEM_PG_MIGRATE_H

#include <stdio.h>

struct conf;

/* Refuses while a server holds data_dir's queue lock (held by the run).
 * Returns 0 when everything is copied and the checks agree, 1 when a
 * check found a difference (printed), -1 with *error_r on a failure. */
int pg_migrate(const struct conf *c, FILE *out, char **error_r);

#endif
