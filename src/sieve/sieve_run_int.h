/*
 * sieve_run_int - the interpreter's state, shared by sieve_run.c (control
 * flow, variables, include, the result), sieve_run_tests.c (tests),
 * sieve_run_actions.c (actions, imap4flags), sieve_editheader.c and
 * sieve_vacation.c (RFC 5230). Internal to the interpreter.
 *
 * A run never fails half-way: any error sets `failed` with "line N: what"
 * and unwinds; sieve_run() then replaces the actions with one implicit
 * keep.
 */
#ifndef TEM_SIEVE_RUN_INT_H
#define TEM_SIEVE_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sieve/sieve.h"
#include "sieve/sieve_ast.h"
#include "sieve/sieve_lib.h"
#include "util/buf.h"

struct sr_hindex;

/* One variable scope (RFC 5229: per script; RFC 6609: the global one). */
struct sieve_var {
	char		*name;		/* lower case */
	char		*val;
	size_t		 len;
};
struct sieve_scope {
	struct sieve_var *v;
	size_t		 n, cap;
};

/* A script loaded by include, compiled once per run. */
struct sieve_incl {
	char		*name;
	bool		 global;
	bool		 active;	/* on the include stack now */
	bool		 ran;		/* for :once */
	struct sieve_script *sc;
};

/* A list of strings after ${} expansion (each NUL-terminated): the
 * script's own when nothing expands (own false; never written to). */
struct sieve_strs {
	char		**v;
	size_t		*len;
	size_t		 n;
	bool		 own;
};

struct sieve_run {
	const struct sieve_msg *msg;
	const struct sieve_env *env;
	struct sieve_limits lim;
	struct sieve_result *r;
	size_t		 acap;		/* capacity of r->actions */
	size_t		 dcap;		/* of r->dups */

	const struct sieve_script *sc;	/* the script running now */
	struct sieve_scope *local;	/* its variables */
	struct sieve_scope globals;
	struct sieve_captures cap;	/* of the last successful :matches */
	struct sieve_match_budget budget;
	unsigned	 steps;

	/* imap4flags' internal variable: space-separated flags */
	struct buf	 flags;

	/* editheader: the header section as the tests see it now */
	const char	*head;
	size_t		 head_len;
	struct buf	 ehead;		/* the private copy once edited */
	bool		 edited;
	unsigned	 nedits;
	struct sr_hindex *hindex;	/* head parsed, NULL until used */

	/* the body, loaded once */
	bool		 body_loaded;
	const char	*body;
	size_t		 body_len;

	struct sieve_incl *incl;
	size_t		 nincl, icap;
	unsigned	 depth;

	unsigned	 nredirects;
	bool		 keep_cancelled;	/* implicit keep */
	bool		 rejected;
	bool		 vacation_done;
	bool		 stop;			/* stop: end the whole run */
	bool		 ret;			/* return: end this script */
	bool		 failed;
	int		 line;			/* the command running now */
};

/* ---- sieve_run.c ---- */
/* Records a run-time error "line N: fmt" (the first one wins). */
void sr_fail(struct sieve_run *s, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Counts one command or test against max_steps; false: over (failed). */
bool sr_step(struct sieve_run *s, int line);
/* A new action at the end of r->actions (NULL: max_actions exceeded,
 * failed set). */
struct sieve_action *sr_action_add(struct sieve_run *s, int line,
    enum sieve_action_type type);

/* ---- sieve_run_strs.c ---- */
/* s as the script sees it: ${} expanded when it requires variables. The
 * result lives in tmp or is s itself. */
const char *sr_str(struct sieve_run *s, const char *s_in, struct buf *tmp,
    size_t *len);
/* Every string of a, expanded (a copy) or the script's own (in place). */
void sr_strs(struct sieve_run *s, const struct sieve_arg *a,
    struct sieve_strs *out);
void sr_strs_free(struct sieve_strs *l);
/* Variables: value of name (NULL: unset); setting may fail (limit). */
const char *sr_var_get(struct sieve_run *s, const char *name, size_t *len);
bool sr_var_set(struct sieve_run *s, int line, const char *name,
    const char *val, size_t len);
void sr_scope_free(struct sieve_scope *sc);

/* ---- sieve_hindex.c: s->head parsed once per run ---- */
/* The fields called name, as indexes in header order (*idx valid until
 * the next sr_hfind or sr_hindex_drop). */
size_t sr_hfind(struct sieve_run *s, const char *name, const size_t **idx);
/* Field fi's value as sieve_header_values gives it. */
const char *sr_hvalue(struct sieve_run *s, size_t fi);
/* Field fi's addresses as sieve_header_addresses gives them. */
size_t sr_haddrs(struct sieve_run *s, size_t fi, char * const **addrs);
/* Field fi's date (a Received field's after its last ';'); false: none. */
bool sr_hdate(struct sieve_run *s, size_t fi, time_t *when, int *zone);
/* Forgets the index (editheader changed s->head; the run's end). */
void sr_hindex_drop(struct sieve_run *s);

/* ---- sieve_run_tests.c ---- */
/* 1 true, 0 false, -1 the run failed. */
int sr_test(struct sieve_run *s, const struct sieve_node *t);

/* ---- sieve_run_actions.c ---- */
/* Runs one action command (keep ... deleteheader); false: failed. */
bool sr_action(struct sieve_run *s, const struct sieve_node *c);
/* The flags of a flag string list (:flags, or the internal variable):
 * split at white space, deduplicated (case-insensitively), normalised. */
void sr_flags_parse(const char *s, size_t len, struct buf *out);
/* reject/ereject against the other actions (RFC 5429 2.1): what is the
 * action being added ("fileinto"...), NULL for a reject; true: a
 * conflict (the run failed, blamed on the reject's line). */
bool sr_reject_conflict(struct sieve_run *s, int line, const char *what);
/* The flags of text as an array for an action. */
void sr_flags_array(const char *text, size_t len, char ***v, size_t *n);
/* Compares two addr-specs: the local part exactly, the domain in any
 * case (RFC 5321 2.4). */
bool sr_addr_eq(const char *a, const char *b);

/* ---- sieve_editheader.c ---- */
void sr_addheader(struct sieve_run *s, const struct sieve_node *c);
void sr_deleteheader(struct sieve_run *s, const struct sieve_node *c);

/* ---- sieve_vacation.c ---- */
bool sr_vacation(struct sieve_run *s, const struct sieve_node *c);

#endif
