/*
 * worker - a small pool of threads for blocking work (password hashing,
 * file writes), so that no event loop ever waits on disk or CPU-heavy
 * crypto (STYLE.md habit 10; Redis bio.c, Dovecot auth workers).
 *
 * work(arg) runs on a pool thread; then done(arg) runs on the loop that
 * submitted the job. Jobs run in no particular order.
 *
 * Password hashing has its own lane (worker_submit_auth): a login never
 * queues behind mail store jobs (FETCHes, APPENDs of other sessions),
 * and a burst of logins (yescrypt: ~20 ms of
 * CPU and 16 MiB each) takes at most WORKER_AUTH_THREADS threads, never
 * the store's.
 */
#ifndef TEM_WORKER_H
#define TEM_WORKER_H

struct loop;

#define WORKER_AUTH_THREADS	2

/* Starts nthreads general workers and the auth lane's threads. */
void worker_pool_start(unsigned nthreads);
/* Waits for queued jobs to finish, then joins the threads. */
void worker_pool_stop(void);
void worker_submit(struct loop *origin, void (*work)(void *),
    void (*done)(void *), void *arg);
/* The same, on the auth lane: password hashing only. */
void worker_submit_auth(struct loop *origin, void (*work)(void *),
    void (*done)(void *), void *arg);
/* A number unique to the job the calling thread is running, 0 outside a
   job: lets a lower layer skip what it already did for this job. */
unsigned long long worker_job_id(void);
/* Jobs submitted whose work has not finished (their done() is posted
 * after); lets the session fuzzer tell a busy server from a quiet one. */
unsigned worker_jobs_pending(void);

#endif
