/*
 * sieve_parse - the generic grammar of RFC 5228 section 8.2 into
 * sieve_node trees:
 *   command   = identifier arguments (";" / block)
 *   arguments = *argument [ test / test-list ]
 *   argument  = string-list / number / tag
 *   test      = identifier arguments
 *   test-list = "(" test *("," test) ")"
 *   block     = "{" *command "}"
 * Nothing here knows a command: sieve_validate.c checks each node.
 *
 * Trust: the script is untrusted. Recursion is bounded by max_nesting
 * (blocks and tests count alike), the tree by max_commands (commands
 * plus tests), each string by max_string (the lexer). On an error the
 * partial tree is freed and err holds the first error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_compile.h"
#include "util/array.h"
#include "util/xmalloc.h"

struct parser {
	struct sieve_lexer lx;
	struct sieve_tok tok;		/* the lookahead */
	const struct sieve_limits *l;
	unsigned	 ncmds;		/* commands + tests so far */
	struct sieve_error *err;
};

static int
advance(struct parser *p)
{
	free(p->tok.str);
	p->tok.str = NULL;
	return sieve_lex_next(&p->lx, &p->tok);
}

static int
syntax_error(struct parser *p, const char *what, const char *after)
{
	char buf[80];

	sieve_error_set(p->err, p->tok.line, p->tok.col,
	    "expected %s%s, found %s", what, after,
	    sieve_tok_name(&p->tok, buf, sizeof(buf)));
	return -1;
}

/* Takes the lookahead string into a new one-element strs array. */
static char *
take_string(struct parser *p)
{
	char *s = p->tok.str;

	p->tok.str = NULL;
	return s;
}

/* "[" string *("," string) "]" */
static int
parse_strlist(struct parser *p, struct sieve_arg *a)
{
	size_t cap = 0;

	a->type = SIEVE_ARG_STRLIST;
	for (;;) {
		if (advance(p) < 0)
			return -1;
		if (p->tok.type != SIEVE_TOK_STRING)
			return syntax_error(p, "a string", " in the list");
		*ARRAY_PUSH(a->strs, a->nstr, cap) = take_string(p);
		if (advance(p) < 0)
			return -1;
		if (p->tok.type == SIEVE_TOK_RBRACKET)
			return advance(p);
		if (p->tok.type != SIEVE_TOK_COMMA)
			return syntax_error(p, "',' or ']'", " in the list");
	}
}

