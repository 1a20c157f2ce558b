/*
 * imap_args - typed parsers over parsed IMAP arguments (see imap_args.h for
 * the contract).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 * Every result is a fresh allocation owned by the caller's struct; on
 * failure the partial result is freed here, so callers never see one.
 *
 * Sections, in order: small helpers; numbers and dates; sequence sets;
 * flags; SEARCH (a recursive-descent parser over the argument tree, depth
 * bounded); FETCH (items, BODY[...] sections, modifiers); STORE; STATUS;
 * LIST; SELECT; APPEND; mailbox names (modified UTF-7) and the LIST
 * wildcard matcher.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args.h"
#include "util/buf.h"
#include "util/mutf7.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static int
err(const char **error_r, const char *msg)
{
	*error_r = msg;
	return -1;
}

/* astring bytes usable as a C string: no NUL inside (a literal8 could). */
static bool
get_astr(const struct imap_arg *arg, const char **s_r, size_t *len_r)
{
	size_t len;

	if (!imap_arg_get_astring(arg, s_r, &len))
		return false;
	if (memchr(*s_r, '\0', len) != NULL)
		return false;
	if (len_r != NULL)
		*len_r = len;
	return true;
}

static char *
dup_astr(const struct imap_arg *arg)
{
	const char *s;
	size_t len;

	if (!get_astr(arg, &s, &len))
		return NULL;
	return xstrndup(s, len);
}

/* The atom text of arg (ATOM or NIL), or NULL. */
static const char *
atom_of(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return NULL;
	return arg->str;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ATOM-CHAR of RFC 9051: CHAR except atom-specials. */
static bool
is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* Finds word in a NULL-terminated table of names, ignoring case. */
static int
lookup(const char *const *names, const char *word)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(names[i], word) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Numbers and dates                                                    */

int
imap_parse_number32(const char *s, bool nz, uint32_t *n_r)
{
	uint64_t n = 0;
	size_t i;

	if (!is_digit(s[0]) || (nz && s[0] == '0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!is_digit(s[i]))
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*n_r = (uint32_t)n;
	return 0;
}

int
imap_parse_number64(const char *s, uint64_t *n_r)
{
	uint64_t n = 0;
	size_t i;

	if (!is_digit(s[0]))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (n > ((uint64_t)INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*n_r = n;
	return 0;
}

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec", NULL,
};

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
	char mon[4];
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
	memcpy(mon, s, 3);
	mon[3] = '\0';
	if ((m = lookup(month_names, mon)) < 0)
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

/* ------------------------------------------------------------------ */
/* Sequence sets                                                        */

static int
parse_seq_number(const char *s, size_t len, uint32_t *n_r)
{
	char tmp[11];

	if (len == 1 && s[0] == '*') {
		*n_r = IMAP_SEQ_STAR;
		return 0;
	}
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (imap_parse_number32(tmp, true, n_r) < 0 || *n_r == IMAP_SEQ_STAR)
		return -1;
	return 0;
}

int
imap_seqset_parse(const char *s, bool dollar_ok, struct imap_seqset *set,
    const char **error_r)
{
	const char *p, *end, *colon;
	unsigned n = 1, i = 0;

	memset(set, 0, sizeof(*set));
	if (strcmp(s, "$") == 0) {
		if (!dollar_ok)
			return err(error_r, "$ not allowed here");
		set->saved = true;
		return 0;
	}
	for (p = s; *p != '\0'; p++)
		n += *p == ',';
	set->ranges = xcalloc(n, sizeof(*set->ranges));
	for (p = s; i < n; p = end + 1, i++) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL) {
			if (parse_seq_number(p, (size_t)(end - p),
			    &set->ranges[i].lo) < 0)
				goto bad;
			set->ranges[i].hi = set->ranges[i].lo;
		} else if (parse_seq_number(p, (size_t)(colon - p),
		    &set->ranges[i].lo) < 0 ||
		    parse_seq_number(colon + 1, (size_t)(end - colon - 1),
		    &set->ranges[i].hi) < 0)
			goto bad;
	}
	set->count = n;
	return 0;
bad:
	imap_seqset_free(set);
	return err(error_r, "Invalid sequence set");
}

static int
range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void
imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	struct imap_seq_range *r = set->ranges, t;
	unsigned i, out = 0;

	for (i = 0; i < set->count; i++) {
		if (r[i].lo == IMAP_SEQ_STAR)
			r[i].lo = star;
		if (r[i].hi == IMAP_SEQ_STAR)
			r[i].hi = star;
		if (r[i].lo > r[i].hi) {
			t = r[i];
			r[i].lo = t.hi;
			r[i].hi = t.lo;
		}
	}
	if (set->count == 0)
		return;
	qsort(r, set->count, sizeof(*r), range_cmp);
	for (i = 1; i < set->count; i++) {
		if (r[out].hi == UINT32_MAX || r[i].lo <= r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else
			r[++out] = r[i];
	}
	set->count = out + 1;
}

void
imap_seqset_clamp(struct imap_seqset *set, uint32_t max)
{
	unsigned i, out = 0;

	for (i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];

		if (r.lo == 0)
			r.lo = 1;
		if (r.hi > max)
			r.hi = max;
		if (r.lo <= r.hi)
			set->ranges[out++] = r;
	}
	set->count = out;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned lo = 0, hi = set->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

int
imap_seqset_format(const struct imap_seqset *set, struct buf *out)
{
	unsigned i;
	int r = 0;

	for (i = 0; i < set->count && r == 0; i++) {
		const struct imap_seq_range *g = &set->ranges[i];

		if (g->lo == g->hi)
			r = buf_printf(out, "%s%u", i ? "," : "", g->lo);
		else
			r = buf_printf(out, "%s%u:%u", i ? "," : "", g->lo,
			    g->hi);
	}
	return r;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	memset(set, 0, sizeof(*set));
}

/* Sequence set from an atom argument. */
static int
seqset_arg(const struct imap_arg *arg, bool dollar_ok,
    struct imap_seqset *set, const char **error_r)
{
	memset(set, 0, sizeof(*set));
	if (arg->type != IMAP_ARG_ATOM)
		return err(error_r, "Invalid sequence set");
	return imap_seqset_parse(arg->str, dollar_ok, set, error_r);
}

static bool
seqset_has_star(const struct imap_seqset *set)
{
	unsigned i;

	for (i = 0; i < set->count; i++)
		if (set->ranges[i].lo == IMAP_SEQ_STAR ||
		    set->ranges[i].hi == IMAP_SEQ_STAR)
			return true;
	return false;
}

/* Numbers in an unresolved set without "*" (ranges may be reversed). */
static uint64_t
seqset_raw_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		n += (r->lo > r->hi ? r->lo - r->hi : r->hi - r->lo) + 1ull;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Flags                                                                */

static const char *const system_flag_names[] = {
	"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", NULL,
};

bool
imap_keyword_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_atom_char((unsigned char)*s))
			return false;
	return true;
}

