/*
 * sieve_run_tests - the Sieve tests at run time: address, header,
 * envelope, exists, size, allof/anyof/not/true/false (RFC 5228 5), body
 * (RFC 5173), date/currentdate and :index (RFC 5260), duplicate
 * (RFC 7352), hasflag (RFC 5232), string (RFC 5229), mailboxexists
 * (RFC 5490), with :count and :value (RFC 5231).
 *
 * Trust: message and script untrusted; the matching is bounded by the
 * run's :matches budget, values come from sieve_lib.h's bounded parsers.
 * Header tests see the header section after editheader's edits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_run_int.h"
#include "util/xmalloc.h"

/* Duplicate periods as Pigeonhole's defaults (sieve_duplicate_*_period). */
#define DUP_DEFAULT_PERIOD	(12 * 3600)
#define DUP_MAX_PERIOD		(2 * 86400)

/* One test's values against its keys: true when any value matches any
 * key; :count counts the values and compares the count instead. */
struct matcher {
	struct sieve_run *s;
	const struct sieve_node *t;
	struct sieve_strs keys;
	struct sieve_captures cap;
	int		 result;	/* 1 matched, -1 failed, 0 not yet */
	size_t		 count;
};

static void
m_init(struct matcher *m, struct sieve_run *s, const struct sieve_node *t,
    const struct sieve_arg *keys)
{
	memset(m, 0, sizeof(*m));
	m->s = s;
	m->t = t;
	sr_strs(s, keys, &m->keys);
}

/* Tests one value; true when the test is decided. */
static bool
m_value(struct matcher *m, const char *v, size_t len)
{
	const struct sieve_tags *tg = &m->t->tags;
	size_t k;
	int r;

	if (tg->match == SIEVE_MATCH_COUNT) {
		m->count++;
		return false;
	}
	if (m->result != 0)
		return true;
	for (k = 0; k < m->keys.n; k++) {
		r = sieve_match(tg->match, tg->rel, tg->cmp, v, len,
		    m->keys.v[k], m->keys.len[k], &m->s->budget,
		    tg->match == SIEVE_MATCH_MATCHES ? &m->cap : NULL);
		if (r < 0) {
			sr_fail(m->s, m->t->line, ":matches budget exhausted "
			    "(limit %llu steps)",
			    (unsigned long long)m->s->budget.max);
			m->result = -1;
			return true;
		}
		if (r > 0) {
			m->result = 1;
			return true;
		}
	}
	return false;
}

/* The test's answer; a successful :matches sets the match variables. */
static int
m_done(struct matcher *m)
{
	const struct sieve_tags *tg = &m->t->tags;
	char num[32];
	size_t k;
	int r;

	if (tg->match == SIEVE_MATCH_COUNT && m->result == 0) {
		snprintf(num, sizeof(num), "%zu", m->count);
		for (k = 0; k < m->keys.n && m->result == 0; k++) {
			r = sieve_match(SIEVE_MATCH_VALUE, tg->rel, tg->cmp,
			    num, strlen(num), m->keys.v[k], m->keys.len[k],
			    &m->s->budget, NULL);
			m->result = r < 0 ? 0 : r;
		}
	}
	if (m->result > 0 && tg->match == SIEVE_MATCH_MATCHES) {
		sieve_captures_clear(&m->s->cap);
		m->s->cap = m->cap;
		memset(&m->cap, 0, sizeof(m->cap));
	}
	sieve_captures_clear(&m->cap);
	sr_strs_free(&m->keys);
	return m->result;
}

/* Values of a list of header names (index: the one occurrence). */
static void
m_headers(struct matcher *m, const struct sieve_arg *names)
{
	struct sieve_run *s = m->s;
	const struct sieve_tags *tg = &m->t->tags;
	struct sieve_strs hn;
	const size_t *idx;
	const char *v;
	size_t i, j, n;

	sr_strs(s, names, &hn);
	for (i = 0; i < hn.n && m->result == 0; i++) {
		n = sr_hfind(s, hn.v[i], &idx);
		for (j = 0; j < n; j++) {
			if (tg->index != 0 && j != (tg->last ?
			    n - tg->index : tg->index - 1))
				continue;
			v = sr_hvalue(s, idx[j]);
			if (m_value(m, v, strlen(v)))
				break;
		}
	}
	sr_strs_free(&hn);
}

