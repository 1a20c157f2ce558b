/*
 * mime_fields - the Content-* header fields of one MIME part: type,
 * parameters (with RFC 2231 continuations joined), transfer encoding,
 * disposition, id, description, language, location, MD5.
 *
 * Trust: untrusted header text; a forward scan over an unfolded copy,
 * bounded by its length and MIME_MAX_PARAMS. Invalid syntax gives empty
 * or absent values as Dovecot does (a type without a name becomes ""/""
 * and no parameters), never an error. Caller: mime.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime_int.h"
#include "mail/rfc5322.h"
#include "util/buf.h"
#include "util/xmalloc.h"

struct pscan {
	const char	*s;
	size_t		 n;
	size_t		 pos;
};

static bool
ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips white space and (nested) comments. */
static void
skip_cfws(struct pscan *ps)
{
	int depth = 0;

	while (ps->pos < ps->n) {
		char c = ps->s[ps->pos];

		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == '\\' && depth > 0 && ps->pos + 1 < ps->n)
			ps->pos++;
		else if (depth == 0 && !ws(c))
			return;
		ps->pos++;
	}
}

/* A token up to white space or one of stop; returns a fresh string. */
static char *
read_token(struct pscan *ps, const char *stop)
{
	size_t start = ps->pos;

	while (ps->pos < ps->n && !ws(ps->s[ps->pos]) &&
	    strchr(stop, ps->s[ps->pos]) == NULL && ps->s[ps->pos] != '\0')
		ps->pos++;
	return xstrndup(ps->s + start, ps->pos - start);
}

static char *
read_quoted(struct pscan *ps)
{
	struct buf b;

	buf_init(&b, 0);
	ps->pos++;
	while (ps->pos < ps->n && ps->s[ps->pos] != '"') {
		if (ps->s[ps->pos] == '\\' && ps->pos + 1 < ps->n)
			ps->pos++;
		buf_putc(&b, ps->s[ps->pos++]);
	}
	if (ps->pos >= ps->n) {		/* unterminated: dropped */
		buf_free(&b);
		return NULL;
	}
	ps->pos++;
	return buf_steal(&b, NULL);
}

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return d;
}

static void
params_free(struct mime_param **ps, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*ps)[i].name);
		free((*ps)[i].value);
	}
	XFREE(ps);
	*n = 0;
}

static void
param_add(struct mime_param **ps, size_t *n, char *name, char *value)
{
	if (*n >= MIME_MAX_PARAMS) {
		free(name);
		free(value);
		return;
	}
	*ps = xrealloc(*ps, (*n + 1) * sizeof(**ps));
	(*ps)[*n].name = name;
	(*ps)[*n].value = value;
	(*n)++;
}

/* "; name=value" pairs until the end; junk between them skipped. */
static void
read_params(struct pscan *ps, struct mime_param **out, size_t *nout)
{
	while (ps->pos < ps->n) {
		char *name, *value;

		while (ps->pos < ps->n && ps->s[ps->pos] != ';')
			ps->pos++;
		if (ps->pos >= ps->n)
			break;
		ps->pos++;
		skip_cfws(ps);
		name = read_token(ps, ";=\"(");
		skip_cfws(ps);
		if (name[0] == '\0' || ps->pos >= ps->n ||
		    ps->s[ps->pos] != '=') {
			free(name);
			continue;
		}
		ps->pos++;
		skip_cfws(ps);
		if (ps->pos < ps->n && ps->s[ps->pos] == '"')
			value = read_quoted(ps);
		else
			value = read_token(ps, ";\"");
		if (value == NULL)
			free(name);
		else
			param_add(out, nout, name, value);
	}
}

/* --- RFC 2231 --------------------------------------------------------- */

/* For "base*N" / "base*N*": the index, and *ext_r; -1 otherwise. */
static int
cont_index(const char *name, size_t base_len, bool *ext_r)
{
	const char *p = name + base_len + 1;
	int idx = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((idx = idx * 10 + (*p - '0')) > MIME_MAX_PARAMS)
			return -1;
	*ext_r = *p == '*';
	if (*p == '*')
		p++;
	return *p == '\0' ? idx : -1;
}

