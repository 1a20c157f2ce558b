/*
 * report_run - the report thread (see report_run.h): its own loop and
 * resolver, a flush timer, the daily timer, and the run that turns each
 * (kind, day, domain) of the database into report messages.
 *
 * A run is a chain on the report loop: for each job, the DNS look-ups it
 * needs (the _smtp._tls record; the _report._dmarc authorization of an
 * external rua), then the report, its gzip, one message per mailto: rua,
 * queued with msg_author_submit (done on this loop). The run is over when
 * every job is handled and every message is queued.
 *
 * Trust: DNS answers are parsed by tlsrpt_record_parse and checked for
 * "v=DMARC1"; rua addresses come from DNS and are checked to be one
 * plain address before they become a recipient.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "dns/dns.h"
#include "msg/msg_author.h"
#include "policy/dkim_keys.h"
#include "policy/mta_sts_policy.h"
#include "policy/psl.h"
#include "report/report.h"
#include "report/report_int.h"
#include "report/report_post.h"
#include "report/report_run.h"
#include "server/state.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define REPORT_DNS_TIMEOUT_MS	10000
#define REPORT_RUA_MAX		2	/* RFC 7489 6.2: receivers may stop
					   at two; we do for both kinds */

/* A control request waiting on the main thread: shared by the two
 * threads, freed by the last of them (refs under req_lock). */
struct run_req {
	char		 day[11];
	bool		 all;
	bool		 done;
	int		 refs;
	size_t		 jobs, queued, posted;
};

static pthread_t thread;
static struct loop *rloop;
static struct dns_resolver *resolver;
static struct report_db *db;
static struct loop_timer *flush_timer, *daily_timer;
static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t req_cond = PTHREAD_COND_INITIALIZER;
static bool started;
static bool stopping;		/* report loop: break once nothing waits */

/* The run in progress (report loop only). */
static struct {
	bool			 busy;
	struct report_job	*jobs;
	size_t			 njobs, next;
	size_t			 outstanding;	/* submits not done yet */
	size_t			 queued, posted;
	bool			 walked;	/* every job handled */
	struct run_req		*req;		/* NULL: the daily run */
	/* the job at hand */
	struct buf		 gz;
	char			*report_id, *filename;
	char			*rua[REPORT_RUA_MAX];
	uint64_t		 rua_max[REPORT_RUA_MAX];
	size_t			 nrua, next_rua;
	bool			 temp;		/* DNS trouble: retry later */
} run;

static void run_next(void);
static void rua_next(void);

static void
req_unref(struct run_req *q)
{
	bool last;

	pthread_mutex_lock(&req_lock);
	last = --q->refs == 0;
	pthread_mutex_unlock(&req_lock);
	if (last)
		free(q);
}

/* ---- flush ------------------------------------------------------------ */

static void
flush_now(void)
{
	uint64_t mem_dropped, db_dropped = 0;
	struct hashmap *m = report_pending_take(&mem_dropped);
	static bool said;

	if (db != NULL)
		report_db_flush(db, m, &db_dropped);
	if ((mem_dropped || db_dropped) && !said) {
		/* once per process: the limits are hit on a busy day, and a
		 * line per minute would say nothing new */
		log_warn("- report over-limits dropped-memory=%llu "
		    "dropped-disk=%llu", (unsigned long long)mem_dropped,
		    (unsigned long long)db_dropped);
		said = true;
	}
	report_pending_free(&m);
}

static void
counting_from_conf(void)
{
	struct server_state *st = server_state_get();

	report_counting(st->conf->tlsrpt, st->conf->dmarc_reports);
	server_state_unref(&st);
}

static void
on_flush(void *arg)
{
	(void)arg;
	counting_from_conf();	/* a reload may have turned one off */
	flush_now();
	loop_timer_add(flush_timer, REPORT_FLUSH_SEC * 1000);
}

/* ---- the end of a run -------------------------------------------------- */

