/*
 * cmd-list - LIST (RFC 9051 6.3.9 with RFC 5258 LIST-EXTENDED, RFC 5819
 * LIST-STATUS, RFC 6154 SPECIAL-USE, RFC 8440 LIST-MYRIGHTS), LSUB
 * (IMAP4rev1) and NAMESPACE (RFC 2342: the personal namespace "" and
 * the other users' "shared/", both with "/"; see imap_acl.h).
 *
 * Trust: runs for an authenticated, untrusted client, on a worker thread.
 * Patterns are matched with imap_list_match (no recursion, time bounded by
 * pattern times name); the work is the user's folder list times the
 * patterns, both bounded (the command size, the store's folder names).
 *
 * How a name is chosen (the table of RFC 9051 6.3.9.2):
 *  - it must match one of the patterns (reference + pattern);
 *  - plain LIST: folders and their missing parents (\Noselect), not the
 *    names that are only subscribed;
 *  - (SUBSCRIBED): subscribed names, existing or not (\NonExistent);
 *  - (SPECIAL-USE): folders with a special use;
 *  - RECURSIVEMATCH: also a name that fails the selection but has a
 *    subscribed descendant that no pattern matches, with ("CHILDINFO"
 *    ("SUBSCRIBED")); such a name may not exist at all, not even as a
 *    parent (\NonExistent). A descendant the LIST answers itself makes
 *    the CHILDINFO redundant: RFC 5258 3.5 says leave it out.
 * \HasChildren/\HasNoChildren and special uses are always sent (RFC 5258
 * and RFC 6154 allow it; Dovecot does the same); \Subscribed with the
 * SUBSCRIBED selection or return option.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/array.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

/* Patterns in one LIST: each costs a match per folder (STYLE habit 5). */
#define CMD_LIST_PATTERNS_MAX	100

struct list_entry {
	char		*name;		/* owned */
	unsigned	 flags;		/* MBOX_* */
	bool		 child_sub;	/* a descendant is subscribed */
	bool		 child_sub_unlisted;	/* ... that LIST leaves out */
};

struct list_req {
	struct imap_cmd	*cmd;
	bool		 lsub;
	struct imap_list l;
	char		**pats;		/* reference + pattern, UTF-8 */
	unsigned	 npats;
	unsigned	 n_empty;	/* "" patterns */
	bool		 pct_end;	/* LSUB: a pattern ends in "%" */
	struct list_entry *e;
	size_t		 n, cap;
};

static void
list_req_free(struct list_req *q)
{
	for (unsigned i = 0; i < q->npats; i++)
		free(q->pats[i]);
	free(q->pats);
	for (size_t i = 0; i < q->n; i++)
		free(q->e[i].name);
	free(q->e);
	imap_list_free(&q->l);
}

/* The UTF-8 form of a reference or pattern; NULL when it is no valid
 * modified UTF-7 (or UTF-8): it names nothing tem can hold, so it matches
 * nothing (an empty answer, as Dovecot gives, not BAD). */
static char *
list_decode(const struct list_req *q, const char *s)
{
	const char *error;

	return cmd_mbox_try(q->cmd, s, strlen(s), &error);
}

/* Decodes the reference and the patterns into q->pats. An absolute
 * pattern (starting with the delimiter) ignores the reference, as in RFC
 * 9051's examples; empty patterns and those that cannot match (see
 * list_decode) are skipped; q->n_empty counts the empty ones. */
static void
list_patterns(struct list_req *q)
{
	char *ref, *pat;
	size_t len;

	ref = list_decode(q, q->l.reference);
	q->pats = xcalloc(q->l.pattern_count, sizeof(*q->pats));
	for (unsigned i = 0; i < q->l.pattern_count; i++) {
		if (q->l.patterns[i][0] == '\0') {
			q->n_empty++;
			continue;
		}
		if ((pat = list_decode(q, q->l.patterns[i])) == NULL)
			continue;
		if (pat[0] == CMD_MBOX_SEP)
			q->pats[q->npats++] = pat;
		else if (ref != NULL) {
			q->pats[q->npats++] = xasprintf("%s%s", ref, pat);
			free(pat);
		} else {
			free(pat);
			continue;
		}
		len = strlen(q->pats[q->npats - 1]);
		if (len > 0 && q->pats[q->npats - 1][len - 1] == '%')
			q->pct_end = true;
	}
	free(ref);
}

