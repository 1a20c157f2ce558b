/*
 * gcommit - the one group-commit engine: a thread that takes every job
 * waiting, hands the whole batch to its owner's commit function, and
 * waits for the next ones. Used by the Maildir committer
 * (store/maildir.c) and the queue committer (queue/queue_commit.c).
 *
 * Why: making a file durable costs a journal commit; many files written
 * together can share one (syncfs, or one fsync of their directory), so
 * a batch of N deliveries costs two syncs instead of 2N (STYLE.md habit
 * 9). The batch is whatever arrived while the last one was committed:
 * no timer delays a lone message.
 *
 * Trust: no input of its own; jobs come from tem's threads.
 *
 * Threads: submit from any thread; commit(batch) and tick() run on the
 * engine's thread, one at a time. A job is a struct gcommit_job embedded
 * in the owner's struct (kind tells the owner's job types apart); the
 * commit function owns the batch (and completes each job, e.g. with
 * loop_post to its origin).
 */
#ifndef TEM_GCOMMIT_H
#define TEM_GCOMMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct gcommit_job {
	struct gcommit_job	*next;
	int			 kind;		/* the owner's */
};

struct gcommit {
	const char	*name;			/* for the log */
	/* Commits batch (oldest first, linked by next). */
	void		(*commit)(struct gcommit_job *batch, void *arg);
	/* Optional: called about once a second, between batches. */
	void		(*tick)(void *arg);
	void		*arg;
	int		 metric;	/* tem_commit_seconds' committer
					 * label (MC_*), -1: none */
	/* private */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	pthread_t	 thread;
	struct gcommit_job *head, *tail;
	bool		 running, stopping;
};

#define GCOMMIT_INITIALIZER(name_, commit_, tick_, metric_) { \
	.name = (name_), .commit = (commit_), .tick = (tick_), \
	.metric = (metric_), \
	.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER }

/* Starts the thread (log_fatal when it cannot). */
void gcommit_start(struct gcommit *g, void *arg);
/* Commits what is queued, then joins the thread. Later submits fail. */
void gcommit_stop(struct gcommit *g);
/* Queues j. false (j untouched) when the engine is not running. */
bool gcommit_submit(struct gcommit *g, struct gcommit_job *j);

/*
 * The first sync of a batch: makes the data of fds[0..n) durable with
 * one fsync (n == 1) or one syncfs of their file system (n > 1; every
 * committer writes one file system). 0 or an errno value.
 */
int gcommit_sync_files(const int *fds, size_t n);

#endif