static void
run_clear_job(void)
{
	buf_free(&run.gz);
	free(run.report_id);
	free(run.filename);
	run.report_id = run.filename = NULL;
	for (size_t i = 0; i < run.nrua; i++)
		free(run.rua[i]);
	run.nrua = run.next_rua = 0;
	run.temp = false;
}

static void
run_finish_maybe(void)
{
	struct run_req *q = run.req;

	if (!run.walked || run.outstanding > 0)
		return;
	log_info("- report run-done jobs=%zu queued=%zu posted=%zu",
	    run.njobs, run.queued, run.posted);
	if (q != NULL) {
		pthread_mutex_lock(&req_lock);
		q->jobs = run.njobs;
		q->queued = run.queued;
		q->posted = run.posted;
		q->done = true;
		pthread_cond_broadcast(&req_cond);
		pthread_mutex_unlock(&req_lock);
		req_unref(q);
	}
	report_jobs_free(run.jobs, run.njobs);
	memset(&run, 0, sizeof(run));
}

/* One submit or POST less to wait for. */
static void
answered(void)
{
	run.outstanding--;
	if (stopping && run.outstanding == 0)
		loop_break(rloop);
	else
		run_finish_maybe();
}

static void
submitted(void *arg, int error)
{
	(void)arg;
	if (error == 0)
		run.queued++;
	answered();
}

/* ---- one message ------------------------------------------------------- */

/* The sender: report_from, else postmaster@ the first local domain,
 * else postmaster@ our host name. */
static char *
report_sender(const struct server_state *st)
{
	const char *d;

	if (st->conf->report_from != NULL && *st->conf->report_from)
		return xstrdup(st->conf->report_from);
	d = st->accounts ? acct_first_domain(st->accounts) : NULL;
	return xasprintf("postmaster@%s", d ? d : st->conf->hostname);
}

/* rua "mailto:a@b.test" -> "a@b.test" when it is one plain address. */
static char *
mailto_addr(const char *uri)
{
	const char *a;

	if (strncasecmp(uri, "mailto:", 7) != 0)
		return NULL;
	a = uri + 7;
	if (strchr(a, '@') == NULL || strlen(a) > 254 ||
	    strpbrk(a, " <>(),;:\\\"[]?&%\t") != NULL || a[0] == '@')
		return NULL;
	return xstrdup(a);
}

static void
send_to(const char *rcpt, const char *domain, bool tls)
{
	struct server_state *st = server_state_get();
	char *from = report_sender(st), *msg, *at;
	struct report_mail m = { .tls = tls, .from = from, .to = rcpt,
	    .domain = domain, .submitter = st->conf->hostname,
	    .report_id = run.report_id, .filename = run.filename,
	    .gz = run.gz.data, .gzlen = run.gz.len, .now = time(NULL) };
	size_t len;
	struct buf sig;

	msg = report_mail_build(&m, &len);
	buf_init(&sig, 0);
	at = strrchr(from, '@');
	if (st->dkim != NULL && at != NULL &&
	    dkim_keystore_sign(st->dkim, msg, len, at + 1, &sig) > 0) {
		buf_append(&sig, msg, len);
		free(msg);
		msg = buf_steal(&sig, &len);
	}
	buf_free(&sig);
	run.outstanding++;
	msg_author_submit("-", from, rcpt, msg, len, rloop, submitted, NULL);
	log_info("- report queued kind=%s domain=%s day=%s to=<%s> "
	    "size=%zu", tls ? "tls" : "dmarc", domain,
	    run.jobs[run.next - 1].day, rcpt, len);
	free(from);
	server_state_unref(&st);
}

/* ---- https: rua ----------------------------------------------------------- */

struct post_ctx {
	char		*url, *host, *domain;
	unsigned	 port;
	struct buf	 body;
};

static void
post_ctx_free(struct post_ctx *pc)
{
	free(pc->url);
	free(pc->host);
	free(pc->domain);
	buf_free(&pc->body);
	free(pc);
}