static int
parse_arg(struct parser *p, struct sieve_arg *a)
{
	a->line = p->tok.line;
	switch (p->tok.type) {
	case SIEVE_TOK_STRING:
		a->type = SIEVE_ARG_STRING;
		a->strs = xmalloc(sizeof(*a->strs));
		a->strs[0] = take_string(p);
		a->nstr = 1;
		break;
	case SIEVE_TOK_NUMBER:
		a->type = SIEVE_ARG_NUMBER;
		a->number = p->tok.num;
		break;
	case SIEVE_TOK_TAG:
		a->type = SIEVE_ARG_TAG;
		a->tag = xstrndup(p->tok.s, p->tok.len);
		for (char *c = a->tag; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		break;
	default:
		return parse_strlist(p, a);
	}
	return advance(p);
}

static int parse_test(struct parser *, struct sieve_node *, unsigned);

/* A new node named by the IDENT lookahead, counted and depth-checked. */
static int
node_start(struct parser *p, struct sieve_node *n, unsigned depth)
{
	memset(n, 0, sizeof(*n));
	n->line = p->tok.line;
	if (depth > p->l->max_nesting) {
		sieve_error_set(p->err, p->tok.line, p->tok.col,
		    "blocks and tests nested deeper than %u levels",
		    p->l->max_nesting);
		return -1;
	}
	if (++p->ncmds > p->l->max_commands) {
		sieve_error_set(p->err, p->tok.line, p->tok.col,
		    "more than %u commands and tests", p->l->max_commands);
		return -1;
	}
	n->name = xstrndup(p->tok.s, p->tok.len);
	for (char *c = n->name; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return advance(p);
}

/* arguments: *argument [ test / test-list ] */
static int
parse_args(struct parser *p, struct sieve_node *n, unsigned depth)
{
	size_t cap = 0;

	while (p->tok.type == SIEVE_TOK_STRING ||
	    p->tok.type == SIEVE_TOK_NUMBER || p->tok.type == SIEVE_TOK_TAG ||
	    p->tok.type == SIEVE_TOK_LBRACKET)
		if (parse_arg(p, ARRAY_PUSH(n->pos, n->npos, cap)) < 0)
			return -1;
	cap = 0;
	if (p->tok.type == SIEVE_TOK_IDENT) {
		struct sieve_node t;
		int rc = parse_test(p, &t, depth + 1);

		*ARRAY_PUSH(n->tests, n->ntests, cap) = t;
		return rc;
	}
	if (p->tok.type != SIEVE_TOK_LPAREN)
		return 0;
	n->id = SIEVE_PARSED_LIST;
	for (;;) {
		struct sieve_node t;
		int rc;

		if (advance(p) < 0)
			return -1;
		if (p->tok.type != SIEVE_TOK_IDENT)
			return syntax_error(p, "a test", " in the test list");
		rc = parse_test(p, &t, depth + 1);
		*ARRAY_PUSH(n->tests, n->ntests, cap) = t;
		if (rc < 0)
			return -1;
		if (p->tok.type == SIEVE_TOK_RPAREN)
			return advance(p);
		if (p->tok.type != SIEVE_TOK_COMMA)
			return syntax_error(p, "',' or ')'",
			    " in the test list");
	}
}

/* test = identifier arguments; the lookahead is the identifier. On an
 * error *t holds what was built (the caller frees it). */
static int
parse_test(struct parser *p, struct sieve_node *t, unsigned depth)
{
	if (node_start(p, t, depth) < 0)
		return -1;
	return parse_args(p, t, depth);
}

static int parse_commands(struct parser *, struct sieve_node **, size_t *,
    unsigned);

static int
parse_command(struct parser *p, struct sieve_node *n, unsigned depth)
{
	char after[80];

	if (node_start(p, n, depth) < 0 || parse_args(p, n, depth) < 0)
		return -1;
	if (p->tok.type == SIEVE_TOK_SEMI)
		return advance(p);
	if (p->tok.type != SIEVE_TOK_LBRACE) {
		snprintf(after, sizeof(after), " after command '%.40s'",
		    n->name);
		return syntax_error(p, "';'", after);
	}
	if (advance(p) < 0 ||
	    parse_commands(p, &n->block, &n->nblock, depth + 1) < 0)
		return -1;
	/* an empty block still marks "has a block" for the validator */
	if (n->block == NULL)
		n->block = xmalloc(sizeof(*n->block));
	if (p->tok.type != SIEVE_TOK_RBRACE)
		return syntax_error(p, "'}'", " at the end of the block");
	return advance(p);
}

/* *command, up to '}' or the end of the script (the caller checks which
 * is right). */
static int
parse_commands(struct parser *p, struct sieve_node **v, size_t *n,
    unsigned depth)
{
	size_t cap = 0;

	while (p->tok.type != SIEVE_TOK_RBRACE &&
	    p->tok.type != SIEVE_TOK_EOF) {
		struct sieve_node c;
		int rc;

		if (p->tok.type != SIEVE_TOK_IDENT)
			return syntax_error(p, "a command", "");
		rc = parse_command(p, &c, depth);
		*ARRAY_PUSH(*v, *n, cap) = c;
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
sieve_parse(const char *text, size_t len, const struct sieve_limits *l,
    struct sieve_script *sc, struct sieve_error *err)
{
	struct parser p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.l = l;
	p.err = err;
	sieve_lex_init(&p.lx, text, len, l->max_string, err);
	rc = advance(&p);
	if (rc == 0)
		rc = parse_commands(&p, &sc->cmds, &sc->ncmds, 0);
	if (rc == 0 && p.tok.type != SIEVE_TOK_EOF)
		rc = syntax_error(&p, "a command", "");
	free(p.tok.str);
	return rc;
}
