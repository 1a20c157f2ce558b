/*
 * acme_proto - the RFC 8555 conversation for one order (see
 * acme_proto.h).
 *
 * Trust: the CA is authenticated by TLS; its answers are still bounded
 * (ACME_BODY_MAX, header lines by libcurl) and parsed by acme_parse.
 * Blocking by design: it runs on its own thread.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "acme/acme_chal.h"
#include "acme/acme_crypto.h"
#include "acme/acme_parse.h"
#include "acme/acme_proto.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define BAD_NONCE_TRIES	5
#define POLL_MAX_WAIT	10	/* seconds between polls at most */

struct client {
	const struct acme_params *p;
	CURL		*curl;
	struct acme_dir	 dir;
	char		*nonce, *kid, *thumb;
	time_t		 deadline;
	/* the last answer */
	long		 status;
	struct buf	 body;
	char		*location;
	int		 retry_after;	/* seconds, 0: none */
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct client *cl = arg;

	if (buf_append(&cl->body, p, size * n) < 0)
		return 0;	/* over ACME_BODY_MAX: curl fails the transfer */
	return size * n;
}

/* "Name: value\r\n" with name matched case-insensitively: value copied. */
static char *
header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len <= n + 1 || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	    line[len - 1] == ' '))
		len--;
	return len <= ACME_STR_MAX ? xstrndup(line, len) : NULL;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct client *cl = arg;
	size_t len = size * n;
	char *v;

	if ((v = header_value(p, len, "Replay-Nonce")) != NULL) {
		free(cl->nonce);
		cl->nonce = v;
	} else if ((v = header_value(p, len, "Location")) != NULL) {
		free(cl->location);
		cl->location = v;
	} else if ((v = header_value(p, len, "Retry-After")) != NULL) {
		/* delta-seconds only; an HTTP date means "a while" */
		char *end;
		long s = strtol(v, &end, 10);
		cl->retry_after = *end == '\0' && s > 0 ? (int)(s > 3600 ?
		    3600 : s) : POLL_MAX_WAIT;
		free(v);
	}
	return len;
}

/* Aborts a transfer when tem stops (SIGTERM must end within 10 s). */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct client *cl = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(cl->p->stop) ? 1 : 0;
}

static CURLcode
on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	const char *ca = arg;

	(void)curl;
	/* on top of the system store curl has loaded already */
	if (X509_STORE_load_file(SSL_CTX_get_cert_store(ssl_ctx), ca) != 1)
		return CURLE_SSL_CACERT_BADFILE;
	return CURLE_OK;
}