/* Percent-encodes what an extended value cannot carry as it is. */
static void
pct_append(const char *v, struct buf *b)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c <= ' ' || c >= 0x7F || strchr("*'%()<>@,;:\\\"/[]?=",
		    c) != NULL)
			buf_printf(b, "%%%02X", c);
		else
			buf_putc(b, (char)c);
	}
}

/* Joins the continuations of base (raw params in[]), appends to out. */
static void
join_cont(const struct mime_param *in, size_t n, const char *base,
    size_t blen, struct mime_param **out, size_t *nout)
{
	const char *seg[MIME_MAX_PARAMS + 1];
	bool ext[MIME_MAX_PARAMS + 1], any_ext = false, e;
	size_t i, k;
	struct buf b;
	int idx;

	memset(seg, 0, sizeof(seg));
	for (i = 0; i < n; i++) {
		if (strncasecmp(in[i].name, base, blen) != 0 ||
		    in[i].name[blen] != '*' ||
		    (idx = cont_index(in[i].name, blen, &e)) < 0 ||
		    seg[idx] != NULL)
			continue;
		seg[idx] = in[i].value;
		ext[idx] = e;
		any_ext |= e;
	}
	buf_init(&b, 0);
	for (k = 0; k <= MIME_MAX_PARAMS && seg[k] != NULL; k++) {
		if (any_ext && !ext[k])
			pct_append(seg[k], &b);
		else
			buf_puts(&b, seg[k]);
	}
	param_add(out, nout, xasprintf("%.*s%s", (int)blen, base,
	    any_ext ? "*" : ""), xstrndup(buf_cstr(&b), b.len));
	buf_free(&b);
}

/* Replaces *ps by the RFC 2231-joined list. */
static void
params_2231(struct mime_param **ps, size_t *n)
{
	struct mime_param *out = NULL;
	size_t nout = 0, i, j, blen;
	bool e, seen;

	for (i = 0; i < *n; i++) {
		const char *name = (*ps)[i].name, *star = strchr(name, '*');

		blen = star != NULL ? (size_t)(star - name) : 0;
		if (star == NULL || blen == 0 ||
		    cont_index(name, blen, &e) < 0) {
			param_add(&out, &nout, xstrdup(name),
			    xstrdup((*ps)[i].value));
			continue;
		}
		for (seen = false, j = 0; j < i && !seen; j++)
			seen = strncasecmp((*ps)[j].name, name, blen + 1) == 0 &&
			    cont_index((*ps)[j].name, blen, &e) >= 0;
		if (!seen)
			join_cont(*ps, *n, name, blen, &out, &nout);
	}
	params_free(ps, n);
	*ps = out;
	*n = nout;
}

/* --- the fields ----------------------------------------------------------- */

static void
parse_ctype(struct mime_part *p, const char *v, size_t len)
{
	struct pscan ps = { v, len, 0 };
	char *type, *sub = NULL;

	skip_cfws(&ps);
	type = read_token(&ps, "/;\"(");
	skip_cfws(&ps);
	if (ps.pos < ps.n && ps.s[ps.pos] == '/') {
		ps.pos++;
		skip_cfws(&ps);
		sub = read_token(&ps, ";\"(");
	}
	if (type[0] == '\0') {		/* no type: nothing is usable */
		free(sub);
		p->type_raw = type;
		p->subtype_raw = xstrdup("");
		return;
	}
	p->type_raw = type;
	p->subtype_raw = sub != NULL ? sub : xstrdup("");
	read_params(&ps, &p->params, &p->nparams);
	params_2231(&p->params, &p->nparams);
}

static void
parse_disposition(struct mime_part *p, const char *v, size_t len)
{
	struct pscan ps = { v, len, 0 };

	skip_cfws(&ps);
	p->disposition = read_token(&ps, ";\"(");
	if (p->disposition[0] == '\0') {
		XFREE(&p->disposition);
		return;
	}
	read_params(&ps, &p->disp_params, &p->ndisp_params);
	params_2231(&p->disp_params, &p->ndisp_params);
}

