/*
 * acme - the ACME thread: when to order, where the files go, and the
 * swap of the TLS context (see acme.h).
 *
 * Trust: writes private keys (0600) under data_dir/acme; reads back only
 * files it wrote. The chain the CA sent is checked (PEM, the leaf's key
 * is ours) before it is kept. Blocking work stays on this thread.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "acme/acme_chal.h"
#include "acme/acme_crypto.h"
#include "acme/acme_proto.h"
#include "conf/conf.h"
#include "server/state.h"
#include "tls/tls.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CHECK_PERIOD	3600
#define RETRY_FIRST	60
#define RETRY_MAX	(6 * 3600)
#define RENEW_BEFORE	(30 * 86400)
#define SHORT_LIFE	(90 * 86400)

static pthread_t acme_thread;
static bool running;
static atomic_bool stopping;
static pthread_mutex_t acme_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acme_cond = PTHREAD_COND_INITIALIZER;

static long
knob(const char *env, long def)
{
	const char *v = getenv(env);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtol(v, &end, 10);
	return *end == '\0' && n > 0 ? n : def;
}

long
acme_renew_before(long lifetime)
{
	return lifetime < SHORT_LIFE ? lifetime / 3 : RENEW_BEFORE;
}

/* The folder `current` names ("cert-TIME"), when there is one. */
static bool
current_name(const struct conf *c, char *name, size_t len)
{
	char *path = xasprintf("%s/acme/current", c->data_dir);
	FILE *f = fopen(path, "r");
	size_t n;

	free(path);
	if (f == NULL)
		return false;
	n = fread(name, 1, len - 1, f);
	fclose(f);
	name[n] = '\0';
	return n > 0 && strncmp(name, "cert-", 5) == 0 && !strchr(name, '/');
}

bool
acme_cert_paths(const struct conf *c, char **cert_r, char **key_r)
{
	char name[64];

	if (c->acme_names.n == 0 || !current_name(c, name, sizeof(name)))
		return false;
	*cert_r = xasprintf("%s/acme/%s/fullchain.pem", c->data_dir, name);
	*key_r = xasprintf("%s/acme/%s/key.pem", c->data_dir, name);
	return true;
}

/* Seconds until the current certificate should be renewed (<= 0: now).
 * Also now when it does not cover every name of acme_names. */
static long
renew_in(const struct conf *c)
{
	char *cert, *key;
	X509 *x = NULL;
	FILE *f;
	long left, life, before, ret = 0;
	int day, sec;

	if (!acme_cert_paths(c, &cert, &key))
		return 0;
	if ((f = fopen(cert, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	free(cert);
	free(key);
	if (x == NULL)
		goto out;
	for (int i = 0; i < c->acme_names.n; i++)
		if (X509_check_host(x, c->acme_names.v[i], 0, 0, NULL) != 1)
			goto out;
	if (!ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(x)))
		goto out;
	left = (long)day * 86400 + sec;
	if (!ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)))
		goto out;
	life = (long)day * 86400 + sec;
	before = knob("TEM_ACME_RENEW_BEFORE_SECONDS",
	    acme_renew_before(life));
	ret = left - before;
out:
	X509_free(x);
	ERR_clear_error();
	return ret;
}

/* The chain is PEM certificates, the first for key: else -1. */
static int
check_chain(const char *chain, EVP_PKEY *key, char *serial, size_t len)
{
	BIO *b = BIO_new_mem_buf(chain, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int ok = x && X509_check_private_key(x, key) == 1;

	if (ok && (bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL))
	    && (hex = BN_bn2hex(bn)))
		snprintf(serial, len, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* Removes cert-* folders other than keep1 and keep2 (the new one and the
 * one it replaces, kept for an administrator going back by hand). */
static void
prune(const char *top, const char *keep1, const char *keep2)
{
	DIR *d = opendir(top);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strncmp(e->d_name, "cert-", 5) != 0 ||
		    strcmp(e->d_name, keep1) == 0 ||
		    (keep2 && strcmp(e->d_name, keep2) == 0))
			continue;
		p = xasprintf("%s/%s/key.pem", top, e->d_name);
		unlink(p);
		free(p);
		p = xasprintf("%s/%s/fullchain.pem", top, e->d_name);
		unlink(p);
		free(p);
		p = xasprintf("%s/%s", top, e->d_name);
		if (rmdir(p) < 0)
			log_warn("- acme prune-failed dir=%s error=\"%s\"", p,
			    strerror(errno));
		free(p);
	}
	closedir(d);
}

