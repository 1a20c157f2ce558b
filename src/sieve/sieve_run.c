/*
 * sieve_run - the Sieve interpreter's control flow and state: runs the
 * compiled tree of sieve_ast.h for one message and one recipient
 * (RFC 5228 2.10, 3), with variables (RFC 5229), include (RFC 6609), the
 * run-time limits of struct sieve_limits, and the result with its
 * implicit keep. Variables and strings are in sieve_run_strs.c, tests in
 * sieve_run_tests.c, actions in sieve_run_actions.c and sieve_vacation.c.
 *
 * Trust: the script and the message are untrusted. Every command and
 * test costs a step (max_steps), :matches shares one budget, variables
 * and expanded strings are cut at their limits, includes are bounded in
 * depth and number. Any error ends the run with r->error set and one
 * implicit keep: a broken script never loses mail. No I/O: include and
 * the other state come through the callbacks of struct sieve_env.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve/sieve_run_int.h"
#include "util/array.h"
#include "util/xmalloc.h"

void
sr_fail(struct sieve_run *s, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (s->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->failed = true;
	s->r->error = xasprintf("line %d: %s", line, msg);
}

bool
sr_step(struct sieve_run *s, int line)
{
	if (s->failed)
		return false;
	if (++s->steps > s->lim.max_steps) {
		sr_fail(s, line, "too many steps (limit %u)", s->lim.max_steps);
		return false;
	}
	return true;
}

/* ---- the result ---- */

struct sieve_action *
sr_action_add(struct sieve_run *s, int line, enum sieve_action_type type)
{
	struct sieve_result *r = s->r;
	struct sieve_action *a;

	if (r->nactions >= s->lim.max_actions) {
		sr_fail(s, line, "too many actions (limit %u)",
		    s->lim.max_actions);
		return NULL;
	}
	a = ARRAY_PUSH(r->actions, r->nactions, s->acap);
	a->type = type;
	a->line = line;
	return a;
}

static void
action_free(struct sieve_action *a)
{
	size_t i;

	for (i = 0; i < a->nflags; i++)
		free(a->flags[i]);
	free(a->flags);
	free(a->mailbox);
	free(a->address);
	free(a->text);
	free(a->subject);
	free(a->from);
	free(a->handle);
	free(a->in_reply_to);
	free(a->references);
}

