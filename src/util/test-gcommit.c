/*
 * test-gcommit - unit tests for the group-commit engine: jobs that arrive
 * while a batch commits form the next batch together, stop commits what
 * is queued, submits after stop are refused, and the sync step works.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/gcommit.h"
#include "util/log.h"
#include "util/test.h"

struct tjob {
	struct gcommit_job	 gj;
	int			 batch;		/* which batch took it */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcond = PTHREAD_COND_INITIALIZER;
static int nbatches, ncommitted;
static bool hold, in_commit;

static void
tcommit(struct gcommit_job *batch, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tlock);
	nbatches++;
	in_commit = true;
	pthread_cond_broadcast(&tcond);
	while (hold)
		pthread_cond_wait(&tcond, &tlock);
	for (; batch; batch = batch->next) {
		((struct tjob *)(void *)batch)->batch = nbatches;
		ncommitted++;
	}
	in_commit = false;
	pthread_cond_broadcast(&tcond);
	pthread_mutex_unlock(&tlock);
}

static void
test_batches(void)
{
	struct gcommit g = GCOMMIT_INITIALIZER("test", tcommit, NULL, -1);
	struct tjob j[6] = { 0 };

	gcommit_start(&g, NULL);
	hold = true;
	TEST_ASSERT(gcommit_submit(&g, &j[0].gj));
	pthread_mutex_lock(&tlock);
	while (!in_commit)
		pthread_cond_wait(&tcond, &tlock);
	pthread_mutex_unlock(&tlock);
	/* the first batch is held: these five wait and go together */
	for (int i = 1; i < 6; i++)
		TEST_ASSERT(gcommit_submit(&g, &j[i].gj));
	pthread_mutex_lock(&tlock);
	hold = false;
	pthread_cond_broadcast(&tcond);
	pthread_mutex_unlock(&tlock);
	gcommit_stop(&g);			/* commits what is queued */
	TEST_ASSERT(ncommitted == 6);
	TEST_ASSERT(nbatches == 2);
	TEST_ASSERT(j[0].batch == 1);
	for (int i = 1; i < 6; i++)
		TEST_ASSERT(j[i].batch == 2);
	TEST_ASSERT(!gcommit_submit(&g, &j[0].gj));	/* stopped */
	gcommit_stop(&g);				/* twice: harmless */
}

static void
test_sync_files(void)
{
	char tmpl[] = "/tmp/tem-test-gcommit.XXXXXX";
	int fds[2];

	fds[0] = mkstemp(tmpl);
	TEST_ASSERT(fds[0] >= 0);
	unlink(tmpl);
	fds[1] = dup(fds[0]);
	TEST_ASSERT(gcommit_sync_files(fds, 0) == 0);
	TEST_ASSERT(gcommit_sync_files(fds, 1) == 0);
	TEST_ASSERT(gcommit_sync_files(fds, 2) == 0);
	close(fds[1]);
	close(fds[0]);
	fds[0] = -1;
	TEST_ASSERT(gcommit_sync_files(fds, 1) != 0);	/* EBADF */
}

int
main(void)
{
	log_init(LOG_ERROR);
	TEST_RUN(test_batches);
	TEST_RUN(test_sync_files);
	return test_done("test-gcommit");
}