/* One address through the address part; the null path is "" whatever
 * the part (RFC 5228 5.4). */
static bool
m_address(struct matcher *m, const char *addr)
{
	struct buf part;
	bool done = false;

	if (*addr == '\0')
		return m_value(m, "", 0);
	buf_init(&part, 0);
	if (sieve_addr_part(addr, strlen(addr), m->t->tags.addrpart,
	    m->s->env->subaddress_sep, &part))
		done = m_value(m, buf_cstr(&part), part.len);
	else if (m->t->tags.match == SIEVE_MATCH_COUNT)
		m->count++;
	buf_free(&part);
	return done;
}

static int
t_address(struct sieve_run *s, const struct sieve_node *t)
{
	const struct sieve_tags *tg = &t->tags;
	struct matcher m;
	struct sieve_strs hn;
	char * const *addrs;
	const size_t *idx;
	size_t i, j, k, n, na;

	m_init(&m, s, t, &t->pos[1]);
	sr_strs(s, &t->pos[0], &hn);
	for (i = 0; i < hn.n && m.result == 0; i++) {
		n = sr_hfind(s, hn.v[i], &idx);
		/* :index picks one occurrence, then its addresses */
		for (j = 0; j < n && m.result == 0; j++) {
			if (tg->index != 0 && j != (tg->last ?
			    n - tg->index : tg->index - 1))
				continue;
			na = sr_haddrs(s, idx[j], &addrs);
			for (k = 0; k < na; k++)
				if (m_address(&m, addrs[k]))
					break;
		}
	}
	sr_strs_free(&hn);
	return m_done(&m);
}

static int
t_envelope(struct sieve_run *s, const struct sieve_node *t)
{
	const struct sieve_msg *msg = s->msg;
	struct matcher m;
	struct sieve_strs parts;
	const char *v;
	size_t i;

	m_init(&m, s, t, &t->pos[1]);
	sr_strs(s, &t->pos[0], &parts);
	for (i = 0; i < parts.n && m.result == 0; i++) {
		v = NULL;
		if (strcasecmp(parts.v[i], "from") == 0)
			v = msg->env_from != NULL ? msg->env_from : "";
		else if (strcasecmp(parts.v[i], "to") == 0)
			v = msg->env_to;
		else if (strcasecmp(parts.v[i], "auth") == 0)
			v = msg->auth;
		if (v != NULL)
			m_address(&m, v);
	}
	sr_strs_free(&parts);
	return m_done(&m);
}

static int
t_exists(struct sieve_run *s, const struct sieve_node *t)
{
	struct sieve_strs hn;
	const size_t *idx;
	size_t i;
	int r = 1;

	sr_strs(s, &t->pos[0], &hn);
	for (i = 0; i < hn.n && r; i++)
		if (sr_hfind(s, hn.v[i], &idx) == 0)
			r = 0;
	sr_strs_free(&hn);
	return r;
}

static void
body_cb(void *arg, const char *text, size_t len)
{
	m_value(arg, text, len);
}

static int
t_body(struct sieve_run *s, const struct sieve_node *t)
{
	const struct sieve_msg *msg = s->msg;
	struct matcher m;
	struct sieve_strs types;

	if (!s->body_loaded) {
		s->body_loaded = true;
		s->body = "";
		s->body_len = 0;
		if (msg->body != NULL &&
		    msg->body(msg->body_arg, &s->body, &s->body_len) < 0) {
			s->body = NULL;
			s->body_len = 0;
		}
	}
	if (s->body == NULL)
		return 0;
	m_init(&m, s, t, &t->pos[0]);
	sr_strs(s, &t->tags.content, &types);
	sieve_body_texts(msg->head, msg->head_len, s->body, s->body_len,
	    t->tags.body, types.v, types.n, s->lim.max_body, body_cb, &m);
	sr_strs_free(&types);
	return m_done(&m);
}

/* The zone a date is shown in: :zone, else the local one; false when
 * :zone is malformed (the test is then false). */
static bool
date_zone(struct sieve_run *s, const struct sieve_tags *tg, int *zone)
{
	struct buf tmp;
	bool ok = true;

	*zone = s->msg->now_zone;
	if (tg->zone == NULL)
		return true;
	buf_init(&tmp, 0);
	ok = sieve_zone_parse(sr_str(s, tg->zone, &tmp, NULL), zone);
	buf_free(&tmp);
	return ok;
}

