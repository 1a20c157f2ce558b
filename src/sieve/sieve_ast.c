/*
 * sieve_ast - freeing the compiled tree of sieve_ast.h (the parser on an
 * error, sieve_script_free on a script).
 *
 * Trust: internal; the tree was built by the compiler.
 */
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_ast.h"

void
sieve_arg_free(struct sieve_arg *a)
{
	for (size_t i = 0; i < a->nstr; i++)
		free(a->strs[i]);
	free(a->strs);
	free(a->lens);
	free(a->tag);
	memset(a, 0, sizeof(*a));
}

static void
nodes_free(struct sieve_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sieve_node_free(&v[i]);
	free(v);
}

void
sieve_node_free(struct sieve_node *n)
{
	struct sieve_tags *t = &n->tags;

	free(n->name);
	for (size_t i = 0; i < n->npos; i++)
		sieve_arg_free(&n->pos[i]);
	free(n->pos);
	sieve_arg_free(&t->content);
	sieve_arg_free(&t->flags);
	sieve_arg_free(&t->addresses);
	free(t->zone);
	free(t->subject);
	free(t->from);
	free(t->handle);
	free(t->header);
	free(t->uniqueid);
	nodes_free(n->tests, n->ntests);
	nodes_free(n->block, n->nblock);
	memset(n, 0, sizeof(*n));
}

void
sieve_script_free(struct sieve_script **scp)
{
	struct sieve_script *sc = *scp;

	if (sc == NULL)
		return;
	nodes_free(sc->cmds, sc->ncmds);
	for (size_t i = 0; i < sc->nglobals; i++)
		free(sc->globals[i]);
	free(sc->globals);
	free(sc);
	*scp = NULL;
}