static void
flags_add_keyword(struct imap_flags *f, const char *kw)
{
	unsigned i;

	for (i = 0; i < f->keyword_count; i++)
		if (strcasecmp(f->keywords[i], kw) == 0)
			return;
	f->keywords = xrealloc(f->keywords,
	    (f->keyword_count + 1) * sizeof(*f->keywords));
	f->keywords[f->keyword_count++] = xstrdup(kw);
}

int
imap_args_parse_flags(const struct imap_arg *args, unsigned count,
    struct imap_flags *f, const char **error_r)
{
	const char *s;
	unsigned i;
	int k;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < count; i++) {
		if ((s = atom_of(&args[i])) == NULL) {
			imap_flags_free(f);
			return err(error_r, "Invalid flag");
		}
		if (s[0] == '\\') {
			if ((k = lookup(system_flag_names, s)) < 0) {
				imap_flags_free(f);
				return err(error_r, "Invalid system flag");
			}
			f->system |= 1u << k;
		} else if (imap_keyword_valid(s))
			flags_add_keyword(f, s);
		else {
			imap_flags_free(f);
			return err(error_r, "Invalid keyword");
		}
	}
	return 0;
}

void
imap_flags_free(struct imap_flags *f)
{
	unsigned i;

	for (i = 0; i < f->keyword_count; i++)
		free(f->keywords[i]);
	free(f->keywords);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------ */
/* SEARCH                                                               */

/* What follows a search key's name. */
enum sk_arg {
	SKA_NONE, SKA_STRING, SKA_DATE, SKA_NUM64, SKA_NZNUM, SKA_UIDSET,
	SKA_KEYWORD, SKA_HEADER, SKA_NOT, SKA_OR, SKA_MODSEQ,
};

static const struct {
	const char			*name;
	enum imap_search_key_type	 type;
	enum sk_arg			 arg;
} search_keys[] = {
	{ "ALL", IMAP_SK_ALL, SKA_NONE },
	{ "ANSWERED", IMAP_SK_ANSWERED, SKA_NONE },
	{ "DELETED", IMAP_SK_DELETED, SKA_NONE },
	{ "DRAFT", IMAP_SK_DRAFT, SKA_NONE },
	{ "FLAGGED", IMAP_SK_FLAGGED, SKA_NONE },
	{ "SEEN", IMAP_SK_SEEN, SKA_NONE },
	{ "RECENT", IMAP_SK_RECENT, SKA_NONE },
	{ "NEW", IMAP_SK_NEW, SKA_NONE },
	{ "OLD", IMAP_SK_OLD, SKA_NONE },
	{ "UNANSWERED", IMAP_SK_UNANSWERED, SKA_NONE },
	{ "UNDELETED", IMAP_SK_UNDELETED, SKA_NONE },
	{ "UNDRAFT", IMAP_SK_UNDRAFT, SKA_NONE },
	{ "UNFLAGGED", IMAP_SK_UNFLAGGED, SKA_NONE },
	{ "UNSEEN", IMAP_SK_UNSEEN, SKA_NONE },
	{ "KEYWORD", IMAP_SK_KEYWORD, SKA_KEYWORD },
	{ "UNKEYWORD", IMAP_SK_UNKEYWORD, SKA_KEYWORD },
	{ "BCC", IMAP_SK_BCC, SKA_STRING },
	{ "BODY", IMAP_SK_BODY, SKA_STRING },
	{ "CC", IMAP_SK_CC, SKA_STRING },
	{ "FROM", IMAP_SK_FROM, SKA_STRING },
	{ "SUBJECT", IMAP_SK_SUBJECT, SKA_STRING },
	{ "TEXT", IMAP_SK_TEXT, SKA_STRING },
	{ "TO", IMAP_SK_TO, SKA_STRING },
	{ "HEADER", IMAP_SK_HEADER, SKA_HEADER },
	{ "BEFORE", IMAP_SK_BEFORE, SKA_DATE },
	{ "ON", IMAP_SK_ON, SKA_DATE },
	{ "SINCE", IMAP_SK_SINCE, SKA_DATE },
	{ "SENTBEFORE", IMAP_SK_SENTBEFORE, SKA_DATE },
	{ "SENTON", IMAP_SK_SENTON, SKA_DATE },
	{ "SENTSINCE", IMAP_SK_SENTSINCE, SKA_DATE },
	{ "LARGER", IMAP_SK_LARGER, SKA_NUM64 },
	{ "SMALLER", IMAP_SK_SMALLER, SKA_NUM64 },
	{ "OLDER", IMAP_SK_OLDER, SKA_NZNUM },
	{ "YOUNGER", IMAP_SK_YOUNGER, SKA_NZNUM },
	{ "MODSEQ", IMAP_SK_MODSEQ, SKA_MODSEQ },
	{ "UID", IMAP_SK_UID, SKA_UIDSET },
	{ "NOT", IMAP_SK_NOT, SKA_NOT },
	{ "OR", IMAP_SK_OR, SKA_OR },
};
#define NSEARCH_KEYS (sizeof(search_keys) / sizeof(search_keys[0]))

/* A cursor over one level of the argument tree. */
struct scur {
	const struct imap_arg	*args;
	unsigned		 count, i;
	struct imap_search	*s;
	const char		*error;
};

static struct imap_search_key *parse_key(struct scur *c, unsigned depth);

static void
key_free(struct imap_search_key *k)
{
	struct imap_search_key *next;

	for (; k != NULL; k = next) {
		next = k->next;
		key_free(k->child);
		free(k->str);
		free(k->field);
		free(k->entry);
		imap_seqset_free(&k->set);
		free(k);
	}
}

static struct imap_search_key *
key_fail(struct scur *c, struct imap_search_key *k, const char *msg)
{
	key_free(k);
	if (c->error == NULL)
		c->error = msg;
	return NULL;
}

static const struct imap_arg *
next_arg(struct scur *c)
{
	return c->i < c->count ? &c->args[c->i++] : NULL;
}

/* Parses keys until the cursor's end; returns the sibling chain. */
static struct imap_search_key *
parse_key_list(struct scur *c, unsigned depth)
{
	struct imap_search_key *head = NULL, **tail = &head, *k;

	if (c->i >= c->count)
		return key_fail(c, NULL, "Missing search key");
	while (c->i < c->count) {
		if ((k = parse_key(c, depth)) == NULL)
			return key_fail(c, head, "Invalid search key");
		*tail = k;
		tail = &k->next;
	}
	return head;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162). */
static int
parse_modseq_key(struct scur *c, struct imap_search_key *k)
{
	static const char *const types[] = { "priv", "shared", "all", NULL };
	const struct imap_arg *a = next_arg(c);
	int t;

	if (a != NULL && a->type == IMAP_ARG_STRING) {
		if (strncasecmp(a->str, "/flags/", 7) != 0 ||
		    a->len != strlen(a->str) || a->len == 7)
			return -1;
		k->entry = xstrdup(a->str);
		a = next_arg(c);
		if (a == NULL || a->type != IMAP_ARG_ATOM ||
		    (t = lookup(types, a->str)) < 0)
			return -1;
		k->entry_type = (enum imap_modseq_entry_type)(t + 1);
		a = next_arg(c);
	}
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    imap_parse_number64(a->str, &k->num) < 0)
		return -1;
	c->s->uses_modseq = true;
	return 0;
}

