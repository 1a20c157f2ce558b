/*
 * test-spf-lookup - unit tests of the SPF mechanisms that query DNS
 * (spf_lookup.c): a, mx, ptr, exists, their void and temporary failures
 * (also of one address family only), on the fake resolver of test-spf.h.
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include "policy/test-spf.h"

static const struct eval_case lookup_cases[] = {
	{ "192.0.2.3", "a.test", SPF_PASS, NULL },
	{ "192.0.2.4", "a.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "a24.test", SPF_PASS, NULL },
	{ "192.0.3.3", "a24.test", SPF_FAIL, NULL },
	{ "2001:db8::ffff", "dual.test", SPF_PASS, NULL },
	{ "2001:db8:0:1::1", "dual.test", SPF_FAIL, NULL },
	{ "192.0.2.9", "dual.test", SPF_PASS, NULL },
	{ "192.0.2.3", "mx.test", SPF_PASS, NULL },
	{ "198.51.100.7", "mx.test", SPF_PASS, NULL },
	{ "198.51.100.8", "mx.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "mxnone.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "mx11.test", SPF_PERMERROR,
	  "more than 10 MX records for mx11.test" },
	{ "192.0.2.3", "mxtemp.test", SPF_PASS, NULL },
	{ "192.0.2.4", "mxtemp2.test", SPF_TEMPERROR,
	  "DNS error looking up MX of mxtemp2.test" },
	{ "192.0.2.3", "nullmx.test", SPF_NEUTRAL, NULL },
	{ "192.0.2.3", "void2.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "void3.test", SPF_PERMERROR,
	  "more than 2 void DNS look-ups" },
	{ "192.0.2.3", "exists.test", SPF_PASS, NULL },
	{ "192.0.2.4", "exists.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "exists6.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "ptr.test", SPF_PASS, NULL },
	{ "192.0.2.4", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.5", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "ptrother.test", SPF_FAIL, NULL },
	{ "192.0.2.77", "ptrtemp.test", SPF_TEMPERROR,
	  "DNS error validating the client's PTR names" },
	{ "192.0.2.78", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.79", "ptrtemp2.test", SPF_TEMPERROR, NULL },
	{ "192.0.2.79", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.77", "pmacro.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "pmacro.test", SPF_PASS, NULL },
	{ "192.0.2.4", "pmacro.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "amacro.test", SPF_FAIL, NULL },
	{ "2001:db8::cb01", "aaaa.test", SPF_PASS, NULL },
	{ "192.0.2.3", "aaaa.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "atemp.test", SPF_TEMPERROR,
	  "DNS error looking up broken.test" },
	/* the client's family failed, the other answered: temperror */
	{ "192.0.2.3", "ahalf.test", SPF_TEMPERROR,
	  "DNS error looking up h.half.test" },
	{ "2001:db8::5", "ahalf.test", SPF_PASS, NULL },
	{ "2001:db8::6", "ahalf.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "mxhalf.test", SPF_TEMPERROR,
	  "DNS error looking up MX of mxh.half.test" },
	{ "2001:db8::5", "mxhalf.test", SPF_PASS, NULL },
	{ "192.0.2.3", "exhalf.test", SPF_TEMPERROR,
	  "DNS error looking up h.half.test" },
	{ "192.0.2.5", "a6half.test", SPF_PASS, NULL },
	{ "192.0.2.6", "a6half.test", SPF_FAIL, NULL },
	{ "2001:db8::5", "a6half.test", SPF_TEMPERROR,
	  "DNS error looking up h6.half.test" },
};

static void
test_lookup_table(void)
{
	TEST_ASSERT(run_eval_cases(lookup_cases, sizeof(lookup_cases) /
	    sizeof(lookup_cases[0])) == 0);
}

int
main(void)
{
	TEST_RUN(test_lookup_table);
	fake_pump();
	return test_done("test-spf-lookup");
}