static void
m_date(struct matcher *m, time_t t, int zone, const char *part)
{
	struct buf out;

	buf_init(&out, 0);
	if (sieve_date_part(t, zone, part, &out))
		m_value(m, buf_cstr(&out), out.len);
	buf_free(&out);
}

static int
t_date(struct sieve_run *s, const struct sieve_node *t)
{
	const struct sieve_tags *tg = &t->tags;
	struct matcher m;
	struct buf tn, tp;
	const char *name, *part;
	const size_t *idx;
	size_t j, n;
	time_t when;
	int zone, ozone;

	if (!date_zone(s, tg, &zone))
		return 0;
	buf_init(&tn, 0);
	buf_init(&tp, 0);
	name = sr_str(s, t->pos[0].strs[0], &tn, NULL);
	part = sr_str(s, t->pos[1].strs[0], &tp, NULL);
	m_init(&m, s, t, &t->pos[2]);
	n = sr_hfind(s, name, &idx);
	for (j = 0; j < n && m.result == 0; j++) {
		if (tg->index != 0 && j != (tg->last ? n - tg->index :
		    tg->index - 1))
			continue;
		if (sr_hdate(s, idx[j], &when, &ozone))
			m_date(&m, when, tg->originalzone ? ozone : zone,
			    part);
	}
	buf_free(&tn);
	buf_free(&tp);
	return m_done(&m);
}

static int
t_currentdate(struct sieve_run *s, const struct sieve_node *t)
{
	struct matcher m;
	struct buf tp;
	const char *part;
	int zone;

	if (!date_zone(s, &t->tags, &zone))
		return 0;
	buf_init(&tp, 0);
	part = sr_str(s, t->pos[0].strs[0], &tp, NULL);
	m_init(&m, s, t, &t->pos[1]);
	m_date(&m, s->msg->now, zone, part);
	buf_free(&tp);
	return m_done(&m);
}

/* Records id under handle for the caller to store once delivered. */
static void
dup_record(struct sieve_run *s, const char *handle, const char *id,
    uint64_t seconds)
{
	struct sieve_result *r = s->r;
	struct sieve_dup *d;
	size_t i;

	for (i = 0; i < r->ndups; i++)
		if (strcmp(r->dups[i].handle, handle) == 0 &&
		    strcmp(r->dups[i].id, id) == 0) {
			r->dups[i].seconds = seconds;
			return;
		}
	if (r->ndups == s->dcap) {
		s->dcap = s->dcap ? s->dcap * 2 : 4;
		r->dups = xrealloc(r->dups, s->dcap * sizeof(*r->dups));
	}
	d = &r->dups[r->ndups++];
	d->handle = xstrdup(handle);
	d->id = xstrdup(id);
	d->seconds = seconds;
}

/*
 * duplicate (RFC 7352): the id is :uniqueid, else the value of :header
 * (Message-ID by default; absent: false, nothing recorded). Seen ids are
 * not recorded again unless :last (which restarts the period).
 */
static int
t_duplicate(struct sieve_run *s, const struct sieve_node *t)
{
	const struct sieve_tags *tg = &t->tags;
	const struct sieve_env *env = s->env;
	struct buf th, ti;
	const char *handle = "", *id = NULL;
	const size_t *idx;
	uint64_t secs;
	bool seen;

	buf_init(&th, 0);
	buf_init(&ti, 0);
	if (tg->handle != NULL)
		handle = sr_str(s, tg->handle, &th, NULL);
	if (tg->uniqueid != NULL)
		id = sr_str(s, tg->uniqueid, &ti, NULL);
	else {
		if (sr_hfind(s, tg->header != NULL ? sr_str(s, tg->header,
		    &ti, NULL) : "message-id", &idx) > 0 &&
		    *sr_hvalue(s, idx[0]) != '\0')
			id = sr_hvalue(s, idx[0]);
	}
	seen = false;
	if (id != NULL) {
		secs = tg->has_period ? tg->seconds : DUP_DEFAULT_PERIOD;
		if (secs > DUP_MAX_PERIOD)
			secs = DUP_MAX_PERIOD;
		if (env->duplicate_seen != NULL)
			seen = env->duplicate_seen(env->arg, handle, id);
		if (!seen || tg->last)
			dup_record(s, handle, id, secs);
	}
	buf_free(&th);
	buf_free(&ti);
	return seen;
}