/* Reads the arguments a key takes. Returns 0 or -1 (c->error may be
   set). */
static int
parse_key_args(struct scur *c, struct imap_search_key *k, enum sk_arg kind,
    unsigned depth)
{
	const struct imap_arg *a;
	const char *s;
	uint32_t n32;
	size_t len;

	switch (kind) {
	case SKA_NONE:
		return 0;
	case SKA_NOT:
	case SKA_OR:
		if ((k->child = parse_key(c, depth + 1)) == NULL)
			return -1;
		if (kind == SKA_OR &&
		    (k->child->next = parse_key(c, depth + 1)) == NULL)
			return -1;
		return 0;
	case SKA_MODSEQ:
		return parse_modseq_key(c, k);
	default:
		break;
	}
	if ((a = next_arg(c)) == NULL)
		return -1;
	switch (kind) {
	case SKA_STRING:
	case SKA_HEADER:
		if (!get_astr(a, &s, &len))
			return -1;
		if (kind == SKA_HEADER) {
			k->field = xstrndup(s, len);
			if (len == 0 || (a = next_arg(c)) == NULL ||
			    !get_astr(a, &s, &len))
				return -1;
		}
		k->str = xstrndup(s, len);
		k->len = len;
		return 0;
	case SKA_KEYWORD:
		if ((s = atom_of(a)) == NULL || !imap_keyword_valid(s))
			return -1;
		k->str = xstrdup(s);
		k->len = strlen(s);
		return 0;
	case SKA_DATE:
		if (!get_astr(a, &s, NULL))
			return -1;
		return imap_parse_date(s, &k->date);
	case SKA_NUM64:
		return a->type == IMAP_ARG_ATOM ?
		    imap_parse_number64(a->str, &k->num) : -1;
	case SKA_NZNUM:
		if (a->type != IMAP_ARG_ATOM ||
		    imap_parse_number32(a->str, true, &n32) < 0)
			return -1;
		k->num = n32;
		return 0;
	case SKA_UIDSET:
		if (seqset_arg(a, true, &k->set, &c->error) < 0)
			return -1;
		c->s->uses_saved |= k->set.saved;
		return 0;
	default:
		return -1;
	}
}

static struct imap_search_key *
parse_key(struct scur *c, unsigned depth)
{
	const struct imap_arg *a;
	struct imap_search_key *k;
	struct scur sub;
	size_t i;

	if (depth > IMAP_SEARCH_DEPTH_MAX)
		return key_fail(c, NULL, "Search keys nested too deeply");
	if ((a = next_arg(c)) == NULL)
		return key_fail(c, NULL, "Missing search key");
	k = xmalloc(sizeof(*k));
	if (a->type == IMAP_ARG_LIST) {
		k->type = IMAP_SK_AND;
		sub = *c;
		sub.args = a->list;
		sub.count = a->list_count;
		sub.i = 0;
		k->child = parse_key_list(&sub, depth + 1);
		c->error = sub.error;
		return k->child != NULL ? k :
		    key_fail(c, k, "Invalid search key");
	}
	if (a->type != IMAP_ARG_ATOM)
		return key_fail(c, k, "Invalid search key");
	if (is_digit(a->str[0]) || a->str[0] == '*' || a->str[0] == '$') {
		k->type = IMAP_SK_SEQSET;
		if (imap_seqset_parse(a->str, true, &k->set, &c->error) < 0)
			return key_fail(c, k, "Invalid sequence set");
		c->s->uses_saved |= k->set.saved;
		return k;
	}
	for (i = 0; i < NSEARCH_KEYS; i++)
		if (strcasecmp(search_keys[i].name, a->str) == 0)
			break;
	if (i == NSEARCH_KEYS)
		return key_fail(c, k, "Unknown search key");
	k->type = search_keys[i].type;
	if (parse_key_args(c, k, search_keys[i].arg, depth) < 0)
		return key_fail(c, k, "Invalid search key argument");
	return k;
}