static void
post_done(void *arg, long status, const char *error)
{
	struct post_ctx *pc = arg;

	if (error == NULL && status >= 200 && status < 300) {
		run.posted++;
		log_info("- report posted kind=tls domain=%s url=\"%.200s\" "
		    "status=%ld size=%zu", pc->domain, pc->url, status,
		    pc->body.len);
	} else
		log_warn("- report post-failed kind=tls domain=%s "
		    "url=\"%.200s\" status=%ld error=\"%s\"", pc->domain,
		    pc->url, status, error ? error : "not 2xx");
	post_ctx_free(pc);
	answered();
}

/* The host's addresses: "HOST:PORT:ADDR,..." for libcurl, then the POST. */
static void
post_addrs(const struct dns_addrs *res, void *arg)
{
	struct post_ctx *pc = arg;
	struct server_state *st;
	struct buf r;
	char a[64];

	if (res->n == 0) {
		post_done(pc, 0, dns_status_str(res->status));
		return;
	}
	buf_init(&r, 0);
	buf_printf(&r, "%s:%u:", pc->host, pc->port);
	for (int i = 0; i < res->n && i < 8; i++) {
		const struct sockaddr_storage *ss = &res->addr[i].ss;
		const void *in = ss->ss_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

		inet_ntop(ss->ss_family, in, a, sizeof(a));
		buf_printf(&r, ss->ss_family == AF_INET6 ? "%s[%s]" : "%s%s",
		    i ? "," : "", a);
	}
	st = server_state_get();
	report_post(rloop, pc->url, buf_cstr(&r), st->conf->tls_ca_file,
	    pc->body.data, pc->body.len, post_done, pc);
	server_state_unref(&st);
	buf_free(&r);
}

static void
post_to(const char *url, const char *domain)
{
	struct post_ctx *pc = xcalloc(1, sizeof(*pc));

	if (!report_url_host(url, &pc->host, &pc->port)) {
		log_info("- report rua-skipped kind=tls domain=%s "
		    "uri=\"%.100s\" (not a usable https: URL)", domain, url);
		free(pc);
		return;
	}
	pc->url = xstrdup(url);
	pc->domain = xstrdup(domain);
	buf_init(&pc->body, 0);
	buf_append(&pc->body, run.gz.data, run.gz.len);
	run.outstanding++;
	dns_resolve_addr(resolver, pc->host, post_addrs, pc);
}

/* ---- TLS-RPT ----------------------------------------------------------- */

static void
tls_txt_done(enum dns_status s, int n, char **txt, void *arg)
{
	struct report_job *j = arg;
	struct tlsrpt_record rec = { 0 };
	const char *err;
	bool found = false;

	if (s == DNS_TEMPFAIL)
		run.temp = true;
	for (int i = 0; s == DNS_OK && i < n && !found; i++)
		found = tlsrpt_record_parse(txt[i], strlen(txt[i]), &rec,
		    &err) == 0;
	if (!found) {
		log_info("- report no-rua kind=tls domain=%s dns=%s",
		    j->domain, dns_status_str(s));
		run_next();
		return;
	}
	for (size_t i = 0; i < rec.n_rua && i < REPORT_RUA_MAX; i++) {
		char *a = mailto_addr(rec.rua[i]);

		if (a != NULL)
			run.rua[run.nrua++] = a;
		else
			post_to(rec.rua[i], j->domain);
	}
	tlsrpt_record_clear(&rec);
	for (size_t i = 0; i < run.nrua; i++)
		send_to(run.rua[i], j->domain, true);
	run_next();
}

