/*
 * sieve_compile - the compiler's inner interfaces: the lexer
 * (sieve_lex.c), the generic parser (sieve_parse.c) and the validator
 * (sieve_validate.c, sieve_vtab.c). sieve_compile() (sieve_compile.c)
 * runs parse then validate. Internal to the compiler.
 */
#ifndef TEM_SIEVE_COMPILE_H
#define TEM_SIEVE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/sieve.h"
#include "sieve/sieve_ast.h"

enum sieve_tok_type {
	SIEVE_TOK_EOF, SIEVE_TOK_IDENT, SIEVE_TOK_TAG, SIEVE_TOK_NUMBER,
	SIEVE_TOK_STRING, SIEVE_TOK_LBRACKET, SIEVE_TOK_RBRACKET,
	SIEVE_TOK_LPAREN, SIEVE_TOK_RPAREN, SIEVE_TOK_LBRACE,
	SIEVE_TOK_RBRACE, SIEVE_TOK_COMMA, SIEVE_TOK_SEMI,
};

struct sieve_tok {
	enum sieve_tok_type type;
	int		 line, col;
	const char	*s;		/* IDENT/TAG (no ':'), in the text */
	size_t		 len;
	char		*str;		/* STRING: malloc'd, caller owns it */
	size_t		 slen;
	uint64_t	 num;		/* NUMBER, quantifier applied */
};

struct sieve_lexer {
	const char	*p, *end;
	const char	*line_start;
	int		 line;
	size_t		 max_string;
	struct sieve_error *err;
};

void sieve_lex_init(struct sieve_lexer *lx, const char *text, size_t len,
    size_t max_string, struct sieve_error *err);
/* The next token: 0, or -1 with lx->err filled. */
int sieve_lex_next(struct sieve_lexer *lx, struct sieve_tok *t);
/* "';'", "identifier 'keep'", "end of script": for error messages. */
const char *sieve_tok_name(const struct sieve_tok *t, char *buf,
    size_t size);

/* Fills err (the first error wins: a filled err is kept); returns -1. */
int sieve_error_set(struct sieve_error *err, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The generic grammar into sc->cmds: every argument in pos (tags as
 * SIEVE_ARG_TAG, bracketed lists as STRLIST, lone strings as STRING),
 * ids unset. A test-list "( ... )" (even of one test) is marked by
 * id == SIEVE_PARSED_LIST, so the validator can tell `anyof (true)`
 * from `anyof true`. 0, or -1 with err filled.
 */
#define SIEVE_PARSED_LIST	(-1)
int sieve_parse(const char *text, size_t len, const struct sieve_limits *l,
    struct sieve_script *sc, struct sieve_error *err);

/* Checks sc against the commands' signatures and fills ids, tags, exts
 * (sieve_validate.c). 0, or -1 with err filled. */
int sieve_validate(struct sieve_script *sc, const struct sieve_limits *l,
    struct sieve_error *err);

/* ---- the validator's tables (sieve_vtab.c) ---- */

/* Groups of tagged arguments: a command allows a set of groups; within
 * a group the tags exclude each other (:is vs :contains), except in the
 * groups marked "several" below. */
enum sieve_tag_group {
	SIEVE_TG_MATCH, SIEVE_TG_CMP, SIEVE_TG_ADDRPART, SIEVE_TG_SIZE,
	SIEVE_TG_BODY, SIEVE_TG_ZONE, SIEVE_TG_CZONE,
	SIEVE_TG_INDEX,		/* several: :index, :last (RFC 5260) */
	SIEVE_TG_DHINDEX,	/* several: deleteheader's :index, :last */
	SIEVE_TG_LAST, SIEVE_TG_MIME, SIEVE_TG_CREATE, SIEVE_TG_COPY,
	SIEVE_TG_FLAGS, SIEVE_TG_PERIOD, SIEVE_TG_DUPSEC, SIEVE_TG_SUBJECT,
	SIEVE_TG_FROM, SIEVE_TG_HANDLE, SIEVE_TG_ADDRESSES, SIEVE_TG_DUPID,
	SIEVE_TG_MODS,		/* several: one per precedence (RFC 5229) */
	SIEVE_TG_LOCATION, SIEVE_TG_ONCE, SIEVE_TG_OPTIONAL,
};
#define SIEVE_TG(g)	(1u << (g))

struct sieve_tag_def {
	const char	*name;		/* without ':' */
	enum sieve_tag_group group;
	uint32_t	 ext;		/* SIEVE_EXT_* needed; 0: none */
	char		 arg;		/* 0, 'N', 'S' or 'L' */
	int		 value;		/* match type, part, modifier ... */
};

enum sieve_sub { SIEVE_SUB_NONE, SIEVE_SUB_ONE, SIEVE_SUB_LIST };

struct sieve_cmd_def {
	const char	*name;
	int		 id;
	bool		 test;
	uint32_t	 ext;		/* SIEVE_EXT_* needed; 0: base */
	const char	*ext_name;	/* its require name, for errors */
	uint32_t	 tags;		/* SIEVE_TG() of the allowed groups */
	const char	*sig;		/* positionals: 'S' string, 'L' list,
					 * 'N' number */
	char		 opt;		/* 'F': the first positional may be
					 * left out, 'T': the last, 0 */
	enum sieve_sub	 sub;
	bool		 block;		/* if/elsif/else */
};

const struct sieve_cmd_def *sieve_cmd_find(const char *name, bool test);
/* The tag named name in one of the groups (a SIEVE_TG() set); NULL. */
const struct sieve_tag_def *sieve_tag_find(const char *name,
    uint32_t groups);
/* The SIEVE_EXT_* bit of a require name (0 for the comparators that are
 * always there), or -1 when unknown. */
int64_t sieve_ext_find(const char *name);
const char *sieve_ext_name(uint32_t bit);

/* ---- the checks of single commands (sieve_vcheck.c) ---- */

/* Decodes ${hex:...} and ${unicode:...} in *s (RFC 5228 2.4.2.4); 0,
 * or -1 (err filled) for a code point outside Unicode or a NUL. */
int sieve_decode_encoded(char **s, int line, struct sieve_error *err);
/* The command-specific checks after the signature's (address headers,
 * envelope parts, mailbox and header names, variable names ...). */
int sieve_check_node(struct sieve_script *sc, struct sieve_node *n,
    bool test, const struct sieve_limits *l, struct sieve_error *err);

#endif
