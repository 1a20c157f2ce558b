/*
 * gcommit - the group-commit thread shared by the Maildir and queue
 * committers (see gcommit.h).
 *
 * Trust: internal; no input of its own.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "util/gcommit.h"
#include "util/log.h"
#include "util/metrics_list.h"

static void *
gcommit_main(void *arg)
{
	struct gcommit *g = arg;
	struct gcommit_job *batch;
	struct timespec deadline, now, last = { 0, 0 };
	bool stop;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec++;
		while (g->head == NULL && !g->stopping)
			if (pthread_cond_timedwait(&g->cond, &g->lock,
			    &deadline) == ETIMEDOUT)
				break;
		batch = g->head;
		g->head = g->tail = NULL;
		stop = g->stopping;
		pthread_mutex_unlock(&g->lock);
		if (batch != NULL) {
			uint64_t t0 = metrics_now_ns();
			g->commit(batch, g->arg);
			if (g->metric >= 0)
				metric_observe_ns(&metrics_tem[M_COMMIT_SECONDS],
				    (unsigned)g->metric, metrics_now_ns() - t0);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (g->tick != NULL && now.tv_sec != last.tv_sec) {
			last = now;
			g->tick(g->arg);
		}
		if (stop && batch == NULL)
			return NULL;
	}
}

void
gcommit_start(struct gcommit *g, void *arg)
{
	pthread_mutex_lock(&g->lock);
	g->arg = arg;
	g->stopping = false;
	g->running = true;
	pthread_mutex_unlock(&g->lock);
	if (pthread_create(&g->thread, NULL, gcommit_main, g) != 0)
		log_fatal("cannot start the %s committer thread", g->name);
}

void
gcommit_stop(struct gcommit *g)
{
	pthread_mutex_lock(&g->lock);
	if (!g->running) {
		pthread_mutex_unlock(&g->lock);
		return;
	}
	g->stopping = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_mutex_lock(&g->lock);
	g->running = false;
	pthread_mutex_unlock(&g->lock);
}

bool
gcommit_submit(struct gcommit *g, struct gcommit_job *j)
{
	pthread_mutex_lock(&g->lock);
	if (!g->running || g->stopping) {
		pthread_mutex_unlock(&g->lock);
		return false;
	}
	j->next = NULL;
	if (g->tail)
		g->tail->next = j;
	else
		g->head = j;
	g->tail = j;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return true;
}

int
gcommit_sync_files(const int *fds, size_t n)
{
	if (n == 0)
		return 0;
	if ((n == 1 ? fsync(fds[0]) : syncfs(fds[0])) < 0)
		return errno;
	return 0;
}
