/*
 * mta_sts_fetch - MTA-STS policy fetches on threads of their own (see
 * mta_sts_fetch.h): a queue under a mutex, MTA_STS_FETCH_THREADS threads,
 * libcurl blocking transfers aborted by the progress callback when tem
 * stops, results posted to the submitting loop.
 *
 * Trust: the policy server is untrusted: TLS-verified, the answer
 * bounded (MTA_STS_BODY_MAX, header lines by libcurl) and parsed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mta/mta_sts_fetch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct queued {
	struct mta_sts_job	*job;
	struct loop		*loop;
	struct queued		*next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct queued *qhead, *qtail;
static atomic_bool stopping;
static bool started;
static pthread_t threads[MTA_STS_FETCH_THREADS];

void
mta_sts_job_free(struct mta_sts_job *job)
{
	if (job == NULL)
		return;
	free(job->domain);
	free(job->resolve);
	free(job->url);
	free(job->ca_file);
	free(job->cache_dir);
	mta_sts_entry_unref(&job->entry);
	free(job->error);
	free(job);
}

/* ---- one GET ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	if (buf_append(arg, p, size * n) < 0)
		return 0;	/* over MTA_STS_BODY_MAX: curl fails it */
	return size * n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)arg, (void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&stopping) ? 1 : 0;
}

static CURLcode
on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	(void)curl;
	/* tls_ca_file on top of the system store curl has loaded */
	if (X509_STORE_load_file(SSL_CTX_get_cert_store(ssl_ctx), arg) != 1)
		return CURLE_SSL_CACERT_BADFILE;
	return CURLE_OK;
}

/* RFC 8461 3.2: "text/plain", parameters (charset) allowed. */
static bool
media_type_ok(const char *ct)
{
	size_t n = strlen("text/plain");

	if (ct == NULL || strncasecmp(ct, "text/plain", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

int
mta_sts_http_get(const struct mta_sts_job *job, char **body_r, size_t *len_r,
    char **error_r)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *resolve = NULL;
	struct buf body;
	char *ct = NULL;
	long status = 0;
	CURLcode rc;
	int ret = -1;

	if (curl == NULL) {
		*error_r = xstrdup("cannot make a transfer");
		return -1;
	}
	buf_init(&body, MTA_STS_BODY_MAX);
	if (job->resolve != NULL)
		resolve = curl_slist_append(NULL, job->resolve);
	curl_easy_setopt(curl, CURLOPT_URL, job->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);	/* 3.3 */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/* straight to the addresses tem's resolver gave, never through a
	   proxy named by the environment */
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    (long)MTA_STS_CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)MTA_STS_FETCH_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE, (long)MTA_STS_BODY_MAX);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "tem-mta-sts");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (resolve != NULL)
		curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
	if (job->ca_file != NULL) {
		curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, job->ca_file);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
	}
	if (rc != CURLE_OK)
		*error_r = xstrdup(curl_easy_strerror(rc));
	else if (status != 200)
		*error_r = xasprintf("HTTP status %ld", status);
	else if (!media_type_ok(ct))
		*error_r = xasprintf("media type %s, not text/plain",
		    ct ? ct : "missing");
	else {
		*len_r = body.len;
		*body_r = xstrndup(body.data ? body.data : "", body.len);
		ret = 0;
	}
	buf_free(&body);
	curl_slist_free_all(resolve);
	curl_easy_cleanup(curl);
	return ret;
}

/* ---- the threads ---- */

static void
run_fetch(struct mta_sts_job *job)
{
	const char *perr;
	char *body;
	size_t len;

	if (atomic_load(&stopping)) {
		job->error = xstrdup("stopping");
		job->failure = TLSRPT_STS_POLICY_FETCH_ERROR;
		return;
	}
	if (mta_sts_http_get(job, &body, &len, &job->error) < 0) {
		job->failure = TLSRPT_STS_POLICY_FETCH_ERROR;
		return;
	}
	job->entry = mta_sts_entry_new(job->domain, job->id,
	    clock_real_ms() / 1000, body, len, &perr);
	free(body);
	if (job->entry == NULL) {
		job->error = xasprintf("invalid policy: %s", perr);
		job->failure = TLSRPT_STS_POLICY_INVALID;
		return;
	}
	if (job->cache_dir != NULL &&
	    mta_sts_disk_save(job->cache_dir, job->entry) < 0)
		log_warn("- mta-sts cache-write-failed domain=%s error=\"%m\"",
		    job->domain);
}

static void
post_done(void *arg)
{
	struct mta_sts_job *job = arg;

	job->done(job);
}

static void *
fetch_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct queued *q;

		pthread_mutex_lock(&qlock);
		while (qhead == NULL && !atomic_load(&stopping))
			pthread_cond_wait(&qcond, &qlock);
		q = qhead;
		if (q == NULL) {		/* stopping, queue drained */
			pthread_mutex_unlock(&qlock);
			return NULL;
		}
		qhead = q->next;
		if (qhead == NULL)
			qtail = NULL;
		pthread_mutex_unlock(&qlock);
		if (q->job->kind == MTA_STS_JOB_FETCH)
			run_fetch(q->job);
		else if (q->job->cache_dir != NULL)
			mta_sts_disk_remove(q->job->cache_dir, q->job->domain);
		loop_post(q->loop, post_done, q->job);
		free(q);
	}
}

void
mta_sts_fetch_submit(struct loop *l, struct mta_sts_job *job)
{
	struct queued *q = xcalloc(1, sizeof(*q));

	q->job = job;
	q->loop = l;
	pthread_mutex_lock(&qlock);
	if (qtail)
		qtail->next = q;
	else
		qhead = q;
	qtail = q;
	pthread_mutex_unlock(&qlock);
	pthread_cond_signal(&qcond);
}

void
mta_sts_fetch_start(void)
{
	if (started)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatal("mta-sts: cannot initialise libcurl");
	atomic_store(&stopping, false);
	for (int i = 0; i < MTA_STS_FETCH_THREADS; i++)
		if (pthread_create(&threads[i], NULL, fetch_main, NULL) != 0)
			log_fatal("mta-sts: cannot start a fetch thread");
	started = true;
}

void
mta_sts_fetch_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&qlock);
	atomic_store(&stopping, true);
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
	for (int i = 0; i < MTA_STS_FETCH_THREADS; i++)
		pthread_join(threads[i], NULL);
	started = false;
	curl_global_cleanup();
}
