/*
 * rfc5322_addr - address-list parsing into IMAP ENVELOPE-shaped entries
 * (see rfc5322.h).
 *
 * Trust: untrusted header text. A lexer turns the value into atoms,
 * quoted strings, domain literals and specials (comments are skipped but
 * the last one is kept as a name fallback); a loop with one token of
 * look-ahead builds the entries. No recursion; every unterminated
 * construct ends at the end of the value; at most RFC5322_ADDR_MAX
 * entries. Callers: imap_msgstruct.c (ENVELOPE), mail_search.c.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/rfc5322.h"
#include "util/buf.h"
#include "util/xmalloc.h"

enum tok_type { T_END, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_type	 type;
	const char	*s;	/* raw text (quotes and brackets excluded) */
	size_t		 n;
	char		 c;	/* T_SPECIAL: the character */
};

struct alex {
	const char	*s;
	size_t		 n;
	size_t		 pos;
	struct buf	 comment;	/* the last comment's text */
	struct tok	 cur;
};

static bool
is_special(char c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' ||
	    c == ']' || c == ':' || c == ';' || c == '@' || c == '\\' ||
	    c == ',' || c == '"';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

/* Skips a comment starting at '(' and keeps its text. */
static void
lex_comment(struct alex *lx)
{
	int depth = 0;

	buf_reset(&lx->comment);
	while (lx->pos < lx->n) {
		char c = lx->s[lx->pos++];

		if (c == '\\' && lx->pos < lx->n) {
			buf_putc(&lx->comment, lx->s[lx->pos++]);
			continue;
		}
		if (c == '(' && depth++ == 0)
			continue;
		if (c == ')' && --depth == 0)
			return;
		if (c != '\r' && c != '\n')
			buf_putc(&lx->comment, c);
	}
}

/* Text up to the closing character (unterminated: the end). */
static void
lex_delimited(struct alex *lx, char close, enum tok_type type)
{
	struct tok *t = &lx->cur;

	t->type = type;
	t->s = lx->s + ++lx->pos;
	while (lx->pos < lx->n && lx->s[lx->pos] != close) {
		if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->n)
			lx->pos++;
		lx->pos++;
	}
	t->n = (size_t)(lx->s + lx->pos - t->s);
	if (lx->pos < lx->n)
		lx->pos++;
}

static void
lex_next(struct alex *lx)
{
	struct tok *t = &lx->cur;
	char c;

	for (;;) {
		while (lx->pos < lx->n && is_space(lx->s[lx->pos]))
			lx->pos++;
		if (lx->pos >= lx->n) {
			t->type = T_END;
			return;
		}
		if (lx->s[lx->pos] != '(')
			break;
		lex_comment(lx);
	}
	c = lx->s[lx->pos];
	if (c == '"')
		lex_delimited(lx, '"', T_QSTR);
	else if (c == '[')
		lex_delimited(lx, ']', T_DLIT);
	else if (is_special(c)) {
		t->type = T_SPECIAL;
		t->c = c;
		t->s = lx->s + lx->pos++;
		t->n = 1;
	} else {
		t->type = T_ATOM;
		t->s = lx->s + lx->pos;
		while (lx->pos < lx->n && !is_special(lx->s[lx->pos]) &&
		    !is_space(lx->s[lx->pos]))
			lx->pos++;
		t->n = (size_t)(lx->s + lx->pos - t->s);
	}
}

static bool
at_special(const struct alex *lx, char c)
{
	return lx->cur.type == T_SPECIAL && lx->cur.c == c;
}

/* Appends a word: quoted strings unescaped, literals in brackets. */
static void
word_append(const struct tok *t, struct buf *b)
{
	size_t i;

	if (t->type == T_DLIT)
		buf_putc(b, '[');
	for (i = 0; i < t->n; i++) {
		if (t->type != T_ATOM && t->s[i] == '\\' && i + 1 < t->n)
			i++;
		if (t->s[i] != '\r' && t->s[i] != '\n')
			buf_putc(b, t->s[i]);
	}
	if (t->type == T_DLIT)
		buf_putc(b, ']');
}

struct alist {
	struct rfc5322_addr	*head;
	struct rfc5322_addr	**tail;
	size_t			 count;
};

static char *
buf_dup_or_null(const struct buf *b)
{
	return b->len > 0 ? xstrndup(b->data, b->len) : NULL;
}

static void
alist_add(struct alist *l, char *name, char *route, char *mailbox,
    char *host)
{
	struct rfc5322_addr *a;

	if (l->count >= RFC5322_ADDR_MAX) {
		free(name);
		free(route);
		free(mailbox);
		free(host);
		return;
	}
	a = xmalloc(sizeof(*a));
	a->name = name;
	a->route = route;
	a->mailbox = mailbox;
	a->host = host;
	*l->tail = a;
	l->tail = &a->next;
	l->count++;
}

/*
 * Collects words until a special that ends them: phrase gets them joined
 * by spaces, local joined without (for a local part or domain).
 */
static size_t
read_words(struct alex *lx, struct buf *phrase, struct buf *local)
{
	size_t n = 0;

	while (lx->cur.type == T_ATOM || lx->cur.type == T_QSTR ||
	    lx->cur.type == T_DLIT || at_special(lx, ')') ||
	    at_special(lx, ']') || at_special(lx, '\\')) {
		if (lx->cur.type == T_SPECIAL) {	/* stray: skip */
			lex_next(lx);
			continue;
		}
		if (phrase->len > 0)
			buf_putc(phrase, ' ');
		word_append(&lx->cur, phrase);
		/* Quoted local parts lose their quotes, as in Dovecot. */
		word_append(&lx->cur, local);
		n++;
		lex_next(lx);
	}
	return n;
}