/* RETURN (MIN MAX ALL COUNT SAVE) of RFC 4731 / 5182. */
static int
parse_search_return(struct imap_search *s, const struct imap_arg *a,
    const char **error_r)
{
	static const char *const opts[] = {
		"MIN", "MAX", "ALL", "COUNT", "SAVE", NULL,
	};
	unsigned i;
	int k;

	if (a->type != IMAP_ARG_LIST)
		return err(error_r, "Invalid RETURN options");
	s->ret_given = true;
	for (i = 0; i < a->list_count; i++) {
		if (a->list[i].type != IMAP_ARG_ATOM ||
		    (k = lookup(opts, a->list[i].str)) < 0)
			return err(error_r, "Unknown RETURN option");
		s->ret |= 1u << k;
	}
	if (s->ret == 0)
		s->ret = IMAP_SEARCH_RET_ALL;
	return 0;
}

int
imap_args_parse_search(const struct imap_arg *args, unsigned count,
    struct imap_search *s, const char **error_r)
{
	struct scur c;
	unsigned i = 0;

	memset(s, 0, sizeof(*s));
	if (count >= 2 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (parse_search_return(s, &args[1], error_r) < 0) {
			imap_search_free(s);
			return -1;
		}
		i = 2;
	}
	if (count - i >= 2 && imap_arg_atom_equals(&args[i], "CHARSET")) {
		if ((s->charset = dup_astr(&args[i + 1])) == NULL ||
		    s->charset[0] == '\0') {
			imap_search_free(s);
			return err(error_r, "Invalid CHARSET");
		}
		i += 2;
	}
	memset(&c, 0, sizeof(c));
	c.args = args ? args + i : NULL;	/* NULL + 0 is UB */
	c.count = count - i;
	c.s = s;
	s->root = xmalloc(sizeof(*s->root));
	s->root->type = IMAP_SK_AND;
	if ((s->root->child = parse_key_list(&c, 1)) == NULL) {
		imap_search_free(s);
		return err(error_r, c.error);
	}
	return 0;
}

void
imap_search_free(struct imap_search *s)
{
	free(s->charset);
	key_free(s->root);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* FETCH                                                                */

static const struct {
	const char	*name;
	unsigned	 items;
} fetch_atoms[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "UID", IMAP_FETCH_UID },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
};
#define NFETCH_ATOMS (sizeof(fetch_atoms) / sizeof(fetch_atoms[0]))

#define FETCH_FAST (IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | \
	IMAP_FETCH_RFC822_SIZE)
#define FETCH_ALL (FETCH_FAST | IMAP_FETCH_ENVELOPE)
#define FETCH_FULL (FETCH_ALL | IMAP_FETCH_BODY)

static const struct {
	const char	*prefix;	/* up to and including "[" */
	bool		 peek, binary, binary_size;
	const char	*label;
} section_kinds[] = {
	{ "BODY[", false, false, false, "BODY" },
	{ "BODY.PEEK[", true, false, false, "BODY" },
	{ "BINARY[", false, true, false, "BINARY" },
	{ "BINARY.PEEK[", true, true, false, "BINARY" },
	{ "BINARY.SIZE[", false, false, true, "BINARY.SIZE" },
};
#define NSECTION_KINDS (sizeof(section_kinds) / sizeof(section_kinds[0]))

static void
fetch_body_free(struct imap_fetch_body *b)
{
	unsigned i;

	free(b->section);
	free(b->part);
	for (i = 0; i < b->field_count; i++)
		free(b->fields[i]);
	free(b->fields);
	free(b->label);
	memset(b, 0, sizeof(*b));
}

/* section-part: nz-number *("." nz-number). Leaves *sp at what follows
   (".TEXT", "]"). */
static int
parse_section_part(const char **sp, struct imap_fetch_body *b)
{
	const char *s = *sp;
	uint64_t n;

	while (is_digit(*s)) {
		if (*s == '0' || b->part_count == IMAP_FETCH_PARTS_MAX)
			return -1;
		for (n = 0; is_digit(*s); s++) {
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > UINT32_MAX)
				return -1;
		}
		b->part = xrealloc(b->part,
		    (b->part_count + 1) * sizeof(*b->part));
		b->part[b->part_count++] = (uint32_t)n;
		if (s[0] != '.' || !is_digit(s[1]))
			break;
		s++;
	}
	*sp = s;
	return 0;
}

/* A header field name: printable ASCII except ":" (RFC 5322 ftext). */
static bool
field_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':')
			return false;
	return true;
}

/* header-list: "(" header-fld-name *(SP header-fld-name) ")", names as
   atoms or quoted strings. */
static int
parse_header_list(const char **sp, struct imap_fetch_body *b)
{
	const char *s = *sp;
	struct buf name;
	int r = -1;

	if (*s++ != '(')
		return -1;
	buf_init(&name, 0);
	for (;;) {
		buf_reset(&name);
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				else if (*s == '\0' || *s == '\\')
					goto out;
				buf_putc(&name, *s);
			}
			s++;
		} else
			for (; is_atom_char((unsigned char)*s); s++)
				buf_putc(&name, *s);
		if (!field_name_valid(buf_cstr(&name), name.len) ||
		    name.len > IMAP_FETCH_FIELD_LEN_MAX ||
		    b->field_count == IMAP_FETCH_FIELDS_MAX)
			goto out;
		b->fields = xrealloc(b->fields,
		    (b->field_count + 1) * sizeof(*b->fields));
		b->fields[b->field_count++] = xstrdup(buf_cstr(&name));
		if (*s == ')')
			break;
		if (*s++ != ' ')
			goto out;
	}
	*sp = s + 1;
	r = 0;
out:
	buf_free(&name);
	return r;
}

/* section-text after a part ("." done) or section-msgtext without one. */
static int
parse_section_text(const char **sp, struct imap_fetch_body *b)
{
	static const struct {
		const char		*name;
		enum imap_fetch_section_text	 text;
	} texts[] = {
		{ "HEADER.FIELDS.NOT ", IMAP_FETCH_SECTION_HEADER_FIELDS_NOT },
		{ "HEADER.FIELDS ", IMAP_FETCH_SECTION_HEADER_FIELDS },
		{ "HEADER", IMAP_FETCH_SECTION_HEADER },
		{ "TEXT", IMAP_FETCH_SECTION_TEXT },
		{ "MIME", IMAP_FETCH_SECTION_MIME },
	};
	size_t i, n;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		n = strlen(texts[i].name);
		if (strncasecmp(*sp, texts[i].name, n) != 0)
			continue;
		if (texts[i].name[n - 1] != ' ' && (*sp)[n] != ']')
			continue;
		if (texts[i].text == IMAP_FETCH_SECTION_MIME && b->part_count == 0)
			return -1;
		b->text = texts[i].text;
		*sp += n;
		if (texts[i].name[n - 1] == ' ')
			return parse_header_list(sp, b);
		return 0;
	}
	return -1;
}

