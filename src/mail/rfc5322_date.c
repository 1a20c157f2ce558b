/*
 * rfc5322_date - dates in one place: the RFC 5322 date-time written (Date:
 * and Received: fields, DSNs) and read (SEARCH SENTBEFORE and friends),
 * and the English day and month names every date format uses (IMAP's
 * date-time too).
 *
 * Trust: parsed text is untrusted message content; parsing is a forward
 * scan with every index checked against the length, and never fails hard.
 * Formatting writes at most RFC5322_DATE_MAX octets, whatever the locale.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/rfc5322.h"

#define IS_WSP(c)	((c) == ' ' || (c) == '\t')

const char rfc5322_days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
const char rfc5322_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* --- formatting ------------------------------------------------------------ */

char *
rfc5322_date_format(time_t t, char out[RFC5322_DATE_MAX])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));	/* beyond struct tm: 1900 */
	snprintf(out, RFC5322_DATE_MAX, "%s, %d %s %04d %02d:%02d:%02d +0000",
	    rfc5322_days[tm.tm_wday % 7], tm.tm_mday, rfc5322_months[tm.tm_mon %
	    12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return out;
}

/* --- parsing --------------------------------------------------------------- */

struct date_tok {
	const char	*s;
	size_t		 n;
};

/* Next token of a date: a run of digits, of letters, or one other
   character; comments, white space and commas skipped. */
static bool
date_tok(const char *v, size_t len, size_t *pos, struct date_tok *t)
{
	size_t p = *pos;
	int depth = 0;

	while (p < len) {
		char c = v[p];

		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !IS_WSP(c) && c != '\r' && c != '\n' &&
		    c != ',')
			break;
		p++;
	}
	if (p >= len)
		return false;
	t->s = v + p;
	if (v[p] >= '0' && v[p] <= '9')
		while (p < len && v[p] >= '0' && v[p] <= '9')
			p++;
	else if ((v[p] | 0x20) >= 'a' && (v[p] | 0x20) <= 'z')
		while (p < len && (v[p] | 0x20) >= 'a' && (v[p] | 0x20) <= 'z')
			p++;
	else
		p++;
	t->n = (size_t)(v + p - t->s);
	*pos = p;
	return true;
}

static bool
date_num(const struct date_tok *t, int max_digits, int *n_r)
{
	int n = 0;

	if (t->n == 0 || t->n > (size_t)max_digits ||
	    t->s[0] < '0' || t->s[0] > '9')
		return false;
	for (size_t i = 0; i < t->n; i++)
		n = n * 10 + (t->s[i] - '0');
	*n_r = n;
	return true;
}

static int
date_month(const struct date_tok *t)
{
	return rfc5322_month(t->s, t->n);
}

int
rfc5322_month(const char *s, size_t n)
{
	if (n < 3)
		return -1;
	for (int m = 0; m < 12; m++)
		if (strncasecmp(s, rfc5322_months[m], 3) == 0)
			return m;
	return -1;
}

/* Minutes east of UTC for zone token t (and the digits token after a
   sign), or 0 for unknown zones as RFC 5322 4.3 says. */
static int
date_zone(const char *v, size_t len, size_t *pos)
{
	static const struct { const char *n; int off; } zones[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	struct date_tok t, d;
	int hhmm;

	if (!date_tok(v, len, pos, &t))
		return 0;
	if ((t.s[0] == '+' || t.s[0] == '-') && date_tok(v, len, pos, &d) &&
	    d.n == 4 && date_num(&d, 4, &hhmm) && hhmm % 100 < 60 &&
	    hhmm / 100 < 24)
		return (t.s[0] == '-' ? -1 : 1) * (hhmm / 100 * 60 +
		    hhmm % 100);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].n) == t.n &&
		    strncasecmp(zones[i].n, t.s, t.n) == 0)
			return zones[i].off;
	return 0;
}

/* Reads "HH:MM[:SS]" starting with the hour token h. */
static bool
date_time(const char *v, size_t len, size_t *pos, const struct date_tok *h,
    int *hms)
{
	struct date_tok t;
	size_t save;

	if (!date_num(h, 2, &hms[0]) || !date_tok(v, len, pos, &t) ||
	    t.s[0] != ':' || !date_tok(v, len, pos, &t) ||
	    !date_num(&t, 2, &hms[1]))
		return false;
	hms[2] = 0;
	save = *pos;
	if (date_tok(v, len, pos, &t) && t.s[0] == ':') {
		if (!date_tok(v, len, pos, &t) || !date_num(&t, 2, &hms[2]))
			return false;
	} else
		*pos = save;
	return hms[0] < 24 && hms[1] < 60 && hms[2] <= 60;
}

int
rfc5322_date_parse(const char *v, size_t len, time_t *t_r, int *tz_r)
{
	struct date_tok t;
	struct tm tm;
	size_t pos = 0;
	int day, mon, year, hms[3], tz;
	size_t ylen;
	time_t t0;

	if (!date_tok(v, len, &pos, &t))
		return -1;
	if (date_month(&t) < 0 && !(t.s[0] >= '0' && t.s[0] <= '9') &&
	    !date_tok(v, len, &pos, &t))	/* day of week */
		return -1;
	if (!date_num(&t, 2, &day) || !date_tok(v, len, &pos, &t) ||
	    (t.s[0] == '-' && !date_tok(v, len, &pos, &t)) ||
	    (mon = date_month(&t)) < 0 || !date_tok(v, len, &pos, &t) ||
	    (t.s[0] == '-' && !date_tok(v, len, &pos, &t)) ||
	    !date_num(&t, 4, &year) || (ylen = t.n) == 0 ||
	    !date_tok(v, len, &pos, &t) || !date_time(v, len, &pos, &t, hms))
		return -1;
	if (day < 1 || day > 31)
		return -1;
	if (ylen <= 2 && year < 50)
		year += 2000;
	else if (ylen <= 3)
		year += 1900;
	tz = date_zone(v, len, &pos);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hms[0];
	tm.tm_min = hms[1];
	tm.tm_sec = hms[2];
	t0 = timegm(&tm);
	if (t0 == (time_t)-1 && !(year == 1969 && mon == 11 && day == 31))
		return -1;
	if (t_r != NULL)
		*t_r = t0 - (time_t)tz * 60;
	if (tz_r != NULL)
		*tz_r = tz;
	return 0;
}
