/*
 * test-report - the report counters, their store and the builders
 * (report.h): counts per policy and failure, the limits, the JSON and
 * XML documents, gzip and the message.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "policy/dkim.h"
#include "policy/dmarc.h"
#include "policy/tlsrpt.h"
#include "report/report.h"
#include "report/report_int.h"
#include "report/report_post.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char tmpdir[] = "/tmp/test-report-XXXXXX";

static void
flush(struct report_db *db, uint64_t *dropped_r)
{
	uint64_t mem;
	struct hashmap *m = report_pending_take(&mem);

	report_db_flush(db, m, dropped_r);
	report_pending_free(&m);
}

static void
note(const char *domain, enum tlsrpt_result res, const char *mx,
    const char *rip)
{
	const char *pol[] = { "version: STSv1", "mode: enforce",
	    "mx: *.mx.b.test", "max_age: 86400" };
	const char *mxp[] = { "*.mx.b.test" };
	struct tlsrpt_event ev = { .policy_domain = domain,
	    .type = TLSRPT_POLICY_STS, .policy_strings = pol,
	    .n_policy_strings = 4, .mx_patterns = mxp, .n_mx_patterns = 1,
	    .result = res, .sending_ip = "127.0.0.1", .receiving_mx = mx,
	    .receiving_ip = rip, .additional = "x\x01y" };

	tlsrpt_note(&ev);
}

static void
test_tls_counts(void)
{
	struct report_db *db;
	struct report_tls t;
	struct report_who who = { "tem.test", "postmaster@a.test", "id-1" };
	char *err = NULL, day[11], *js;
	uint64_t dropped;
	json_t *o, *p;
	json_error_t je;

	db = report_db_open(tmpdir, &err);
	TEST_ASSERT(db != NULL);
	report_counting(true, true);
	for (int i = 0; i < 5; i++)
		note("b.test", TLSRPT_SUCCESS, "mx1.mx.b.test", "127.0.0.2");
	note("b.test", TLSRPT_CERT_EXPIRED, "mx1.mx.b.test", "127.0.0.2");
	flush(db, &dropped);	/* two flushes add up */
	note("b.test", TLSRPT_CERT_EXPIRED, "mx1.mx.b.test", "127.0.0.2");
	note("b.test", TLSRPT_STARTTLS_NOT_SUPPORTED, "mx2.mx.b.test",
	    "127.0.0.3");
	flush(db, &dropped);
	TEST_ASSERT(dropped == 0);
	report_day(time(NULL), day);
	TEST_ASSERT(report_db_tls(db, day, "b.test", &t) == 0);
	TEST_ASSERT(t.np == 1);
	TEST_ASSERT(t.p[0].success == 5 && t.p[0].failure == 3);
	TEST_ASSERT(t.p[0].nd == 2);
	TEST_ASSERT_STREQ(t.p[0].d[0].result, "certificate-expired");
	TEST_ASSERT(t.p[0].d[0].count == 2);
	TEST_ASSERT_STREQ(t.p[0].d[0].additional, "x?y");
	js = report_tls_json(&t, &who);
	o = json_loads(js, 0, &je);
	free(js);
	TEST_ASSERT(o != NULL);
	TEST_ASSERT_STREQ(json_string_value(json_object_get(o, "report-id")),
	    "id-1");
	p = json_array_get(json_object_get(o, "policies"), 0);
	TEST_ASSERT_STREQ(json_string_value(json_object_get(json_object_get(
	    p, "policy"), "policy-type")), "sts");
	TEST_ASSERT(json_integer_value(json_object_get(json_object_get(p,
	    "summary"), "total-failure-session-count")) == 3);
	TEST_ASSERT(json_array_size(json_object_get(p, "failure-details"))
	    == 2);
	TEST_ASSERT(json_array_size(json_object_get(json_object_get(p,
	    "policy"), "mx-host")) == 1);
	json_decref(o);
	report_tls_clear(&t);
	report_db_close(&db);
}

