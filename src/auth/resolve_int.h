/*
 * resolve_int - how a snapshot loader builds an acct_snapshot
 * (resolve.c from SQLite, resolve_pg.c from PostgreSQL). Not for other
 * callers: a snapshot is immutable once handed out.
 *
 * Order matters: domains first, in the order they were added (the first
 * is acct_first_domain), then users in the order they were added (the
 * first of a domain is its postmaster fallback), then aliases and quotas.
 *
 * Trust: as resolve.c.
 */
#ifndef TEM_RESOLVE_INT_H
#define TEM_RESOLVE_INT_H

#include <stdint.h>

#include "auth/resolve.h"

/* An empty snapshot with one reference (acct_snapshot_unref frees it). */
struct acct_snapshot *acct_snapshot_new(void);
void acct_snapshot_set_serial(struct acct_snapshot *s, uint64_t serial);
void acct_snapshot_add_domain(struct acct_snapshot *s, const char *name);
/* localpart and domain: the user's mailbox names, in stored case. */
void acct_snapshot_add_user(struct acct_snapshot *s, const char *address,
    const char *domain, const char *localpart, const char *hash);
/* targets: "a@b,c@d". */
void acct_snapshot_add_alias(struct acct_snapshot *s, const char *address,
    const char *targets);
/* The user's own quota (a user not loaded: ignored). */
void acct_snapshot_set_quota(struct acct_snapshot *s, const char *address,
    uint64_t storage, uint64_t messages);
/* The postmaster of last resort: the first user of the first domain
 * having one (NULL or unknown: none). */
void acct_snapshot_set_first_user_any(struct acct_snapshot *s,
    const char *address);

#endif