static void
tls_job(struct report_job *j, const char *host, const char *contact)
{
	struct report_tls t;
	struct report_who who;
	time_t b = report_day_start(j->day);
	char *json, *name;

	report_db_tls(db, j->day, j->domain, &t);
	run.report_id = xasprintf("%s.tls.%s@%s", j->day, j->domain, host);
	who = (struct report_who){ host, contact, run.report_id };
	json = report_tls_json(&t, &who);
	report_gzip(json, strlen(json), &run.gz);
	run.filename = xasprintf("%s!%s!%lld!%lld.json.gz", host, j->domain,
	    (long long)b, (long long)b + 86399);
	free(json);
	report_tls_clear(&t);
	name = xasprintf("_smtp._tls.%s", j->domain);
	dns_resolve_txt(resolver, name, tls_txt_done, j);
	free(name);
}

/* ---- DMARC ------------------------------------------------------------- */

static void
dmarc_auth_done(enum dns_status s, int n, char **txt, void *arg)
{
	struct report_job *j = arg;
	bool ok = false;

	for (int i = 0; s == DNS_OK && i < n && !ok; i++)
		ok = strncmp(txt[i], "v=DMARC1", 8) == 0 &&
		    (txt[i][8] == '\0' || txt[i][8] == ';' ||
		    txt[i][8] == ' ');
	if (s == DNS_TEMPFAIL)
		run.temp = true;
	if (ok)
		send_to(run.rua[run.next_rua], j->domain, false);
	else
		log_info("- report rua-refused kind=dmarc domain=%s to=<%s> "
		    "reason=no-authorization dns=%s", j->domain,
		    run.rua[run.next_rua], dns_status_str(s));
	run.next_rua++;
	rua_next();
}

/* The next rua of the DMARC job at hand: within the org domain, or
 * authorized by <domain>._report._dmarc.<rua domain>. */
static void
rua_next(void)
{
	struct report_job *j = &run.jobs[run.next - 1];
	struct server_state *st;
	const char *rd;
	char *o1 = NULL, *o2 = NULL, *name;
	bool same;

	if (run.next_rua >= run.nrua) {
		run_next();
		return;
	}
	if (run.rua_max[run.next_rua] != 0 &&
	    run.gz.len > run.rua_max[run.next_rua]) {
		log_info("- report rua-skipped kind=dmarc domain=%s to=<%s> "
		    "reason=size size=%zu", j->domain, run.rua[run.next_rua],
		    run.gz.len);
		run.next_rua++;
		rua_next();
		return;
	}
	rd = strrchr(run.rua[run.next_rua], '@') + 1;
	st = server_state_get();
	if (st->psl != NULL) {
		o1 = psl_org_domain(st->psl, j->domain);
		o2 = psl_org_domain(st->psl, rd);
	}
	same = o1 && o2 ? strcasecmp(o1, o2) == 0 :
	    strcasecmp(j->domain, rd) == 0;
	free(o1);
	free(o2);
	server_state_unref(&st);
	if (same) {
		send_to(run.rua[run.next_rua++], j->domain, false);
		rua_next();
		return;
	}
	name = xasprintf("%s._report._dmarc.%s", j->domain, rd);
	dns_resolve_txt(resolver, name, dmarc_auth_done, j);
	free(name);
}

static void
dmarc_job(struct report_job *j, const char *host, const char *contact)
{
	struct report_dmarc d;
	struct report_who who;
	time_t b = report_day_start(j->day);
	json_t *pol;
	size_t i;
	json_t *u;
	char *xml;

	if (report_db_dmarc(db, j->day, j->domain, &d) < 0) {
		report_dmarc_clear(&d);
		run_next();
		return;
	}
	run.report_id = xasprintf("%s.dmarc.%s@%s", j->day, j->domain, host);
	who = (struct report_who){ host, contact, run.report_id };
	xml = report_dmarc_xml(&d, &who);
	report_gzip(xml, strlen(xml), &run.gz);
	free(xml);
	run.filename = xasprintf("%s!%s!%lld!%lld.xml.gz", host, j->domain,
	    (long long)b, (long long)b + 86399);
	pol = json_loads(d.policy, 0, NULL);
	json_array_foreach(json_object_get(pol, "rua"), i, u) {
		const char *uri = json_string_value(json_object_get(u, "uri"));
		char *a = uri ? mailto_addr(uri) : NULL;

		if (a == NULL || run.nrua >= REPORT_RUA_MAX) {
			free(a);
			continue;
		}
		run.rua_max[run.nrua] = (uint64_t)json_integer_value(
		    json_object_get(u, "max"));
		run.rua[run.nrua++] = a;
	}
	json_decref(pol);
	report_dmarc_clear(&d);
	rua_next();
}

