/*
 * test-rfc5322-date - unit tests of rfc5322_date.c: dates written in UTC
 * whatever the locale, read back leniently, and the month names.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/rfc5322.h"
#include "util/test.h"

static void
test_date(void)
{
	static const struct {
		const char	*in;
		long long	 t;	/* -1: unparseable */
		int		 tz;
	} cases[] = {
		{ "Mon, 1 Jan 2024 10:00:00 +0100", 1704099600, 60 },
		{ "1 Jan 2024 10:00:00 +0000", 1704103200, 0 },
		{ "Tue, 3 Feb 2026 14:05:06 -0800 (PST)", 1770156306, -480 },
		{ "1 Mar 2026 08:00 +0000", 1772352000, 0 },
		{ "  Thu,  5 Mar 2026 09:00:00 +0000  ", 1772701200, 0 },
		{ "1 Jan 99 00:00:00 GMT", 915148800, 0 },
		{ "1 Jan 04 00:00:00 EST", 1072933200, -300 },
		{ "1 Jan 2024 00:00:00 Z", 1704067200, 0 },
		{ "1 Jan 2024 00:00:00 XYZ", 1704067200, 0 },
		{ "1 Jan 2024 00:00:00", 1704067200, 0 },
		{ "1-Jan-2024 00:00:00 +0000", 1704067200, 0 },
		{ "Monday, 01 January 2024 00:00:00 +0000", 1704067200, 0 },
		{ "32 Jan 2024 00:00:00 +0000", -1, 0 },
		{ "1 Foo 2024 00:00:00 +0000", -1, 0 },
		{ "1 Jan 2024 25:00:00 +0000", -1, 0 },
		{ "1 Jan 2024", -1, 0 },
		{ "yesterday", -1, 0 },
		{ "", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 0;
		int tz = 0;
		int r = rfc5322_date_parse(cases[i].in, strlen(cases[i].in),
		    &t, &tz);

		if (cases[i].t < 0) {
			TEST_ASSERT(r == -1);
			continue;
		}
		if (r != 0 || (long long)t != cases[i].t)
			fprintf(stderr, "  date \"%s\": r=%d t=%lld\n",
			    cases[i].in, r, (long long)t);
		TEST_ASSERT(r == 0);
		TEST_ASSERT((long long)t == cases[i].t);
		TEST_ASSERT(tz == cases[i].tz);
	}
}

static void
test_format(void)
{
	char out[RFC5322_DATE_MAX];
	time_t t;
	int tz;

	TEST_ASSERT_STREQ(rfc5322_date_format(0, out),
	    "Thu, 1 Jan 1970 00:00:00 +0000");
	TEST_ASSERT_STREQ(rfc5322_date_format(1765032218, out),
	    "Sat, 6 Dec 2025 14:43:38 +0000");
	TEST_ASSERT_STREQ(rfc5322_date_format(951782400, out),
	    "Tue, 29 Feb 2000 00:00:00 +0000");
	/* What is written reads back as the same instant. */
	for (time_t x = 0; x < 4000000000; x += 123456789) {
		rfc5322_date_format(x, out);
		TEST_ASSERT(rfc5322_date_parse(out, strlen(out), &t, &tz) == 0);
		TEST_ASSERT(t == x && tz == 0);
	}
}

static void
test_months(void)
{
	TEST_ASSERT(rfc5322_month("Jan", 3) == 0);
	TEST_ASSERT(rfc5322_month("dec", 3) == 11);
	TEST_ASSERT(rfc5322_month("DECEMBER", 8) == 11);
	TEST_ASSERT(rfc5322_month("De", 2) == -1);
	TEST_ASSERT(rfc5322_month("Foo", 3) == -1);
	TEST_ASSERT(strcmp(rfc5322_months[8], "Sep") == 0);
	TEST_ASSERT(strcmp(rfc5322_days[0], "Sun") == 0);
}

int
main(void)
{
	TEST_RUN(test_date);
	TEST_RUN(test_format);
	TEST_RUN(test_months);
	return test_done("test-rfc5322-date");
}
