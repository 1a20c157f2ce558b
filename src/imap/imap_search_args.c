/*
 * imap_search_args - the SEARCH grammar: a recursive-descent parser over
 * the argument tree into a key tree (depth bounded by
 * IMAP_SEARCH_DEPTH_MAX), with ESEARCH RETURN options (see imap_args.h).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args_int.h"
#include "util/buf.h"

/* ------------------------------------------------------------------ */
/* SEARCH                                                               */

/* What follows a search key's name. */
enum sk_arg {
	SKA_NONE, SKA_STRING, SKA_DATE, SKA_NUM64, SKA_NZNUM, SKA_UIDSET,
	SKA_KEYWORD, SKA_HEADER, SKA_NOT, SKA_OR, SKA_MODSEQ, SKA_OBJECTID,
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
	{ "SAVEDBEFORE", IMAP_SK_SAVEDBEFORE, SKA_DATE },	/* RFC 8514 */
	{ "SAVEDON", IMAP_SK_SAVEDON, SKA_DATE },
	{ "SAVEDSINCE", IMAP_SK_SAVEDSINCE, SKA_DATE },
	{ "SAVEDATESUPPORTED", IMAP_SK_SAVEDATESUPPORTED, SKA_NONE },
	{ "EMAILID", IMAP_SK_EMAILID, SKA_OBJECTID },		/* RFC 8474 */
	{ "THREADID", IMAP_SK_THREADID, SKA_OBJECTID },
	{ "NOT", IMAP_SK_NOT, SKA_NOT },
	{ "OR", IMAP_SK_OR, SKA_OR },
};
#define NSEARCH_KEYS (sizeof(search_keys) / sizeof(search_keys[0]))

/* RFC 8474: objectid = 1*255(ALPHA / DIGIT / "_" / "-") */
static bool
objectid_valid(const char *s, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') && !is_digit(s[i]) &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

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
	case SKA_OBJECTID:	/* 1*255(ALPHA / DIGIT / "_" / "-") */
		if (!get_astr(a, &s, &len) || !objectid_valid(s, len))
			return -1;
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
		if (imap_seqset_from_arg(a, true, &k->set, &c->error) < 0)
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

/* PARTIAL's range (RFC 5267 4.4): nz-number ":" nz-number, either
   order. */
static int
parse_partial_range(struct imap_search *s, const struct imap_arg *a)
{
	const char *colon;
	char lo[16];
	size_t n;

	if (a->type != IMAP_ARG_ATOM || (colon = strchr(a->str, ':')) ==
	    NULL || (n = (size_t)(colon - a->str)) == 0 || n >= sizeof(lo))
		return -1;
	memcpy(lo, a->str, n);
	lo[n] = '\0';
	if (imap_parse_number32(lo, true, &s->partial_lo) < 0 ||
	    imap_parse_number32(colon + 1, true, &s->partial_hi) < 0)
		return -1;
	if (s->partial_lo > s->partial_hi) {
		uint32_t t = s->partial_lo;

		s->partial_lo = s->partial_hi;
		s->partial_hi = t;
	}
	return 0;
}

/* RETURN (MIN MAX ALL COUNT SAVE) of RFC 4731 / 5182, and CONTEXT,
   UPDATE, PARTIAL lo:hi of RFC 5267. */
int
imap_args_parse_search_return(struct imap_search *s,
    const struct imap_arg *a, const char **error_r)
{
	static const char *const opts[] = {
		"MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE",
		"PARTIAL", NULL,
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
		if ((1u << k) == IMAP_SEARCH_RET_PARTIAL &&
		    ((s->ret & IMAP_SEARCH_RET_PARTIAL) ||
		    i + 1 >= a->list_count ||
		    parse_partial_range(s, &a->list[++i]) < 0))
			return err(error_r, "Invalid PARTIAL range");
		s->ret |= 1u << k;
	}
	if ((s->ret & IMAP_SEARCH_RET_PARTIAL) &&
	    (s->ret & IMAP_SEARCH_RET_ALL))
		return err(error_r, "PARTIAL and ALL exclude each other");
	/* "RETURN ()" (or only hints and UPDATE) means ALL */
	if ((s->ret & ~(IMAP_SEARCH_RET_CONTEXT | IMAP_SEARCH_RET_UPDATE))
	    == 0)
		s->ret |= IMAP_SEARCH_RET_ALL;
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
		if (imap_args_parse_search_return(s, &args[1], error_r) < 0) {
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
