/*
 * test-imap-date - unit tests for IMAP date and date-time parsing (imap_date.c).
 * Commands go through imap_parser first (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

static void
test_dates(void)
{
	struct imap_date d;
	time_t t;
	int tz;
	static const char *const bad[] = {
		"", "1", "1-Feb", "1-Feb-94", "1-Feb-19940", "0-Feb-1994",
		"32-Jan-1994", "29-Feb-1900", "1-Fev-1994", "1 Feb 1994",
		"001-Feb-1994", "1-Feb-1994 ",
	};
	size_t i;

	TEST_ASSERT(imap_parse_date("1-Feb-1994", &d) == 0);
	TEST_ASSERT(d.year == 1994 && d.month == 2 && d.day == 1);
	TEST_ASSERT(imap_date_days(&d) == 8797);
	TEST_ASSERT(imap_parse_date("01-feb-1994", &d) == 0 && d.day == 1);
	TEST_ASSERT(imap_parse_date("29-FEB-2000", &d) == 0);
	TEST_ASSERT(imap_parse_date("1-Mar-2000", &d) == 0 &&
	    imap_date_days(&d) == 11017);
	TEST_ASSERT(imap_parse_date("31-Dec-1969", &d) == 0 &&
	    imap_date_days(&d) == -1);
	TEST_ASSERT(imap_parse_date("29-Feb-1600", &d) == 0 &&
	    imap_date_days(&d) == -135081);
	for (i = 0; i < N(bad); i++)
		TEST_ASSERT(imap_parse_date(bad[i], &d) < 0);

	TEST_ASSERT(imap_parse_datetime(" 1-Feb-1994 21:52:25 -0800", &t,
	    &tz) == 0);
	TEST_ASSERT(t == 760168345 && tz == -480);
	TEST_ASSERT(imap_parse_datetime("01-Feb-1994 21:52:25 -0800", &t,
	    &tz) == 0 && t == 760168345);
	TEST_ASSERT(imap_parse_datetime("29-Feb-2024 23:59:59 +0530", &t,
	    &tz) == 0 && t == 1709231399 && tz == 330);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 24:00:00 +0000", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 0800", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 +08", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52 +0000", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 +0000x", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 +0060", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("", &t, &tz) < 0);
}

static void
test_datetime_format(void)
{
	char out[IMAP_DATETIME_MAX];
	time_t t;
	int tz;

	/* The server's zone; whatever it is, the text reads back. */
	for (time_t x = 0; x < 4000000000; x += 98765432) {
		imap_datetime_format(x, out);
		TEST_ASSERT(strlen(out) == 26 && out[2] == '-');
		TEST_ASSERT(imap_parse_datetime(out, &t, &tz) == 0 && t == x);
	}
	setenv("TZ", "UTC", 1);
	tzset();
	TEST_ASSERT_STREQ(imap_datetime_format(1765032218, out),
	    "06-Dec-2025 14:43:38 +0000");
}

int
main(void)
{
	TEST_RUN(test_dates);
	TEST_RUN(test_datetime_format);
	imap_parser_destroy(&parser);
	return test_done("test-imap-date");
}