static int
t_hasflag(struct sieve_run *s, const struct sieve_node *t)
{
	struct matcher m;
	struct sieve_strs vars;
	struct buf fl;
	const char *v, *p, *e;
	size_t i, len;

	m_init(&m, s, t, &t->pos[t->npos - 1]);
	buf_init(&fl, 0);
	if (t->npos == 2) {
		sr_strs(s, &t->pos[0], &vars);
		for (i = 0; i < vars.n; i++)
			if ((v = sr_var_get(s, vars.v[i], &len)) != NULL) {
				buf_append(&fl, v, len);
				buf_putc(&fl, ' ');
			}
		sr_strs_free(&vars);
	} else
		buf_append(&fl, s->flags.data, s->flags.len);
	for (p = buf_cstr(&fl); *p != '\0' && m.result == 0; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if (e > p)
			m_value(&m, p, (size_t)(e - p));
	}
	buf_free(&fl);
	return m_done(&m);
}

static int
t_string(struct sieve_run *s, const struct sieve_node *t)
{
	struct matcher m;
	struct sieve_strs src;
	size_t i;

	m_init(&m, s, t, &t->pos[1]);
	sr_strs(s, &t->pos[0], &src);
	for (i = 0; i < src.n && m.result == 0; i++) {
		/* :count counts the non-empty strings (RFC 5229 5) */
		if (t->tags.match == SIEVE_MATCH_COUNT && src.len[i] == 0)
			continue;
		m_value(&m, src.v[i], src.len[i]);
	}
	sr_strs_free(&src);
	return m_done(&m);
}

static int
t_mailboxexists(struct sieve_run *s, const struct sieve_node *t)
{
	const struct sieve_env *env = s->env;
	struct sieve_strs names;
	size_t i;
	int r = env->mailbox_exists != NULL;

	sr_strs(s, &t->pos[0], &names);
	for (i = 0; i < names.n && r; i++)
		r = env->mailbox_exists(env->arg, names.v[i]);
	sr_strs_free(&names);
	return r;
}

static int
t_list(struct sieve_run *s, const struct sieve_node *t, bool all)
{
	size_t i;
	int r;

	for (i = 0; i < t->ntests; i++) {
		r = sr_test(s, &t->tests[i]);
		if (r < 0)
			return -1;
		if ((r > 0) != all)
			return r;
	}
	return all ? 1 : 0;
}

int
sr_test(struct sieve_run *s, const struct sieve_node *t)
{
	struct matcher m;
	int r;

	if (!sr_step(s, t->line))
		return -1;
	switch (t->id) {
	case SIEVE_TEST_TRUE:	return 1;
	case SIEVE_TEST_FALSE:	return 0;
	case SIEVE_TEST_ALLOF:	return t_list(s, t, true);
	case SIEVE_TEST_ANYOF:	return t_list(s, t, false);
	case SIEVE_TEST_NOT:
		r = sr_test(s, &t->tests[0]);
		return r < 0 ? r : !r;
	case SIEVE_TEST_SIZE:
		return t->tags.over ? s->msg->size > t->pos[0].number :
		    s->msg->size < t->pos[0].number;
	case SIEVE_TEST_HEADER:
		m_init(&m, s, t, &t->pos[1]);
		m_headers(&m, &t->pos[0]);
		r = m_done(&m);
		break;
	case SIEVE_TEST_ADDRESS:	r = t_address(s, t); break;
	case SIEVE_TEST_ENVELOPE:	r = t_envelope(s, t); break;
	case SIEVE_TEST_EXISTS:		r = t_exists(s, t); break;
	case SIEVE_TEST_BODY:		r = t_body(s, t); break;
	case SIEVE_TEST_DATE:		r = t_date(s, t); break;
	case SIEVE_TEST_CURRENTDATE:	r = t_currentdate(s, t); break;
	case SIEVE_TEST_DUPLICATE:	r = t_duplicate(s, t); break;
	case SIEVE_TEST_HASFLAG:	r = t_hasflag(s, t); break;
	case SIEVE_TEST_STRING:		r = t_string(s, t); break;
	case SIEVE_TEST_MAILBOXEXISTS:	r = t_mailboxexists(s, t); break;
	default:
		sr_fail(s, t->line, "unknown test '%s'", t->name);
		return -1;
	}
	return s->failed ? -1 : r;
}
