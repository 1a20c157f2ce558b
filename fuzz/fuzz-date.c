/*
 * fuzz-date - the date parsers on arbitrary bytes: RFC 5322 (lenient,
 * mail/rfc5322_date.c) and IMAP date and date-time (strict,
 * imap/imap_date.c). Beyond "no crash, no UB" it checks that a parsed
 * RFC 5322 date has a zone within a day and that a date written by
 * either formatter reads back as the same instant.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/imap_args.h"
#include "mail/rfc5322.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[RFC5322_DATE_MAX], iout[IMAP_DATETIME_MAX], *s;
	struct imap_date d;
	time_t t, t2;
	int tz;

	if (rfc5322_date_parse((const char *)data, size, &t, &tz) == 0) {
		CHECK(tz > -24 * 60 && tz < 24 * 60);
		/* years beyond 9999 do not round-trip through 4 digits */
		if (t > -2208988800LL && t < 253402300800LL) {
			rfc5322_date_format(t, out);
			CHECK(rfc5322_date_parse(out, strlen(out), &t2, &tz) == 0);
			CHECK(t2 == t && tz == 0);
			imap_datetime_format(t, iout);
			CHECK(imap_parse_datetime(iout, &t2, &tz) == 0 && t2 == t);
		}
	}
	s = xstrndup((const char *)data, size);
	if (imap_parse_date(s, &d) == 0)
		CHECK(d.month >= 1 && d.month <= 12 && d.day >= 1 &&
		    d.day <= 31);
	(void)imap_parse_datetime(s, &t, &tz);
	free(s);
	return 0;
}
