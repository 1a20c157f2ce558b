/*
 * sieve_validate - checks the generic tree of sieve_parse.c against the
 * signatures of sieve_vtab.c and turns it into the compiled tree of
 * sieve_ast.h: ids set, tagged arguments moved into `tags` (defaults
 * filled), positionals left in `pos` (a lone string where a list is
 * wanted becomes a STRLIST of one), `require` read into exts, and the
 * placement rules of RFC 5228 (require first, elsif/else after if).
 * Command-specific checks are in sieve_vcheck.c.
 *
 * Trust: the tree comes from an untrusted script; every shape is checked
 * before it is used. Recursion follows the tree, whose depth the parser
 * bounded (max_nesting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve/sieve_compile.h"
#include "util/xmalloc.h"

struct validator {
	struct sieve_script *sc;
	const struct sieve_limits *l;
	struct sieve_error *err;
};

/* The first error at line; -1. */
#define verr(v, line, ...)	sieve_error_set((v)->err, (line), 0, \
				    __VA_ARGS__)

static const char *
kind(const struct sieve_cmd_def *d)
{
	return d->test ? "test" : "command";
}

static const char *
arg_type_name(const struct sieve_arg *a)
{
	switch (a->type) {
	case SIEVE_ARG_NUMBER: return "a number";
	case SIEVE_ARG_STRING: return "a string";
	case SIEVE_ARG_STRLIST: return "a string list";
	default: return "a tag";
	}
}

static int
do_require(struct validator *v, struct sieve_node *n)
{
	const struct sieve_arg *a = &n->pos[0];

	for (size_t i = 0; i < a->nstr; i++) {
		int64_t bit = sieve_ext_find(a->strs[i]);

		if (bit < 0)
			return verr(v, n->line, "require: unknown extension "
			    "\"%.80s\"", a->strs[i]);
		v->sc->exts |= (uint32_t)bit;
		/* vacation-seconds extends vacation (RFC 6131 2) */
		if (bit == SIEVE_EXT_VACATION_SECONDS)
			v->sc->exts |= SIEVE_EXT_VACATION;
	}
	return 0;
}

static int
set_relation(struct validator *v, const struct sieve_node *n,
    const char *s, struct sieve_tags *t)
{
	static const char *const rels[] = { "gt", "ge", "lt", "le", "eq",
	    "ne" };

	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		if (strcasecmp(s, rels[i]) == 0) {
			t->rel = (enum sieve_rel)i;
			return 0;
		}
	return verr(v, n->line, "invalid relational operator \"%.40s\" "
	    "(gt, ge, lt, le, eq or ne)", s);
}

static int
set_comparator(struct validator *v, const struct sieve_node *n,
    const char *s, struct sieve_tags *t)
{
	if (strcasecmp(s, "i;octet") == 0)
		t->cmp = SIEVE_CMP_OCTET;
	else if (strcasecmp(s, "i;ascii-casemap") == 0)
		t->cmp = SIEVE_CMP_ASCII_CASEMAP;
	else if (strcasecmp(s, "i;ascii-numeric") == 0 &&
	    (v->sc->exts & SIEVE_EXT_CMP_NUMERIC) != 0)
		t->cmp = SIEVE_CMP_ASCII_NUMERIC;
	else if (strcasecmp(s, "i;ascii-numeric") == 0)
		return verr(v, n->line, "comparator \"i;ascii-numeric\" needs "
		    "require \"comparator-i;ascii-numeric\"");
	else
		return verr(v, n->line, "unknown comparator \"%.80s\"", s);
	return 0;
}

static char *
steal_str(struct sieve_arg *a)
{
	char *s = a->strs[0];

	a->strs[0] = NULL;
	return s;
}

static void
steal_list(struct sieve_arg *dst, struct sieve_arg *a)
{
	*dst = *a;
	dst->type = SIEVE_ARG_STRLIST;
	memset(a, 0, sizeof(*a));
}

/* Applies tag td, one without an argument, to n->tags. */
static void
apply_flag(struct sieve_node *n, const struct sieve_tag_def *td)
{
	struct sieve_tags *t = &n->tags;

	switch (td->group) {
	case SIEVE_TG_MATCH:
		t->match = (enum sieve_match)td->value;
		break;
	case SIEVE_TG_ADDRPART:
		t->addrpart = (enum sieve_addrpart)td->value;
		break;
	case SIEVE_TG_SIZE: t->over = td->value != 0; break;
	case SIEVE_TG_BODY:
		t->body = (enum sieve_body_xform)td->value;
		break;
	case SIEVE_TG_ZONE: t->originalzone = true; break;
	case SIEVE_TG_INDEX:
	case SIEVE_TG_DHINDEX:
	case SIEVE_TG_LAST: t->last = true; break;
	case SIEVE_TG_MIME: t->mime = true; break;
	case SIEVE_TG_CREATE: t->create = true; break;
	case SIEVE_TG_COPY: t->copy = true; break;
	case SIEVE_TG_MODS: t->modifiers |= (unsigned)td->value; break;
	case SIEVE_TG_LOCATION: t->global = td->value != 0; break;
	case SIEVE_TG_ONCE: t->once = true; break;
	case SIEVE_TG_OPTIONAL: t->optional = true; break;
	default: break;
	}
}

