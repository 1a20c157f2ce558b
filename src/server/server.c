/*
 * server - loop threads, listeners, session registry (see server.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include "auth/resolve.h"
#include "auth/ratelimit.h"
#include "conf/conf.h"
#include "dns/dns.h"
#include "server/server.h"
#include "server/session.h"
#include "server/state.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

#define MAX_THREADS	64
#define MAX_LISTENERS	(SVC_COUNT * CONF_MAX_LISTEN)

struct server_thread {
	int			 idx;
	pthread_t		 tid;
	struct loop		*loop;
	struct loop_listener	*listeners[MAX_LISTENERS];
	int			 nlisteners;
	struct session	 head;		/* list sentinel */
	int			 nsessions;
	bool			 stopping;
	struct loop_timer	*grace;
	struct dns_resolver	*resolver;
};

struct bound {
	enum service	svc;
	int		fds[MAX_THREADS];
};

/* metrics_proto() and metrics_tls_service() count on this order */
_Static_assert(SVC_SMTP == 0 && SVC_SUBMISSIONS == 2 && SVC_IMAPS == 4 &&
    SVC_POP3S == 6 && SVC_MANAGESIEVE == 7, "metrics_list.h's order");

static const char *const svc_names[SVC_COUNT] = {
	"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
	"managesieve", "http", "https"
};

static struct server_thread threads[MAX_THREADS];
static unsigned nthreads;
static struct bound bound[MAX_LISTENERS];
static int nbound;
static server_accept_fn *accept_fns[SVC_COUNT];

/*
 * The global session cap. A session holds one descriptor (two while
 * POP3 reads a message or a store job has a file open); the rest of the
 * process needs some too: listeners, the log, accounts.db, resolver
 * sockets, the workers' and committers' files, the mail store's indexes
 * and the delivery engine's outbound sessions. So by default
 *	max_sessions = nofile - max(SESSION_RESERVE_MIN, nofile / 4)
 * (1,024 descriptors: 768 sessions). At the cap a newcomer takes the
 * place of the longest silent session that never logged in (silent 2 s
 * or more), else it is refused with the protocol's 421.
 */
#define SESSION_RESERVE_MIN	128
#define EVICT_SCAN		256	/* oldest sessions looked at */
#define CAP_LOG_SEC		10	/* at-capacity: one line per */
static unsigned nofile_max_sessions;
static atomic_uint nsessions_all;
static pthread_mutex_t cap_log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t cap_log_last;
static unsigned long cap_evicted, cap_refused;


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

/* Raises the soft open-file limit to the hard one; derives the cap. */
static void
server_nofile_init(void)
{
	struct rlimit rl;
	rlim_t n = 1024, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rlim_t want = rl.rlim_max;
			rl.rlim_cur = want;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				log_warn("- server nofile-raise-failed want=%llu "
				    "error=\"%s\"", (unsigned long long)want,
				    strerror(errno));
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		n = rl.rlim_cur;
	}
	if (n == RLIM_INFINITY || n > (1u << 24))
		n = 1u << 24;
	reserve = n / 4 > SESSION_RESERVE_MIN ? n / 4 : SESSION_RESERVE_MIN;
	nofile_max_sessions = n > 2 * reserve ? (unsigned)(n - reserve) :
	    (unsigned)(n / 2);
	log_info("- server nofile=%llu max_sessions=%u",
	    (unsigned long long)n, server_max_sessions());
}