/* More distinct failures than REPORT_DETAILS_MAX: the rest dropped. */
static void
test_tls_limits(void)
{
	struct report_db *db;
	struct report_tls t;
	char *err = NULL, day[11], ip[32];
	uint64_t dropped;

	db = report_db_open(tmpdir, &err);
	TEST_ASSERT(db != NULL);
	for (int i = 0; i < REPORT_DETAILS_MAX + 7; i++) {
		snprintf(ip, sizeof(ip), "127.0.%d.%d", i / 250, i % 250);
		note("c.test", TLSRPT_VALIDATION_FAILURE, "mx.c.test", ip);
	}
	flush(db, &dropped);
	TEST_ASSERT(dropped == 7);
	report_day(time(NULL), day);
	report_db_tls(db, day, "c.test", &t);
	TEST_ASSERT(t.np == 1 && t.p[0].failure == REPORT_DETAILS_MAX + 7);
	TEST_ASSERT(t.p[0].nd == REPORT_DETAILS_MAX);
	report_tls_clear(&t);
	report_counting(false, false);	/* off: nothing counted */
	note("d.test", TLSRPT_SUCCESS, "mx.d.test", "127.0.0.9");
	report_counting(true, true);
	flush(db, &dropped);
	report_db_tls(db, day, "d.test", &t);
	TEST_ASSERT(t.np == 0);
	report_tls_clear(&t);
	report_db_close(&db);
}

static void
dmarc_note(const struct dmarc_policy *pol, const char *ip, bool pass,
    const char *disp)
{
	struct dkim_sig_result sig = { .status = pass ? DKIM_PASS : DKIM_FAIL,
	    .domain = "e.test", .selector = "s1" };
	struct report_dmarc_event ev = { .source_ip = ip,
	    .header_from = "e.test", .envelope_from = "bounce.e.test",
	    .pol = pol, .disposition = disp, .dkim_aligned_pass = pass,
	    .spf_aligned_pass = false, .dkim = &sig, .ndkim = 1,
	    .spf_domain = "bounce.e.test", .spf_scope = "mfrom",
	    .spf_result = "softfail" };

	report_note_dmarc(&ev);
}

static void
test_dmarc(void)
{
	static const char rec[] = "v=DMARC1; p=reject; pct=50; adkim=s; "
	    "rua=mailto:agg@e.test!10m,mailto:x@other.test";
	struct dmarc_policy *pol = NULL;
	struct report_db *db;
	struct report_dmarc d;
	struct report_who who = { "tem.test", "postmaster@a.test",
	    "r<&>" };
	char *err = NULL, day[11], *xml;
	uint64_t dropped;

	TEST_ASSERT(dmarc_record_parse(rec, strlen(rec), &pol) ==
	    DMARC_PARSE_OK);
	pol->domain = xstrdup("e.test");
	db = report_db_open(tmpdir, &err);
	TEST_ASSERT(db != NULL);
	dmarc_note(pol, "127.0.0.5", true, "none");
	dmarc_note(pol, "127.0.0.5", true, "none");
	dmarc_note(pol, "127.0.0.6", false, "reject");
	flush(db, &dropped);
	report_day(time(NULL), day);
	TEST_ASSERT(report_db_dmarc(db, day, "e.test", &d) == 0);
	TEST_ASSERT(d.nr == 2);
	TEST_ASSERT(d.r[0].count == 2);
	TEST_ASSERT_STREQ(d.r[0].source_ip, "127.0.0.5");
	TEST_ASSERT_STREQ(d.r[1].disposition, "reject");
	xml = report_dmarc_xml(&d, &who);
	TEST_ASSERT(strstr(xml, "<report_id>r&lt;&amp;&gt;</report_id>"));
	TEST_ASSERT(strstr(xml, "<p>reject</p>"));
	TEST_ASSERT(strstr(xml, "<pct>50</pct>"));
	TEST_ASSERT(strstr(xml, "<adkim>s</adkim>"));
	TEST_ASSERT(strstr(xml, "<count>2</count>"));
	TEST_ASSERT(strstr(xml, "<selector>s1</selector>"));
	TEST_ASSERT(strstr(xml, "<scope>mfrom</scope>"));
	TEST_ASSERT(strstr(xml, "<result>softfail</result>"));
	TEST_ASSERT(strstr(xml, "<envelope_from>bounce.e.test"));
	TEST_ASSERT(strstr(d.policy, "\"max\":10485760"));
	free(xml);
	report_dmarc_clear(&d);
	dmarc_policy_free(&pol);
	report_db_close(&db);
}