/* ---- the chain --------------------------------------------------------- */

static void
run_next(void)
{
	struct server_state *st;
	struct report_job *j;
	char *contact;

	if (run.next > 0) {	/* the job before: done, unless DNS failed */
		j = &run.jobs[run.next - 1];
		if (!run.temp)
			report_db_mark_sent(db, j->kind, j->day, j->domain);
		run_clear_job();
	}
	if (run.next >= run.njobs) {
		run.walked = true;
		run_finish_maybe();
		return;
	}
	j = &run.jobs[run.next++];
	st = server_state_get();
	contact = report_sender(st);
	buf_init(&run.gz, 0);
	if (j->kind == REPORT_TLS)
		tls_job(j, st->conf->hostname, contact);
	else
		dmarc_job(j, st->conf->hostname, contact);
	free(contact);
	server_state_unref(&st);
}

/* Drops the jobs of a kind the config turned off (tlsrpt,
 * dmarc_reports): what was counted before stays unsent until pruned. */
static void
jobs_switched_off(void)
{
	struct server_state *st = server_state_get();
	size_t k = 0;

	for (size_t i = 0; i < run.njobs; i++) {
		bool on = run.jobs[i].kind == REPORT_TLS ? st->conf->tlsrpt :
		    st->conf->dmarc_reports;

		if (on)
			run.jobs[k++] = run.jobs[i];
		else
			free(run.jobs[i].domain);
	}
	run.njobs = k;
	server_state_unref(&st);
}

/* Starts a run (report loop). q: the control request, or NULL. */
static void
run_start(struct run_req *q)
{
	char today[11];

	if (run.busy || stopping) {	/* one at a time: the request gets 0 jobs */
		if (q != NULL) {
			pthread_mutex_lock(&req_lock);
			q->done = true;
			pthread_cond_broadcast(&req_cond);
			pthread_mutex_unlock(&req_lock);
			req_unref(q);
		}
		return;
	}
	flush_now();
	report_day(time(NULL), today);
	memset(&run, 0, sizeof(run));
	run.busy = true;
	run.req = q;
	report_db_jobs(db, today, q && !q->all ? q->day : NULL, &run.jobs,
	    &run.njobs);
	jobs_switched_off();
	log_info("- report run-start jobs=%zu day=%s", run.njobs,
	    q && !q->all ? q->day : "finished");
	run_next();
}

static void
run_posted(void *arg)
{
	run_start(arg);
}

/* ---- the daily timer --------------------------------------------------- */

static void
daily_arm(void)
{
	time_t now = time(NULL);
	char today[11];
	time_t next;

	report_day(now, today);
	next = report_day_start(today) + 86400 + 300 +
	    (time_t)(arc4random_uniform(3300));
	loop_timer_add(daily_timer, (unsigned)(next - now) * 1000u);
}

static void
on_daily(void *arg)
{
	struct server_state *st = server_state_get();
	char cut[11];

	(void)arg;
	report_day(time(NULL) - REPORT_KEEP_DAYS * 86400, cut);
	report_db_prune(db, cut);
	if (st->conf->tlsrpt || st->conf->dmarc_reports)
		run_start(NULL);
	server_state_unref(&st);
	daily_arm();
}

/* ---- the thread -------------------------------------------------------- */

static void *
report_main(void *arg)
{
	(void)arg;
	loop_run(rloop);
	return NULL;
}

