/*
 * fuzz-sieve - the Sieve compiler (lexer, parser, validator) on arbitrary
 * bytes, with the default limits and with small ones (so the nesting,
 * command and string limits are hit too). Beyond "no crash, no UB, no
 * leak" it checks that a compiled tree holds the shapes sieve_ast.h
 * promises the interpreter: ids set, no tag left in pos, a failed
 * compile has a line and a message.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_nodes(const struct sieve_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i].id > 0 && v[i].name != NULL);
		for (size_t j = 0; j < v[i].npos; j++) {
			const struct sieve_arg *a = &v[i].pos[j];

			CHECK(a->type != SIEVE_ARG_TAG);
			CHECK(a->type == SIEVE_ARG_NUMBER || a->nstr >= 1);
			for (size_t k = 0; k < a->nstr; k++)
				CHECK(a->strs[k] != NULL);
		}
		check_nodes(v[i].tests, v[i].ntests);
		check_nodes(v[i].block, v[i].nblock);
	}
}

static void
one(const char *text, size_t len, const struct sieve_limits *l)
{
	struct sieve_error err;
	struct sieve_script *sc = sieve_compile(text, len, l, &err);

	if (sc == NULL) {
		CHECK(err.line >= 1 && err.msg[0] != '\0');
		CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		return;
	}
	check_nodes(sc->cmds, sc->ncmds);
	sieve_script_free(&sc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_limits l;

	one((const char *)data, size, NULL);
	sieve_limits_default(&l);
	l.max_nesting = 3;
	l.max_commands = 8;
	l.max_string = 16;
	one((const char *)data, size, &l);
	return 0;
}
