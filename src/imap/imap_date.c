/*
 * imap_date - IMAP dates: date (SEARCH) and date-time (APPEND,
 * INTERNALDATE) of RFC 9051, parsed strictly and written (see
 * imap_args.h); the names of months are rfc5322_date.c's.
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap/imap_args_int.h"
#include "mail/rfc5322.h"
#include "util/buf.h"

/* ------------------------------------------------------------------ */
/* Dates                                                                */

static unsigned
days_in_month(unsigned year, unsigned month)
{
	static const unsigned char mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : mdays[month - 1];
}

/* Reads exactly n digits at s. Returns the value or -1. */
static int
digits(const char *s, unsigned n)
{
	int v = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses "d-Mon-yyyy" or "dd-Mon-yyyy" at s; *end_r after the year. */
static int
parse_date_at(const char *s, struct imap_date *d, const char **end_r)
{
	int day, year, m;
	size_t n;

	if (!is_digit(s[0]))
		return -1;
	n = is_digit(s[1]) ? 2 : 1;
	if ((day = digits(s, (unsigned)n)) < 1 || s[n] != '-')
		return -1;
	s += n + 1;
	if (s[0] == '\0' || s[1] == '\0' || s[2] == '\0' || s[3] != '-')
		return -1;
	if ((m = rfc5322_month(s, 3)) < 0)
		return -1;
	if ((year = digits(s + 4, 4)) < 0)
		return -1;
	if ((unsigned)day > days_in_month((unsigned)year, (unsigned)m + 1))
		return -1;
	d->year = (uint16_t)year;
	d->month = (uint8_t)(m + 1);
	d->day = (uint8_t)day;
	*end_r = s + 8;
	return 0;
}

int
imap_parse_date(const char *s, struct imap_date *d_r)
{
	struct imap_date d;
	const char *end;

	if (parse_date_at(s, &d, &end) < 0 || *end != '\0')
		return -1;
	*d_r = d;
	return 0;
}

int64_t
imap_date_days(const struct imap_date *d)
{
	/* days from civil date, proleptic Gregorian (era arithmetic) */
	int64_t y = (int64_t)d->year - (d->month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned m = d->month, yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d->day - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

int
imap_parse_datetime(const char *s, time_t *t_r, int *tz_minutes_r)
{
	struct imap_date d;
	int hh, mm, ss, zh, zm, sign;

	if (s[0] == ' ')	/* date-day-fixed: SP DIGIT */
		s++;
	if (parse_date_at(s, &d, &s) < 0 || s[0] != ' ')
		return -1;
	if ((hh = digits(s + 1, 2)) < 0 || s[3] != ':' ||
	    (mm = digits(s + 4, 2)) < 0 || s[6] != ':' ||
	    (ss = digits(s + 7, 2)) < 0 || s[9] != ' ')
		return -1;
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	s += 10;
	if (s[0] != '+' && s[0] != '-')
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	if ((zh = digits(s + 1, 2)) < 0 || (zm = digits(s + 3, 2)) < 0 ||
	    zm > 59 || s[5] != '\0')
		return -1;
	*tz_minutes_r = sign * (zh * 60 + zm);
	*t_r = (time_t)(imap_date_days(&d) * 86400 + hh * 3600 + mm * 60 +
	    (ss == 60 ? 59 : ss) - *tz_minutes_r * 60);
	return 0;
}

char *
imap_datetime_format(time_t t, char out[IMAP_DATETIME_MAX])
{
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	off = tm.tm_gmtoff / 60;
	snprintf(out, IMAP_DATETIME_MAX,
	    "%02d-%s-%04d %02d:%02d:%02d %c%02u%02u", tm.tm_mday,
	    rfc5322_months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    (unsigned)(labs(off) / 60 % 100), (unsigned)(labs(off) % 60));
	return out;
}