void
sieve_result_free(struct sieve_result *r)
{
	size_t i;

	for (i = 0; i < r->nactions; i++)
		action_free(&r->actions[i]);
	free(r->actions);
	for (i = 0; i < r->ndups; i++) {
		free(r->dups[i].handle);
		free(r->dups[i].id);
	}
	free(r->dups);
	free(r->head);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

/* The message is stored in INBOX by this action (keep, fileinto INBOX). */
static bool
is_keep(const struct sieve_action *a)
{
	return a->type == SIEVE_KEEP || (a->type == SIEVE_FILEINTO &&
	    strcasecmp(a->mailbox, "INBOX") == 0);
}

/*
 * The end of the run (RFC 5228 2.10.2): the implicit keep, unless an
 * action cancelled it or an explicit keep already stores the message
 * (two keeps are one). After an error: one implicit keep, nothing else,
 * the original header.
 */
static void
finish(struct sieve_run *s)
{
	struct sieve_result *r = s->r;
	struct sieve_action *a;
	size_t i;

	if (s->failed) {
		char *err = r->error;

		r->error = NULL;
		sieve_result_free(r);
		r->error = err;
		s->acap = 0;
		s->keep_cancelled = false;
		buf_reset(&s->flags);
		s->edited = false;
	}
	if (!s->keep_cancelled) {
		for (i = 0; i < r->nactions; i++)
			if (is_keep(&r->actions[i]))
				break;
		if (i == r->nactions) {
			a = ARRAY_PUSH(r->actions, r->nactions, s->acap);
			a->type = SIEVE_KEEP;
			sr_flags_array(s->flags.data, s->flags.len, &a->flags,
			    &a->nflags);
			r->implicit_keep = true;
		}
	}
	if (s->edited)
		r->head = buf_steal(&s->ehead, &r->head_len);
}

/* ---- control flow ---- */

static void exec_block(struct sieve_run *s, const struct sieve_node *cmds,
    size_t n);

/* The include stack entry for (global, name), or -1. */
static long
incl_find(struct sieve_run *s, bool global, const char *name)
{
	size_t i;

	for (i = 0; i < s->nincl; i++)
		if (s->incl[i].global == global &&
		    strcmp(s->incl[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Loads and compiles an included script; -1 when absent (and :optional)
 * or on error (failed set). */
static long
incl_load(struct sieve_run *s, const struct sieve_node *c, const char *name)
{
	const struct sieve_env *env = s->env;
	struct sieve_incl *in;
	struct sieve_error err;
	struct sieve_script *sc;
	char *text = NULL;
	size_t len = 0;

	if (s->nincl >= s->lim.max_includes) {
		sr_fail(s, c->line, "too many included scripts (limit %u)",
		    s->lim.max_includes);
		return -1;
	}
	if (env->include_load != NULL)
		text = env->include_load(env->arg, c->tags.global, name, &len);
	if (text == NULL) {
		if (!c->tags.optional)
			sr_fail(s, c->line, "included %s script '%s' not found",
			    c->tags.global ? "global" : "personal", name);
		return -1;
	}
	memset(&err, 0, sizeof(err));
	sc = sieve_compile(text, len, &s->lim, &err);
	free(text);
	if (sc == NULL) {
		sr_fail(s, c->line, "included script '%s': line %d: %s", name,
		    err.line, err.msg);
		return -1;
	}
	in = ARRAY_PUSH(s->incl, s->nincl, s->icap);
	in->name = xstrdup(name);
	in->global = c->tags.global;
	in->sc = sc;
	return (long)(s->nincl - 1);
}

/* Runs sc in a fresh local scope (the global one is shared). */
static void
run_in_scope(struct sieve_run *s, const struct sieve_script *sc)
{
	const struct sieve_script *osc = s->sc;
	struct sieve_scope *olocal = s->local;
	struct sieve_scope local = { 0 };

	s->sc = sc;
	s->local = &local;
	exec_block(s, sc->cmds, sc->ncmds);
	s->ret = false;
	sr_scope_free(&local);
	s->sc = osc;
	s->local = olocal;
}

/* include (RFC 6609 3.2): loops are errors, :once runs a script once per
 * run, :optional ignores a missing one. */
static void
include_run(struct sieve_run *s, const struct sieve_node *c,
    const char *name)
{
	long i = incl_find(s, c->tags.global, name);

	if (i >= 0 && s->incl[i].active) {
		sr_fail(s, c->line, "include loop: '%s' includes itself",
		    name);
		return;
	}
	if (i >= 0 && c->tags.once && s->incl[i].ran)
		return;
	if (s->depth >= s->lim.max_include_depth) {
		sr_fail(s, c->line, "includes nested too deep (limit %u)",
		    s->lim.max_include_depth);
		return;
	}
	if (i < 0 && (i = incl_load(s, c, name)) < 0)
		return;
	s->incl[i].active = true;
	s->depth++;
	run_in_scope(s, s->incl[i].sc);
	s->depth--;
	s->incl[i].active = false;
	s->incl[i].ran = true;
}

/* The name may hold variables (checked by the compiler otherwise). */
static void
do_include(struct sieve_run *s, const struct sieve_node *c)
{
	struct buf tmp;
	const char *name;

	buf_init(&tmp, 0);
	name = sr_str(s, c->pos[0].strs[0], &tmp, NULL);
	if (*name == '\0' || strchr(name, '/') != NULL)
		sr_fail(s, c->line, "include: invalid script name '%.100s'",
		    name);
	else
		include_run(s, c, name);
	buf_free(&tmp);
}

/* set (RFC 5229 4): the value expanded, then the modifiers. */
static void
do_set(struct sieve_run *s, const struct sieve_node *c)
{
	struct buf tmp, out;
	const char *v;
	size_t len;

	buf_init(&tmp, 0);
	buf_init(&out, 0);
	v = sr_str(s, c->pos[1].strs[0], &tmp, &len);
	if (c->tags.modifiers != 0) {
		sieve_modify(c->tags.modifiers, v, len, &out);
		v = buf_cstr(&out);
		len = out.len;
	}
	sr_var_set(s, c->line, c->pos[0].strs[0], v, len);
	buf_free(&tmp);
	buf_free(&out);
}

static void
exec_cmd(struct sieve_run *s, const struct sieve_node *c)
{
	s->line = c->line;
	switch (c->id) {
	case SIEVE_CMD_REQUIRE:
	case SIEVE_CMD_GLOBAL:		/* sc->globals holds the names */
		break;
	case SIEVE_CMD_STOP:
		s->stop = true;
		break;
	case SIEVE_CMD_RETURN:		/* at the top: as stop */
		if (s->depth > 0)
			s->ret = true;
		else
			s->stop = true;
		break;
	case SIEVE_CMD_INCLUDE:
		do_include(s, c);
		break;
	case SIEVE_CMD_SET:
		do_set(s, c);
		break;
	case SIEVE_CMD_VACATION:
		sr_vacation(s, c);
		break;
	default:
		sr_action(s, c);
		break;
	}
}

/* if / elsif / else: the first branch whose test holds. */
static size_t
exec_if(struct sieve_run *s, const struct sieve_node *cmds, size_t n,
    size_t i)
{
	bool taken = false;
	int t;

	for (;;) {
		const struct sieve_node *c = &cmds[i];

		if (!taken) {
			t = 1;
			if (c->id != SIEVE_CMD_ELSE) {
				if (!sr_step(s, c->line))
					return i;
				t = sr_test(s, &c->tests[0]);
			}
			if (t < 0)
				return i;
			if (t > 0) {
				taken = true;
				exec_block(s, c->block, c->nblock);
			}
		}
		if (i + 1 >= n || (cmds[i + 1].id != SIEVE_CMD_ELSIF &&
		    cmds[i + 1].id != SIEVE_CMD_ELSE) ||
		    c->id == SIEVE_CMD_ELSE)
			return i;
		i++;
	}
}

static void
exec_block(struct sieve_run *s, const struct sieve_node *cmds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s->failed || s->stop || s->ret)
			return;
		if (cmds[i].id == SIEVE_CMD_IF)
			i = exec_if(s, cmds, n, i);
		else if (sr_step(s, cmds[i].line))
			exec_cmd(s, &cmds[i]);
	}
}

/*
 * The sequence (sieve_before, then the user's script) runs as Pigeonhole
 * runs one (sieve_multiscript_run): each script in turn with its own
 * variables (global ones included), one result and one implicit keep for
 * all; `stop` ends only the script it is in; the next script runs only
 * while the implicit keep is still in effect (a before-script that files,
 * discards, redirects or rejects the message ends the sequence). An
 * error anywhere makes the whole result one implicit keep.
 */
void
sieve_run(struct sieve_script * const *scripts, size_t n,
    const struct sieve_msg *msg, const struct sieve_env *env,
    const struct sieve_limits *limits, struct sieve_result *r)
{
	struct sieve_run s;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	if (limits != NULL)
		s.lim = *limits;
	else
		sieve_limits_default(&s.lim);
	s.msg = msg;
	s.env = env;
	s.r = r;
	s.head = msg->head != NULL ? msg->head : "";
	s.head_len = msg->head != NULL ? msg->head_len : 0;
	s.budget.max = s.lim.max_match_steps;
	buf_init(&s.flags, 0);
	buf_init(&s.ehead, 0);
	for (i = 0; i < n && !s.failed; i++) {
		if (i > 0 && s.keep_cancelled)
			break;
		if (scripts[i] == NULL)		/* a slot without a script */
			continue;
		sieve_captures_clear(&s.cap);
		run_in_scope(&s, scripts[i]);
		sr_scope_free(&s.globals);
		s.stop = false;
	}
	finish(&s);
	sieve_captures_clear(&s.cap);
	sr_scope_free(&s.globals);
	for (i = 0; i < s.nincl; i++) {
		free(s.incl[i].name);
		sieve_script_free(&s.incl[i].sc);
	}
	free(s.incl);
	buf_free(&s.flags);
	sr_hindex_drop(&s);
	buf_free(&s.ehead);
}
