/*
 * server - loop threads, listeners, session registry (see server.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/resolve.h"
#include "auth/ratelimit.h"
#include "conf/conf.h"
#include "dns/dns.h"
#include "policy/dkim_keys.h"
#include "policy/psl.h"
#include "server/server.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define MAX_THREADS	64
#define MAX_LISTENERS	(SVC_COUNT * CONF_MAX_LISTEN)

struct server_thread {
	int			 idx;
	pthread_t		 tid;
	struct loop		*loop;
	struct loop_listener	*listeners[MAX_LISTENERS];
	int			 nlisteners;
	struct server_session	 head;		/* list sentinel */
	int			 nsessions;
	bool			 stopping;
	struct loop_timer	*grace;
	struct dns_resolver	*resolver;
};

struct bound {
	enum service	svc;
	int		fds[MAX_THREADS];
};

static const char *const svc_names[SVC_COUNT] = {
	"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"
};

static struct server_thread threads[MAX_THREADS];
static unsigned nthreads;
static struct bound bound[MAX_LISTENERS];
static int nbound;
static server_accept_fn *accept_fns[SVC_COUNT];

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf *cur_conf;
static struct conf **old_confs;
static size_t nold_confs;
static struct acct_snapshot *cur_accounts;

/* Per-address session counts: key -> count (kept in the value pointer,
 * never 0 while present), under one mutex. */
#define SLOT_KEY_MAX	320	/* "service/address" or a caller's key */
static struct hashmap *ip_counts;
static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;

const char *
service_name(enum service svc)
{
	return svc < SVC_COUNT ? svc_names[svc] : "?";
}

static bool
ip_acquire(const char *key, unsigned max)
{
	uintptr_t n;
	bool ok;

	pthread_mutex_lock(&ip_lock);
	if (ip_counts == NULL)
		ip_counts = hashmap_new(0);
	n = (uintptr_t)hashmap_get(ip_counts, key);
	ok = max == 0 || n < max;
	if (ok)
		(void)hashmap_put(ip_counts, key, (void *)(n + 1));
	pthread_mutex_unlock(&ip_lock);
	return ok;
}

static void
ip_release(const char *key)
{
	uintptr_t n;

	pthread_mutex_lock(&ip_lock);
	n = ip_counts != NULL ? (uintptr_t)hashmap_get(ip_counts, key) : 0;
	if (n > 1)
		(void)hashmap_put(ip_counts, key, (void *)(n - 1));
	else if (n == 1)
		(void)hashmap_remove(ip_counts, key);
	pthread_mutex_unlock(&ip_lock);
}

bool
server_slot_acquire(const char *key, unsigned max)
{
	return ip_acquire(key, max);
}

void
server_slot_release(const char *key)
{
	ip_release(key);
}

void
server_init(struct conf *c, unsigned n)
{
	if (n == 0)
		n = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	nthreads = n;
	cur_conf = c;
	for (unsigned i = 0; i < n; i++) {
		threads[i].idx = (int)i;
		threads[i].loop = loop_new();
		threads[i].head.next = threads[i].head.prev = &threads[i].head;
	}
}

static int
bind_one(const char *host, int port, char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 511) < 0)
		goto fail;
	return fd;
