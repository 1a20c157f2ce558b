/*
 * worker - thread pools with completions posted back to loops (worker.h).
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

/* One queue and its threads: the general pool and the auth lane. */
struct worker_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct worker_job	*head, *tail;
	pthread_t		*threads;
	unsigned		 count;
	bool			 stopping;
};

static struct worker_pool general = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
};
static struct worker_pool auth = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
};
static unsigned wpending;	/* submitted, work not finished (both pools) */
static unsigned long long job_ids;		/* last worker_job_id() given */
static _Thread_local unsigned long long job_id;	/* the running job's */

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;
	struct worker_job *j;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		j = p->head;
		if (j) {
			p->head = j->next;
			if (p->head == NULL)
				p->tail = NULL;
		}
		pthread_mutex_unlock(&p->lock);
		if (j == NULL)
			return NULL;	/* stopping and drained */
		job_id = __atomic_add_fetch(&job_ids, 1, __ATOMIC_RELAXED);
		j->work(j->arg);
		job_id = 0;
		if (j->done)
			loop_post(j->origin, j->done, j->arg);
		free(j);
		__atomic_sub_fetch(&wpending, 1, __ATOMIC_SEQ_CST);
	}
}

static void
pool_start(struct worker_pool *p, unsigned n)
{
	p->threads = xcalloc(n, sizeof(*p->threads));
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
			log_fatal("cannot start worker thread");
	p->count = n;
}

static void
pool_stop(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->count; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	p->count = 0;
	p->stopping = false;
}

static void
pool_submit(struct worker_pool *p, struct loop *origin, void (*work)(void *),
    void (*done)(void *), void *arg)
{
	struct worker_job *j = xmalloc(sizeof(*j));

	j->origin = origin;
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	__atomic_add_fetch(&wpending, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_mutex_unlock(&p->lock);
	/* after the unlock: a woken worker that found the lock still held
	 * slept once more on it (measured: a futex wait and wake per job) */
	pthread_cond_signal(&p->cond);
}

void
worker_pool_start(unsigned n)
{
	pool_start(&general, n ? n : 1);
	pool_start(&auth, WORKER_AUTH_THREADS);
}

void
worker_pool_stop(void)
{
	pool_stop(&auth);	/* its completions may not submit more */
	pool_stop(&general);
}

void
worker_submit(struct loop *origin, void (*work)(void *), void (*done)(void *),
    void *arg)
{
	pool_submit(&general, origin, work, done, arg);
}

void
worker_submit_auth(struct loop *origin, void (*work)(void *),
    void (*done)(void *), void *arg)
{
	pool_submit(&auth, origin, work, done, arg);
}

unsigned long long
worker_job_id(void)
{
	return job_id;
}

unsigned
worker_jobs_pending(void)
{
	return __atomic_load_n(&wpending, __ATOMIC_SEQ_CST);
}
