/*
 * sieve_run_strs - variables (RFC 5229, RFC 6609's global scope) and
 * the strings a run sees: ${} expansion when the script requires
 * variables, the script's own strings in place otherwise.
 *
 * Trust: the script and the message (through match variables) are
 * untrusted: names, values and expanded strings are cut at the run's
 * limits (max_variables, max_variable_size, max_string).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve/sieve_run_int.h"
#include "util/array.h"
#include "util/xmalloc.h"

/* ---- variables ---- */

/* The scope name lives in, and name without "global.". */
static struct sieve_scope *
var_scope(struct sieve_run *s, const char **name)
{
	size_t i;

	if (strncasecmp(*name, "global.", 7) == 0) {
		*name += 7;
		return &s->globals;
	}
	for (i = 0; s->sc != NULL && i < s->sc->nglobals; i++)
		if (strcasecmp(s->sc->globals[i], *name) == 0)
			return &s->globals;
	return s->local;
}

static struct sieve_var *
var_find(struct sieve_scope *sc, const char *name)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (strcasecmp(sc->v[i].name, name) == 0)
			return &sc->v[i];
	return NULL;
}

const char *
sr_var_get(struct sieve_run *s, const char *name, size_t *len)
{
	struct sieve_scope *sc;
	struct sieve_var *v;

	/* a match variable (hasflag may read one): ${0}..${9} */
	if (name[0] >= '0' && name[0] <= '9') {
		unsigned i = (unsigned)strtoul(name, NULL, 10);

		if (strspn(name, "0123456789") != strlen(name) || i > 9 ||
		    i >= s->cap.n || s->cap.v[i] == NULL)
			return NULL;
		*len = s->cap.len[i];
		return s->cap.v[i];
	}
	sc = var_scope(s, &name);
	v = var_find(sc, name);
	if (v == NULL)
		return NULL;
	*len = v->len;
	return v->val;
}

bool
sr_var_set(struct sieve_run *s, int line, const char *name,
    const char *val, size_t len)
{
	struct sieve_scope *sc = var_scope(s, &name);
	struct sieve_var *v = var_find(sc, name);
	size_t i;

	if (v == NULL) {
		if (sc->n >= s->lim.max_variables) {
			sr_fail(s, line, "too many variables (limit %u)",
			    s->lim.max_variables);
			return false;
		}
		v = ARRAY_PUSH(sc->v, sc->n, sc->cap);
		v->name = xstrdup(name);
		for (i = 0; v->name[i] != '\0'; i++)
			if (v->name[i] >= 'A' && v->name[i] <= 'Z')
				v->name[i] += 'a' - 'A';
	}
	/* cut at the limit, never inside a UTF-8 sequence */
	if (len > s->lim.max_variable_size) {
		len = s->lim.max_variable_size;
		while (len > 0 && ((unsigned char)val[len] & 0xC0) == 0x80)
			len--;
	}
	free(v->val);
	v->val = xstrndup(val, len);
	v->len = len;
	return true;
}

void
sr_scope_free(struct sieve_scope *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++) {
		free(sc->v[i].name);
		free(sc->v[i].val);
	}
	free(sc->v);
	memset(sc, 0, sizeof(*sc));
}

static const char *
var_lookup(void *arg, const char *name, size_t nlen, size_t *len)
{
	struct sieve_run *s = arg;
	char n[256];

	if (nlen >= sizeof(n))
		return NULL;
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	return sr_var_get(s, n, len);
}

const char *
sr_str(struct sieve_run *s, const char *in, struct buf *tmp, size_t *len)
{
	if ((s->sc->exts & SIEVE_EXT_VARIABLES) == 0 ||
	    strstr(in, "${") == NULL) {
		if (len != NULL)
			*len = strlen(in);
		return in;
	}
	buf_reset(tmp);
	sieve_expand(in, var_lookup, s, &s->cap, s->lim.max_string, tmp);
	if (len != NULL)
		*len = tmp->len;
	return buf_cstr(tmp);
}

/* A list without "${" (or a script without variables) is used in place:
 * every test evaluates its lists, so a copy would be the run's hottest
 * malloc. Otherwise one allocation per list (the pointers, the lengths,
 * then the strings). */
void
sr_strs(struct sieve_run *s, const struct sieve_arg *a,
    struct sieve_strs *out)
{
	struct buf tmp, all;
	size_t i, len, *off, head;
	const char *v;
	char *block;

	if (a->nstr == 0 || (a->lens != NULL && (a->plain ||
	    (s->sc->exts & SIEVE_EXT_VARIABLES) == 0))) {
		out->n = a->nstr;
		out->v = a->strs;
		out->len = a->lens;
		out->own = false;
		return;
	}
	head = (a->nstr + 1) * (sizeof(char *) + sizeof(size_t));
	buf_init(&tmp, 0);
	buf_init(&all, 0);
	off = xcalloc(a->nstr + 1, sizeof(*off));
	for (i = 0; i < a->nstr; i++) {
		v = sr_str(s, a->strs[i], &tmp, &len);
		off[i] = all.len;
		buf_append(&all, v, len);
		buf_append(&all, "", 1);
	}
	block = xmalloc(head + all.len + 1);
	out->own = true;
	out->n = a->nstr;
	out->v = (char **)(void *)block;
	out->len = (size_t *)(void *)(block + (a->nstr + 1) * sizeof(char *));
	if (all.len > 0)
		memcpy(block + head, all.data, all.len);
	for (i = 0; i < a->nstr; i++) {
		out->v[i] = block + head + off[i];
		out->len[i] = (i + 1 < a->nstr ? off[i + 1] : all.len) -
		    off[i] - 1;
	}
	out->v[a->nstr] = NULL;
	out->len[a->nstr] = 0;
	free(off);
	buf_free(&all);
	buf_free(&tmp);
}

void
sr_strs_free(struct sieve_strs *l)
{
	if (l->own)
		free(l->v);	/* the one block */
	memset(l, 0, sizeof(*l));
}
