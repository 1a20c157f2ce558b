/*
 * report_build - the report documents and the message that carries them
 * (see report.h): the RFC 8460 4.4 JSON, the RFC 7489 appendix C XML,
 * gzip, and the MIME message of RFC 8460 5.3 / RFC 7489 7.2.1.1.
 *
 * Trust: the fields were cleaned by report_note.c but still come from
 * peers: JSON is written by jansson, XML text goes through xml_text()
 * (entities, and bytes that XML 1.0 forbids replaced), header values are
 * our own names (the domain was a DNS name we looked up). I/O-free.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report/report.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* ---- TLS-RPT JSON ---------------------------------------------------- */

static void
set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, k, json_string(v));
}

char *
report_tls_json(const struct report_tls *t, const struct report_who *who)
{
	json_t *o = json_object(), *dr = json_object(), *pols = json_array();
	char buf[32];
	char *s;

	json_object_set_new(o, "organization-name", json_string(who->org));
	snprintf(buf, sizeof(buf), "%sT00:00:00Z", t->day);
	json_object_set_new(dr, "start-datetime", json_string(buf));
	snprintf(buf, sizeof(buf), "%sT23:59:59Z", t->day);
	json_object_set_new(dr, "end-datetime", json_string(buf));
	json_object_set_new(o, "date-range", dr);
	json_object_set_new(o, "contact-info", json_string(who->contact));
	json_object_set_new(o, "report-id", json_string(who->report_id));
	for (size_t i = 0; i < t->np; i++) {
		const struct report_tls_policy *p = &t->p[i];
		json_t *e = json_object(), *sum = json_object(), *fd;
		json_t *pol = json_loads(p->policy, 0, NULL);

		if (pol == NULL)
			pol = json_pack("{ssss}", "policy-type",
			    "no-policy-found", "policy-domain", t->domain);
		json_object_set_new(e, "policy", pol);
		json_object_set_new(sum, "total-successful-session-count",
		    json_integer((json_int_t)p->success));
		json_object_set_new(sum, "total-failure-session-count",
		    json_integer((json_int_t)p->failure));
		json_object_set_new(e, "summary", sum);
		fd = json_array();
		for (size_t j = 0; j < p->nd; j++) {
			const struct report_tls_detail *d = &p->d[j];
			json_t *x = json_object();

			set_str(x, "result-type", d->result);
			set_str(x, "sending-mta-ip", d->sending_ip);
			set_str(x, "receiving-mx-hostname", d->receiving_mx);
			set_str(x, "receiving-mx-helo", d->receiving_helo);
			set_str(x, "receiving-ip", d->receiving_ip);
			json_object_set_new(x, "failed-session-count",
			    json_integer((json_int_t)d->count));
			set_str(x, "additional-information", d->additional);
			json_array_append_new(fd, x);
		}
		if (p->nd > 0)
			json_object_set_new(e, "failure-details", fd);
		else
			json_decref(fd);
		json_array_append_new(pols, e);
	}
	json_object_set_new(o, "policies", pols);
	s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* ---- DMARC XML ------------------------------------------------------- */

/* s as XML character data: &<>"' as entities, control bytes as '?'. */
static void
xml_text(struct buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&apos;"); break;
		default:
			buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
		}
	}
}

static void
xml_el(struct buf *b, const char *indent, const char *name, const char *v)
{
	buf_printf(b, "%s<%s>", indent, name);
	xml_text(b, v);
	buf_printf(b, "</%s>\n", name);
}

static const char *
jstr(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : dflt;
}

/* One row's auth_results from its JSON columns. */
static void
xml_auth(struct buf *b, const struct report_dmarc_row *r)
{
	json_t *dk = json_loads(r->dkim, 0, NULL);
	json_t *sp = json_loads(r->spf, 0, NULL);
	size_t i;
	json_t *v;

	buf_puts(b, "    <auth_results>\n");
	json_array_foreach(dk, i, v) {
		const char *d = json_string_value(json_array_get(v, 0));
		const char *s = json_string_value(json_array_get(v, 1));
		const char *res = json_string_value(json_array_get(v, 2));

		buf_puts(b, "      <dkim>\n");
		xml_el(b, "        ", "domain", d ? d : "");
		if (s != NULL && *s)
			xml_el(b, "        ", "selector", s);
		xml_el(b, "        ", "result", res ? res : "none");
		buf_puts(b, "      </dkim>\n");
	}
	buf_puts(b, "      <spf>\n");
	xml_el(b, "        ", "domain", json_string_value(
	    json_array_get(sp, 0)));
	xml_el(b, "        ", "scope", json_string_value(
	    json_array_get(sp, 1)));
	xml_el(b, "        ", "result", json_string_value(
	    json_array_get(sp, 2)));
	buf_puts(b, "      </spf>\n");
	buf_puts(b, "    </auth_results>\n");
	json_decref(dk);
	json_decref(sp);
}

