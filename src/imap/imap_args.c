/*
 * imap_args - typed parsers over parsed IMAP arguments (see imap_args.h for
 * the contract).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 * Every result is a fresh allocation owned by the caller's struct; on
 * failure the partial result is freed here, so callers never see one.
 *
 * This file: numbers, flags and the small grammars (STORE, STATUS, LIST,
 * SELECT/EXAMINE, APPEND). Beside it, one concern each: imap_date.c,
 * imap_seqset.c, imap_search_args.c (SEARCH), imap_fetch_args.c (FETCH),
 * imap_mailbox.c (mailbox names and LIST wildcards); shared helpers in
 * imap_args_int.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args_int.h"
#include "imap/imap_catenate.h"
#include "util/buf.h"

/* ------------------------------------------------------------------ */
/* Numbers                                                              */

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
	if (imap_seqset_from_arg(&args[0], true, &st->set, error_r) < 0)
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
	"RECENT", "HIGHESTMODSEQ", "DELETED-STORAGE", "MAILBOXID", NULL,
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
		} else if (imap_arg_atom_equals(o, "MYRIGHTS"))
			l->ret |= IMAP_LIST_RET_MYRIGHTS;
		else if (o->type == IMAP_ARG_ATOM &&
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

	if (imap_seqset_from_arg(a, false, set, &error) < 0)
		return -1;
	return imap_seqset_has_star(set) ? -1 : 0;
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
		    imap_seqset_raw_count(&sel->match_seqs) !=
		    imap_seqset_raw_count(&sel->match_uids))
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
	if (i + 1 < count && atom_of(&args[i]) != NULL &&
	    strcasecmp(args[i].str, "CATENATE") == 0 &&
	    args[i + 1].type == IMAP_ARG_LIST) {
		if (imap_catenate_parse(args[i + 1].list,
		    args[i + 1].list_count, &m->parts, &m->n_parts,
		    error_r) < 0)
			return -1;
		*ip = i + 2;
		return 0;
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
	for (i = 0; i < a->count; i++) {
		imap_flags_free(&a->msgs[i].flags);
		imap_catenate_free(a->msgs[i].parts, a->msgs[i].n_parts);
	}
	free(a->msgs);
	memset(a, 0, sizeof(*a));
}
