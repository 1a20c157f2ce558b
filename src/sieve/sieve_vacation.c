/*
 * sieve_vacation - the vacation action (RFC 5230, :seconds RFC 6131) at
 * run time: decides from the message alone whether a reply may go
 * (RFC 5230 4.5, RFC 3834 2) and fills the VACATION action; the caller
 * keeps the durable "answered handle+sender within the period" memory
 * and sends the reply.
 *
 * No reply goes to: the null sender; system senders (MAILER-DAEMON,
 * LISTSERV, majordomo, *-request*, owner-*, as Pigeonhole's list);
 * one of the user's own addresses; list mail (List-Id and the RFC 2369
 * List-* fields, Precedence bulk/list/junk); automatic mail
 * (Auto-Submitted other than "no"); mail whose To/Cc/Bcc (and Resent-)
 * fields hold none of the user's addresses (env, the recipient, and
 * :addresses).
 *
 * Trust: untrusted script and message; every value comes from bounded
 * parsers and the variables' limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_run_int.h"
#include "util/xmalloc.h"

/* Periods as Pigeonhole's defaults (sieve_vacation_default_period,
 * sieve_vacation_min_period; no maximum). */
#define VAC_DEFAULT_PERIOD	(7 * 86400)
#define VAC_MIN_PERIOD		86400

static const char *const list_fields[] = {
	"list-id", "list-help", "list-subscribe", "list-unsubscribe",
	"list-post", "list-owner", "list-archive",
};
static const char *const my_fields[] = {
	"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc",
};

/* A sender no vacation answers: MAILER-DAEMON and list robots. */
static bool
system_sender(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);
	char local[256];
	size_t i;

	if (n >= sizeof(local))
		n = sizeof(local) - 1;
	for (i = 0; i < n; i++)
		local[i] = (char)(addr[i] >= 'A' && addr[i] <= 'Z' ?
		    addr[i] + 'a' - 'A' : addr[i]);
	local[n] = '\0';
	return strcmp(local, "mailer-daemon") == 0 ||
	    strcmp(local, "listserv") == 0 ||
	    strcmp(local, "majordomo") == 0 ||
	    strstr(local, "-request") != NULL ||
	    strncmp(local, "owner-", 6) == 0;
}

/* The first value of field name (NULL: absent); free it. */
static char *
first_value(struct sieve_run *s, const char *name)
{
	char **vals, *v = NULL;
	size_t n;

	n = sieve_header_values(s->head, s->head_len, name, &vals);
	if (n > 0) {
		v = vals[0];
		vals[0] = NULL;
	}
	sieve_strings_free(&vals, n);
	return v;
}

/* An :addresses entry as an addr-spec ("Bob <b@x>" gives "b@x"). */
static bool
extra_eq(const char *entry, const char *addr)
{
	const char *lt = strrchr(entry, '<'), *gt;

	if (lt == NULL || (gt = strchr(lt, '>')) == NULL)
		return sr_addr_eq(entry, addr);
	return (size_t)(gt - lt - 1) == strlen(addr) &&
	    strncasecmp(lt + 1, addr, strlen(addr)) == 0;
}

/* Is addr one of the user's (env, recipient, :addresses)? */
static bool
is_mine(struct sieve_run *s, const struct sieve_strs *extra,
    const char *addr)
{
	const struct sieve_env *env = s->env;
	size_t i;

	if (env->user != NULL && sr_addr_eq(env->user, addr))
		return true;
	if (s->msg->env_to != NULL && sr_addr_eq(s->msg->env_to, addr))
		return true;
	for (i = 0; i < env->naddresses; i++)
		if (sr_addr_eq(env->addresses[i], addr))
			return true;
	for (i = 0; i < extra->n; i++)
		if (extra_eq(extra->v[i], addr))
			return true;
	return false;
}

/* RFC 5230 4.5 / 4.6: why no reply may go, or NULL. */
static const char *
no_reply(struct sieve_run *s, const struct sieve_strs *mine)
{
	const char *from = s->msg->env_from;
	struct rfc5322_field f;
	char **addrs, *v;
	size_t i, j, n;
	bool found = false, bad;

	if (from == NULL || *from == '\0')
		return "null sender";
	if (system_sender(from))
		return "system sender";
	if (is_mine(s, mine, from))
		return "sender is the user";
	for (i = 0; i < sizeof(list_fields) / sizeof(list_fields[0]); i++)
		if (rfc5322_find(s->head, s->head_len, list_fields[i], &f))
			return "list mail";
	if ((v = first_value(s, "auto-submitted")) != NULL) {
		n = strcspn(v, " \t;(");
		bad = !(n == 2 && strncasecmp(v, "no", 2) == 0);
		free(v);
		if (bad)
			return "auto-submitted";
	}
	if ((v = first_value(s, "precedence")) != NULL) {
		bad = strcasecmp(v, "bulk") == 0 || strcasecmp(v, "list") == 0 ||
		    strcasecmp(v, "junk") == 0;
		free(v);
		if (bad)
			return "precedence";
	}
	for (i = 0; i < sizeof(my_fields) / sizeof(my_fields[0]) && !found;
	    i++) {
		n = sieve_header_addresses(s->head, s->head_len, my_fields[i],
		    &addrs);
		for (j = 0; j < n && !found; j++)
			found = is_mine(s, mine, addrs[j]);
		sieve_strings_free(&addrs, n);
	}
	return found ? NULL : "not addressed to the user";
}