fail:
	*error_r = xasprintf("cannot listen on %s%s%s:%d: %s",
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	    port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int
server_bind(enum service svc, const char *host, int port, char **error_r)
{
	struct bound *b;

	if (nbound == MAX_LISTENERS) {
		*error_r = xstrdup("too many listeners");
		return -1;
	}
	b = &bound[nbound];
	b->svc = svc;
	for (unsigned i = 0; i < nthreads; i++) {
		b->fds[i] = bind_one(host, port, error_r);
		if (b->fds[i] < 0) {
			while (i-- > 0)
				close(b->fds[i]);
			return -1;
		}
	}
	nbound++;
	return 0;
}

void
server_set_accept(enum service svc, server_accept_fn *fn)
{
	accept_fns[svc] = fn;
}

struct listener_arg {
	struct server_thread	*t;
	enum service		 svc;
};

static void
server_accept_cb(int fd, const struct sockaddr *sa, socklen_t len, void *arg)
{
	struct listener_arg *la = arg;

	if (la->t->stopping || accept_fns[la->svc] == NULL) {
		close(fd);
		return;
	}
	accept_fns[la->svc](la->t, fd, sa, len, la->svc);
}

static void *
thread_main(void *arg)
{
	struct server_thread *t = arg;

	loop_run(t->loop);
	return NULL;
}

void
server_start(void)
{
	for (unsigned i = 0; i < nthreads; i++) {
		struct server_thread *t = &threads[i];
		for (int b = 0; b < nbound; b++) {
			struct listener_arg *la = xmalloc(sizeof(*la));
			la->t = t;
			la->svc = bound[b].svc;
			t->listeners[t->nlisteners++] = loop_listener_new(t->loop,
			    bound[b].fds[i], server_accept_cb, la);
		}
		if (pthread_create(&t->tid, NULL, thread_main, t) != 0)
			log_fatal("cannot start loop thread");
	}
}

struct loop *
server_thread_loop(struct server_thread *t)
{
	return t->loop;
}

struct dns_resolver *
server_thread_resolver(struct server_thread *t)
{
	char *err = NULL;

	if (t->resolver == NULL) {
		t->resolver = dns_resolver_new(t->loop, server_conf()->dns_server,
		    &err);
		if (t->resolver == NULL) {
			log_error("- server resolver-failed thread=%d error=\"%s\"",
			    t->idx, err ? err : "?");
			free(err);
			return NULL;
		}
		/* a client waits on these: fail fast, never for minutes */
		dns_resolver_set_timeout(t->resolver, 5000);
	}
	return t->resolver;
}

/* Policy data: the current pointer, old ones kept until exit. */
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct psl *cur_psl;
static struct dkim_keystore *cur_dkim;
static struct psl **old_psl;
static size_t nold_psl;
static struct dkim_keystore **old_dkim;
static size_t nold_dkim;

const struct psl *
server_psl(void)
{
	const struct psl *p;

	pthread_mutex_lock(&policy_lock);
	p = cur_psl;
	pthread_mutex_unlock(&policy_lock);
	return p;
}

void
server_set_psl(struct psl *p)
{
	pthread_mutex_lock(&policy_lock);
	if (cur_psl) {
		old_psl = xrealloc(old_psl, (nold_psl + 1) * sizeof(*old_psl));
		old_psl[nold_psl++] = cur_psl;
	}
	cur_psl = p;
	pthread_mutex_unlock(&policy_lock);
}

const struct dkim_keystore *
server_dkim_keys(void)
{
	const struct dkim_keystore *k;

	pthread_mutex_lock(&policy_lock);
	k = cur_dkim;
	pthread_mutex_unlock(&policy_lock);
	return k;
}

void
server_set_dkim_keys(struct dkim_keystore *ks)
{
	pthread_mutex_lock(&policy_lock);
	if (cur_dkim) {
		old_dkim = xrealloc(old_dkim, (nold_dkim + 1) * sizeof(*old_dkim));
		old_dkim[nold_dkim++] = cur_dkim;
	}
	cur_dkim = ks;
	pthread_mutex_unlock(&policy_lock);
}

static void
thread_check_done(struct server_thread *t)
{
	if (t->stopping && t->nsessions == 0)
		loop_break(t->loop);
}

bool
server_session_add(struct server_thread *t, struct server_session *s,
    enum service svc, const struct sockaddr *sa)
{
	char key[SLOT_KEY_MAX];

	s->thread = t;
	s->svc = svc;
	log_new_id(s->id);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], s->ip,
			    sizeof(s->ip));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, s->ip, sizeof(s->ip));
		s->port = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, s->ip, sizeof(s->ip));
		s->port = ntohs(s4->sin_port);
	} else
		snprintf(s->ip, sizeof(s->ip), "unknown");
	snprintf(key, sizeof(key), "conn/%s", s->ip);
	if (!ratelimit_take(key, 1, server_conf()->max_connections_per_minute,
	    60)) {
		log_info("%s %s refuse addr=%s reason=max_connections_per_minute",
		    s->id, svc_names[svc], s->ip);
		return false;
	}
	snprintf(key, sizeof(key), "%s/%s", svc_names[svc], s->ip);
	if (!ip_acquire(key, server_conf()->max_sessions_per_ip)) {
		log_info("%s %s refuse addr=%s reason=max_sessions_per_ip",
		    s->id, svc_names[svc], s->ip);
		return false;
	}
	s->next = t->head.next;
	s->prev = &t->head;
	t->head.next->prev = s;
	t->head.next = s;
	t->nsessions++;
	return true;
}

