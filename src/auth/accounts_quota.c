/*
 * accounts_quota - per-user quota limits in the accounts database (the
 * `quotas` table: address, storage octets, message count; 0 means no
 * limit). The server reads them into its snapshot (resolve.c); usage is
 * the mail store's business (store/quota.h).
 *
 * Trust: administrator input (the `tem user quota` command); addresses
 * are parsed and folded as every other accounts operation does.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>

#include "auth/accounts.h"
#include "auth/accounts_int.h"
#include "util/xmalloc.h"

/* 1 when user addr exists, 0 when not (with *error_r), -1 on error. */
static int
user_exists(struct accounts *a, const char *addr, char **error_r)
{
	sqlite3_stmt *st = accounts_db_prepare(a, "SELECT 1 FROM users WHERE "
	    "address = ?", error_r, 1, addr);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE) {
		*error_r = accounts_db_error(a, "query");
		return -1;
	}
	*error_r = xasprintf("user %s does not exist", addr);
	return 0;
}

/* One change to addr's row in a transaction: set (storage, messages) or
 * delete it. */
static int
quota_change(struct accounts *a, const char *address, bool set,
    uint64_t storage, uint64_t messages, char **error_r)
{
	char *addr = accounts_local_address(address, error_r);
	sqlite3_stmt *st;
	int ret = -1;

	if (addr == NULL)
		return -1;
	if (storage > INT64_MAX || messages > INT64_MAX) {
		*error_r = xasprintf("quota too large");
		goto out;
	}
	if (a->pg) {
		ret = accounts_pg_quota_change(a, addr, set, storage, messages,
		    error_r);
		goto out;
	}
	if (accounts_tx_begin(a, error_r) < 0)
		goto out;
	if (user_exists(a, addr, error_r) <= 0) {
		accounts_tx_rollback(a);
		goto out;
	}
	st = accounts_db_prepare(a, set ? "INSERT OR REPLACE INTO quotas"
	    "(address, storage, messages) VALUES(?, ?, ?)" :
	    "DELETE FROM quotas WHERE address = ?", error_r, 1, addr);
	if (st != NULL && set) {
		sqlite3_bind_int64(st, 2, (sqlite3_int64)storage);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)messages);
	}
	if (accounts_db_done(a, st, error_r) < 0)
		accounts_tx_rollback(a);
	else
		ret = accounts_tx_commit(a, error_r);
out:
	free(addr);
	return ret;
}

int
accounts_user_quota_set(struct accounts *a, const char *address,
    uint64_t storage, uint64_t messages, char **error_r)
{
	return quota_change(a, address, true, storage, messages, error_r);
}

int
accounts_user_quota_unset(struct accounts *a, const char *address,
    char **error_r)
{
	return quota_change(a, address, false, 0, 0, error_r);
}

int
accounts_user_quota_get(struct accounts *a, const char *address,
    uint64_t *storage_r, uint64_t *messages_r, char **error_r)
{
	char *addr = accounts_local_address(address, error_r);
	sqlite3_stmt *st;
	int rc, ret = -1;

	if (addr == NULL)
		return -1;
	if (a->pg) {
		ret = accounts_pg_quota_get(a, addr, storage_r, messages_r,
		    error_r);
		goto out;
	}
	if (user_exists(a, addr, error_r) <= 0)
		goto out;
	st = accounts_db_prepare(a, "SELECT storage, messages FROM quotas "
	    "WHERE address = ?", error_r, 1, addr);
	if (st == NULL)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*storage_r = (uint64_t)sqlite3_column_int64(st, 0);
		*messages_r = (uint64_t)sqlite3_column_int64(st, 1);
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else
		*error_r = accounts_db_error(a, "query");
	sqlite3_finalize(st);
out:
	free(addr);
	return ret;
}
