/*
 * quota_pg - quota usage by the store's user on either backend (see
 * quota.h): the Maildir counter of quota.c, or on PostgreSQL (storage =
 * postgresql) the database's own sum over the user's messages
 * (pg_ms_usage), so every node judges by what all nodes stored. No
 * counter is kept in memory there: another node's APPEND or delivery
 * would leave it behind. The sum is one index scan over the user's
 * folders and messages per check (APPEND, COPY, GETQUOTA).
 *
 * Trust: the user is the store's (an authenticated session's); the
 * limits are the caller's (auth/resolve.h acct_user_quota). BLOCKING.
 */
#include <stdlib.h>

#include "pg/pg_mailstore.h"
#include "store/mailbox.h"
#include "store/quota.h"

static int
usage_pg(const struct mbox_user *u, struct quota_usage *u_r)
{
	char *err = NULL;

	/* a database away: the store's own call (APPEND, COPY) says
	   UNAVAILABLE; GETQUOTA shows no usage, as an unreadable root */
	if (pg_ms_usage(mbox_user_pg_id(u), &u_r->bytes, &u_r->messages,
	    &err) == 0)
		return 0;
	free(err);
	*u_r = (struct quota_usage){ 0, 0 };
	return -1;
}

int
quota_user_usage(const struct mbox_user *u, struct quota_usage *u_r)
{
	if (!mbox_on_pg())
		return quota_usage_need(mbox_user_root(u), u_r);
	return usage_pg(u, u_r);
}

enum quota_verdict
quota_user_check(const struct mbox_user *u, uint64_t max_bytes,
    uint64_t max_msgs, uint64_t add_bytes, uint64_t add_msgs,
    struct quota_usage *u_r)
{
	struct quota_usage x;

	if (!mbox_on_pg())
		return quota_check(mbox_user_root(u), max_bytes, max_msgs,
		    add_bytes, add_msgs, u_r);
	if (u_r == NULL)
		u_r = &x;
	*u_r = (struct quota_usage){ 0, 0 };
	if (max_bytes == 0 && max_msgs == 0)
		return QUOTA_FITS;
	if (usage_pg(u, u_r) < 0)
		return QUOTA_FITS;
	return quota_exceeds(u_r, max_bytes, max_msgs, add_bytes, add_msgs) ?
	    QUOTA_OVER : QUOTA_FITS;
}
