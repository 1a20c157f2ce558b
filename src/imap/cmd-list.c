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
 *    subscribed descendant, with ("CHILDINFO" ("SUBSCRIBED")); such a name
 *    may not exist at all, not even as a parent (\NonExistent).
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
};

struct list_req {
	struct imap_cmd	*cmd;
	bool		 lsub;
	struct imap_list l;
	char		**pats;		/* reference + pattern, UTF-8 */
	unsigned	 npats;
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

/* Decodes the reference and the patterns into q->pats; false after a BAD.
 * An absolute pattern (starting with the delimiter) ignores the
 * reference, as in RFC 9051's examples; empty patterns are skipped. */
static bool
list_patterns(struct list_req *q)
{
	char *ref, *pat;
	size_t len;

	ref = cmd_mbox_decode(q->cmd, q->l.reference, strlen(q->l.reference));
	if (ref == NULL)
		return false;
	q->pats = xcalloc(q->l.pattern_count, sizeof(*q->pats));
	for (unsigned i = 0; i < q->l.pattern_count; i++) {
		if (q->l.patterns[i][0] == '\0')
			continue;
		pat = cmd_mbox_decode(q->cmd, q->l.patterns[i],
		    strlen(q->l.patterns[i]));
		if (pat == NULL) {
			free(ref);
			return false;
		}
		if (pat[0] == CMD_MBOX_SEP)
			q->pats[q->npats++] = pat;
		else {
			q->pats[q->npats++] = xasprintf("%s%s", ref, pat);
			free(pat);
		}
		len = strlen(q->pats[q->npats - 1]);
		if (len > 0 && q->pats[q->npats - 1][len - 1] == '%')
			q->pct_end = true;
	}
	free(ref);
	return true;
}

static bool
matches(const struct list_req *q, const char *name)
{
	for (unsigned i = 0; i < q->npats; i++)
		if (imap_list_match(q->pats[i], name, CMD_MBOX_SEP))
			return true;
	return false;
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
 * Marks every ancestor of a subscribed name with child_sub, adding the
 * ancestors the store does not know (neither folders nor parents) as
 * \NonExistent names. Index map: name -> entry index + 1.
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
		if (!(flags & MBOX_SUBSCRIBED)) {
			if (!(sel & IMAP_LIST_SEL_RECURSIVEMATCH) ||
			    !e->child_sub)
				return;
		}
		childinfo = (sel & IMAP_LIST_SEL_RECURSIVEMATCH) &&
		    e->child_sub;
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
	if (!list_patterns(&q)) {
		list_req_free(&q);
		return IMAP_CMD_DONE;
	}
	if (q.npats == 0 && q.l.pattern_count == 1 && !lsub) {
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