unsigned
server_max_sessions(void)
{
	struct server_state *st = server_state_get();
	unsigned m = st->conf->max_sessions;

	server_state_unref(&st);
	return m ? m : nofile_max_sessions;
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
	server_state_set_conf(c);
	server_nofile_init();
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

struct server_thread *
server_thread_at(unsigned i)
{
	return i < nthreads ? &threads[i] : NULL;
}

unsigned
server_thread_sessions(const struct server_thread *t)
{
	return (unsigned)t->nsessions;
}

struct dns_resolver *
server_thread_resolver(struct server_thread *t)
{
	char *err = NULL;

	if (t->resolver == NULL) {
		struct server_state *st = server_state_get();
		t->resolver = dns_resolver_open(t->loop, st->conf->dns_server,
		    st->conf->dns_trust_anchor_file, &err);
		server_state_unref(&st);
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

/* At-capacity events: one log line per CAP_LOG_SEC, with the counts. */
static void
cap_log(bool evicted)
{
	time_t now = time(NULL);
	unsigned long ev = 0, ref = 0;
	bool say = false;

	pthread_mutex_lock(&cap_log_lock);
	if (evicted)
		cap_evicted++;
	else
		cap_refused++;
	if (now - cap_log_last >= CAP_LOG_SEC) {
		cap_log_last = now;
		ev = cap_evicted;
		ref = cap_refused;
		cap_evicted = cap_refused = 0;
		say = true;
	}
	pthread_mutex_unlock(&cap_log_lock);
	if (say)
		log_warn("- server at-capacity sessions=%u max_sessions=%u "
		    "evicted=%lu refused=%lu", atomic_load(&nsessions_all),
		    server_max_sessions(), ev, ref);
}

/*
 * Refusals over a per-address limit: the first REFUSE_LOG_BURST of each
 * reason in a REFUSE_LOG_SEC window get their own line (with the
 * session id and address), the rest are counted and said in one line
 * when the next window opens. A flood from one address thus costs a few
 * lines, never one per connection (a full disk is the next failure).
 */
#define REFUSE_LOG_SEC		10
#define REFUSE_LOG_BURST	10
enum refuse_reason { REFUSE_RATE, REFUSE_PER_IP, REFUSE_NREASONS };
static const char *const refuse_names[REFUSE_NREASONS] = {
	"max_connections_per_minute", "max_sessions_per_ip"
};
static pthread_mutex_t refuse_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	time_t		 start;
	unsigned	 logged;
	unsigned long	 suppressed;
} refuse_log_state[REFUSE_NREASONS];

static void
refuse_log(const struct session *s, enum refuse_reason why)
{
	time_t now = time(NULL);
	unsigned long quiet = 0;
	bool say;

	pthread_mutex_lock(&refuse_lock);
	if (now - refuse_log_state[why].start >= REFUSE_LOG_SEC) {
		quiet = refuse_log_state[why].suppressed;
		refuse_log_state[why].start = now;
		refuse_log_state[why].logged = 0;
		refuse_log_state[why].suppressed = 0;
	}
	say = refuse_log_state[why].logged < REFUSE_LOG_BURST;
	if (say)
		refuse_log_state[why].logged++;
	else
		refuse_log_state[why].suppressed++;
	pthread_mutex_unlock(&refuse_lock);
	if (quiet > 0)
		log_warn("- server refuse-suppressed reason=%s count=%lu "
		    "seconds=%d", refuse_names[why], quiet, REFUSE_LOG_SEC);
	if (say)
		log_info("%s %s refuse addr=%s reason=%s", s->id,
		    svc_names[s->svc], s->ip, refuse_names[why]);
}

/* Below the cap, or room made on t by evicting a silent session. */
static bool
cap_admit(struct server_thread *t)
{
	struct session *s;
	time_t now;
	int n = 0;

	if (atomic_load(&nsessions_all) < server_max_sessions())
		return true;
	now = time(NULL);
	for (s = t->head.prev; s != &t->head && n < EVICT_SCAN;
	    s = s->prev, n++)
		if (session_evictable(s, now)) {
			session_evict(s);
			cap_log(true);
			return true;
		}
	cap_log(false);
	return false;
}

static void
thread_check_done(struct server_thread *t)
{
	if (t->stopping && t->nsessions == 0)
		loop_break(t->loop);
}

bool
server_session_add(struct server_thread *t, struct session *s,
    enum service svc, const struct sockaddr *sa)
{
	char key[SLOT_KEY_MAX];
	struct server_state *st = server_state_get();
	unsigned per_minute = st->conf->max_connections_per_minute;
	unsigned per_ip = st->conf->max_sessions_per_ip;

	server_state_unref(&st);
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
	if (!ratelimit_take(key, 1, per_minute, 60)) {
		refuse_log(s, REFUSE_RATE);
		return false;
	}
	if (!cap_admit(t))
		return false;	/* logged by cap_log */
	snprintf(key, sizeof(key), "%s/%s", svc_names[svc], s->ip);
	if (!ip_acquire(key, per_ip)) {
		refuse_log(s, REFUSE_PER_IP);
		return false;
	}
	s->next = t->head.next;
	s->prev = &t->head;
	t->head.next->prev = s;
	t->head.next = s;
	t->nsessions++;
	atomic_fetch_add(&nsessions_all, 1);
	METRIC_INC(M_SESSIONS, metrics_proto(svc));
	METRIC_ADD(M_SESSIONS_OPEN, metrics_proto(svc), 1);
	s->run = server_state_get();	/* kept until the session's free */
	return true;
}

void
server_refuse(int fd, enum service svc, const char *line)
{
	bool tls_first = svc == SVC_SUBMISSIONS || svc == SVC_IMAPS ||
	    svc == SVC_POP3S || svc == SVC_HTTPS;

	/* the socket is new and its buffer empty: the write cannot block */
	if (!tls_first && write(fd, line, strlen(line)) < 0) {
		/* the client is gone already */
	}
	close(fd);
}

void
server_session_remove(struct session *s)
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
	atomic_fetch_sub(&nsessions_all, 1);
	METRIC_ADD(M_SESSIONS_OPEN, metrics_proto(s->svc), -1);
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
	struct session *s, *next;

	t->stopping = true;
	for (int i = 0; i < t->nlisteners; i++)
		loop_listener_enable(t->listeners[i], false);
	for (s = t->head.next; s != &t->head; s = next) {
		next = s->next;
		session_server_stop(s);
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

