/*
 * accounts_alias - aliases in the embedded accounts backend: add (merging
 * targets), delete and list, each change one transaction (accounts.c).
 *
 * Trust: as accounts.c: arguments come from the administrator and are
 * validated here; a target in one of our domains is folded like a user's
 * address, a remote one kept as given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts.h"
#include "auth/accounts_int.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

/* Canonical form of one alias target: a local-domain address is
 * lowercased like a user's, a remote one keeps its local part. */
static char *
alias_target(struct accounts *a, const char *target, char **error_r)
{
	char *lp, *dom, *out = NULL;
	int local;

	if (accounts_address_parse(target, false, &lp, &dom, error_r) < 0)
		return NULL;
	local = accounts_domain_lookup(a, dom, error_r);
	if (local > 0)
		accounts_localpart_fold(lp);
	if (local >= 0)
		out = xasprintf("%s@%s", lp, dom);
	free(lp);
	free(dom);
	return out;
}

/* Appends targets to the existing comma list (old may be NULL), dropping
 * duplicates (compared ASCII case-insensitively). NULL + error. */
char *
accounts_alias_merge(struct accounts *a, const char *old, char *const *targets,
    size_t n, char **error_r)
{
	struct hashmap *seen = hashmap_new(HASHMAP_ASCII_NOCASE);
	char *list = xstrdup(old != NULL ? old : ""), *save = NULL, *t;
	struct buf out;
	bool failed = false;

	buf_init(&out, 0);
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save))
		if (hashmap_put(seen, t, seen) == NULL)
			buf_printf(&out, "%s%s", out.len ? "," : "", t);
	for (size_t i = 0; i < n && !failed; i++) {
		if ((t = alias_target(a, targets[i], error_r)) == NULL) {
			failed = true;
			break;
		}
		if (hashmap_put(seen, t, seen) == NULL)
			buf_printf(&out, "%s%s", out.len ? "," : "", t);
		free(t);
	}
	if (!failed && hashmap_count(seen) > ACCOUNTS_ALIAS_TARGETS_MAX) {
		*error_r = xasprintf("an alias may have at most %d targets",
		    ACCOUNTS_ALIAS_TARGETS_MAX);
		failed = true;
	}
	hashmap_free(&seen, NULL);
	free(list);
	if (failed) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

/* The targets of alias addr (malloc'd), NULL when none; -1 on error. */
static int
alias_get(struct accounts *a, const char *addr, char **targets_r,
    char **error_r)
{
	sqlite3_stmt *st = accounts_db_prepare(a, "SELECT targets FROM aliases WHERE "
	    "address = ?", error_r, 1, addr);
	int rc;

	*targets_r = NULL;
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*targets_r = xstrdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		*error_r = accounts_db_error(a, "alias lookup");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
alias_add_locked(struct accounts *a, const char *lp, const char *dom,
    char *const *targets, size_t n, char **error_r)
{
	char *addr = xasprintf("%s@%s", lp, dom), *old = NULL, *merged = NULL;
	int r, ret = -1;

	if ((r = accounts_domain_lookup(a, dom, error_r)) <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", dom);
		goto out;
	}
	if (alias_get(a, addr, &old, error_r) < 0 ||
	    (merged = accounts_alias_merge(a, old, targets, n, error_r)) == NULL)
		goto out;
	if (old != NULL)
		ret = accounts_db_done(a, accounts_db_prepare(a, "UPDATE aliases SET targets = ? "
		    "WHERE address = ?", error_r, 2, merged, addr), error_r);
	else
		ret = accounts_db_done(a, accounts_db_prepare(a, "INSERT INTO aliases(address, "
		    "domain, targets, added) VALUES(?, ?, ?, (SELECT "
		    "coalesce(max(added), 0) + 1 FROM aliases))", error_r, 3,
		    addr, dom, merged), error_r);
out:
	free(addr);
	free(old);
	free(merged);
	return ret;
}

int
accounts_alias_add(struct accounts *a, const char *address,
    char *const *targets, size_t n_targets, char **error_r)
{
	char *lp, *dom;
	int ret = -1;

	if (n_targets == 0) {
		*error_r = xstrdup("an alias needs at least one target");
		return -1;
	}
	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return -1;
	if (a->pg)
		ret = accounts_pg_alias_add(a, lp, dom, targets, n_targets,
		    error_r);
	else if (accounts_tx_begin(a, error_r) == 0) {
		if (alias_add_locked(a, lp, dom, targets, n_targets,
		    error_r) == 0)
			ret = accounts_tx_commit(a, error_r);
		else
			accounts_tx_rollback(a);
	}
	free(lp);
	free(dom);
	return ret;
}

int
accounts_alias_del(struct accounts *a, const char *address, char **error_r)
{
	char *addr = accounts_local_address(address, error_r);
	int ret = -1;

	if (addr == NULL)
		return -1;
	if (a->pg)
		ret = accounts_pg_alias_del(a, addr, error_r);
	else if (accounts_tx_begin(a, error_r) == 0) {
		if (accounts_db_done(a, accounts_db_prepare(a, "DELETE FROM aliases WHERE "
		    "address = ?", error_r, 1, addr), error_r) < 0) {
			accounts_tx_rollback(a);
		} else if (sqlite3_changes(a->db) == 0) {
			*error_r = xasprintf("alias %s does not exist", addr);
			accounts_tx_rollback(a);
		} else {
			ret = accounts_tx_commit(a, error_r);
		}
	}
	free(addr);
	return ret;
}

int
accounts_alias_list(struct accounts *a, const char *filter,
    struct accounts_list *list_r, char **error_r)
{
	sqlite3_stmt *st = NULL;
	char *addr = NULL;
	int r = 0;

	if (filter != NULL &&
	    (addr = accounts_local_address(filter, error_r)) == NULL)
		return -1;
	if (a->pg)
		r = accounts_pg_alias_list(a, addr, list_r, error_r);
	else if (filter == NULL)
		st = accounts_db_prepare(a, "SELECT address, targets FROM aliases "
		    "ORDER BY address COLLATE BINARY", error_r, 0);
	else
		st = accounts_db_prepare(a, "SELECT address, targets FROM aliases "
		    "WHERE address = ?", error_r, 1, addr);
	if (!a->pg)
		r = st == NULL ? -1 : accounts_db_list(a, st, list_r, error_r);
	if (r < 0) {
		free(addr);
		return -1;
	}
	if (addr != NULL && list_r->n == 0) {
		*error_r = xasprintf("alias %s does not exist", addr);
		free(addr);
		return -1;
	}
	free(addr);
	return 0;
}
