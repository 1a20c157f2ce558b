/*
 * report_note - the counters of TLS attempts (tlsrpt_note, the contract
 * of policy/tlsrpt.h) and DMARC evaluations (report_note_dmarc), kept in
 * memory until the report thread takes them (report_int.h).
 *
 * Trust: every field comes from a peer or DNS: control bytes become '?',
 * each field is cut at REPORT_FIELD_MAX, a policy over REPORT_POLICY_MAX
 * is dropped, and at most REPORT_PENDING_MAX counters live between two
 * flushes (more are counted as dropped, logged by the flush).
 *
 * Thread: any; one mutex, held only to find and bump a counter.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dkim.h"
#include "policy/dmarc.h"
#include "policy/tlsrpt.h"
#include "report/report.h"
#include "report/report_int.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *pending;
static uint64_t pending_dropped;
static size_t pending_bytes;		/* of the keys in pending */
static atomic_bool count_tls, count_dmarc;

void
report_counting(bool tls, bool dmarc)
{
	atomic_store(&count_tls, tls);
	atomic_store(&count_dmarc, dmarc);
}

void
report_day(time_t t, char day[11])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

time_t
report_day_start(const char *day)
{
	struct tm tm = { 0 };
	int y, m, d;
	char end;

	if (day == NULL || strlen(day) != 10 ||
	    sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 ||
	    y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return timegm(&tm);
}

/* Appends s (NULL: "") cleaned and cut, then the separator unless last. */
static void
key_field(struct buf *k, const char *s, bool last)
{
	size_t n = 0;

	for (; s != NULL && *s && n < REPORT_FIELD_MAX; s++, n++) {
		unsigned char c = (unsigned char)*s;
		buf_putc(k, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	if (!last)
		buf_putc(k, REPORT_SEP);
}

static void
count_free(void *v)
{
	struct report_count *c = v;

	free(c->extra);
	free(c);
}

/* Adds (a, b) to the counter at key (or sets its extra); false when a
 * new counter would pass REPORT_PENDING_MAX. Takes extra. */
static bool
bump(const char *key, uint64_t a, uint64_t b, char *extra)
{
	struct report_count *c;
	bool ok = true;

	pthread_mutex_lock(&note_lock);
	if (pending == NULL)
		pending = hashmap_new(0);
	c = hashmap_get(pending, key);
	if (c == NULL && (hashmap_count(pending) >= REPORT_PENDING_MAX ||
	    pending_bytes + strlen(key) > REPORT_PENDING_BYTES)) {
		pending_dropped++;
		ok = false;
	} else {
		if (c == NULL) {
			c = xcalloc(1, sizeof(*c));
			hashmap_put(pending, key, c);
			pending_bytes += strlen(key);
		}
		c->a += a;
		c->b += b;
		if (extra != NULL) {
			free(c->extra);
			c->extra = extra;
			extra = NULL;
		}
	}
	pthread_mutex_unlock(&note_lock);
	free(extra);
	return ok;
}

struct hashmap *
report_pending_take(uint64_t *dropped_r)
{
	struct hashmap *m;

	pthread_mutex_lock(&note_lock);
	m = pending != NULL ? pending : hashmap_new(0);
	pending = hashmap_new(0);
	pending_bytes = 0;
	*dropped_r = pending_dropped;
	pending_dropped = 0;
	pthread_mutex_unlock(&note_lock);
	return m;
}

void
report_pending_free(struct hashmap **m)
{
	hashmap_free(m, count_free);
}

/* ---- TLS-RPT ------------------------------------------------------- */

static json_t *
json_strings(const char *const *s, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(s[i] ? s[i] : ""));
	return a;
}

/* The RFC 8460 4.4 "policy" object of ev as compact JSON with sorted
 * keys (equal policies give equal text: it is part of the key). */
static char *
tls_policy_json(const struct tlsrpt_event *ev)
{
	static const char *const types[] = { "no-policy-found", "tlsa",
	    "sts" };
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "policy-type", json_string(
	    (unsigned)ev->type < 3 ? types[ev->type] : "no-policy-found"));
	if (ev->n_policy_strings > 0)
		json_object_set_new(o, "policy-string", json_strings(
		    ev->policy_strings, ev->n_policy_strings));
	json_object_set_new(o, "policy-domain", json_string(
	    ev->policy_domain));
	if (ev->type == TLSRPT_POLICY_STS && ev->n_mx_patterns > 0)
		json_object_set_new(o, "mx-host", json_strings(
		    ev->mx_patterns, ev->n_mx_patterns));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

void
tlsrpt_note(const struct tlsrpt_event *ev)
{
	struct buf k;
	char day[11], *pol;
	bool ok = ev->result == TLSRPT_SUCCESS;
	size_t plen;

	if (!atomic_load(&count_tls) || ev->policy_domain == NULL ||
	    *ev->policy_domain == '\0')
		return;
	/* invalid UTF-8 makes jansson refuse a string: nothing to count */
	if ((pol = tls_policy_json(ev)) == NULL)
		return;
	if ((plen = strlen(pol)) > REPORT_POLICY_MAX) {
		free(pol);
		pthread_mutex_lock(&note_lock);
		pending_dropped++;
		pthread_mutex_unlock(&note_lock);
		return;
	}
	report_day(time(NULL), day);
	buf_init(&k, 0);
	buf_puts(&k, "P\x1f");
	key_field(&k, day, false);
	key_field(&k, ev->policy_domain, false);
	buf_append(&k, pol, plen);
	bump(buf_cstr(&k), ok, !ok, NULL);
	if (!ok) {
		buf_reset(&k);
		buf_puts(&k, "F\x1f");
		key_field(&k, day, false);
		key_field(&k, ev->policy_domain, false);
		buf_append(&k, pol, plen);
		buf_putc(&k, REPORT_SEP);
		key_field(&k, tlsrpt_result_name(ev->result), false);
		key_field(&k, ev->sending_ip, false);
		key_field(&k, ev->receiving_mx, false);
		key_field(&k, ev->receiving_helo, false);
		key_field(&k, ev->receiving_ip, false);
		key_field(&k, ev->additional, true);
		bump(buf_cstr(&k), 1, 0, NULL);
	}
	buf_free(&k);
	free(pol);
}

const char *
tlsrpt_result_name(enum tlsrpt_result r)
{
	static const char *const names[] = {
		[TLSRPT_SUCCESS] = "success",
		[TLSRPT_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
		[TLSRPT_CERT_HOST_MISMATCH] = "certificate-host-mismatch",
		[TLSRPT_CERT_EXPIRED] = "certificate-expired",
		[TLSRPT_CERT_NOT_TRUSTED] = "certificate-not-trusted",
		[TLSRPT_VALIDATION_FAILURE] = "validation-failure",
		[TLSRPT_TLSA_INVALID] = "tlsa-invalid",
		[TLSRPT_DNSSEC_INVALID] = "dnssec-invalid",
		[TLSRPT_DANE_REQUIRED] = "dane-required",
		[TLSRPT_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
		[TLSRPT_STS_POLICY_INVALID] = "sts-policy-invalid",
		[TLSRPT_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
	};

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "validation-failure";
	return names[r];
}

/* ---- DMARC ----------------------------------------------------------- */

/* The published policy as JSON {p, sp, pct, adkim, aspf, fo, rua[]}. */
static char *
dmarc_policy_json(const struct dmarc_policy *pol)
{
	json_t *o = json_object(), *rua = json_array();
	char fo[8] = "", *s;

	json_object_set_new(o, "p", json_string(dmarc_disposition_str(
	    pol->p)));
	json_object_set_new(o, "sp", json_string(dmarc_disposition_str(
	    pol->sp)));
	json_object_set_new(o, "pct", json_integer(pol->pct));
	json_object_set_new(o, "adkim", json_string(pol->adkim_strict ?
	    "s" : "r"));
	json_object_set_new(o, "aspf", json_string(pol->aspf_strict ?
	    "s" : "r"));
	if (pol->fo & DMARC_FO_0)
		strcat(fo, "0:");
	if (pol->fo & DMARC_FO_1)
		strcat(fo, "1:");
	if (pol->fo & DMARC_FO_D)
		strcat(fo, "d:");
	if (pol->fo & DMARC_FO_S)
		strcat(fo, "s:");
	if (fo[0] != '\0')
		fo[strlen(fo) - 1] = '\0';
	json_object_set_new(o, "fo", json_string(fo[0] ? fo : "0"));
	for (int i = 0; i < pol->nrua && i < DMARC_URI_MAX; i++) {
		json_t *u = json_object();

		json_object_set_new(u, "uri", json_string(pol->rua[i].uri));
		json_object_set_new(u, "max", json_integer((json_int_t)
		    pol->rua[i].max_size));
		json_array_append_new(rua, u);
	}
	json_object_set_new(o, "rua", rua);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

/* [[domain, selector, result], ...] and [domain, scope, result]. */
static char *
dmarc_auth_json(const struct report_dmarc_event *ev, bool dkim)
{
	json_t *a = json_array();
	char *s;

	if (dkim) {
		for (size_t i = 0; i < ev->ndkim && i < 8; i++) {
			const struct dkim_sig_result *g = &ev->dkim[i];

			json_array_append_new(a, json_pack("[sss]",
			    g->domain ? g->domain : "",
			    g->selector ? g->selector : "",
			    dkim_status_str(g->status)));
		}
	} else {
		json_array_append_new(a, json_string(ev->spf_domain ?
		    ev->spf_domain : ""));
		json_array_append_new(a, json_string(ev->spf_scope));
		json_array_append_new(a, json_string(ev->spf_result));
	}
	s = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(a);
	return s;
}

void
report_note_dmarc(const struct report_dmarc_event *ev)
{
	char day[11], *pol, *dk, *sp;
	struct buf k;

	if (!atomic_load(&count_dmarc) || ev->pol == NULL ||
	    ev->pol->domain == NULL || ev->pol->nrua == 0)
		return;
	pol = dmarc_policy_json(ev->pol);
	dk = dmarc_auth_json(ev, true);
	sp = dmarc_auth_json(ev, false);
	if (pol == NULL || dk == NULL || sp == NULL ||
	    strlen(dk) > REPORT_POLICY_MAX) {
		free(pol), free(dk), free(sp);
		return;
	}
	report_day(time(NULL), day);
	buf_init(&k, 0);
	buf_puts(&k, "D\x1f");
	key_field(&k, day, false);
	key_field(&k, ev->pol->domain, true);
	bump(buf_cstr(&k), 0, 0, pol);
	buf_reset(&k);
	buf_puts(&k, "R\x1f");
	key_field(&k, day, false);
	key_field(&k, ev->pol->domain, false);
	key_field(&k, ev->source_ip, false);
	key_field(&k, ev->disposition, false);
	key_field(&k, ev->dkim_aligned_pass ? "pass" : "fail", false);
	key_field(&k, ev->spf_aligned_pass ? "pass" : "fail", false);
	key_field(&k, ev->header_from, false);
	key_field(&k, ev->envelope_from, false);
	buf_puts(&k, dk);
	buf_putc(&k, REPORT_SEP);
	key_field(&k, sp, true);
	bump(buf_cstr(&k), 1, 0, NULL);
	buf_free(&k);
	free(dk);
	free(sp);
}
