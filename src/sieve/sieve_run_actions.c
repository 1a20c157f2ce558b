/*
 * sieve_run_actions - the Sieve actions at run time: keep, discard,
 * redirect (RFC 5228 4, :copy RFC 3894), fileinto (:create RFC 5490,
 * :flags RFC 5232), reject/ereject (RFC 5429), setflag/addflag/removeflag
 * (RFC 5232); addheader/deleteheader are in sieve_editheader.c.
 *
 * Duplicate actions fold as RFC 5228 2.10.3 says: two fileintos into one
 * mailbox are one, keep and fileinto "INBOX" are one, two redirects to
 * one address are one. reject conflicts with every action that delivers
 * or answers (keep, fileinto, redirect, vacation) and with a second
 * reject, as Pigeonhole does: the run fails, so the message is kept.
 *
 * Trust: untrusted script and message; counts bounded by max_actions,
 * max_redirects and max_header_edits.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_run_int.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ---- flags (RFC 5232) ---- */

static const char *const sysflags[] = {
	"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
};

/* True when set (space-separated) holds flag (any case). */
static bool
flags_has(const struct buf *set, const char *f, size_t len)
{
	const char *p = buf_cstr(set), *e;

	for (; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if ((size_t)(e - p) == len && strncasecmp(p, f, len) == 0)
			return true;
	}
	return false;
}

/* Calls fn for each white-space separated word of s[0..len). */
static void
flags_each(const char *s, size_t len, void (*fn)(struct buf *, const char *,
    size_t), struct buf *set)
{
	size_t i = 0, j;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' ||
		    s[i] == '\r' || s[i] == '\n'))
			i++;
		for (j = i; j < len && s[j] != ' ' && s[j] != '\t' &&
		    s[j] != '\r' && s[j] != '\n'; j++)
			;
		if (j > i)
			fn(set, s + i, j - i);
		i = j;
	}
}

/* A flag IMAP can store: a system flag other than \Recent, or an atom. */
static bool
flag_ok(const char *f, size_t len)
{
	size_t i;

	if (f[0] == '\\') {
		for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
			if (strlen(sysflags[i]) == len &&
			    strncmp(sysflags[i], f, len) == 0)
				return true;
		return false;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)f[i] <= ' ' || (unsigned char)f[i] >= 0x7f
		    || strchr("(){%*\"\\]", f[i]) != NULL)
			return false;
	return true;
}

static void
flag_add(struct buf *set, const char *f, size_t len)
{
	size_t i;

	/* system flags in their canonical case */
	for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
		if (strlen(sysflags[i]) == len &&
		    strncasecmp(sysflags[i], f, len) == 0)
			f = sysflags[i];
	/* invalid ones are ignored, as Pigeonhole does (with a warning) */
	if (!flag_ok(f, len) || flags_has(set, f, len))
		return;
	if (set->len > 0)
		buf_putc(set, ' ');
	buf_append(set, f, len);
}

static void
flag_del(struct buf *set, const char *f, size_t len)
{
	struct buf out;
	const char *p = buf_cstr(set), *e;

	buf_init(&out, 0);
	for (; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if (e == p || ((size_t)(e - p) == len &&
		    strncasecmp(p, f, len) == 0))
			continue;
		if (out.len > 0)
			buf_putc(&out, ' ');
		buf_append(&out, p, (size_t)(e - p));
	}
	buf_reset(set);
	buf_append(set, out.data, out.len);
	buf_free(&out);
}

void
sr_flags_parse(const char *s, size_t len, struct buf *out)
{
	flags_each(s, len, flag_add, out);
}

void
sr_flags_array(const char *text, size_t len, char ***v, size_t *n)
{
	size_t i = 0, j, cap = 0;

	*v = NULL;
	*n = 0;
	while (text != NULL && i < len) {
		while (i < len && text[i] == ' ')
			i++;
		for (j = i; j < len && text[j] != ' '; j++)
			;
		if (j > i && flag_ok(text + i, j - i)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 4;
				*v = xrealloc(*v, cap * sizeof(**v));
			}
			(*v)[(*n)++] = xstrndup(text + i, j - i);
		}
		i = j;
	}
}

/* The flags an action stores: its :flags, else the internal variable. */
static void
action_flags(struct sieve_run *s, const struct sieve_node *c,
    struct sieve_action *a)
{
	struct sieve_strs l;
	struct buf set;
	size_t i;

	if (!c->tags.has_flags) {
		sr_flags_array(s->flags.data, s->flags.len, &a->flags,
		    &a->nflags);
		return;
	}
	buf_init(&set, 0);
	sr_strs(s, &c->tags.flags, &l);
	for (i = 0; i < l.n; i++)
		sr_flags_parse(l.v[i], l.len[i], &set);
	sr_strs_free(&l);
	sr_flags_array(set.data, set.len, &a->flags, &a->nflags);
	buf_free(&set);
}

