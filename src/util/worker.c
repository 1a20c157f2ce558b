/*
 * worker - thread pool with completions posted back to loops (worker.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

struct worker_job {
	struct loop		*origin;
	void			(*work)(void *);
	void			(*done)(void *);
	void			*arg;
	struct worker_job	*next;
};

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static struct worker_job *whead, *wtail;
static pthread_t *wthreads;
static unsigned wcount;
static bool wstopping;
static unsigned wpending;	/* submitted, work not finished */

static void *
worker_main(void *unused)
{
	struct worker_job *j;

	(void)unused;
	for (;;) {
		pthread_mutex_lock(&wlock);
		while (whead == NULL && !wstopping)
			pthread_cond_wait(&wcond, &wlock);
		j = whead;
		if (j) {
			whead = j->next;
			if (whead == NULL)
				wtail = NULL;
		}
		pthread_mutex_unlock(&wlock);
		if (j == NULL)
			return NULL;	/* stopping and drained */
		j->work(j->arg);
		if (j->done)
			loop_post(j->origin, j->done, j->arg);
		free(j);
		__atomic_sub_fetch(&wpending, 1, __ATOMIC_SEQ_CST);
	}
}

void
worker_pool_start(unsigned n)
{
	if (n == 0)
		n = 1;
	wthreads = xcalloc(n, sizeof(*wthreads));
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&wthreads[i], NULL, worker_main, NULL) != 0)
			log_fatal("cannot start worker thread");
	wcount = n;
}

void
worker_pool_stop(void)
{
	pthread_mutex_lock(&wlock);
	wstopping = true;
	pthread_cond_broadcast(&wcond);
	pthread_mutex_unlock(&wlock);
	for (unsigned i = 0; i < wcount; i++)
		pthread_join(wthreads[i], NULL);
	free(wthreads);
	wthreads = NULL;
	wcount = 0;
	wstopping = false;
}

void
worker_submit(struct loop *origin, void (*work)(void *), void (*done)(void *),
    void *arg)
{
	struct worker_job *j = xmalloc(sizeof(*j));

	j->origin = origin;
	j->work = work;
	j->done = done;
	j->arg = arg;
	__atomic_add_fetch(&wpending, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&wlock);
	if (wtail)
		wtail->next = j;
	else
		whead = j;
	wtail = j;
	pthread_cond_signal(&wcond);
	pthread_mutex_unlock(&wlock);
}

unsigned
worker_jobs_pending(void)
{
	return __atomic_load_n(&wpending, __ATOMIC_SEQ_CST);
}
