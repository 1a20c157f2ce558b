/*
 * sieve_compile - sieve_compile() of sieve.h: the size check, the
 * generic parse (sieve_parse.c), then validation against the commands'
 * signatures (sieve_validate.c). Also the default limits and the
 * compiler's one error.
 *
 * Trust: the script text is untrusted (see sieve_lex.c, sieve_parse.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sieve/sieve_compile.h"
#include "util/xmalloc.h"

int
sieve_error_set(struct sieve_error *err, int line, int col,
    const char *fmt, ...)
{
	va_list ap;

	if (err->msg[0] != '\0')
		return -1;
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (err->msg[0] == '\0')
		snprintf(err->msg, sizeof(err->msg), "error");
	return -1;
}

void
sieve_limits_default(struct sieve_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_script_size = 1024 * 1024;
	l->max_nesting = 32;
	l->max_commands = 10000;
	l->max_string = 64 * 1024;
	l->max_steps = 100000;
	l->max_match_steps = 1000000;
	l->max_variables = 128;
	l->max_variable_size = 4096;
	l->max_redirects = 4;
	l->max_actions = 32;
	l->max_include_depth = 5;
	l->max_includes = 10;
	l->max_header_edits = 64;
	l->max_body = 1024 * 1024;
}

/* The run's view of each string list (sieve_ast.h: lens, plain). */
static void
arg_finish(struct sieve_arg *a)
{
	if (a->nstr == 0)
		return;
	a->lens = xcalloc(a->nstr + 1, sizeof(*a->lens));
	a->plain = true;
	for (size_t i = 0; i < a->nstr; i++) {
		a->lens[i] = strlen(a->strs[i]);
		if (strstr(a->strs[i], "${") != NULL)
			a->plain = false;
	}
}

static void
nodes_finish(struct sieve_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].npos; j++)
			arg_finish(&v[i].pos[j]);
		arg_finish(&v[i].tags.content);
		arg_finish(&v[i].tags.flags);
		arg_finish(&v[i].tags.addresses);
		nodes_finish(v[i].tests, v[i].ntests);
		nodes_finish(v[i].block, v[i].nblock);
	}
}

struct sieve_script *
sieve_compile(const char *text, size_t len, const struct sieve_limits *limits,
    struct sieve_error *err)
{
	struct sieve_limits def;
	struct sieve_script *sc;

	memset(err, 0, sizeof(*err));
	if (limits == NULL) {
		sieve_limits_default(&def);
		limits = &def;
	}
	if (len > limits->max_script_size) {
		sieve_error_set(err, 1, 1, "script is larger than %zu octets",
		    limits->max_script_size);
		return NULL;
	}
	sc = xmalloc(sizeof(*sc));
	if (sieve_parse(text, len, limits, sc, err) < 0 ||
	    sieve_validate(sc, limits, err) < 0) {
		sieve_script_free(&sc);
		return NULL;
	}
	nodes_finish(sc->cmds, sc->ncmds);
	return sc;
}
