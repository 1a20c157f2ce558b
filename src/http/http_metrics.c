/*
 * http_metrics - GET /metrics: tem's metrics (util/metrics_list.h) in
 * Prometheus text format 0.0.4, only for clients in metrics_allow, and
 * the gauges computed at scrape time (process, queue).
 *
 * Trust: the request is anyone's; only its peer address is looked at.
 * Runs on the session's loop: everything here reads memory or /proc
 * (a scrape of /proc/self/statm and /proc/self/fd costs tens of
 * microseconds; the queue's numbers never wait for its lock).
 */
#include <dirent.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "conf/conf.h"
#include "http/http.h"
#include "http/http_metrics.h"
#include "queue/queue.h"
#include "server/state.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/metrics_list.h"

static time_t start_time;
static _Atomic time_t denied_logged;	/* last 403 line (throttle) */
static _Atomic unsigned denied_count;

static double
g_one(unsigned i)
{
	(void)i;
	return 1;
}

static double
g_start(unsigned i)
{
	(void)i;
	return (double)start_time;
}

static double
g_rss(unsigned i)
{
	char b[128];
	long pages = 0, rss = 0;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	(void)i;
	if (fd < 0)
		return 0;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = '\0';
	if (sscanf(b, "%ld %ld", &pages, &rss) != 2)
		return 0;
	return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

static double
g_fds(unsigned i)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	(void)i;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (double)(n - 1);		/* not the directory's own fd */
}

/* queue numbers: the last ones read when the schedule's lock is busy */
static _Atomic size_t q_count;
static _Atomic time_t q_oldest;

static double
g_queue_size(unsigned i)
{
	size_t n;
	time_t o;

	(void)i;
	if (queue_sched_stats(&n, &o)) {
		q_count = n;
		q_oldest = o;
	}
	return (double)q_count;
}

static double
g_queue_oldest(unsigned i)
{
	time_t o = q_oldest, now = time(NULL);

	(void)i;
	return o == 0 || o > now ? 0 : (double)(now - o);
}

static bool
allowed(const struct http_request *req)
{
	struct server_state *st = server_state_get();
	const struct conf_strlist *l = &st->conf->metrics_allow;
	struct cidr c;
	bool ok = false;

	for (int i = 0; i < l->n && !ok; i++)
		ok = cidr_parse(l->v[i], &c) == 0 && cidr_match(&c, req->peer);
	server_state_unref(&st);
	return ok;
}

/* One line per 10 s at most: refusals are repeatable at will. */
static void
log_denied(const struct http_request *req)
{
	char ip[64] = "?";
	time_t now = time(NULL), last = denied_logged;
	unsigned n = ++denied_count;

	if (now - last < 10 ||
	    !atomic_compare_exchange_strong(&denied_logged, &last, now))
		return;
	denied_count = 0;
	if (req->peer->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)req->peer)->sin_addr, ip, sizeof(ip));
	else if (req->peer->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)req->peer)->sin6_addr, ip, sizeof(ip));
	log_info("- http metrics-denied addr=%s count=%u", ip, n);
}

static void
metrics_get(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	(void)arg;
	if (!allowed(req)) {
		log_denied(req);
		resp->status = 403;
		buf_puts(&resp->body, "forbidden\n");
		return;
	}
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (metrics_render(&resp->body, metrics_tem, M_COUNT) < 0) {
		buf_reset(&resp->body);
		resp->status = 500;
	}
}

void
http_metrics_init(void)
{
	start_time = time(NULL);
	metrics_table_init(metrics_tem, M_COUNT);
	metric_gauge_fn_set(&metrics_tem[M_BUILD_INFO], g_one);
	metric_gauge_fn_set(&metrics_tem[M_START_TIME], g_start);
	metric_gauge_fn_set(&metrics_tem[M_RSS], g_rss);
	metric_gauge_fn_set(&metrics_tem[M_FDS], g_fds);
	metric_gauge_fn_set(&metrics_tem[M_QUEUE_SIZE], g_queue_size);
	metric_gauge_fn_set(&metrics_tem[M_QUEUE_OLDEST], g_queue_oldest);
	http_route("/metrics", HTTP_GET | HTTP_HEAD, metrics_get, NULL);
}

void
http_metrics_free(void)
{
	metrics_table_free(metrics_tem, M_COUNT);
}

/* For the unit test: the handler without the route table. */
http_handler_fn *const http_metrics_handler = metrics_get;
