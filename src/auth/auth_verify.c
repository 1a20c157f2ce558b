/*
 * auth_verify - password checks on the worker pool (see auth_verify.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth_verify.h"
#include "auth/authcache.h"
#include "auth/password.h"
#include "auth/resolve.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* A real yescrypt hash of a random string, at the default cost: unknown
 * users take as long to refuse as known ones with a wrong password. */
static const char dummy_hash[] =
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$t68WlbzAjvyMwlmuaRAxHjB5U3DEBHlrkCo8BWZr9M2";

struct auth_verify_job {
	char		*pass;
	char		*hash;
	char		*canonical;	/* NULL: no such user */
	uint64_t	 serial;
	bool		 ok;
	void		(*done)(bool ok, char *canonical, void *arg);
	void		*arg;
};

static void
auth_verify_work(void *arg)
{
	struct auth_verify_job *j = arg;

	j->ok = password_verify(j->pass, j->hash ? j->hash : dummy_hash) &&
	    j->canonical != NULL;
	if (j->ok)
		authcache_store(j->canonical, j->pass, j->serial);
}

static void
auth_verify_done(void *arg)
{
	struct auth_verify_job *j = arg;
	char *canonical = j->ok ? j->canonical : NULL;

	if (!j->ok)
		free(j->canonical);
	OPENSSL_cleanse(j->pass, strlen(j->pass));
	free(j->pass);
	free(j->hash);
	j->done(j->ok, canonical, j->arg);
	free(j);
}

void
auth_verify_start(struct loop *origin, const struct acct_snapshot *acct,
    const char *user, const char *pass,
    void (*done)(bool ok, char *canonical, void *arg), void *arg)
{
	struct auth_verify_job *j = xmalloc(sizeof(*j));
	const char *hash = acct ? acct_user_hash(acct, user) : NULL;
	const char *canon = acct ? acct_user_canonical(acct, user) : NULL;

	j->pass = xstrdup(pass);
	j->hash = hash ? xstrdup(hash) : NULL;
	j->canonical = canon ? xstrdup(canon) : NULL;
	j->serial = acct ? acct_snapshot_serial(acct) : 0;
	j->done = done;
	j->arg = arg;
	/* A cached login costs one HMAC (microseconds): answered from the
	 * loop, in its next turn (callers expect done() after they return),
	 * never queued behind anything. */
	if (j->canonical && authcache_check(j->canonical, j->pass, j->serial)) {
		j->ok = true;
		loop_post(origin, auth_verify_done, j);
		return;
	}
	worker_submit_auth(origin, auth_verify_work, auth_verify_done, j);
}
