/*
 * fuzz-spf - libFuzzer target for the SPF record parser (spf_record.c)
 * and macro expansion (spf_macro.c).
 *
 * The input is parsed as a record as it is, and with "v=spf1 " in front.
 * Beyond "no crash, no leak, no UB" it checks contracts: an error is one
 * printable line; a parsed record has prefix lengths in range, domain-specs
 * that pass the domain check, and every domain-spec expands to printable
 * ASCII of at most 253 octets; a string that does not use %{p} expands the
 * same whatever p is; the input as exp text expands to at most
 * SPF_EXPLAIN_MAX octets.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/spf_macro.h"
#include "policy/spf_record.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const struct spf_macro_vars vars = {
	.s = "strong-bad@email.example.com", .l = "strong-bad",
	.o = "email.example.com", .d = "email.example.com",
	.i = "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
	.p = NULL, .v = "ip6", .h = "mx.example.org", .c = "2001:db8::cb01",
	.r = "example.net", .t = "1700000000",
};

static bool
printable(const char *s, bool sp)
{
	for (; *s; s++) {
		if ((unsigned char)*s > 0x7e || (unsigned char)*s < 0x20 ||
		    (!sp && *s == ' '))
			return false;
	}
	return true;
}

/* Expands s as kind with p unknown and with p set: same unless %{p}. */
static void
check_expand(const char *s, size_t len, enum spf_macro_kind kind)
{
	struct spf_macro_vars v2 = vars;
	const char *why = NULL;
	char *a, *b;
	size_t max = kind == SPF_MACRO_EXPLAIN ? SPF_EXPLAIN_MAX :
	    kind == SPF_MACRO_DOMAIN ? SPF_DOMAIN_MAX : (size_t)-1;

	a = spf_macro_expand(s, len, kind, &vars, &why);
	if (a == NULL) {
		CHECK(why != NULL && spf_macro_check(s, len, kind, &why) < 0);
		return;
	}
	CHECK(printable(a, true));
	/* One huge label cannot be cut at a dot: then it is never a valid
	 * name, and may stay long. */
	if (kind != SPF_MACRO_DOMAIN || memchr(a, '.', strlen(a)) != NULL)
		CHECK(strlen(a) <= max || kind == SPF_MACRO_STRING);
	v2.p = "mx.example.org";
	b = spf_macro_expand(s, len, kind, &v2, &why);
	CHECK(b != NULL);
	if (!spf_macro_uses_p(s, len))
		CHECK(strcmp(a, b) == 0);
	free(a);
	free(b);
}

static void
check_record(const char *txt, size_t len)
{
	const char *why;
	char *err = NULL;
	struct spf_record *rec = spf_record_parse(txt, len, &err);

	if (rec == NULL) {
		CHECK(err != NULL && err[0] != '\0' && printable(err, true));
		free(err);
		return;
	}
	CHECK(err == NULL);
	CHECK(spf_record_is_spf(txt, len));
	for (int i = 0; i < rec->nterms; i++) {
		const struct spf_term *t = &rec->terms[i];

		CHECK(t->cidr4 <= 32 && t->cidr6 <= 128);
		CHECK(t->qual == SPF_PASS || t->qual == SPF_FAIL ||
		    t->qual == SPF_SOFTFAIL || t->qual == SPF_NEUTRAL);
		if (t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MECH_EXISTS)
			CHECK(t->domain != NULL);
		if (t->domain == NULL)
			continue;
		CHECK(printable(t->domain, false));
		CHECK(spf_macro_check(t->domain, strlen(t->domain),
		    SPF_MACRO_DOMAIN, &why) == 0);
		check_expand(t->domain, strlen(t->domain), SPF_MACRO_DOMAIN);
	}
	if (rec->redirect != NULL)
		check_expand(rec->redirect, strlen(rec->redirect),
		    SPF_MACRO_DOMAIN);
	if (rec->exp != NULL)
		check_expand(rec->exp, strlen(rec->exp), SPF_MACRO_DOMAIN);
	spf_record_free(&rec);
	CHECK(rec == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt = (const char *)data;
	char *prefixed;

	check_record(txt, size);
	prefixed = xmalloc(size + 8);
	memcpy(prefixed, "v=spf1 ", 7);
	memcpy(prefixed + 7, data, size);
	check_record(prefixed, size + 7);
	free(prefixed);
	/* The expanders want NUL-terminated values but take s with a length
	 * (a TXT record with a NUL is dropped by dns.c before this). */
	if (memchr(data, '\0', size) == NULL) {
		check_expand(txt, size, SPF_MACRO_EXPLAIN);
		check_expand(txt, size, SPF_MACRO_DOMAIN);
		check_expand(txt, size, SPF_MACRO_STRING);
	}
	return 0;
}
