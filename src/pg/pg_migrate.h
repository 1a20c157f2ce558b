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
 * when the user has a folder of that name), a user's subscriptions, a
 * user's Sieve scripts (skipped when the user has any), one queued
 * message (skipped when its id is there). One line per unit on out.
 *
 * Message bytes: the embedded store keeps LF line ends and serves every
 * bare LF as CRLF; pg_mailstore stores and serves bytes as given, so the
 * database gets the wire form (CRLF), whose size is what the index holds
 * as RFC822.SIZE. Queue content stays LF (queue_pg keeps it so).
 *
 * Not copied: Sieve duplicate/vacation memory (state.db), IMAP ACLs,
 * METADATA entries, DKIM keys (they stay files on every node).
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
