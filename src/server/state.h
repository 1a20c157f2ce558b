/*
 * state - the running state as one reference-counted bundle: the config,
 * the accounts snapshot, the public suffix list and the DKIM signing
 * keys. A reload (SIGHUP, an account change, `tem dkim keygen`) swaps in
 * a new bundle at once; the old one is freed when its last holder lets
 * go. Parts a reload did not change are shared between bundles (each
 * part has its own count), so a swap copies nothing.
 *
 * Trust: holds only what the administrator configured.
 *
 * Who holds a bundle: the "current" slot; every session from its start
 * to its free (it keeps the config, public suffix list and DKIM keys it
 * started with, even across reloads); and any code that reads the
 * current state for a moment (server_state_get ... server_state_unref).
 * The accounts snapshot is the exception: sessions ask for the current
 * one (server_accounts) at each use, so an admin change shows at once.
 *
 * Threads: get, unref and the swaps are thread-safe; a bundle's parts
 * are immutable while anyone holds it.
 */
#ifndef TEM_SERVER_STATE_H
#define TEM_SERVER_STATE_H

#include <stdatomic.h>

struct conf;
struct acct_snapshot;
struct psl;
struct dkim_keystore;
struct state_part;

struct server_state {
	atomic_uint		 refs;
	unsigned		 gen;		/* 1, 2, ... in swap order */
	struct conf		*conf;		/* never NULL */
	struct acct_snapshot	*accounts;	/* NULL before the first load */
	const struct psl	*psl;		/* NULL: none loaded */
	const struct dkim_keystore *dkim;	/* NULL: none loaded */
	/* owners of conf, psl, dkim (shared with other bundles) */
	struct state_part	*part_conf, *part_psl, *part_dkim;
};

/* The current bundle with a reference for the caller (NULL before
 * server_state_set_conf was first called). */
struct server_state *server_state_get(void);
void server_state_ref(struct server_state *st);
/* Drops a reference (sets *st to NULL); the last one frees the bundle
 * and the parts no other bundle shares. */
void server_state_unref(struct server_state **st);

/* New current bundles, each the current one with one part replaced;
 * they take ownership of what they are given. */
void server_state_set_conf(struct conf *c);
void server_state_set_accounts(struct acct_snapshot *a);
void server_state_set_psl(struct psl *p);
void server_state_set_dkim(struct dkim_keystore *k);
/* At exit: drops the current bundle. */
void server_state_clear(void);

/* The current accounts snapshot, with a snapshot reference. */
struct acct_snapshot *server_accounts(void);

#endif