static bool
matches(const struct list_req *q, const char *name)
{
	for (unsigned i = 0; i < q->npats; i++)
		if (imap_list_match(q->pats[i], name, CMD_MBOX_SEP))
			return true;
	return false;
}

/* Whether LIST with the SUBSCRIBED selection answers subscribed name e. */
static bool
listed_subscribed(const struct list_req *q, const struct list_entry *e)
{
	if ((q->l.select & IMAP_LIST_SEL_SPECIAL_USE) &&
	    !(e->flags & MBOX_SPECIAL_USE))
		return false;
	return matches(q, e->name);
}

static void
push_entry(struct list_req *q, char *name, unsigned flags)
{
	struct list_entry *e = ARRAY_PUSH(q->e, q->n, q->cap);

	e->name = name;
	e->flags = flags;
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;

	if (strcmp(x->name, "INBOX") == 0)
		return -1;
	if (strcmp(y->name, "INBOX") == 0)
		return 1;
	return strcmp(x->name, y->name);
}

/*
 * Marks every ancestor of a subscribed name with child_sub (and with
 * child_sub_unlisted when the name matches no pattern, so that LIST does
 * not answer it), adding the ancestors the store does not know (neither
 * folders nor parents) as \NonExistent names. Index map: name -> entry
 * index + 1.
 */
static void
mark_subscribed_parents(struct list_req *q)
{
	struct hashmap *m = hashmap_new(0);
	size_t n0 = q->n;

	for (size_t i = 0; i < q->n; i++)
		hashmap_put(m, q->e[i].name, (void *)(uintptr_t)(i + 1));
	for (size_t i = 0; i < n0; i++) {
		if (!(q->e[i].flags & MBOX_SUBSCRIBED))
			continue;
		bool unlisted = !listed_subscribed(q, &q->e[i]);
		char *p = xstrdup(q->e[i].name), *slash;
		while ((slash = strrchr(p, CMD_MBOX_SEP)) != NULL) {
			*slash = '\0';
			uintptr_t k = (uintptr_t)hashmap_get(m, p);
			if (k == 0) {
				push_entry(q, xstrdup(p),
				    MBOX_NONEXISTENT | MBOX_NOSELECT);
				k = q->n;
				hashmap_put(m, p, (void *)k);
			}
			q->e[k - 1].child_sub = true;
			q->e[k - 1].child_sub_unlisted |= unlisted;
		}
		free(p);
	}
	hashmap_free(&m, NULL);
	if (q->n > n0)
		qsort(q->e, q->n, sizeof(*q->e), cmp_entry);
}

/* Loads the store's list into q->e. */
static int
load_entries(struct list_req *q, char **err_r)
{
	struct mbox_folder_info *list;
	size_t n;
	int r = mbox_list(q->cmd->c->mu, &list, &n, err_r);

	if (r < 0)
		return r;
	imap_acl_list_merge(q->cmd->c, &list, &n);	/* shared/... */
	for (size_t i = 0; i < n; i++) {
		push_entry(q, list[i].name, list[i].flags);
		list[i].name = NULL;
	}
	mbox_list_free(list, n);
	mark_subscribed_parents(q);
	return 0;
}

/* LIST-STATUS (RFC 5819): the STATUS line after a selectable name's LIST.
 * A folder that fails (deleted meanwhile) is just left out. */
static void
list_status(struct list_req *q, const struct list_entry *e)
{
	struct imap_client *c = q->cmd->c;
	struct imap_acl_ref ref;
	struct mbox_status st;

	if (e->flags & (MBOX_NOSELECT | MBOX_NONEXISTENT))
		return;
	if (imap_acl_open(q->cmd, e->name, MBOX_ACL_READ, false, &ref) < 0) {
		XFREE(&q->cmd->tagged);	/* not for STATUS: left out */
		return;
	}
	if (mbox_status(ref.u, ref.folder, &st, NULL) == 0)
		cmd_mbox_status_line(&q->cmd->out, e->name,
		    q->l.status_items, &st, c->utf8);
	imap_acl_ref_free(&ref);
}