/* Applies tag td with its argument a (of the right type) to n->tags. */
static int
apply_arg(struct validator *v, struct sieve_node *n,
    const struct sieve_tag_def *td, struct sieve_arg *a)
{
	struct sieve_tags *t = &n->tags;

	switch (td->group) {
	case SIEVE_TG_MATCH:
		t->match = (enum sieve_match)td->value;
		return set_relation(v, n, a->strs[0], t);
	case SIEVE_TG_CMP:
		return set_comparator(v, n, a->strs[0], t);
	case SIEVE_TG_BODY:
		t->body = (enum sieve_body_xform)td->value;
		steal_list(&t->content, a);
		break;
	case SIEVE_TG_ZONE:
	case SIEVE_TG_CZONE:
		t->zone = steal_str(a);
		break;
	case SIEVE_TG_INDEX:
	case SIEVE_TG_DHINDEX:
		if (a->number == 0 || a->number > 0x7fffffff)
			return verr(v, n->line, ":index %llu is out of range "
			    "(1 and up)", (unsigned long long)a->number);
		t->index = (unsigned)a->number;
		break;
	case SIEVE_TG_FLAGS:
		steal_list(&t->flags, a);
		t->has_flags = true;
		break;
	case SIEVE_TG_PERIOD:
	case SIEVE_TG_DUPSEC:
		t->has_period = true;
		/* :days 0 is below RFC 5230 4.1's minimum of one day:
		 * raised to it, as Pigeonhole does */
		if (td->value == 86400 && a->number == 0)
			a->number = 1;
		t->seconds = a->number > UINT64_MAX / (uint64_t)td->value ?
		    UINT64_MAX : a->number * (uint64_t)td->value;
		break;
	case SIEVE_TG_SUBJECT: t->subject = steal_str(a); break;
	case SIEVE_TG_FROM: t->from = steal_str(a); break;
	case SIEVE_TG_HANDLE: t->handle = steal_str(a); break;
	case SIEVE_TG_ADDRESSES: steal_list(&t->addresses, a); break;
	case SIEVE_TG_DUPID:
		if (td->value)
			t->uniqueid = steal_str(a);
		else
			t->header = steal_str(a);
		break;
	default: break;
	}
	return 0;
}

/* The precedence of a set modifier (RFC 5229 4): two of one are an
 * error. */
static int
mod_prec(int m)
{
	if (m & (SIEVE_MOD_LOWER | SIEVE_MOD_UPPER))
		return 40;
	if (m & (SIEVE_MOD_LOWERFIRST | SIEVE_MOD_UPPERFIRST))
		return 30;
	if (m & SIEVE_MOD_QUOTEWILDCARD)
		return 20;
	return 10;
}

/* Is this tag a second one of a kind (same tag, same exclusive group, or
 * a second set modifier of one precedence)? seen: the defs so far. */
static const struct sieve_tag_def *
tag_clash(const struct sieve_tag_def *td, const struct sieve_tag_def **seen,
    size_t nseen)
{
	for (size_t i = 0; i < nseen; i++) {
		const struct sieve_tag_def *o = seen[i];

		if (o == td)
			return o;
		if (o->group != td->group)
			continue;
		if (td->group == SIEVE_TG_MODS) {
			if (mod_prec(o->value) == mod_prec(td->value))
				return o;
		} else if (td->group != SIEVE_TG_INDEX &&
		    td->group != SIEVE_TG_DHINDEX) {
			return o;
		}
	}
	return NULL;
}

static bool
group_seen(enum sieve_tag_group g, const struct sieve_tag_def **seen,
    size_t nseen)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i]->group == g)
			return true;
	return false;
}

static int
tag_arg_ok(struct validator *v, const struct sieve_node *n,
    const struct sieve_tag_def *td, const struct sieve_arg *a)
{
	bool ok;

	if (a == NULL)
		return verr(v, n->line, "tag ':%s' needs an argument",
		    td->name);
	switch (td->arg) {
	case 'N': ok = a->type == SIEVE_ARG_NUMBER; break;
	case 'S': ok = a->type == SIEVE_ARG_STRING; break;
	default: ok = a->type == SIEVE_ARG_STRING ||
	    a->type == SIEVE_ARG_STRLIST; break;
	}
	if (!ok)
		return verr(v, n->line, "tag ':%s' needs %s argument, found "
		    "%s", td->name, td->arg == 'N' ? "a number" : td->arg ==
		    'S' ? "a string" : "a string list", arg_type_name(a));
	return 0;
}

