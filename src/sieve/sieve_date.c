/*
 * sieve_date - RFC 5260 date parts of an instant seen in a zone.
 *
 * Trust: the instant comes from a message's Date header or the clock,
 * the zone from the message or the script; both may be anything. The
 * calendar is computed from t + zone (days since the epoch, proleptic
 * Gregorian), never through localtime() or TZ, so a run touches no
 * process state and every thread gets the same answer. Formats follow
 * Pigeonhole's sieve-test: day and hours zero-padded, iso8601 with "Z"
 * for +0000, std11 as "Sun, 06 Dec 2026 14:43:38 +0100".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_lib.h"

bool
sieve_zone_parse(const char *s, int *minutes)
{
	int h, m;

	if (strlen(s) != 5 || (s[0] != '+' && s[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return false;
	*minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

#define MIN_T	(-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define MAX_T	253402300799LL		/* 9999-12-31T23:59:59Z */
#define ZONE_MAX (99 * 60 + 59)		/* what "+hhmm" can say */

struct civil {
	long long	 year;
	int		 month, day;		/* 1-based */
	int		 hour, min, sec;
	int		 wday;			/* 0 = Sunday */
	long long	 mjd;			/* Modified Julian Day */
};

static long long
floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 to year/month/day (H. Hinnant's civil_from_days,
 * valid for any day count a time_t can give). */
static void
civil_from_days(long long z, struct civil *c)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->month <= 2);
}

static void
civil_of(time_t t, int zone, struct civil *c)
{
	long long tt = (long long)t, local, days, secs;

	/* years 0001..9999 (what 4-digit year parts can say); this also
	 * keeps the arithmetic below from overflowing */
	if (tt < MIN_T)
		tt = MIN_T;
	if (tt > MAX_T)
		tt = MAX_T;
	local = tt + (long long)zone * 60;
	days = floor_div(local, 86400);
	secs = local - days * 86400;

	civil_from_days(days, c);
	c->hour = (int)(secs / 3600);
	c->min = (int)(secs / 60 % 60);
	c->sec = (int)(secs % 60);
	c->wday = (int)(((days + 4) % 7 + 7) % 7);	/* 1970-01-01: Thu */
	c->mjd = days + 40587;				/* MJD of the epoch */
}

static void
zone_put(int zone, bool colon, struct buf *out)
{
	int a = abs(zone);

	buf_printf(out, "%c%02d%s%02d", zone < 0 ? '-' : '+', a / 60,
	    colon ? ":" : "", a % 60);
}

bool
sieve_date_part(time_t t, int zone, const char *part, struct buf *out)
{
	struct civil c;

	if (zone < -ZONE_MAX || zone > ZONE_MAX)	/* not a zone: UTC */
		zone = 0;
	civil_of(t, zone, &c);
	if (strcasecmp(part, "year") == 0)
		buf_printf(out, "%04lld", c.year);
	else if (strcasecmp(part, "month") == 0)
		buf_printf(out, "%02d", c.month);
	else if (strcasecmp(part, "day") == 0)
		buf_printf(out, "%02d", c.day);
	else if (strcasecmp(part, "date") == 0)
		buf_printf(out, "%04lld-%02d-%02d", c.year, c.month, c.day);
	else if (strcasecmp(part, "julian") == 0)
		buf_printf(out, "%lld", c.mjd);
	else if (strcasecmp(part, "hour") == 0)
		buf_printf(out, "%02d", c.hour);
	else if (strcasecmp(part, "minute") == 0)
		buf_printf(out, "%02d", c.min);
	else if (strcasecmp(part, "second") == 0)
		buf_printf(out, "%02d", c.sec);
	else if (strcasecmp(part, "time") == 0)
		buf_printf(out, "%02d:%02d:%02d", c.hour, c.min, c.sec);
	else if (strcasecmp(part, "iso8601") == 0) {
		buf_printf(out, "%04lld-%02d-%02dT%02d:%02d:%02d", c.year,
		    c.month, c.day, c.hour, c.min, c.sec);
		if (zone == 0)
			buf_putc(out, 'Z');
		else
			zone_put(zone, true, out);
	} else if (strcasecmp(part, "std11") == 0) {
		buf_printf(out, "%s, %02d %s %04lld %02d:%02d:%02d ",
		    rfc5322_days[c.wday], c.day, rfc5322_months[c.month - 1],
		    c.year, c.hour, c.min, c.sec);
		zone_put(zone, false, out);
	} else if (strcasecmp(part, "zone") == 0)
		zone_put(zone, false, out);
	else if (strcasecmp(part, "weekday") == 0)
		buf_printf(out, "%d", c.wday);
	else
		return false;
	return true;
}