/* A folded duplicate stores with the later action's flags, as
 * Pigeonhole does ("fileinto :flags "a" "A"; fileinto :flags "b" "A""
 * stores A once with b). */
static void
flags_take(struct sieve_action *a, struct sieve_action *b)
{
	size_t i;

	for (i = 0; i < a->nflags; i++)
		free(a->flags[i]);
	free(a->flags);
	a->flags = b->flags;
	a->nflags = b->nflags;
	b->flags = NULL;
	b->nflags = 0;
}

/* setflag / addflag / removeflag [variable] <flags> */
static void
do_flags(struct sieve_run *s, const struct sieve_node *c)
{
	struct sieve_strs l;
	struct buf set, tmp;
	const char *name = NULL, *v;
	size_t i, len;

	buf_init(&set, 0);
	buf_init(&tmp, 0);
	if (c->npos == 2) {
		name = sr_str(s, c->pos[0].strs[0], &tmp, NULL);
		if (c->id != SIEVE_CMD_SETFLAG &&
		    (v = sr_var_get(s, name, &len)) != NULL)
			sr_flags_parse(v, len, &set);
	} else if (c->id != SIEVE_CMD_SETFLAG)
		buf_append(&set, s->flags.data, s->flags.len);
	sr_strs(s, &c->pos[c->npos - 1], &l);
	for (i = 0; i < l.n; i++)
		flags_each(l.v[i], l.len[i], c->id == SIEVE_CMD_REMOVEFLAG ?
		    flag_del : flag_add, &set);
	sr_strs_free(&l);
	if (name != NULL)
		sr_var_set(s, c->line, name, buf_cstr(&set), set.len);
	else {
		buf_reset(&s->flags);
		buf_append(&s->flags, set.data, set.len);
	}
	buf_free(&set);
	buf_free(&tmp);
}

/* ---- delivery actions ---- */

bool
sr_addr_eq(const char *a, const char *b)
{
	/* any case: users write their addresses in any case, and a
	 * stricter local part would only send mail twice */
	return strcasecmp(a, b) == 0;
}

static const char *const type_names[] = {
	"keep", "fileinto", "redirect", "reject", "discard", "vacation",
};

bool
sr_reject_conflict(struct sieve_run *s, int line, const char *what)
{
	struct sieve_result *r = s->r;
	size_t i;

	if (what != NULL) {
		if (!s->rejected)
			return false;
		for (i = 0; r->actions[i].type != SIEVE_REJECT; i++)
			;
		/* blamed on the reject, as Pigeonhole does */
		sr_fail(s, r->actions[i].line, "reject conflicts with %s "
		    "(line %d)", what, line);
		return true;
	}
	for (i = 0; i < r->nactions; i++) {
		enum sieve_action_type t = r->actions[i].type;

		if (t == SIEVE_DISCARD)
			continue;
		sr_fail(s, line, "%s conflicts with %s (line %d)",
		    t == SIEVE_REJECT ? "second reject" : "reject",
		    type_names[t], r->actions[i].line);
		return true;
	}
	return false;
}

/* keep, or fileinto (mailbox not NULL). */
static void
do_store(struct sieve_run *s, const struct sieve_node *c,
    const char *mailbox)
{
	struct sieve_result *r = s->r;
	struct sieve_action tmp = { 0 }, *a;
	bool inbox = mailbox == NULL || strcasecmp(mailbox, "INBOX") == 0;
	size_t i;

	if (sr_reject_conflict(s, c->line, mailbox ? "fileinto" : "keep"))
		return;
	if (!c->tags.copy && mailbox != NULL)
		s->keep_cancelled = true;
	action_flags(s, c, &tmp);
	for (i = 0; i < r->nactions; i++) {
		a = &r->actions[i];
		if ((inbox && (a->type == SIEVE_KEEP || (a->type ==
		    SIEVE_FILEINTO && strcasecmp(a->mailbox, "INBOX") == 0)))
		    || (!inbox && a->type == SIEVE_FILEINTO &&
		    strcmp(a->mailbox, mailbox) == 0)) {
			flags_take(a, &tmp);
			a->create |= c->tags.create;
			a->copy &= c->tags.copy;
			return;
		}
	}
	a = sr_action_add(s, c->line, mailbox ? SIEVE_FILEINTO : SIEVE_KEEP);
	if (a == NULL) {
		for (i = 0; i < tmp.nflags; i++)
			free(tmp.flags[i]);
		free(tmp.flags);
		return;
	}
	a->flags = tmp.flags;
	a->nflags = tmp.nflags;
	if (mailbox != NULL) {
		a->mailbox = xstrdup(mailbox);
		a->create = c->tags.create;
		a->copy = c->tags.copy;
	}
}