void
server_refuse(int fd, enum service svc, const char *line)
{
	bool tls_first = svc == SVC_SUBMISSIONS || svc == SVC_IMAPS ||
	    svc == SVC_POP3S;

	/* the socket is new and its buffer empty: the write cannot block */
	if (!tls_first && write(fd, line, strlen(line)) < 0) {
		/* the client is gone already */
	}
	close(fd);
}

void
server_session_remove(struct server_session *s)
{
	char key[SLOT_KEY_MAX];
	struct server_thread *t = s->thread;

	if (s->next == NULL)
		return;
	snprintf(key, sizeof(key), "%s/%s", svc_names[s->svc], s->ip);
	ip_release(key);
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->next = s->prev = NULL;
	t->nsessions--;
	thread_check_done(t);
}

static void
thread_grace_over(void *arg)
{
	struct server_thread *t = arg;

	if (t->nsessions > 0)
		log_warn("- server shutdown sessions-left=%d thread=%d",
		    t->nsessions, t->idx);
	loop_break(t->loop);
}

struct stop_arg {
	struct server_thread	*t;
	unsigned		 grace_ms;
};

/* Runs on each loop thread. */
static void
thread_stop(void *arg)
{
	struct stop_arg *sa = arg;
	struct server_thread *t = sa->t;
	struct server_session *s, *next;

	t->stopping = true;
	for (int i = 0; i < t->nlisteners; i++)
		loop_listener_enable(t->listeners[i], false);
	for (s = t->head.next; s != &t->head; s = next) {
		next = s->next;
		if (s->shutdown)
			s->shutdown(s);
	}
	t->grace = loop_timer_new(t->loop, thread_grace_over, t);
	loop_timer_add(t->grace, sa->grace_ms);
	free(sa);
	thread_check_done(t);
}

void
server_stop(unsigned grace_ms)
{
	for (unsigned i = 0; i < nthreads; i++) {
		struct stop_arg *sa = xmalloc(sizeof(*sa));
		sa->t = &threads[i];
		sa->grace_ms = grace_ms;
		loop_post(threads[i].loop, thread_stop, sa);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(threads[i].tid, NULL);
		dns_resolver_free(&threads[i].resolver);
	}
}

void
server_free_policy(void)
{
	psl_free(&cur_psl);
	for (size_t i = 0; i < nold_psl; i++)
		psl_free(&old_psl[i]);
	free(old_psl);
	old_psl = NULL;
	nold_psl = 0;
	dkim_keystore_free(&cur_dkim);
	for (size_t i = 0; i < nold_dkim; i++)
		dkim_keystore_free(&old_dkim[i]);
	free(old_dkim);
	old_dkim = NULL;
	nold_dkim = 0;
}

struct conf *
server_conf(void)
{
	struct conf *c;

	pthread_mutex_lock(&state_lock);
	c = cur_conf;
	pthread_mutex_unlock(&state_lock);
	return c;
}

void
server_set_conf(struct conf *c)
{
	pthread_mutex_lock(&state_lock);
	old_confs = xrealloc(old_confs, (nold_confs + 1) * sizeof(*old_confs));
	old_confs[nold_confs++] = cur_conf;
	cur_conf = c;
	pthread_mutex_unlock(&state_lock);
}

struct acct_snapshot *
server_accounts(void)
{
	struct acct_snapshot *s;

	pthread_mutex_lock(&state_lock);
	s = cur_accounts;
	if (s)
		acct_snapshot_ref(s);
	pthread_mutex_unlock(&state_lock);
	return s;
}

void
server_set_accounts(struct acct_snapshot *s)
{
	struct acct_snapshot *old;

	pthread_mutex_lock(&state_lock);
	old = cur_accounts;
	cur_accounts = s;
	pthread_mutex_unlock(&state_lock);
	if (old)
		acct_snapshot_unref(&old);
}
