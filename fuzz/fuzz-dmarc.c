/*
 * fuzz-dmarc - libFuzzer target for the DMARC record parser
 * (policy/dmarc_record.c), and on the same input the RFC5322.From domain
 * and evaluation (dmarc.c), the Public Suffix List look-ups and Punycode
 * (psl.c), and the Authentication-Results builder and stripper
 * (authres.c).
 *
 * Beyond "no crash, no leak, no UB" it checks contracts: a parsed policy
 * has pct <= 100, at most DMARC_URI_MAX URIs per tag, each non-empty
 * with no white space, ',' or '!'; a record that does not start with
 * "v" is never DMARC; evaluation gives a disposition only on fail; a From
 * domain is a valid lowercase DNS name; an org domain is a suffix of the
 * name and the public suffix a suffix of the org domain; Punycode output
 * is ASCII; the built field has only tab-led continuation lines, no CR,
 * and is found again by the stripper, whose ranges are in order, inside
 * the input, and add up with the output to the input's length.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_rr.h"
#include "policy/authres.h"
#include "policy/dmarc.h"
#include "policy/psl.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define HOST	"mx.example.test"

static struct psl *psl;

static const char psl_list[] =
    "com\nuk\nco.uk\n*.ck\n!www.ck\njp\n*.kobe.jp\n!city.kobe.jp\n"
    "公司.cn\ncn\ngithub.io\n";

static void
check_policy(const struct dmarc_policy *p)
{
	CHECK(p->pct <= 100);
	CHECK(p->p <= DMARC_DISP_REJECT && p->sp <= DMARC_DISP_REJECT &&
	    p->np <= DMARC_DISP_REJECT);
	CHECK(p->nrua >= 0 && p->nrua <= DMARC_URI_MAX);
	CHECK(p->nruf >= 0 && p->nruf <= DMARC_URI_MAX);
	for (int i = 0; i < p->nrua + p->nruf; i++) {
		const char *u = i < p->nrua ? p->rua[i].uri :
		    p->ruf[i - p->nrua].uri;

		CHECK(u[0] != '\0' && strchr(u, ':') != NULL);
		CHECK(strpbrk(u, " \t,!") == NULL);
	}
	CHECK(!p->p_defaulted || (p->p == DMARC_DISP_NONE && p->nrua > 0));
}

static void
fuzz_record(const char *data, size_t size, const char *s)
{
	struct dmarc_policy *pol;
	enum dmarc_parse_status st = dmarc_record_parse(data, size, &pol);
	struct dmarc_dkim_result dk = { s, DMARC_AUTH_PASS };
	enum dmarc_disposition disp;
	enum dmarc_result r;
	size_t i = 0;

	while (i < size && (data[i] == ' ' || data[i] == '\t'))
		i++;
	if (i == size || (data[i] | 0x20) != 'v')
		CHECK(st == DMARC_PARSE_NOT_DMARC);
	CHECK((st == DMARC_PARSE_OK) == (pol != NULL));
	if (pol == NULL)
		return;
	check_policy(pol);
	pol->at_org = size & 1;
	pol->from_nonexistent = size & 2;
	r = dmarc_evaluate(pol, s, NULL, DMARC_AUTH_FAIL, s, &dk, 1, psl,
	    &disp);
	CHECK(r == DMARC_RESULT_PASS || r == DMARC_RESULT_FAIL);
	CHECK(r == DMARC_RESULT_FAIL || disp == DMARC_DISP_NONE);
	dmarc_policy_free(&pol);
}

static void
fuzz_from(const char *data, size_t size)
{
	char *d;

	if (dmarc_from_domain(data, size, &d) != DMARC_FROM_OK) {
		CHECK(d == NULL);
		return;
	}
	CHECK(dns_name_valid(d));
	for (const char *p = d; *p; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z'));
	free(d);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return m <= n && strcmp(s + n - m, suffix) == 0;
}

static void
fuzz_psl(const char *s)
{
	char *org = psl_org_domain(psl, s);
	char *ps = psl_public_suffix(psl, s);
	char *reg = psl_registrable_domain(psl, s);
	char *a = psl_domain_to_ascii(s);

	CHECK((org == NULL) == (ps == NULL));
	if (org != NULL) {
		CHECK(ends_with(org, ps));
		CHECK(reg == NULL ? strcmp(org, ps) == 0 :
		    strcmp(org, reg) == 0 && strlen(reg) > strlen(ps));
	}
	if (a != NULL)
		for (const char *p = a; *p; p++)
			CHECK((unsigned char)*p < 0x80);
	free(org);
	free(ps);
	free(reg);
	free(a);
}

static void
fuzz_build(const char *s)
{
	struct authres ar;
	struct authres_range *r;
	char *f, *nl;
	size_t len;

	authres_init(&ar, HOST);
	authres_add(&ar, "spf", "pass", s, "smtp.mailfrom", s, NULL);
	authres_add(&ar, "dkim", "fail", NULL, "header.d", s, "header.s", s,
	    NULL);
	f = authres_finish(&ar, &len);
	CHECK(len == strlen(f) && f[len - 1] == '\n');
	CHECK(strchr(f, '\r') == NULL);
	for (nl = strchr(f, '\n'); nl != NULL && nl[1] != '\0';
	    nl = strchr(nl + 1, '\n'))
		CHECK(nl[1] == '\t');
	CHECK(authres_find_ours(f, len, HOST, &r) == 1);
	CHECK(r[0].off == 0 && r[0].len == len);
	free(r);
	free(f);
}

static void
fuzz_strip(const char *data, size_t size)
{
	struct authres_range *r;
	struct buf out;
	size_t n = authres_find_ours(data, size, HOST, &r), removed = 0;

	for (size_t i = 0; i < n; i++) {
		CHECK(r[i].len > 0 && r[i].off + r[i].len <= size);
		CHECK(i == 0 || r[i].off >= r[i - 1].off + r[i - 1].len);
		removed += r[i].len;
	}
	free(r);
	buf_init(&out, 0);
	CHECK(authres_strip(data, size, HOST, &out) == (int)n);
	CHECK(out.len == size - removed);
	buf_free(&out);
	free(authres_authserv_id(data, size));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	char *s;

	if (psl == NULL)
		psl = psl_parse(psl_list, sizeof(psl_list) - 1);
	fuzz_record(d, size, "example.com");
	fuzz_from(d, size);
	fuzz_strip(d, size);
	if (size > 4096)
		return 0;
	s = xstrndup(d, size);	/* up to the first NUL */
	fuzz_psl(s);
	fuzz_build(s);
	fuzz_record(d, size, s);
	free(s);
	return 0;
}