static void
do_fileinto(struct sieve_run *s, const struct sieve_node *c)
{
	struct buf tmp;
	const char *mbox;

	buf_init(&tmp, 0);
	mbox = sr_str(s, c->pos[0].strs[0], &tmp, NULL);
	if (*mbox == '\0' || !utf8_valid(mbox, strlen(mbox)))
		sr_fail(s, c->line, "fileinto: invalid mailbox name '%.100s'",
		    mbox);
	else
		do_store(s, c, mbox);
	buf_free(&tmp);
}

static void
do_redirect(struct sieve_run *s, const struct sieve_node *c)
{
	struct sieve_result *r = s->r;
	struct rfc5322_addr *list;
	struct sieve_action *a;
	struct buf tmp;
	const char *v;
	char *addr;
	size_t i, len;

	if (sr_reject_conflict(s, c->line, "redirect"))
		return;
	buf_init(&tmp, 0);
	v = sr_str(s, c->pos[0].strs[0], &tmp, &len);
	list = rfc5322_addr_parse(v, len);
	if (list == NULL || list->host == NULL || list->mailbox[0] == '\0' ||
	    list->host[0] == '\0' || list->next != NULL) {
		sr_fail(s, c->line, "redirect: invalid address '%.100s'", v);
		rfc5322_addr_free(&list);
		buf_free(&tmp);
		return;
	}
	addr = xasprintf("%s@%s", list->mailbox, list->host);
	rfc5322_addr_free(&list);
	buf_free(&tmp);
	if (!c->tags.copy)
		s->keep_cancelled = true;
	for (i = 0; i < r->nactions; i++)
		if (r->actions[i].type == SIEVE_REDIRECT &&
		    sr_addr_eq(r->actions[i].address, addr)) {
			r->actions[i].copy &= c->tags.copy;
			free(addr);
			return;
		}
	if (s->nredirects >= s->lim.max_redirects) {
		sr_fail(s, c->line, "too many redirects (limit %u)",
		    s->lim.max_redirects);
		free(addr);
		return;
	}
	s->nredirects++;
	if ((a = sr_action_add(s, c->line, SIEVE_REDIRECT)) == NULL) {
		free(addr);
		return;
	}
	a->address = addr;
	a->copy = c->tags.copy;
}

static void
do_reject(struct sieve_run *s, const struct sieve_node *c)
{
	struct sieve_action *a;
	struct buf tmp;

	if (sr_reject_conflict(s, c->line, NULL))
		return;
	if (s->vacation_done) {
		sr_fail(s, c->line, "reject conflicts with vacation");
		return;
	}
	s->rejected = true;
	s->keep_cancelled = true;
	if ((a = sr_action_add(s, c->line, SIEVE_REJECT)) == NULL)
		return;
	buf_init(&tmp, 0);
	a->text = xstrdup(sr_str(s, c->pos[0].strs[0], &tmp, NULL));
	a->ereject = c->id == SIEVE_CMD_EREJECT;
	buf_free(&tmp);
}

static void
do_discard(struct sieve_run *s, const struct sieve_node *c)
{
	size_t i;

	s->keep_cancelled = true;
	for (i = 0; i < s->r->nactions; i++)
		if (s->r->actions[i].type == SIEVE_DISCARD)
			return;
	sr_action_add(s, c->line, SIEVE_DISCARD);
}

bool
sr_action(struct sieve_run *s, const struct sieve_node *c)
{
	switch (c->id) {
	case SIEVE_CMD_KEEP:		do_store(s, c, NULL); break;
	case SIEVE_CMD_FILEINTO:	do_fileinto(s, c); break;
	case SIEVE_CMD_REDIRECT:	do_redirect(s, c); break;
	case SIEVE_CMD_DISCARD:		do_discard(s, c); break;
	case SIEVE_CMD_REJECT:
	case SIEVE_CMD_EREJECT:		do_reject(s, c); break;
	case SIEVE_CMD_SETFLAG:
	case SIEVE_CMD_ADDFLAG:
	case SIEVE_CMD_REMOVEFLAG:	do_flags(s, c); break;
	case SIEVE_CMD_ADDHEADER:	sr_addheader(s, c); break;
	case SIEVE_CMD_DELETEHEADER:	sr_deleteheader(s, c); break;
	default:
		sr_fail(s, c->line, "unknown command '%s'", c->name);
		break;
	}
	return !s->failed;
}