/* One LIST response if e is chosen (see the header comment). */
static void
list_one(struct list_req *q, const struct list_entry *e)
{
	unsigned sel = q->l.select, flags = e->flags;
	bool childinfo = false, subscribed;
	struct buf *out = &q->cmd->out;

	if (!matches(q, e->name))
		return;
	if (sel & IMAP_LIST_SEL_SUBSCRIBED) {
		/* RFC 5258 3.5: CHILDINFO only for a subscribed descendant
		   this LIST does not answer itself (no redundant ones) */
		childinfo = (sel & IMAP_LIST_SEL_RECURSIVEMATCH) &&
		    e->child_sub_unlisted;
		if (!(flags & MBOX_SUBSCRIBED) && !childinfo)
			return;
	} else if (flags & MBOX_NONEXISTENT)
		return;
	if ((sel & IMAP_LIST_SEL_SPECIAL_USE) && !childinfo &&
	    !(flags & MBOX_SPECIAL_USE))
		return;
	subscribed = (sel & IMAP_LIST_SEL_SUBSCRIBED) ||
	    (q->l.ret & IMAP_LIST_RET_SUBSCRIBED);
	buf_puts(out, "* LIST (");
	cmd_mbox_attrs(out, flags, subscribed);
	buf_puts(out, ") \"/\" ");
	imap_out_mailbox(out, e->name, q->cmd->c->utf8);
	if (childinfo)
		buf_puts(out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_puts(out, "\r\n");
	if (q->l.ret & IMAP_LIST_RET_STATUS)
		list_status(q, e);
	if (q->l.ret & IMAP_LIST_RET_MYRIGHTS)
		imap_acl_list_myrights(q->cmd->c, out, e->name, flags);
}

/* One LSUB response (RFC 3501 6.3.9): subscribed names; with a trailing
 * "%", an unsubscribed level with subscribed names below as \Noselect. */
static void
lsub_one(struct list_req *q, const struct list_entry *e)
{
	struct buf *out = &q->cmd->out;
	const char *attrs;

	if (!matches(q, e->name))
		return;
	if (e->flags & MBOX_SUBSCRIBED)
		attrs = "";
	else if (q->pct_end && e->child_sub)
		attrs = "\\Noselect";
	else
		return;
	buf_printf(out, "* LSUB (%s) \"/\" ", attrs);
	imap_out_mailbox(out, e->name, q->cmd->c->utf8);
	buf_puts(out, "\r\n");
}

static enum imap_cmd_result
list_common(struct imap_cmd *cmd, bool lsub)
{
	struct list_req q = { .cmd = cmd, .lsub = lsub };
	const char *error;
	char *err = NULL;
	int r;

	if (imap_args_parse_list(cmd->args, cmd->count, &q.l, &error) < 0 ||
	    (lsub && q.l.extended)) {
		imap_cmd_bad(cmd, "%s", lsub && q.l.extended ?
		    "Invalid LSUB arguments" : error);
		imap_list_free(&q.l);
		return IMAP_CMD_DONE;
	}
	if (q.l.pattern_count > CMD_LIST_PATTERNS_MAX) {
		imap_cmd_bad(cmd, "Too many LIST patterns (max %d)",
		    CMD_LIST_PATTERNS_MAX);
		list_req_free(&q);
		return IMAP_CMD_DONE;
	}
	list_patterns(&q);
	if (q.npats == 0 && q.l.pattern_count == 1 && q.n_empty == 1 &&
	    !lsub) {
		/* LIST "" "": the root and the delimiter (RFC 9051 6.3.9) */
		buf_puts(&cmd->out, "* LIST (\\Noselect) \"/\" \"\"\r\n");
	} else if (q.npats > 0) {
		if ((r = load_entries(&q, &err)) < 0) {
			list_req_free(&q);
			return cmd_mbox_fail(cmd, r, false, err);
		}
		for (size_t i = 0; i < q.n; i++) {
			if (lsub)
				lsub_one(&q, &q.e[i]);
			else
				list_one(&q, &q.e[i]);
		}
	}
	list_req_free(&q);
	imap_cmd_ok(cmd, "%s completed", lsub ? "LSUB" : "LIST");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_list(struct imap_cmd *cmd)
{
	return list_common(cmd, false);
}

enum imap_cmd_result
cmd_lsub(struct imap_cmd *cmd)
{
	return list_common(cmd, true);
}

enum imap_cmd_result
cmd_namespace(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "NAMESPACE takes no arguments");
		return IMAP_CMD_DONE;
	}
	/* RFC 2342: personal, then other users' (imap_acl.h) */
	buf_puts(&cmd->out, "* NAMESPACE ((\"\" \"/\")) ((\"" IMAP_ACL_NS
	    "/\" \"/\")) NIL\r\n");
	imap_cmd_ok(cmd, "NAMESPACE completed");
	return IMAP_CMD_DONE;
}