/* Domain: words and dots up to ',', ';', '>' or the end. */
static void
read_domain(struct alex *lx, struct buf *host)
{
	struct buf ignore;

	buf_init(&ignore, 0);
	while (lx->cur.type != T_END && !at_special(lx, ',') &&
	    !at_special(lx, ';') && !at_special(lx, '>') &&
	    !at_special(lx, '<')) {
		if (lx->cur.type == T_SPECIAL) {	/* '@', ':' ... */
			lex_next(lx);
			continue;
		}
		buf_reset(&ignore);
		read_words(lx, &ignore, host);
	}
	buf_free(&ignore);
}

/* After '<': [route ':'] local ['@' domain] '>'. */
static void
read_angle(struct alex *lx, char *name, struct alist *l)
{
	struct buf route, phrase, local, host;

	buf_init(&route, 0);
	buf_init(&phrase, 0);
	buf_init(&local, 0);
	buf_init(&host, 0);
	lex_next(lx);
	if (at_special(lx, '@')) {		/* obs-route */
		while (lx->cur.type != T_END && !at_special(lx, ':') &&
		    !at_special(lx, '>')) {
			if (lx->cur.type == T_SPECIAL)
				buf_putc(&route, lx->cur.c);
			else
				word_append(&lx->cur, &route);
			lex_next(lx);
		}
		if (at_special(lx, ':'))
			lex_next(lx);
	}
	read_words(lx, &phrase, &local);
	if (at_special(lx, '@')) {
		lex_next(lx);
		read_domain(lx, &host);
	}
	if (at_special(lx, '>'))
		lex_next(lx);
	alist_add(l, name, buf_dup_or_null(&route), xstrndup(
	    buf_cstr(&local), local.len), xstrndup(buf_cstr(&host),
	    host.len));
	buf_free(&route);
	buf_free(&phrase);
	buf_free(&local);
	buf_free(&host);
}

struct aparse {
	struct alex	 lx;
	struct alist	 l;
	bool		 in_group;
	struct buf	 phrase;
	struct buf	 local;
};

/* One mailbox, group start/end, or a skipped stray character. */
static void
parse_one(struct aparse *p)
{
	struct alex *lx = &p->lx;
	struct buf host;
	size_t nwords;

	buf_reset(&p->phrase);
	buf_reset(&p->local);
	buf_reset(&lx->comment);
	nwords = read_words(lx, &p->phrase, &p->local);
	if (at_special(lx, '<')) {
		read_angle(lx, buf_dup_or_null(&p->phrase), &p->l);
	} else if (at_special(lx, ':') && !p->in_group) {
		alist_add(&p->l, NULL, NULL, xstrndup(buf_cstr(&p->phrase),
		    p->phrase.len), NULL);
		p->in_group = true;
		lex_next(lx);
		return;
	} else if (at_special(lx, '@') || nwords > 0) {
		buf_init(&host, 0);
		if (at_special(lx, '@')) {
			lex_next(lx);
			read_domain(lx, &host);
		}
		alist_add(&p->l, buf_dup_or_null(&lx->comment), NULL,
		    xstrndup(buf_cstr(&p->local), p->local.len),
		    xstrndup(buf_cstr(&host), host.len));
		buf_free(&host);
	}
	/* Whatever follows up to the separator is junk. */
	while (lx->cur.type != T_END && !at_special(lx, ',') &&
	    !at_special(lx, ';') && !at_special(lx, '<'))
		lex_next(lx);
	if (at_special(lx, ';')) {
		if (p->in_group)
			alist_add(&p->l, NULL, NULL, NULL, NULL);
		p->in_group = false;
		lex_next(lx);
	} else if (at_special(lx, ','))
		lex_next(lx);
}

struct rfc5322_addr *
rfc5322_addr_parse(const char *v, size_t len)
{
	struct aparse p;

	memset(&p, 0, sizeof(p));
	p.lx.s = v;
	p.lx.n = len;
	buf_init(&p.lx.comment, 0);
	buf_init(&p.phrase, 0);
	buf_init(&p.local, 0);
	p.l.tail = &p.l.head;
	lex_next(&p.lx);
	while (p.lx.cur.type != T_END && p.l.count < RFC5322_ADDR_MAX) {
		size_t before = p.lx.pos;
		enum tok_type tt = p.lx.cur.type;

		parse_one(&p);
		if (p.lx.pos == before && p.lx.cur.type == tt &&
		    p.lx.cur.type != T_END)
			lex_next(&p.lx);	/* always make progress */
	}
	if (p.in_group)
		alist_add(&p.l, NULL, NULL, NULL, NULL);
	buf_free(&p.lx.comment);
	buf_free(&p.phrase);
	buf_free(&p.local);
	return p.l.head;
}

void
rfc5322_addr_free(struct rfc5322_addr **list)
{
	struct rfc5322_addr *a = *list, *next;

	for (; a != NULL; a = next) {
		next = a->next;
		free(a->name);
		free(a->route);
		free(a->mailbox);
		free(a->host);
		free(a);
	}
	*list = NULL;
}