/* Moves the tags (and their arguments) out of n->pos into n->tags. */
static int
do_tags(struct validator *v, const struct sieve_cmd_def *d,
    struct sieve_node *n)
{
	const struct sieve_tag_def *seen[32], *td, *o;
	size_t nseen = 0, npos = 0;
	bool positional = false;

	for (size_t i = 0; i < n->npos; i++) {
		struct sieve_arg *a = &n->pos[i], *targ = NULL;

		if (a->type != SIEVE_ARG_TAG) {
			positional = true;
			if (&n->pos[npos] != a) {
				n->pos[npos] = *a;
				memset(a, 0, sizeof(*a));
			}
			npos++;
			continue;
		}
		td = sieve_tag_find(a->tag, d->tags);
		if (td == NULL)
			return verr(v, a->line, "%s '%s' has no tag ':%.40s'",
			    kind(d), d->name, a->tag);
		if (td->ext != 0 && (v->sc->exts & td->ext) == 0)
			return verr(v, a->line, "tag ':%s' needs require "
			    "\"%s\"", td->name, sieve_ext_name(td->ext));
		if (positional)
			return verr(v, a->line, "tag ':%s' after positional "
			    "arguments", td->name);
		if ((o = tag_clash(td, seen, nseen)) != NULL)
			return verr(v, a->line, o == td ? "tag ':%s' given "
			    "twice%.0s" : "tag ':%s' conflicts with ':%s'",
			    td->name, o->name);
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = td;
		if (td->arg != 0) {
			targ = i + 1 < n->npos ? &n->pos[i + 1] : NULL;
			if (tag_arg_ok(v, n, td, targ) < 0 ||
			    apply_arg(v, n, td, &n->pos[i + 1]) < 0)
				return -1;
			i++;
		} else {
			apply_flag(n, td);
		}
		/* freed now: positionals move down over these slots */
		sieve_arg_free(a);
		if (targ != NULL)
			sieve_arg_free(targ);
	}
	/* the rest (tags and their consumed arguments) is freed */
	for (size_t i = npos; i < n->npos; i++)
		sieve_arg_free(&n->pos[i]);
	n->npos = npos;
	if ((d->tags & SIEVE_TG(SIEVE_TG_SIZE)) != 0 &&
	    !group_seen(SIEVE_TG_SIZE, seen, nseen))
		return verr(v, n->line, "test 'size' needs :over or :under");
	return 0;
}

/* The positionals against d->sig (with one optional, d->opt). */
static int
do_positional(struct validator *v, const struct sieve_cmd_def *d,
    struct sieve_node *n)
{
	size_t want = strlen(d->sig), skip = 0;
	const char *sig = d->sig;

	if (d->opt != 0 && n->npos + 1 == want) {
		want--;
		if (d->opt == 'F')
			skip = 1;
	}
	if (n->npos != want) {
		if (d->opt != 0)
			return verr(v, n->line, "%s '%s' takes %zu or %zu "
			    "arguments, found %zu", kind(d), d->name, want - 1,
			    want, n->npos);
		return verr(v, n->line, "%s '%s' takes %zu argument%s, found "
		    "%zu", kind(d), d->name, want, want == 1 ? "" : "s",
		    n->npos);
	}
	for (size_t i = 0; i < n->npos; i++) {
		struct sieve_arg *a = &n->pos[i];
		char c = sig[i + skip];
		bool ok = c == 'N' ? a->type == SIEVE_ARG_NUMBER :
		    c == 'S' ? a->type == SIEVE_ARG_STRING :
		    a->type != SIEVE_ARG_NUMBER;

		if (!ok)
			return verr(v, a->line, "%s '%s': argument %zu must "
			    "be %s, found %s", kind(d), d->name, i + 1,
			    c == 'N' ? "a number" : c == 'S' ? "a string" :
			    "a string list", arg_type_name(a));
		if (c == 'L')
			a->type = SIEVE_ARG_STRLIST;
	}
	return 0;
}

