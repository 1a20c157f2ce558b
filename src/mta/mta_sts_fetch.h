/*
 * mta_sts_fetch - the HTTPS side of MTA-STS (RFC 8461 3.3) for
 * mta_sts.c: a few threads of its own that GET
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt with libcurl, parse the
 * body into a cache entry and write it to the disk cache, then post the
 * result back to the engine loop. The shared worker pool is not used: a
 * fetch may wait up to MTA_STS_FETCH_TIMEOUT on a slow web server, and
 * the pool's threads serve mailbox work that must not queue behind it.
 *
 * The fetch: PKIX verification against the system CA store plus
 * tls_ca_file, the host name checked and sent as SNI, https only, no
 * redirect followed (3.3: a 3xx is a failure), HTTP 200 only, media type
 * text/plain, body ≤ MTA_STS_BODY_MAX. The host's addresses come from
 * the engine's resolver (CURLOPT_RESOLVE), so the look-up uses tem's DNS
 * (dns_server) and never blocks a thread on getaddrinfo.
 *
 * Trust: the web server is untrusted until TLS verified it, and its body
 * is bounded and parsed even then.
 */
#ifndef TEM_MTA_MTA_STS_FETCH_H
#define TEM_MTA_MTA_STS_FETCH_H

#include "mta/mta_sts_cache.h"
#include "policy/tlsrpt.h"

struct loop;

#define MTA_STS_FETCH_THREADS		2
#define MTA_STS_CONNECT_TIMEOUT		10	/* seconds, TCP + TLS */
#define MTA_STS_FETCH_TIMEOUT		30	/* seconds, the whole GET */

enum mta_sts_job_kind {
	MTA_STS_JOB_FETCH,	/* GET, parse, save */
	MTA_STS_JOB_REMOVE,	/* remove the domain's cache file */
};

struct mta_sts_job {
	enum mta_sts_job_kind	 kind;
	/* in: set by the caller, freed by mta_sts_job_free */
	char			*domain;
	char			 id[MTA_STS_ID_MAX + 1];
	char			*resolve;	/* "host:port:addr,addr" */
	char			*url;
	char			*ca_file;	/* NULL: system store only */
	char			*cache_dir;	/* NULL: no disk cache */
	/* out (FETCH): entry (refs 1), or error with failure set */
	struct mta_sts_entry	*entry;
	char			*error;
	enum tlsrpt_result	 failure;
	/* done(job) on the submitting loop; it frees the job */
	void			(*done)(struct mta_sts_job *job);
};

/* Starts the threads (curl_global_init first). */
void mta_sts_fetch_start(void);
/* Any job still queued fails with "stopping"; transfers in progress are
 * aborted (within about a second); threads joined. Results are posted
 * to their loops as usual. */
void mta_sts_fetch_stop(void);
/* Queues job; job->done runs on loop l once it is over. */
void mta_sts_fetch_submit(struct loop *l, struct mta_sts_job *job);
void mta_sts_job_free(struct mta_sts_job *job);

/* Blocking: one fetch as described above (a fetch thread's work,
 * exported for tests). 0 with the body in *body_r (xmalloc'd,
 * NUL-terminated), or -1 with *error_r (xmalloc'd). */
int mta_sts_http_get(const struct mta_sts_job *job, char **body_r,
    size_t *len_r, char **error_r);

#endif
