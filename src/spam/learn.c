/*
 * learn - the learner thread and its bounded queue (see learn.h).
 *
 * Trust: jobs come from tem's IMAP commands (already authorised); the
 * controller's answers are handled by learn_http.c, which bounds them.
 *
 * Why a thread of its own with blocking I/O, not the event loops or the
 * worker pool: learning follows what people do by hand (a few messages a
 * minute), one request at a time is plenty, and straight-line code with
 * poll() timeouts is the least there is to get wrong; the worker pool
 * (store jobs) must never wait for a slow rspamd, and a loop must never
 * read a message file. The thread starts with the first message, so a
 * server without rspamd_controller never has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spam/learn.h"
#include "spam/learn_http.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct job {
	struct job	*next;
	char		 id[17];
	char		*user;
	char		*controller;
	char		*password;
	enum spam_class	 cls;
	int		 fd;
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a job came, or stop */
	pthread_cond_t	 idle_cv;	/* the queue emptied */
	pthread_t	 thread;
	bool		 started;
	bool		 stopped;
	bool		 busy;		/* a job is in flight */
	struct job	*head, **tail;
	unsigned	 n;
	int		 cancel[2];	/* stop writes [1]; requests poll [0] */
} L = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.idle_cv = PTHREAD_COND_INITIALIZER,
	.cancel = { -1, -1 },
};

const char *
spam_class_name(enum spam_class cls)
{
	return cls == SPAM_CLASS_SPAM ? "spam" : "ham";
}

static void
job_free(struct job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->user);
	free(j->controller);
	if (j->password) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j);
}

/* One message to the controller, one log line. */
static void
learn_one(struct job *j)
{
	struct learn_http_result r;
	uint64_t t0 = clock_mono_ms();
	const char *path = j->cls == SPAM_CLASS_SPAM ? "/learnspam" :
	    "/learnham";

	if (learn_http_post(j->controller, path, j->password, j->fd,
	    L.cancel[0], &r) < 0)
		log_warn("%s spam learn-failed user=%s class=%s controller=%s "
		    "error=\"%s\"", j->id, j->user, spam_class_name(j->cls),
		    j->controller, r.error);
	else	/* 208: already learned in this class; 4xx/5xx: refused */
		log_msg(r.status >= 400 ? LOG_WARN : LOG_INFO,
		    "%s spam learn user=%s class=%s status=%d answer=\"%s\" "
		    "ms=%llu", j->id, j->user, spam_class_name(j->cls),
		    r.status, r.answer,
		    (unsigned long long)(clock_mono_ms() - t0));
}

static void *
learner(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&L.mu);
	for (;;) {
		struct job *j;
		while (L.head == NULL && !L.stopped)
			pthread_cond_wait(&L.cv, &L.mu);
		if (L.stopped)
			break;
		j = L.head;
		if ((L.head = j->next) == NULL)
			L.tail = &L.head;
		L.n--;
		L.busy = true;
		pthread_mutex_unlock(&L.mu);
		learn_one(j);
		job_free(j);
		pthread_mutex_lock(&L.mu);
		L.busy = false;
		if (L.head == NULL)
			pthread_cond_broadcast(&L.idle_cv);
	}
	L.busy = false;
	pthread_cond_broadcast(&L.idle_cv);
	pthread_mutex_unlock(&L.mu);
	return NULL;
}

/* Under L.mu: the thread runs (started now if needed); false if not. */
static bool
ensure_started(void)
{
	int e;

	if (L.started)
		return true;
	if (pipe2(L.cancel, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("- spam learner-failed error=\"pipe: %s\"",
		    strerror(errno));
		return false;
	}
	L.tail = &L.head;
	if ((e = pthread_create(&L.thread, NULL, learner, NULL)) != 0) {
		log_error("- spam learner-failed error=\"thread: %s\"",
		    strerror(e));
		close(L.cancel[0]);
		close(L.cancel[1]);
		L.cancel[0] = L.cancel[1] = -1;
		return false;
	}
	L.started = true;
	return true;
}

unsigned
spam_learn_room(void)
{
	unsigned room;

	pthread_mutex_lock(&L.mu);
	room = L.stopped ? 0 : SPAM_LEARN_QUEUE_MAX - L.n;
	pthread_mutex_unlock(&L.mu);
	return room;
}

bool
spam_learn_submit(const char *id, const char *user, const char *controller,
    const char *password, enum spam_class cls, int fd)
{
	struct job *j;

	pthread_mutex_lock(&L.mu);
	if (L.stopped || L.n >= SPAM_LEARN_QUEUE_MAX || !ensure_started()) {
		pthread_mutex_unlock(&L.mu);
		close(fd);
		return false;
	}
	j = xmalloc(sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->user = xstrdup(user);
	j->controller = xstrdup(controller);
	j->password = xstrdup(password ? password : "");
	j->cls = cls;
	j->fd = fd;
	*L.tail = j;
	L.tail = &j->next;
	L.n++;
	pthread_cond_signal(&L.cv);
	pthread_mutex_unlock(&L.mu);
	return true;
}

void
spam_learn_drain(void)
{
	pthread_mutex_lock(&L.mu);
	while (L.started && !L.stopped && (L.head != NULL || L.busy))
		pthread_cond_wait(&L.idle_cv, &L.mu);
	pthread_mutex_unlock(&L.mu);
}

void
spam_learn_stop(void)
{
	struct job *j, *dropped;
	unsigned n = 0;
	bool started;

	pthread_mutex_lock(&L.mu);
	L.stopped = true;
	dropped = L.head;
	L.head = NULL;
	L.tail = &L.head;
	L.n = 0;
	started = L.started;
	if (started)	/* wakes a request waiting on rspamd */
		(void)!write(L.cancel[1], "x", 1);
	pthread_cond_broadcast(&L.cv);
	pthread_mutex_unlock(&L.mu);
	while ((j = dropped) != NULL) {
		dropped = j->next;
		job_free(j);
		n++;
	}
	if (n > 0)
		log_info("- spam learn-dropped count=%u reason=stopping", n);
	if (!started)
		return;
	pthread_join(L.thread, NULL);
	close(L.cancel[0]);
	close(L.cancel[1]);
	L.cancel[0] = L.cancel[1] = -1;
	L.started = false;
}