/* The test / test-list / block a command or test has against d. */
static int
do_shape(struct validator *v, const struct sieve_cmd_def *d,
    struct sieve_node *n, bool list)
{
	if (d->sub == SIEVE_SUB_NONE && n->ntests > 0) {
		if (d->block)
			return verr(v, n->line, "command '%s' takes no test",
			    d->name);
		if (!d->test)
			return verr(v, n->line, "expected ';' after command "
			    "'%s'", d->name);
		return verr(v, n->line, "test '%s' takes no sub-test",
		    d->name);
	}
	if (d->sub == SIEVE_SUB_ONE && (n->ntests != 1 || list))
		return verr(v, n->line, n->ntests == 0 ? "%s '%s' needs a "
		    "test" : "%s '%s' takes one test, not a list in '( )'",
		    kind(d), d->name);
	if (d->sub == SIEVE_SUB_LIST && !list)
		return verr(v, n->line, "%s '%s' needs a list of tests in "
		    "'( )'", kind(d), d->name);
	if (d->block && n->block == NULL)
		return verr(v, n->line, "command '%s' needs a block",
		    d->name);
	if (!d->block && n->block != NULL)
		return verr(v, n->line, "command '%s' takes no block",
		    d->name);
	return 0;
}

/* After the tags: what they require of each other. */
static int
check_tags(struct validator *v, const struct sieve_cmd_def *d,
    struct sieve_node *n)
{
	const struct sieve_tags *t = &n->tags;

	if (t->cmp == SIEVE_CMP_ASCII_NUMERIC &&
	    (t->match == SIEVE_MATCH_CONTAINS ||
	    t->match == SIEVE_MATCH_MATCHES))
		return verr(v, n->line, "comparator \"i;ascii-numeric\" does "
		    "not support :%s", t->match == SIEVE_MATCH_CONTAINS ?
		    "contains" : "matches");
	if (t->last && t->index == 0 && (d->tags & (SIEVE_TG(SIEVE_TG_INDEX) |
	    SIEVE_TG(SIEVE_TG_DHINDEX))) != 0)
		return verr(v, n->line, "tag ':last' needs ':index'");
	return 0;
}

static int validate_node(struct validator *, struct sieve_node *, bool);

static int
decode_args(struct validator *v, struct sieve_node *n)
{
	for (size_t i = 0; i < n->npos; i++)
		for (size_t j = 0; j < n->pos[i].nstr; j++)
			if (sieve_decode_encoded(&n->pos[i].strs[j],
			    n->pos[i].line, v->err) < 0)
				return -1;
	return 0;
}

static int
validate_node(struct validator *v, struct sieve_node *n, bool test)
{
	const struct sieve_cmd_def *d = sieve_cmd_find(n->name, test);
	bool list = n->id == SIEVE_PARSED_LIST;

	if (d == NULL)
		return verr(v, n->line, "unknown %s '%.40s'", test ? "test" :
		    "command", n->name);
	if (d->ext != 0 && (v->sc->exts & d->ext) == 0)
		return verr(v, n->line, "unknown %s '%s' (missing require "
		    "\"%s\")", kind(d), d->name, d->ext_name);
	n->id = d->id;
	if (d->id != SIEVE_CMD_REQUIRE &&
	    (v->sc->exts & SIEVE_EXT_ENCODED_CHAR) != 0 &&
	    decode_args(v, n) < 0)
		return -1;
	if (do_tags(v, d, n) < 0 || do_positional(v, d, n) < 0 ||
	    do_shape(v, d, n, list) < 0 || check_tags(v, d, n) < 0)
		return -1;
	if (d->id == SIEVE_CMD_REQUIRE && !test)
		return do_require(v, n);
	if (sieve_check_node(v->sc, n, test, v->l, v->err) < 0)
		return -1;
	for (size_t i = 0; i < n->ntests; i++)
		if (validate_node(v, &n->tests[i], true) < 0)
			return -1;
	return 0;
}

/* A block (or the script: top) in order: require only at the top before
 * anything else, elsif/else only after if/elsif. */
static int
validate_block(struct validator *v, struct sieve_node *cmds, size_t n,
    bool top)
{
	int prev = SIEVE_CMD_UNKNOWN;
	bool others = !top;

	for (size_t i = 0; i < n; i++) {
		struct sieve_node *c = &cmds[i];

		if (strcmp(c->name, "require") == 0 && others)
			return verr(v, c->line, "require must come before any "
			    "other command, at the top level (RFC 5228 3.2)");
		if ((strcmp(c->name, "elsif") == 0 ||
		    strcmp(c->name, "else") == 0) &&
		    prev != SIEVE_CMD_IF && prev != SIEVE_CMD_ELSIF)
			return verr(v, c->line, "'%s' without a preceding "
			    "'if'", c->name);
		if (validate_node(v, c, false) < 0)
			return -1;
		if (c->id != SIEVE_CMD_REQUIRE)
			others = true;
		prev = c->id;
		if (validate_block(v, c->block, c->nblock, false) < 0)
			return -1;
	}
	return 0;
}

int
sieve_validate(struct sieve_script *sc, const struct sieve_limits *l,
    struct sieve_error *err)
{
	struct validator v = { .sc = sc, .l = l, .err = err };

	return validate_block(&v, sc->cmds, sc->ncmds, true);
}