static void
test_gzip_mail(void)
{
	static const char text[] = "{\"a\": 1}\n";
	struct buf gz;
	unsigned char out[64];
	z_stream z;
	char *msg;
	size_t len;
	struct report_mail m = { .tls = true, .from = "p@a.test",
	    .to = "tls@b.test", .domain = "b.test", .submitter = "mx.a.test",
	    .report_id = "id@mx.a.test", .filename = "mx.a.test!b.test!0!1"
	    ".json.gz", .now = 0 };

	buf_init(&gz, 0);
	TEST_ASSERT(report_gzip(text, strlen(text), &gz) == 0);
	TEST_ASSERT(gz.len > 10 && (unsigned char)gz.data[0] == 0x1f);
	memset(&z, 0, sizeof(z));
	inflateInit2(&z, 15 + 16);
	z.next_in = (unsigned char *)gz.data;
	z.avail_in = (uInt)gz.len;
	z.next_out = out;
	z.avail_out = sizeof(out);
	TEST_ASSERT(inflate(&z, Z_FINISH) == Z_STREAM_END);
	inflateEnd(&z);
	TEST_ASSERT(z.total_out == strlen(text) &&
	    memcmp(out, text, strlen(text)) == 0);
	m.gz = gz.data;
	m.gzlen = gz.len;
	msg = report_mail_build(&m, &len);
	TEST_ASSERT(strstr(msg, "\nTLS-Report-Domain: b.test\n"));
	TEST_ASSERT(strstr(msg, "\nTLS-Report-Submitter: mx.a.test\n"));
	TEST_ASSERT(strstr(msg, "Subject: Report Domain: b.test Submitter: "
	    "mx.a.test Report-ID: <id@mx.a.test>\n"));
	TEST_ASSERT(strstr(msg, "report-type=\"tlsrpt\""));
	TEST_ASSERT(strstr(msg, "application/tlsrpt+gzip"));
	TEST_ASSERT(strstr(msg, "filename=\"mx.a.test!b.test!0!1.json.gz\""));
	free(msg);
	buf_free(&gz);
}

static void
test_day(void)
{
	char day[11];

	TEST_ASSERT(report_day_start("2026-12-07") == 1796601600);
	TEST_ASSERT(report_day_start("2026-13-07") == -1);
	TEST_ASSERT(report_day_start("2026-12-7") == -1);
	report_day(1796601600 + 86399, day);
	TEST_ASSERT_STREQ(day, "2026-12-07");
}

static void
test_url_host(void)
{
	static const char *const bad[] = { "http://a.test/", "https://",
	    "https:///x", "https://a.test:0/", "https://a.test:65536/",
	    "https://a.test:x/", "https://u@a.test/", "https://[]/",
	    "https://[::1/", "https://[::1]x/", "mailto:a@b", "https://:443/" };
	char *host = NULL;
	unsigned port = 0;

	TEST_ASSERT(report_url_host("https://rep.test/tlsrpt", &host, &port));
	TEST_ASSERT_STREQ(host, "rep.test");
	TEST_ASSERT(port == 443);
	free(host);
	TEST_ASSERT(report_url_host("HTTPS://rep.test:8443", &host, &port));
	TEST_ASSERT_STREQ(host, "rep.test");
	TEST_ASSERT(port == 8443);
	free(host);
	TEST_ASSERT(report_url_host("https://[::1]:444/x?y", &host, &port));
	TEST_ASSERT_STREQ(host, "::1");
	TEST_ASSERT(port == 444);
	free(host);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		host = NULL;
		if (report_url_host(bad[i], &host, &port))
			fprintf(stderr, "  accepted %s\n", bad[i]);
		TEST_ASSERT(host == NULL);
	}
}

int
main(void)
{
	char *cmd;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	TEST_RUN(test_tls_counts);
	TEST_RUN(test_tls_limits);
	TEST_RUN(test_dmarc);
	TEST_RUN(test_gzip_mail);
	TEST_RUN(test_day);
	TEST_RUN(test_url_host);
	cmd = xasprintf("rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return test_done("test-report");
}