char *
report_dmarc_xml(const struct report_dmarc *d, const struct report_who *who)
{
	json_t *pol = json_loads(d->policy ? d->policy : "{}", 0, NULL);
	time_t begin = report_day_start(d->day);
	struct buf b;
	char num[32];

	if (pol == NULL)
		pol = json_object();
	buf_init(&b, 0);
	buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback>\n  <version>1.0</version>\n  <report_metadata>\n");
	xml_el(&b, "    ", "org_name", who->org);
	xml_el(&b, "    ", "email", who->contact);
	xml_el(&b, "    ", "report_id", who->report_id);
	buf_printf(&b, "    <date_range>\n      <begin>%lld</begin>\n"
	    "      <end>%lld</end>\n    </date_range>\n",
	    (long long)begin, (long long)begin + 86399);
	buf_puts(&b, "  </report_metadata>\n  <policy_published>\n");
	xml_el(&b, "    ", "domain", d->domain);
	xml_el(&b, "    ", "adkim", jstr(pol, "adkim", "r"));
	xml_el(&b, "    ", "aspf", jstr(pol, "aspf", "r"));
	xml_el(&b, "    ", "p", jstr(pol, "p", "none"));
	xml_el(&b, "    ", "sp", jstr(pol, "sp", "none"));
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(
	    json_object_get(pol, "pct")));
	xml_el(&b, "    ", "pct", num);
	xml_el(&b, "    ", "fo", jstr(pol, "fo", "0"));
	buf_puts(&b, "  </policy_published>\n");
	for (size_t i = 0; i < d->nr; i++) {
		const struct report_dmarc_row *r = &d->r[i];

		buf_puts(&b, "  <record>\n    <row>\n");
		xml_el(&b, "      ", "source_ip", r->source_ip);
		buf_printf(&b, "      <count>%llu</count>\n",
		    (unsigned long long)r->count);
		buf_puts(&b, "      <policy_evaluated>\n");
		xml_el(&b, "        ", "disposition", r->disposition);
		xml_el(&b, "        ", "dkim", r->dkim_eval);
		xml_el(&b, "        ", "spf", r->spf_eval);
		buf_puts(&b, "      </policy_evaluated>\n    </row>\n");
		buf_puts(&b, "    <identifiers>\n");
		xml_el(&b, "      ", "envelope_from", r->envelope_from);
		xml_el(&b, "      ", "header_from", r->header_from);
		buf_puts(&b, "    </identifiers>\n");
		xml_auth(&b, r);
		buf_puts(&b, "  </record>\n");
	}
	buf_puts(&b, "</feedback>\n");
	json_decref(pol);
	return buf_steal(&b, NULL);
}

/* ---- gzip ------------------------------------------------------------ */

int
report_gzip(const void *in, size_t len, struct buf *out)
{
	z_stream z;
	unsigned char chunk[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper rather than zlib's */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		buf_append(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK);
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* ---- the message ----------------------------------------------------- */

char *
report_mail_build(const struct report_mail *m, size_t *len_r)
{
	struct buf b, b64;
	char date[64], bound[64];
	struct tm tm;

	gmtime_r(&m->now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(bound, sizeof(bound), "=_tem-report-%llx",
	    (unsigned long long)m->now ^ (unsigned long long)m->gzlen);
	buf_init(&b, 0);
	buf_init(&b64, 0);
	base64_encode(m->gz, m->gzlen, &b64);
	buf_printf(&b, "From: <%s>\nTo: <%s>\nDate: %s\n", m->from, m->to,
	    date);
	buf_printf(&b, "Subject: Report Domain: %s Submitter: %s "
	    "Report-ID: <%s>\n", m->domain, m->submitter, m->report_id);
	buf_printf(&b, "Message-ID: <%s>\nMIME-Version: 1.0\n",
	    m->report_id);
	if (m->tls)
		buf_printf(&b, "TLS-Report-Domain: %s\nTLS-Report-Submitter: "
		    "%s\nContent-Type: multipart/report; "
		    "report-type=\"tlsrpt\";\n\tboundary=\"%s\"\n\n", m->domain,
		    m->submitter, bound);
	else
		buf_printf(&b, "Content-Type: multipart/mixed;\n"
		    "\tboundary=\"%s\"\n\n", bound);
	buf_printf(&b, "--%s\nContent-Type: text/plain; charset=us-ascii\n\n"
	    "This is an aggregate %s report from %s for %s.\n\n", bound,
	    m->tls ? "TLS" : "DMARC", m->submitter, m->domain);
	buf_printf(&b, "--%s\nContent-Type: %s\nContent-Transfer-Encoding: "
	    "base64\nContent-Disposition: attachment;\n\tfilename=\"%s\"\n\n",
	    bound, m->tls ? "application/tlsrpt+gzip" : "application/gzip",
	    m->filename);
	for (size_t i = 0; i < b64.len; i += 76) {
		size_t n = b64.len - i < 76 ? b64.len - i : 76;

		buf_append(&b, b64.data + i, n);
		buf_putc(&b, '\n');
	}
	buf_printf(&b, "\n--%s--\n", bound);
	buf_free(&b64);
	return buf_steal(&b, len_r);
}
