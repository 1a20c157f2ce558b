/*
 * report_post - a TLS report POSTed to an https: rua (see report_post.h):
 * a detached thread per POST, the result posted back to the loop.
 *
 * Trust: the URL comes from DNS (the _smtp._tls record) and was bounded
 * by tlsrpt_record_parse; the web server is untrusted (TLS verified, its
 * answer's body ignored).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "report/report_post.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct post {
	struct loop	*loop;
	char		*url, *resolve, *ca_file;
	void		*body;
	size_t		 len;
	long		 status;
	char		 error[CURL_ERROR_SIZE];
	void		(*done)(void *arg, long status, const char *error);
	void		*arg;
};

bool
report_url_host(const char *url, char **host_r, unsigned *port_r)
{
	const char *h, *end, *colon;
	unsigned long port = 443;
	char *e;

	if (strncasecmp(url, "https://", 8) != 0 ||
	    strlen(url) > REPORT_POST_URL_MAX)
		return false;
	h = url + 8;
	end = h + strcspn(h, "/?#");
	if (*h == '[') {		/* [v6]:port */
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL || rb == h + 1 || (rb + 1 != end &&
		    rb[1] != ':'))
			return false;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		*host_r = xstrndup(h + 1, (size_t)(rb - h - 1));
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if ((colon ? colon : end) == h || memchr(h, '@',
		    (size_t)(end - h)) != NULL)
			return false;
		*host_r = xstrndup(h, (size_t)((colon ? colon : end) - h));
	}
	if (colon != NULL) {
		port = strtoul(colon + 1, &e, 10);
		if (e != end || port == 0 || port > 65535) {
			free(*host_r);
			*host_r = NULL;
			return false;
		}
	}
	*port_r = (unsigned)port;
	return true;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

static void
post_back(void *arg)
{
	struct post *p = arg;

	p->done(p->arg, p->status, p->error[0] ? p->error : NULL);
	free(p->url);
	free(p->resolve);
	free(p->ca_file);
	free(p->body);
	free(p);
}

static void *
post_main(void *arg)
{
	struct post *p = arg;
	struct curl_slist *hdr = NULL, *res = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (c == NULL) {
		strcpy(p->error, "cannot make a libcurl handle");
		loop_post(p->loop, post_back, p);
		return NULL;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/tlsrpt+gzip");
	res = curl_slist_append(res, p->resolve);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REPORT_POST_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->len);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tem-tlsrpt");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->error);
	if (p->ca_file != NULL) {	/* beside the system's, not instead */
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
	else if (p->error[0] == '\0')
		snprintf(p->error, sizeof(p->error), "%s",
		    curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	curl_slist_free_all(res);
	loop_post(p->loop, post_back, p);
	return NULL;
}

void
report_post(struct loop *l, const char *url, const char *resolve,
    const char *ca_file, const void *body, size_t len,
    void (*done)(void *arg, long status, const char *error), void *arg)
{
	struct post *p = xcalloc(1, sizeof(*p));
	pthread_attr_t at;
	pthread_t t;

	p->loop = l;
	p->url = xstrdup(url);
	p->resolve = xstrdup(resolve);
	p->ca_file = ca_file ? xstrdup(ca_file) : NULL;
	p->body = xmemdup(body, len);
	p->len = len;
	p->done = done;
	p->arg = arg;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, post_main, p) != 0) {
		strcpy(p->error, "cannot start a thread");
		loop_post(l, post_back, p);
	}
	pthread_attr_destroy(&at);
}