int
report_start(const struct conf *c, char **error_r)
{
	/* reference-counted by libcurl; the https: rua POSTs need it */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		*error_r = xstrdup("cannot initialise libcurl");
		return -1;
	}
	db = report_db_open(c->data_dir, error_r);
	if (db == NULL) {
		curl_global_cleanup();
		return -1;
	}
	rloop = loop_new();
	resolver = dns_resolver_open(rloop, c->dns_server,
	    c->dns_trust_anchor_file, error_r);
	if (resolver == NULL) {
		report_db_close(&db);
		loop_free(&rloop);
		curl_global_cleanup();
		return -1;
	}
	dns_resolver_set_timeout(resolver, REPORT_DNS_TIMEOUT_MS);
	flush_timer = loop_timer_new(rloop, on_flush, NULL);
	daily_timer = loop_timer_new(rloop, on_daily, NULL);
	loop_timer_add(flush_timer, REPORT_FLUSH_SEC * 1000);
	daily_arm();
	report_counting(c->tlsrpt, c->dmarc_reports);
	if (pthread_create(&thread, NULL, report_main, NULL) != 0) {
		*error_r = xstrdup("cannot start the report thread");
		report_counting(false, false);
		loop_timer_free(&flush_timer);
		loop_timer_free(&daily_timer);
		dns_resolver_free(&resolver);
		report_db_close(&db);
		loop_free(&rloop);
		curl_global_cleanup();
		return -1;
	}
	started = true;
	return 0;
}

static void
stop_posted_late(void *arg)
{
	(void)arg;
	log_warn("- report stop-with-submits-pending n=%zu", run.outstanding);
	loop_break(rloop);
}

/* The queue answers each submit on our loop: the loop runs until the
 * last answer is in (the daily timer, now unused, bounds the wait). */
static void
stop_posted(void *arg)
{
	(void)arg;
	stopping = true;
	if (run.outstanding == 0) {
		loop_break(rloop);
		return;
	}
	loop_timer_del(daily_timer);
	loop_timer_free(&daily_timer);
	daily_timer = loop_timer_new(rloop, stop_posted_late, NULL);
	loop_timer_add(daily_timer, 5000);
}

void
report_stop(void)
{
	struct hashmap *m;
	uint64_t d;

	if (!started)
		return;
	started = false;
	report_counting(false, false);
	loop_post(rloop, stop_posted, NULL);
	pthread_join(thread, NULL);
	flush_now();
	m = report_pending_take(&d);	/* noted after the last flush */
	report_pending_free(&m);
	dns_resolver_free(&resolver);
	report_db_close(&db);
	if (run.outstanding > 0)
		return;	/* the queue still answers to rloop: keep it */
	/* a run cut short: its requester stops waiting on its own */
	if (run.req != NULL)
		req_unref(run.req);
	report_jobs_free(run.jobs, run.njobs);
	run_clear_job();
	memset(&run, 0, sizeof(run));
	loop_timer_free(&flush_timer);
	loop_timer_free(&daily_timer);
	loop_free(&rloop);
	curl_global_cleanup();
}

char *
report_run_now(const char *day, unsigned timeout_ms)
{
	struct run_req *q;
	struct timespec ts;
	char *reply;

	if (!started)
		return xstrdup("error reports are not running");
	q = xcalloc(1, sizeof(*q));
	q->refs = 2;
	q->all = day == NULL;
	if (day != NULL)
		snprintf(q->day, sizeof(q->day), "%s", day);
	loop_post(rloop, run_posted, q);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	pthread_mutex_lock(&req_lock);
	while (!q->done && pthread_cond_timedwait(&req_cond, &req_lock,
	    &ts) == 0)
		;
	reply = q->done ? xasprintf("ok report jobs=%zu queued=%zu posted=%zu",
	    q->jobs, q->queued, q->posted) : xstrdup("error the report run is still going");
	pthread_mutex_unlock(&req_lock);
	req_unref(q);
	return reply;
}