/* partial: "<" number64 "." nz-number64 ">" at the end of the item. */
static int
parse_partial(const char *s, struct imap_fetch_body *b)
{
	char tmp[48];
	const char *dot, *end;

	if (*s == '\0')
		return 0;
	if (*s != '<' || (end = strchr(s, '>')) == NULL || end[1] != '\0' ||
	    (size_t)(end - s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s + 1, (size_t)(end - s - 1));
	tmp[end - s - 1] = '\0';
	if ((dot = strchr(tmp, '.')) == NULL)
		return -1;
	tmp[dot - tmp] = '\0';
	if (imap_parse_number64(tmp, &b->offset) < 0 ||
	    imap_parse_number64(dot + 1, &b->length) < 0 || b->length == 0 ||
	    dot[1] == '0')
		return -1;
	b->partial = true;
	return 0;
}

/* Appends a header name to a label: as an atom when it can be one. */
static void
label_field(struct buf *l, const char *f)
{
	const char *p;

	for (p = f; *p != '\0' && is_atom_char((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		for (p = f; *p != '\0'; p++)
			buf_putc(l, (char)toupper((unsigned char)*p));
		return;
	}
	buf_putc(l, '"');
	for (p = f; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(l, '\\');
		buf_putc(l, (char)toupper((unsigned char)*p));
	}
	buf_putc(l, '"');
}

static void
make_label(struct imap_fetch_body *b, const char *kind)
{
	static const char *const text_names[] = {
		"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT",
		"MIME",
	};
	struct buf l;
	unsigned i;

	buf_init(&l, 0);
	buf_printf(&l, "%s[", kind);
	for (i = 0; i < b->part_count; i++)
		buf_printf(&l, "%s%u", i ? "." : "", b->part[i]);
	if (b->text != IMAP_FETCH_SECTION_WHOLE)
		buf_printf(&l, "%s%s", b->part_count ? "." : "",
		    text_names[b->text]);
	if (b->field_count > 0) {
		buf_puts(&l, " (");
		for (i = 0; i < b->field_count; i++) {
			if (i > 0)
				buf_putc(&l, ' ');
			label_field(&l, b->fields[i]);
		}
		buf_putc(&l, ')');
	}
	buf_putc(&l, ']');
	if (b->partial)
		buf_printf(&l, "<%llu>", (unsigned long long)b->offset);
	b->label = buf_steal(&l, NULL);
}

/* One BODY[...] / BINARY[...] item; s is the whole atom. Returns 1 when s
   is such an item and was parsed into b, 0 when it is not one, -1 when it
   is one but malformed. */
static int
parse_body_item(const char *s, struct imap_fetch_body *b)
{
	const char *start;
	size_t i, n;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < NSECTION_KINDS; i++) {
		n = strlen(section_kinds[i].prefix);
		if (strncasecmp(s, section_kinds[i].prefix, n) == 0)
			break;
	}
	if (i == NSECTION_KINDS)
		return 0;
	b->peek = section_kinds[i].peek;
	b->binary = section_kinds[i].binary;
	b->binary_size = section_kinds[i].binary_size;
	s += n;
	start = s;
	if (parse_section_part(&s, b) < 0)
		goto bad;
	if (!b->binary && !b->binary_size && *s != ']') {
		if (b->part_count > 0 && *s++ != '.')
			goto bad;
		if (parse_section_text(&s, b) < 0)
			goto bad;
	}
	if (*s != ']')
		goto bad;
	b->section = xstrndup(start, (size_t)(s - start));
	if (parse_partial(s + 1, b) < 0 || (b->binary_size && b->partial))
		goto bad;
	make_label(b, section_kinds[i].label);
	return 1;
bad:
	fetch_body_free(b);
	return -1;
}

static int
parse_fetch_att(struct imap_fetch *f, const struct imap_arg *a,
    const char **error_r)
{
	struct imap_fetch_body b;
	size_t i;
	int r;

	if (a->type != IMAP_ARG_ATOM)
		return err(error_r, "Invalid FETCH item");
	for (i = 0; i < NFETCH_ATOMS; i++) {
		if (strcasecmp(a->str, fetch_atoms[i].name) == 0) {
			f->items |= fetch_atoms[i].items;
			return 0;
		}
	}
	if ((r = parse_body_item(a->str, &b)) <= 0)
		return err(error_r, r < 0 ? "Invalid FETCH section" :
		    "Unknown FETCH item");
	f->bodies = xrealloc(f->bodies,
	    (f->body_count + 1) * sizeof(*f->bodies));
	f->bodies[f->body_count++] = b;
	return 0;
}

/* fetch-modifiers: (CHANGEDSINCE n) and (VANISHED), RFC 7162. */
static int
parse_fetch_modifiers(struct imap_fetch *f, const struct imap_arg *a,
    bool uid, const char **error_r)
{
	const struct imap_arg *m;
	unsigned i;

	if (a->type != IMAP_ARG_LIST || a->list_count == 0)
		return err(error_r, "Invalid FETCH modifiers");
	for (i = 0; i < a->list_count; i++) {
		m = &a->list[i];
		if (imap_arg_atom_equals(m, "CHANGEDSINCE") &&
		    i + 1 < a->list_count && !f->changedsince_given &&
		    m[1].type == IMAP_ARG_ATOM &&
		    imap_parse_number64(m[1].str, &f->changedsince) == 0) {
			f->changedsince_given = true;
			f->items |= IMAP_FETCH_MODSEQ;
			i++;
		} else if (imap_arg_atom_equals(m, "VANISHED") &&
		    !f->vanished)
			f->vanished = true;
		else
			return err(error_r, "Invalid FETCH modifier");
	}
	if (f->vanished && (!uid || !f->changedsince_given))
		return err(error_r,
		    "VANISHED needs UID FETCH and CHANGEDSINCE");
	return 0;
}

static int
parse_fetch_items(struct imap_fetch *f, const struct imap_arg *a,
    const char **error_r)
{
	const char *s;
	unsigned i;

	if ((s = atom_of(a)) != NULL) {
		if (strcasecmp(s, "ALL") == 0)
			f->items |= FETCH_ALL;
		else if (strcasecmp(s, "FAST") == 0)
			f->items |= FETCH_FAST;
		else if (strcasecmp(s, "FULL") == 0)
			f->items |= FETCH_FULL;
		else
			return parse_fetch_att(f, a, error_r);
		return 0;
	}
	if (a->type != IMAP_ARG_LIST || a->list_count == 0)
		return err(error_r, "Invalid FETCH items");
	for (i = 0; i < a->list_count; i++)
		if (parse_fetch_att(f, &a->list[i], error_r) < 0)
			return -1;
	return 0;
}

int
imap_args_parse_fetch(const struct imap_arg *args, unsigned count,
    bool uid, struct imap_fetch *f, const char **error_r)
{
	memset(f, 0, sizeof(*f));
	if (count < 2 || count > 3)
		return err(error_r, "FETCH needs a sequence set and items");
	if (seqset_arg(&args[0], true, &f->set, error_r) < 0)
		return -1;
	if (parse_fetch_items(f, &args[1], error_r) < 0 ||
	    (count == 3 &&
	    parse_fetch_modifiers(f, &args[2], uid, error_r) < 0)) {
		imap_fetch_free(f);
		return -1;
	}
	if (uid)
		f->items |= IMAP_FETCH_UID;
	return 0;
}

void
imap_fetch_free(struct imap_fetch *f)
{
	unsigned i;

	imap_seqset_free(&f->set);
	for (i = 0; i < f->body_count; i++)
		fetch_body_free(&f->bodies[i]);
	free(f->bodies);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------ */
/* STORE                                                                */

/* "(UNCHANGEDSINCE n)", RFC 7162. */
static int
parse_store_modifiers(struct imap_store *st, const struct imap_arg *a,
    const char **error_r)
{
	if (a->list_count != 2 ||
	    !imap_arg_atom_equals(&a->list[0], "UNCHANGEDSINCE") ||
	    a->list[1].type != IMAP_ARG_ATOM ||
	    imap_parse_number64(a->list[1].str, &st->unchangedsince) < 0)
		return err(error_r, "Invalid STORE modifier");
	st->unchangedsince_given = true;
	return 0;
}

/* "[+|-]FLAGS[.SILENT]" */
static int
parse_store_item(struct imap_store *st, const char *s)
{
	st->op = IMAP_STORE_SET;
	if (*s == '+' || *s == '-') {
		st->op = *s == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		s++;
	}
	if (strncasecmp(s, "FLAGS", 5) != 0)
		return -1;
	s += 5;
	if (strcasecmp(s, ".SILENT") == 0)
		st->silent = true;
	else if (*s != '\0')
		return -1;
	return 0;
}

int
imap_args_parse_store(const struct imap_arg *args, unsigned count,
    struct imap_store *st, const char **error_r)
{
	unsigned i = 1;

	memset(st, 0, sizeof(*st));
	if (count < 3)
		return err(error_r, "STORE needs a sequence set, item, flags");
	if (seqset_arg(&args[0], true, &st->set, error_r) < 0)
		return -1;
	if (args[1].type == IMAP_ARG_LIST) {
		if (parse_store_modifiers(st, &args[1], error_r) < 0)
			goto fail;
		i++;
	}
	if (i + 1 >= count || args[i].type != IMAP_ARG_ATOM ||
	    parse_store_item(st, args[i].str) < 0) {
		err(error_r, "Invalid STORE item");
		goto fail;
	}
	i++;
	if (args[i].type == IMAP_ARG_LIST) {
		if (i + 1 != count) {
			err(error_r, "Invalid STORE flags");
			goto fail;
		}
		if (imap_args_parse_flags(args[i].list, args[i].list_count,
		    &st->flags, error_r) < 0)
			goto fail;
	} else if (imap_args_parse_flags(args + i, count - i, &st->flags,
	    error_r) < 0)
		goto fail;
	return 0;
fail:
	imap_store_free(st);
	return -1;
}

void
imap_store_free(struct imap_store *st)
{
	imap_seqset_free(&st->set);
	imap_flags_free(&st->flags);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------ */
/* STATUS                                                               */

static const char *const status_names[] = {
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE",
	"RECENT", "HIGHESTMODSEQ", NULL,
};

int
imap_args_parse_status_items(const struct imap_arg *args, unsigned count,
    unsigned *items_r, const char **error_r)
{
	unsigned i, items = 0;
	int k;

	if (count == 0)
		return err(error_r, "Empty STATUS item list");
	for (i = 0; i < count; i++) {
		if (args[i].type != IMAP_ARG_ATOM ||
		    (k = lookup(status_names, args[i].str)) < 0)
			return err(error_r, "Unknown STATUS item");
		items |= 1u << k;
	}
	*items_r = items;
	return 0;
}

int
imap_args_parse_status(const struct imap_arg *args, unsigned count,
    struct imap_status *st, const char **error_r)
{
	memset(st, 0, sizeof(*st));
	if (count != 2 || args[1].type != IMAP_ARG_LIST)
		return err(error_r, "STATUS needs a mailbox and (items)");
	if (imap_args_parse_status_items(args[1].list, args[1].list_count,
	    &st->items, error_r) < 0)
		return -1;
	if ((st->mailbox = dup_astr(&args[0])) == NULL)
		return err(error_r, "Invalid mailbox name");
	return 0;
}

void
imap_status_free(struct imap_status *st)
{
	free(st->mailbox);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------ */
/* LIST                                                                 */

static int
parse_list_select(struct imap_list *l, const struct imap_arg *a,
    const char **error_r)
{
	static const char *const opts[] = {
		"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE", NULL,
	};
	unsigned i;
	int k;

	for (i = 0; i < a->list_count; i++) {
		if (a->list[i].type != IMAP_ARG_ATOM ||
		    (k = lookup(opts, a->list[i].str)) < 0)
			return err(error_r, "Unknown LIST selection option");
		l->select |= 1u << k;
	}
	if ((l->select & IMAP_LIST_SEL_RECURSIVEMATCH) &&
	    !(l->select & (IMAP_LIST_SEL_SUBSCRIBED |
	    IMAP_LIST_SEL_SPECIAL_USE)))
		return err(error_r, "RECURSIVEMATCH needs a base option");
	return 0;
}

static int
parse_list_return(struct imap_list *l, const struct imap_arg *a,
    const char **error_r)
{
	static const char *const opts[] = {
		"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", NULL,
	};
	const struct imap_arg *o;
	unsigned i;
	int k;

	if (a->type != IMAP_ARG_LIST)
		return err(error_r, "Invalid LIST return options");
	for (i = 0; i < a->list_count; i++) {
		o = &a->list[i];
		if (imap_arg_atom_equals(o, "STATUS") &&
		    i + 1 < a->list_count && o[1].type == IMAP_ARG_LIST &&
		    !(l->ret & IMAP_LIST_RET_STATUS)) {
			if (imap_args_parse_status_items(o[1].list,
			    o[1].list_count, &l->status_items, error_r) < 0)
				return -1;
			l->ret |= IMAP_LIST_RET_STATUS;
			i++;
		} else if (o->type == IMAP_ARG_ATOM &&
		    (k = lookup(opts, o->str)) >= 0)
			l->ret |= 1u << k;
		else
			return err(error_r, "Unknown LIST return option");
	}
	return 0;
}

static int
parse_list_patterns(struct imap_list *l, const struct imap_arg *a,
    const char **error_r)
{
	const struct imap_arg *pats = a;
	unsigned n = 1, i;

	if (a->type == IMAP_ARG_LIST) {
		if (a->list_count == 0)
			return err(error_r, "Empty LIST pattern list");
		l->extended = true;
		pats = a->list;
		n = a->list_count;
	}
	l->patterns = xcalloc(n, sizeof(*l->patterns));
	for (i = 0; i < n; i++) {
		if ((l->patterns[i] = dup_astr(&pats[i])) == NULL)
			return err(error_r, "Invalid LIST pattern");
		l->pattern_count++;
	}
	return 0;
}

int
imap_args_parse_list(const struct imap_arg *args, unsigned count,
    struct imap_list *l, const char **error_r)
{
	unsigned i = 0;

	memset(l, 0, sizeof(*l));
	if (count > 0 && args[0].type == IMAP_ARG_LIST) {
		l->extended = true;
		if (parse_list_select(l, &args[0], error_r) < 0)
			goto fail;
		i++;
	}
	if (count - i < 2) {
		err(error_r, "LIST needs a reference and a pattern");
		goto fail;
	}
	if ((l->reference = dup_astr(&args[i])) == NULL) {
		err(error_r, "Invalid LIST reference");
		goto fail;
	}
	if (parse_list_patterns(l, &args[i + 1], error_r) < 0)
		goto fail;
	i += 2;
	if (i < count) {
		if (count - i != 2 ||
		    !imap_arg_atom_equals(&args[i], "RETURN")) {
			err(error_r, "Invalid LIST arguments");
			goto fail;
		}
		l->extended = true;
		if (parse_list_return(l, &args[i + 1], error_r) < 0)
			goto fail;
	}
	return 0;
fail:
	imap_list_free(l);
	return -1;
}

void
imap_list_free(struct imap_list *l)
{
	unsigned i;

	free(l->reference);
	for (i = 0; i < l->pattern_count; i++)
		free(l->patterns[i]);
	free(l->patterns);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------ */
/* SELECT / EXAMINE                                                     */

/* A set of known numbers in QRESYNC: no "*", no "$". */
static int
known_set(const struct imap_arg *a, struct imap_seqset *set)
{
	const char *error;

	if (seqset_arg(a, false, set, &error) < 0)
		return -1;
	return seqset_has_star(set) ? -1 : 0;
}

/* QRESYNC (uidvalidity modseq [known-uids] [(seqs uids)]), RFC 7162. */
static int
parse_qresync(struct imap_select *sel, const struct imap_arg *a)
{
	const struct imap_arg *q = a->list;
	unsigned n = a->list_count, i = 2;

	if (a->type != IMAP_ARG_LIST || n < 2 || n > 4 ||
	    q[0].type != IMAP_ARG_ATOM || q[1].type != IMAP_ARG_ATOM ||
	    imap_parse_number32(q[0].str, true, &sel->uidvalidity) < 0 ||
	    imap_parse_number64(q[1].str, &sel->modseq) < 0 ||
	    sel->modseq == 0)
		return -1;
	if (i < n && q[i].type == IMAP_ARG_ATOM) {
		if (known_set(&q[i], &sel->known_uids) < 0)
			return -1;
		i++;
	}
	if (i < n) {
		if (q[i].type != IMAP_ARG_LIST || q[i].list_count != 2 ||
		    known_set(&q[i].list[0], &sel->match_seqs) < 0 ||
		    known_set(&q[i].list[1], &sel->match_uids) < 0 ||
		    seqset_raw_count(&sel->match_seqs) !=
		    seqset_raw_count(&sel->match_uids))
			return -1;
		i++;
	}
	sel->qresync = true;
	return i == n ? 0 : -1;
}

int
imap_args_parse_select(const struct imap_arg *args, unsigned count,
    struct imap_select *sel, const char **error_r)
{
	const struct imap_arg *p;
	unsigned i;

	memset(sel, 0, sizeof(*sel));
	if (count < 1 || count > 2 ||
	    (count == 2 && args[1].type != IMAP_ARG_LIST))
		return err(error_r, "SELECT needs a mailbox [(params)]");
	for (i = 0; count == 2 && i < args[1].list_count; i++) {
		p = &args[1].list[i];
		if (imap_arg_atom_equals(p, "CONDSTORE") && !sel->condstore)
			sel->condstore = true;
		else if (imap_arg_atom_equals(p, "QRESYNC") && !sel->qresync &&
		    i + 1 < args[1].list_count) {
			if (parse_qresync(sel, &p[1]) < 0) {
				imap_select_free(sel);
				return err(error_r,
				    "Invalid QRESYNC parameters");
			}
			i++;
		} else {
			imap_select_free(sel);
			return err(error_r, "Unknown SELECT parameter");
		}
	}
	if ((sel->mailbox = dup_astr(&args[0])) == NULL) {
		imap_select_free(sel);
		return err(error_r, "Invalid mailbox name");
	}
	return 0;
}

void
imap_select_free(struct imap_select *sel)
{
	free(sel->mailbox);
	imap_seqset_free(&sel->known_uids);
	imap_seqset_free(&sel->match_seqs);
	imap_seqset_free(&sel->match_uids);
	memset(sel, 0, sizeof(*sel));
}

/* ------------------------------------------------------------------ */
/* APPEND                                                               */

/* One message: [flag-list] [date-time] stream. Advances *ip. */
static int
parse_append_msg(const struct imap_arg *args, unsigned count, unsigned *ip,
    struct imap_append_msg *m, const char **error_r)
{
	unsigned i = *ip;

	memset(m, 0, sizeof(*m));
	if (i < count && args[i].type == IMAP_ARG_LIST) {
		if (imap_args_parse_flags(args[i].list, args[i].list_count,
		    &m->flags, error_r) < 0)
			return -1;
		i++;
	}
	if (i < count && args[i].type == IMAP_ARG_STRING) {
		if (imap_parse_datetime(args[i].str, &m->date,
		    &m->tz_minutes) < 0)
			return err(error_r, "Invalid APPEND date-time");
		m->date_given = true;
		i++;
	}
	if (i >= count || args[i].type != IMAP_ARG_STREAM)
		return err(error_r, "APPEND needs a message literal");
	m->size = args[i].size;
	m->index = args[i].index;
	m->literal8 = args[i].literal8;
	*ip = i + 1;
	return 0;
}

int
imap_args_parse_append(const struct imap_arg *args, unsigned count,
    struct imap_append *a, const char **error_r)
{
	struct imap_append_msg m;
	unsigned i = 1;

	memset(a, 0, sizeof(*a));
	if (count < 2 || (a->mailbox = dup_astr(&args[0])) == NULL)
		return err(error_r, "APPEND needs a mailbox and a message");
	while (i < count) {
		if (parse_append_msg(args, count, &i, &m, error_r) < 0) {
			imap_flags_free(&m.flags);
			imap_append_free(a);
			return -1;
		}
		a->msgs = xrealloc(a->msgs, (a->count + 1) * sizeof(*a->msgs));
		a->msgs[a->count++] = m;
	}
	return 0;
}

void
imap_append_free(struct imap_append *a)
{
	unsigned i;

	free(a->mailbox);
	for (i = 0; i < a->count; i++)
		imap_flags_free(&a->msgs[i].flags);
	free(a->msgs);
	memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------------ */
/* Mailbox names                                                        */

/* No controls (C0, DEL, C1) and well-formed UTF-8. */
static bool
mailbox_utf8_valid(const char *s, size_t len)
{
	uint32_t cp;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0 ||
		    utf8_is_control(cp))
			return false;
	return true;
}

char *
imap_mailbox_decode(const char *name, size_t len, bool utf8_mode,
    const char **error_r)
{
	struct buf out;
	char *s;

	if (memchr(name, '\0', len) != NULL) {
		*error_r = "NUL in mailbox name";
		return NULL;
	}
	buf_init(&out, 0);
	if (utf8_mode) {
		if (!mailbox_utf8_valid(name, len)) {
			*error_r = "Mailbox name is not valid UTF-8";
			return NULL;
		}
		buf_append(&out, name, len);
	} else if (mutf7_decode(&out, name, len, NULL) < 0 ||
	    !mailbox_utf8_valid(out.data, out.len)) {
		/* the decoded text has no controls either */
		buf_free(&out);
		*error_r = "Mailbox name is not valid modified UTF-7";
		return NULL;
	}
	if (out.len > IMAP_MAILBOX_NAME_MAX) {
		buf_free(&out);
		*error_r = "Mailbox name too long";
		return NULL;
	}
	s = buf_steal(&out, NULL);
	if (strcasecmp(s, "INBOX") == 0)
		memcpy(s, "INBOX", 5);
	return s;
}

char *
imap_mailbox_encode_mutf7(const char *utf8)
{
	struct buf out;

	buf_init(&out, 0);
	if (mutf7_encode(&out, utf8, strlen(utf8), NULL) < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

/* ------------------------------------------------------------------ */
/* LIST wildcard matching                                               */

/*
 * A simulation of the pattern as an NFA: state j means "pattern[0..j)
 * matched so far". Wildcards may match nothing, so states are closed over
 * them before each step. Time O(m * n), memory O(m), no backtracking: a
 * hostile "*%*%*%...x" costs the same as any other pattern.
 */
static void
wild_closure(const char *pattern, size_t m, bool *st)
{
	size_t j;

	for (j = 0; j < m; j++)
		if (st[j] && (pattern[j] == '*' || pattern[j] == '%'))
			st[j + 1] = true;
}

bool
imap_list_match(const char *pattern, const char *name, char sep)
{
	size_t m = strlen(pattern), k, j;
	bool *cur = xcalloc(2 * (m + 1), sizeof(bool)), *nxt = cur + m + 1, *t;
	bool inbox, any, r;
	char c, pc;

	inbox = strncmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || (sep != '\0' && name[5] == sep));
	cur[0] = true;
	wild_closure(pattern, m, cur);
	for (k = 0; name[k] != '\0'; k++) {
		c = name[k];
		memset(nxt, 0, m + 1);
		any = false;
		for (j = 0; j < m; j++) {
			if (!cur[j])
				continue;
			pc = pattern[j];
			if (pc == '*' || (pc == '%' && c != sep))
				nxt[j] = any = true;
			else if (pc != '*' && pc != '%' && (pc == c ||
			    (inbox && k < 5 &&
			    toupper((unsigned char)pc) == c)))
				nxt[j + 1] = any = true;
		}
		if (!any) {
			free(cur < nxt ? cur : nxt);
			return false;
		}
		wild_closure(pattern, m, nxt);
		t = cur;
		cur = nxt;
		nxt = t;
	}
	r = cur[m];
	free(cur < nxt ? cur : nxt);
	return r;
}
