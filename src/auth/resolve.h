/*
 * resolve - an immutable in-memory snapshot of the accounts, for lookups
 * from event-loop threads (no disk access after acct_snapshot_load).
 *
 * The server loads a snapshot at start, and again on its main thread
 * when an admin command asks over the control socket (server/control.h)
 * or its 1 s poll of accounts_serial_read() (accounts.h) sees a number
 * other than acct_snapshot_serial(); it swaps the new one in; sessions
 * holding a reference to the old one keep using it until they unref it.
 *
 * Thread safety: a snapshot never changes after load; any number of
 * threads may look up concurrently. ref/unref are atomic.
 *
 * Case rules (as accounts.h): domains and ASCII letters of local parts
 * compare case-insensitively; other bytes of a UTF-8 local part exactly.
 */
#ifndef TEM_RESOLVE_H
#define TEM_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

/* Alias expansion stops descending at this depth (loops are cut anyway). */
#define ACCT_ALIAS_DEPTH_MAX	10
/* At most this many final targets per resolution; the rest are dropped. */
#define ACCT_RESOLVE_TARGETS_MAX 1000

struct acct_snapshot;

/*
 * Loads domains, users (with hashes) and aliases from
 * data_dir/accounts.db. Blocking: call from a worker or the main thread. A
 * missing database gives an empty snapshot with serial 0. Returns a
 * snapshot with one reference, or NULL and a malloc'd *error_r.
 */
struct acct_snapshot *acct_snapshot_load(const char *data_dir,
    char **error_r);
/*
 * The same from PostgreSQL (storage = postgresql; resolve_pg.c), on this
 * thread's pg_conn connection (pg_conn_setup() first): blocking, a worker
 * or the main thread. The serial is accounts_serial's, which every change
 * bumps with a NOTIFY tem_accounts (payload: the new serial). NULL with
 * *error_r ("database unavailable: ..." when it is down: keep the old
 * snapshot and try again).
 */
struct acct_snapshot *acct_snapshot_load_pg(char **error_r);
void acct_snapshot_ref(struct acct_snapshot *s);
/* Drops one reference (freeing at zero) and sets *s to NULL. */
void acct_snapshot_unref(struct acct_snapshot **s);
/* The change serial the snapshot was loaded at (see accounts.h). */
uint64_t acct_snapshot_serial(const struct acct_snapshot *s);

bool acct_is_local_domain(const struct acct_snapshot *s, const char *domain);
/* The first domain added (lowercase), or NULL when there is none. The
 * string lives as long as the snapshot. */
const char *acct_first_domain(const struct acct_snapshot *s);

enum acct_target_kind { ACCT_TARGET_LOCAL, ACCT_TARGET_REMOTE };

struct acct_target {
	enum acct_target_kind kind;
	/* LOCAL: the user's canonical address; REMOTE: the address as the
	 * alias lists it (domain lowercased). */
	char	*address;
	/* LOCAL only (NULL for REMOTE): the mailbox is
	 * data_dir/mail/DOMAIN/LOCALPART, in the user's stored case. */
	char	*domain;
	char	*localpart;
};

struct acct_resolution {
	int			 n;
	struct acct_target	*t;	/* n entries, no duplicate address */
};

enum acct_resolve_status {
	ACCT_NOT_LOCAL_DOMAIN,
	ACCT_NO_SUCH_USER,
	ACCT_OK,		/* res->n >= 1 */
};

/*
 * Resolves localpart@domain (local part as received: mixed-case ASCII or
 * UTF-8) to its final targets, in this order:
 *  - domain not ours: ACCT_NOT_LOCAL_DOMAIN;
 *  - an alias of that exact address; else a user of it;
 *  - "user+tag": the same two look-ups on "user" (the part before the
 *    first '+');
 *  - "postmaster" (any case, also "postmaster+tag"): the first user added
 *    to the domain, else the first user of the first domain having one;
 *  - otherwise ACCT_NO_SUCH_USER.
 * An alias expands recursively: a target in a local domain resolves again
 * by the same rules, a remote one is kept as ACCT_TARGET_REMOTE. An alias
 * met again on the way (a loop, or an alias listing its own address) is
 * not expanded again: its address then falls through to the user of that
 * name, if any. Below ACCT_ALIAS_DEPTH_MAX levels aliases are not
 * expanded; an alias that yields nothing falls through to the next rule.
 * domain NULL means the first domain (a bare RCPT TO:<postmaster>).
 * *res is always initialised; free it with acct_resolution_free.
 */
enum acct_resolve_status acct_resolve(const struct acct_snapshot *s,
    const char *localpart, const char *domain, struct acct_resolution *res);
void acct_resolution_free(struct acct_resolution *res);

/* The stored password hash of user ADDRESS, or NULL if no such user.
 * Lives as long as the snapshot. */
const char *acct_user_hash(const struct acct_snapshot *s,
    const char *address);
/* The canonical address of user ADDRESS (stored case), or NULL. */
const char *acct_user_canonical(const struct acct_snapshot *s,
    const char *address);

/* A mail store quota (RFC 9208): octets and messages, 0 = no limit. */
struct acct_quota {
	uint64_t	storage;
	uint64_t	messages;
};

/* The quota of user ADDRESS: its own (`tem user quota`), else *def (the
 * config's default_quota). False when there is no such user. */
bool acct_user_quota(const struct acct_snapshot *s, const char *address,
    const struct acct_quota *def, struct acct_quota *q_r);

/*
 * True when user (an account address) may send as ADDRESS: its own
 * address, or any address that resolves to it (an alias listing it, its
 * +tag addresses, postmaster when it is the postmaster's mailbox).
 */
bool acct_user_owns_address(const struct acct_snapshot *s, const char *user,
    const char *address);

#endif