static char *
unfolded(const char *v, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	rfc5322_unfold(v, len, &b);
	return buf_steal(&b, NULL);
}

/* Sets *slot to the unfolded value unless an earlier field did. */
static void
set_once(char **slot, const char *v, size_t len)
{
	if (*slot == NULL)
		*slot = unfolded(v, len);
}

static void
field_one(struct mime_part *p, const struct rfc5322_field *f)
{
	char *u;

	if (rfc5322_field_is(f, "Content-Type")) {
		if (p->has_ctype)
			return;
		p->has_ctype = true;
		u = unfolded(f->value, f->value_len);
		parse_ctype(p, u, strlen(u));
		free(u);
	} else if (rfc5322_field_is(f, "Content-Transfer-Encoding")) {
		struct pscan ps;

		if (p->cte_raw != NULL)
			return;
		u = unfolded(f->value, f->value_len);
		ps = (struct pscan){ u, strlen(u), 0 };
		skip_cfws(&ps);
		p->cte_raw = read_token(&ps, ";(\"");
		p->cte = mime_cte_from_name(p->cte_raw, strlen(p->cte_raw));
		free(u);
	} else if (rfc5322_field_is(f, "Content-Disposition")) {
		if (p->disposition != NULL)
			return;
		u = unfolded(f->value, f->value_len);
		parse_disposition(p, u, strlen(u));
		free(u);
	} else if (rfc5322_field_is(f, "Content-ID"))
		set_once(&p->id, f->value, f->value_len);
	else if (rfc5322_field_is(f, "Content-Description"))
		set_once(&p->description, f->value, f->value_len);
	else if (rfc5322_field_is(f, "Content-MD5"))
		set_once(&p->md5, f->value, f->value_len);
	else if (rfc5322_field_is(f, "Content-Language"))
		set_once(&p->language, f->value, f->value_len);
	else if (rfc5322_field_is(f, "Content-Location"))
		set_once(&p->location, f->value, f->value_len);
}

void
mime_fields_parse(struct mime_part *p, const char *hdr, size_t len,
    bool in_digest)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;

	rfc5322_iter_init(&it, hdr, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		if (f.name_len > 8 && strncasecmp(f.name, "Content-", 8) == 0)
			field_one(p, &f);
	if (p->type_raw == NULL) {
		p->type_raw = xstrdup(in_digest ? "message" : "text");
		p->subtype_raw = xstrdup(in_digest ? "rfc822" : "plain");
	}
	p->type = lower_dup(p->type_raw);
	p->subtype = lower_dup(p->subtype_raw);
	if (strcmp(p->type, "text") == 0 &&
	    mime_param_get(p->params, p->nparams, "charset") == NULL)
		param_add(&p->params, &p->nparams, xstrdup("charset"),
		    xstrdup("us-ascii"));
	if (p->cte_raw == NULL)
		p->cte = MIME_CTE_7BIT;
}

void
mime_fields_force_text(struct mime_part *p)
{
	free(p->type_raw);
	free(p->subtype_raw);
	free(p->type);
	free(p->subtype);
	params_free(&p->params, &p->nparams);
	p->type_raw = xstrdup("text");
	p->subtype_raw = xstrdup("plain");
	p->type = xstrdup("text");
	p->subtype = xstrdup("plain");
	param_add(&p->params, &p->nparams, xstrdup("charset"),
	    xstrdup("us-ascii"));
}

void
mime_fields_free(struct mime_part *p)
{
	free(p->type_raw);
	free(p->subtype_raw);
	free(p->type);
	free(p->subtype);
	params_free(&p->params, &p->nparams);
	free(p->cte_raw);
	free(p->id);
	free(p->description);
	free(p->md5);
	free(p->language);
	free(p->location);
	free(p->disposition);
	params_free(&p->disp_params, &p->ndisp_params);
}