/* Writes the new pair in its own folder, then points `current` at it. */
static int
store(const struct conf *c, EVP_PKEY *key, const char *chain,
    char **error_r)
{
	char *name, *top, *dir, *pem, old[64];
	BIO *mem = BIO_new(BIO_s_mem());
	struct timespec now;
	long len;
	int ret = -1;
	bool had = current_name(c, old, sizeof(old));

	/* microseconds: two orders never share a folder */
	clock_gettime(CLOCK_REALTIME, &now);
	name = xasprintf("cert-%lld%06ld", (long long)now.tv_sec,
	    now.tv_nsec / 1000);
	top = xasprintf("%s/acme", c->data_dir);
	dir = xasprintf("%s/%s", top, name);

	if (mkdir(dir, 0700) < 0 || mem == NULL ||
	    !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
		*error_r = xasprintf("cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	len = BIO_get_mem_data(mem, &pem);
	if (fsutil_atomic_write(dir, "key.pem", pem, (size_t)len) < 0 ||
	    fsutil_atomic_write(dir, "fullchain.pem", chain, strlen(chain))
	    < 0 || fsutil_fsync_parent(dir) < 0 ||
	    fsutil_atomic_write(top, "current", name, strlen(name)) < 0) {
		*error_r = xasprintf("cannot write %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	prune(top, name, had ? old : NULL);
	ret = 0;
out:
	BIO_free(mem);
	free(name);
	free(top);
	free(dir);
	return ret;
}

/* Loads the (new) certificate into every listener's TLS context. */
static void
reload_tls(const struct conf *c)
{
	char *err = NULL;
	struct tls_server *t = tls_server_new(c, &err);

	if (t == NULL) {
		log_error("- acme tls-reload-failed error=\"%s\"", err);
		free(err);
		return;
	}
	tls_set_current(t);
}

static int
issue(const struct conf *c, char **error_r)
{
	char *dir = xasprintf("%s/acme", c->data_dir), *chain = NULL;
	struct acme_params p = {
		.directory = c->acme_directory,
		.email = c->acme_email,
		.ca_file = c->acme_ca_file,
		.challenge = c->acme_challenge,
		.names = c->acme_names.v,
		.nnames = c->acme_names.n,
		.stop = &stopping,
	};
	EVP_PKEY *key = NULL;
	char serial[128] = "";
	int ret = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((p.account_key = acme_key_load(dir, "account.key", error_r))
	    == NULL)
		goto out;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		*error_r = xstrdup("cannot make a key");
		goto out;
	}
	if (acme_order_cert(&p, key, &chain, error_r) < 0)
		goto out;
	if (check_chain(chain, key, serial, sizeof(serial)) < 0) {
		*error_r = xstrdup("the CA's chain does not start with our "
		    "certificate");
		goto out;
	}
	if (store(c, key, chain, error_r) < 0)
		goto out;
	log_info("- acme issued names=%d first=%s serial=%s", p.nnames,
	    p.names[0], serial);
	reload_tls(c);
	ret = 0;
out:
	EVP_PKEY_free(p.account_key);
	EVP_PKEY_free(key);
	free(chain);
	free(dir);
	return ret;
}

static void *
acme_main(void *arg)
{
	long retry = 0, wait;

	(void)arg;
	pthread_mutex_lock(&acme_lock);
	while (!stopping) {
		struct server_state *st;
		char *err = NULL;

		pthread_mutex_unlock(&acme_lock);
		st = server_state_get();
		wait = renew_in(st->conf);
		if (wait <= 0 && issue(st->conf, &err) < 0) {
			retry = retry == 0 ? knob("TEM_ACME_RETRY_SECONDS",
			    RETRY_FIRST) : retry * 2 > RETRY_MAX ? RETRY_MAX :
			    retry * 2;
			for (char *q = err; *q; q++)	/* one quoted field */
				if (*q == '"' || *q == '\n')
					*q = '\'';
			log_warn("- acme order-failed retry=%lds error=\"%s\"",
			    retry, err);
			free(err);
			wait = retry;
		} else {
			if (wait <= 0)
				retry = 0;
			wait = renew_in(st->conf);
			if (wait > knob("TEM_ACME_CHECK_SECONDS",
			    CHECK_PERIOD) || wait <= 0)
				wait = knob("TEM_ACME_CHECK_SECONDS",
				    CHECK_PERIOD);
		}
		server_state_unref(&st);
		pthread_mutex_lock(&acme_lock);
		if (!stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait;
			pthread_cond_timedwait(&acme_cond, &acme_lock, &ts);
		}
	}
	pthread_mutex_unlock(&acme_lock);
	return NULL;
}

void
acme_init(const struct conf *c)
{
	if (c->acme_names.n == 0)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatal("acme: cannot initialise libcurl");
	acme_chal_init();
}

void
acme_start(const struct conf *c)
{
	bool http01;

	if (c->acme_names.n == 0)
		return;
	atomic_store(&stopping, false);
	if (pthread_create(&acme_thread, NULL, acme_main, NULL) != 0)
		log_fatal("acme: cannot start the thread");
	running = true;
	http01 = strcmp(c->acme_challenge, "http-01") == 0;
	if (http01 ? c->http_listen.n == 0 : c->https_listen.n == 0)
		log_warn("- acme no-listener challenge=%s need=%s port=%d",
		    c->acme_challenge, http01 ? "http_listen" :
		    "https_listen", http01 ? 80 : 443);
	log_info("- acme started names=%d challenge=%s directory=%s",
	    c->acme_names.n, c->acme_challenge, c->acme_directory);
}

void
acme_wake(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&acme_lock);
	pthread_cond_signal(&acme_cond);
	pthread_mutex_unlock(&acme_lock);
}

void
acme_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&acme_lock);
	atomic_store(&stopping, true);
	pthread_cond_signal(&acme_cond);
	pthread_mutex_unlock(&acme_lock);
	pthread_join(acme_thread, NULL);
	running = false;
	curl_global_cleanup();
}