/* GET (body NULL) or POST of a JWS; fills the answer fields. */
static int
http(struct client *cl, const char *url, const char *body, const char *accept,
    char **error_r)
{
	struct curl_slist *h = NULL;
	char hbuf[128];
	CURLcode rc;

	buf_reset(&cl->body);
	free(cl->location);
	cl->location = NULL;
	cl->retry_after = 0;
	curl_easy_reset(cl->curl);
	curl_easy_setopt(cl->curl, CURLOPT_URL, url);
	curl_easy_setopt(cl->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(cl->curl, CURLOPT_USERAGENT, "tem-acme");
	curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, cl);
	curl_easy_setopt(cl->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cl->curl, CURLOPT_HEADERDATA, cl);
	curl_easy_setopt(cl->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(cl->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(cl->curl, CURLOPT_XFERINFODATA, cl);
	if (cl->p->ca_file) {
		curl_easy_setopt(cl->curl, CURLOPT_SSL_CTX_FUNCTION,
		    on_ssl_ctx);
		curl_easy_setopt(cl->curl, CURLOPT_SSL_CTX_DATA,
		    (void *)(uintptr_t)cl->p->ca_file);
	}
	if (accept) {
		snprintf(hbuf, sizeof(hbuf), "Accept: %s", accept);
		h = curl_slist_append(h, hbuf);
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/jose+json");
		curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS, body);
	} else if (strcmp(url, cl->dir.new_nonce ? cl->dir.new_nonce : "")
	    == 0)
		curl_easy_setopt(cl->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(cl->curl);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		*error_r = xasprintf("%s: %s", url, curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, &cl->status);
	return 0;
}

static char *
problem(struct client *cl, const char *url)
{
	char *pr = acme_parse_problem(cl->body.data, cl->body.len);
	char *s = xasprintf("%s: HTTP %ld %s", url, cl->status,
	    pr ? pr : "");

	free(pr);
	return s;
}

/*
 * A signed POST (payload "" = POST-as-GET): a fresh nonce when none is
 * left, badNonce retried with the nonce of the error answer (RFC 8555
 * section 6.5). 0 on a 2xx answer.
 */
static int
post(struct client *cl, const char *url, const char *payload,
    const char *accept, char **error_r)
{
	for (int tries = 0; tries < BAD_NONCE_TRIES; tries++) {
		char *jws;
		int r;

		if (cl->nonce == NULL) {
			if (http(cl, cl->dir.new_nonce, NULL, NULL,
			    error_r) < 0)
				return -1;
			if (cl->nonce == NULL) {
				*error_r = xasprintf("%s: no Replay-Nonce",
				    cl->dir.new_nonce);
				return -1;
			}
		}
		jws = acme_jws(cl->p->account_key, cl->kid, cl->nonce, url,
		    payload);
		free(cl->nonce);
		cl->nonce = NULL;
		if (jws == NULL) {
			*error_r = xstrdup("cannot sign a request");
			return -1;
		}
		r = http(cl, url, jws, accept, error_r);
		free(jws);
		if (r < 0)
			return -1;
		if (cl->status >= 200 && cl->status < 300)
			return 0;
		if (cl->status == 400 && memmem(cl->body.data, cl->body.len,
		    "urn:ietf:params:acme:error:badNonce", 35) != NULL)
			continue;
		break;
	}
	*error_r = problem(cl, url);
	return -1;
}

static void
wait_retry(struct client *cl)
{
	int s = cl->retry_after > 0 ? cl->retry_after : 1;

	if (s > POLL_MAX_WAIT)
		s = POLL_MAX_WAIT;
	for (int i = 0; i < s * 10 && !atomic_load(cl->p->stop); i++)
		usleep(100 * 1000);
}

static int
timed_out(struct client *cl, const char *what, char **error_r)
{
	if (atomic_load(cl->p->stop)) {
		*error_r = xstrdup("tem is stopping");
		return 1;
	}
	if (time(NULL) < cl->deadline)
		return 0;
	*error_r = xasprintf("%s: no answer within %d s", what,
	    ACME_ORDER_TIMEOUT);
	return 1;
}

static int
account(struct client *cl, char **error_r)
{
	json_t *pl = json_object(), *contact = json_array();
	char *text, *mail;
	int r;

	json_object_set_new(pl, "termsOfServiceAgreed", json_true());
	if (cl->p->email && *cl->p->email) {
		mail = xasprintf("mailto:%s", cl->p->email);
		json_array_append_new(contact, json_string(mail));
		free(mail);
	}
	json_object_set_new(pl, "contact", contact);
	text = json_dumps(pl, JSON_COMPACT);
	json_decref(pl);
	r = post(cl, cl->dir.new_account, text, NULL, error_r);
	free(text);
	if (r < 0)
		return -1;
	if (cl->location == NULL) {
		*error_r = xstrdup("newAccount: no Location");
		return -1;
	}
	cl->kid = cl->location;
	cl->location = NULL;
	return 0;
}

/* Starts the chosen challenge of one authorization and waits for its end. */
static int
authorize(struct client *cl, const char *url, char **error_r)
{
	struct acme_authz a;
	char *keyauth = NULL;
	bool started = false;
	int ret = -1;

	for (;;) {
		if (post(cl, url, "", NULL, error_r) < 0 ||
		    acme_parse_authz(cl->body.data, cl->body.len,
		    cl->p->challenge, &a, error_r) < 0)
			break;
		if (strcmp(a.status, "valid") == 0) {
			ret = 0;
			break;
		}
		if (strcmp(a.status, "pending") != 0) {
			*error_r = xasprintf("authorization %s: %s%s%s",
			    a.name, a.status, a.error ? ": " : "",
			    a.error ? a.error : "");
			break;
		}
		if (a.chal_url == NULL) {
			*error_r = xasprintf("authorization %s: no %s "
			    "challenge", a.name, cl->p->challenge);
			break;
		}
		if (!started) {
			keyauth = xasprintf("%s.%s", a.token, cl->thumb);
			if (strcmp(cl->p->challenge, "http-01") == 0)
				acme_chal_http_add(a.token, keyauth);
			else if (acme_chal_alpn_add(a.name, keyauth) < 0) {
				*error_r = xstrdup("cannot make the "
				    "tls-alpn-01 certificate");
				break;
			}
			if (post(cl, a.chal_url, "{}", NULL, error_r) < 0)
				break;
			started = true;
			log_info("- acme challenge-started name=%s type=%s",
			    a.name, cl->p->challenge);
		}
		if (timed_out(cl, url, error_r))
			break;
		acme_authz_free(&a);
		wait_retry(cl);
	}
	acme_authz_free(&a);
	free(keyauth);
	return ret;
}

/* Polls the order at url until its status is not want_past. */
static int
poll_order(struct client *cl, const char *url, const char *want_past,
    struct acme_order *o, char **error_r)
{
	for (;;) {
		acme_order_free(o);
		if (post(cl, url, "", NULL, error_r) < 0 ||
		    acme_parse_order(cl->body.data, cl->body.len, o,
		    error_r) < 0)
			return -1;
		if (strcmp(o->status, want_past) != 0)
			return 0;
		if (timed_out(cl, url, error_r))
			return -1;
		wait_retry(cl);
	}
}

static int
order(struct client *cl, EVP_PKEY *cert_key, char **chain_r, char **error_r)
{
	json_t *pl = json_object(), *ids = json_array();
	struct acme_order o;
	char *text, *url = NULL, *csr;
	int ret = -1;

	memset(&o, 0, sizeof(o));
	for (int i = 0; i < cl->p->nnames; i++)
		json_array_append_new(ids, json_pack("{s:s,s:s}", "type",
		    "dns", "value", cl->p->names[i]));
	json_object_set_new(pl, "identifiers", ids);
	text = json_dumps(pl, JSON_COMPACT);
	json_decref(pl);
	if (post(cl, cl->dir.new_order, text, NULL, error_r) < 0)
		goto out;
	url = cl->location;
	cl->location = NULL;
	if (url == NULL) {
		*error_r = xstrdup("newOrder: no Location");
		goto out;
	}
	if (acme_parse_order(cl->body.data, cl->body.len, &o, error_r) < 0)
		goto out;
	for (int i = 0; i < o.nauthz; i++)
		if (authorize(cl, o.authz[i], error_r) < 0)
			goto out;
	if (poll_order(cl, url, "pending", &o, error_r) < 0)
		goto out;
	if (strcmp(o.status, "ready") == 0) {
		csr = acme_csr(cert_key, cl->p->names, cl->p->nnames);
		free(text);
		text = csr ? xasprintf("{\"csr\":\"%s\"}", csr) : NULL;
		free(csr);
		if (text == NULL) {
			*error_r = xstrdup("cannot make the CSR");
			goto out;
		}
		if (post(cl, o.finalize, text, NULL, error_r) < 0 ||
		    poll_order(cl, url, "processing", &o, error_r) < 0)
			goto out;
	}
	if (strcmp(o.status, "valid") != 0 || o.certificate == NULL) {
		*error_r = xasprintf("order %s: status %s", url, o.status);
		goto out;
	}
	if (post(cl, o.certificate, "", "application/pem-certificate-chain",
	    error_r) < 0)
		goto out;
	*chain_r = buf_steal(&cl->body, NULL);
	buf_init(&cl->body, ACME_BODY_MAX);
	ret = 0;
out:
	acme_order_free(&o);
	free(text);
	free(url);
	return ret;
}

int
acme_order_cert(const struct acme_params *p, EVP_PKEY *cert_key,
    char **chain_r, char **error_r)
{
	struct client cl;
	int ret = -1;

	memset(&cl, 0, sizeof(cl));
	cl.p = p;
	cl.deadline = time(NULL) + ACME_ORDER_TIMEOUT;
	buf_init(&cl.body, ACME_BODY_MAX);
	cl.curl = curl_easy_init();
	cl.thumb = acme_thumbprint(p->account_key);
	if (cl.curl == NULL || cl.thumb == NULL) {
		*error_r = xstrdup("cannot start libcurl");
		goto out;
	}
	if (http(&cl, p->directory, NULL, NULL, error_r) < 0)
		goto out;
	if (cl.status != 200) {
		*error_r = problem(&cl, p->directory);
		goto out;
	}
	if (acme_parse_dir(cl.body.data, cl.body.len, &cl.dir, error_r) < 0 ||
	    account(&cl, error_r) < 0)
		goto out;
	ret = order(&cl, cert_key, chain_r, error_r);
out:
	acme_chal_clear();
	acme_dir_free(&cl.dir);
	free(cl.nonce);
	free(cl.kid);
	free(cl.thumb);
	free(cl.location);
	buf_free(&cl.body);
	if (cl.curl)
		curl_easy_cleanup(cl.curl);
	return ret;
}
