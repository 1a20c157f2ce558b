/*
 * test-state - the running-state bundle: a swap makes a new current
 * bundle that shares the parts it did not replace, a holder keeps its
 * bundle (and that bundle's config) across swaps, and the last release
 * frees it (ASan's leak check sees anything left).
 */
#include <stdlib.h>

#include "conf/conf.h"
#include "server/state.h"
#include "util/test.h"

static struct conf *
defaults(void)
{
	struct conf *c = NULL;
	char *err = NULL;

	if (conf_load("/nonexistent/tem.conf", true, &c, &err) < 0)
		abort();	/* the defaults always load */
	free(err);
	return c;
}

static void
test_swap_and_hold(void)
{
	struct conf *c1 = defaults(), *c2 = defaults();
	struct server_state *held, *now;

	server_state_set_conf(c1);
	held = server_state_get();		/* a session starts */
	TEST_ASSERT(held->conf == c1);
	TEST_ASSERT(held->psl == NULL && held->dkim == NULL);
	TEST_ASSERT(server_accounts() == NULL);

	server_state_set_conf(c2);		/* SIGHUP */
	now = server_state_get();
	TEST_ASSERT(now->conf == c2 && now->gen > held->gen);
	TEST_ASSERT(held->conf == c1);		/* kept with its holder */
	TEST_ASSERT(atomic_load(&held->refs) == 1);

	server_state_set_psl(NULL);		/* another part: conf shared */
	server_state_unref(&now);
	now = server_state_get();
	TEST_ASSERT(now->conf == c2);
	server_state_unref(&now);
	TEST_ASSERT(now == NULL);

	server_state_unref(&held);		/* the session ends: c1 goes */
	TEST_ASSERT(held == NULL);
	server_state_clear();			/* c2 goes */
	TEST_ASSERT(server_state_get() == NULL);
}

int
main(void)
{
	TEST_RUN(test_swap_and_hold);
	return test_done("test-state");
}