/* 64-bit FNV-1a over p[0..len) continuing from h. */
static uint64_t
fnv(uint64_t h, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len + 1; i++) {	/* with the NUL: a separator */
		h ^= i < len ? (unsigned char)p[i] : 0;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* RFC 5230 4.2: without :handle, one derived from the arguments, so a
 * changed message starts a new period. */
static char *
default_handle(const char *reason, const char *subject, const char *from,
    bool mime)
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	const char *parts[3] = { reason, subject ? subject : "",
	    from ? from : "" };
	size_t i;

	for (i = 0; i < 3; i++) {
		a = fnv(a, parts[i], strlen(parts[i]));
		b = fnv(b, parts[i], strlen(parts[i]));
	}
	a = fnv(a, mime ? "m" : "", mime);
	return xasprintf("vacation-%016llx%016llx", (unsigned long long)a,
	    (unsigned long long)b);
}

/* In-Reply-To and References of the reply (RFC 5322 3.6.4). */
static void
threading(struct sieve_run *s, struct sieve_action *a)
{
	struct rfc5322_field f;
	struct buf refs;
	char **ids;
	size_t i, n;

	buf_init(&refs, 0);
	if (rfc5322_find(s->head, s->head_len, "references", &f)) {
		n = rfc5322_msgids_parse(f.value, f.value_len,
		    RFC5322_MSGID_MAX, &ids);
		for (i = 0; i < n; i++)
			buf_printf(&refs, "%s<%s>", refs.len ? " " : "",
			    ids[i]);
		rfc5322_msgids_free(&ids, n);
	}
	if (rfc5322_find(s->head, s->head_len, "message-id", &f)) {
		n = rfc5322_msgids_parse(f.value, f.value_len, 1, &ids);
		if (n > 0) {
			a->in_reply_to = xasprintf("<%s>", ids[0]);
			buf_printf(&refs, "%s%s", refs.len ? " " : "",
			    a->in_reply_to);
		}
		rfc5322_msgids_free(&ids, n);
	}
	if (refs.len > 0)
		a->references = buf_steal(&refs, NULL);
	buf_free(&refs);
}

static char *
dup_str(struct sieve_run *s, const char *v)
{
	struct buf tmp;
	char *r;

	if (v == NULL)
		return NULL;
	buf_init(&tmp, 0);
	r = xstrdup(sr_str(s, v, &tmp, NULL));
	buf_free(&tmp);
	return r;
}

/* The reply's subject: :subject, else "Auto: " and the original one. */
static char *
subject(struct sieve_run *s, const char *given)
{
	char *orig, *r;

	if (given != NULL)
		return xstrdup(given);
	if ((orig = first_value(s, "subject")) == NULL || *orig == '\0') {
		free(orig);
		return xstrdup("Automated reply");
	}
	r = xasprintf("Auto: %s", orig);
	free(orig);
	return r;
}

bool
sr_vacation(struct sieve_run *s, const struct sieve_node *c)
{
	const struct sieve_tags *tg = &c->tags;
	struct sieve_action *a;
	struct sieve_strs mine;
	char *reason, *subj, *from;

	if (s->vacation_done) {
		sr_fail(s, c->line, "duplicate vacation action");
		return false;
	}
	if (sr_reject_conflict(s, c->line, "vacation"))
		return false;
	s->vacation_done = true;
	sr_strs(s, &tg->addresses, &mine);
	if (no_reply(s, &mine) != NULL) {
		sr_strs_free(&mine);
		return true;
	}
	sr_strs_free(&mine);
	if ((a = sr_action_add(s, c->line, SIEVE_VACATION)) == NULL)
		return false;
	reason = dup_str(s, c->pos[0].strs[0]);
	subj = dup_str(s, tg->subject);
	from = dup_str(s, tg->from);
	a->handle = tg->handle != NULL ? dup_str(s, tg->handle) :
	    default_handle(reason, subj, from, tg->mime);
	a->subject = subject(s, subj);
	free(subj);
	a->text = reason;
	a->from = from;
	a->address = xstrdup(s->msg->env_from);
	a->mime = tg->mime;
	a->seconds = tg->has_period ? tg->seconds : VAC_DEFAULT_PERIOD;
	if (a->seconds < VAC_MIN_PERIOD)
		a->seconds = VAC_MIN_PERIOD;
	threading(s, a);
	return true;
}
