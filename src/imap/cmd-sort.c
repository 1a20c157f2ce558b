/*
 * cmd-sort - SORT and THREAD with their UID forms (RFC 5256): SORT
 * criteria ARRIVAL CC DATE FROM REVERSE SIZE SUBJECT TO, and DISPLAYFROM
 * DISPLAYTO (RFC 5957); THREAD=ORDEREDSUBJECT and THREAD=REFERENCES.
 *
 * Trust: criteria and search keys come from an authenticated but
 * untrusted client; message headers from anyone, read through src/mail's
 * parsers. Everything here is bounded by the number of matched messages
 * (and the References a message may list, RFC5322_MSGID_MAX); the thread
 * tree is walked without recursion, so a hostile reply chain of any
 * depth cannot exhaust the worker's stack.
 *
 * Only the header of each message is read, and only when a criterion
 * needs it (ARRIVAL and SIZE come from the index).
 *
 * Collation: strings are compared after charset_fold() (RFC 5256 asks for
 * i;ascii-casemap at least; folding is a superset). Ties are broken by
 * sequence number, ascending, whatever REVERSE said (RFC 5256 3) -
 * except that ARRIVAL counts the mailbox order as part of the arrival
 * time, so REVERSE ARRIVAL lists messages appended in the same second
 * newest first, as a user expects. The
 * sent date is the Date: field, else the INTERNALDATE (RFC 5256 2.2).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "mail/charset.h"
#include "mail/mail_search.h"
#include "mail/rfc5322.h"
#include "store/mailbox.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

/* ---- per-message keys ------------------------------------------------ */

enum crit {
	C_ARRIVAL, C_CC, C_DATE, C_FROM, C_SIZE, C_SUBJECT, C_TO,
	C_DISPLAYFROM, C_DISPLAYTO,
};

#define SORT_CRIT_MAX	32	/* criteria in one SORT */

static const char *const crit_names[] = {
	"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO",
	"DISPLAYFROM", "DISPLAYTO", NULL,
};

/* What SORT or THREAD needs of each message. */
struct item {
	uint32_t	 seq;
	uint32_t	 uid;
	time_t		 arrival;
	time_t		 date;		/* sent date, else arrival */
	uint64_t	 size;
	char		*str[C_DISPLAYTO + 1];	/* folded keys by crit */
	bool		 reply;		/* base subject lost a Re:/Fwd: */
	char		*msgid;		/* THREAD REFERENCES */
	char		**refs;
	size_t		 nrefs;
};

static void
items_free(struct item *it, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k <= C_DISPLAYTO; k++)
			free(it[i].str[k]);
		free(it[i].msgid);
		rfc5322_msgids_free(&it[i].refs, it[i].nrefs);
	}
	free(it);
}

static char *
fold(const char *s, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	charset_fold(s, len, &b);
	buf_putc(&b, '\0');	/* an empty result still allocates */
	return buf_steal(&b, NULL);
}

/* RFC 5256 FROM/TO/CC: the first address's addr-mailbox; RFC 5957
   DISPLAYFROM/DISPLAYTO: its decoded display name, else its addr-spec. */
static char *
addr_key(const struct imap_msg_data *d, const char *field, bool display)
{
	struct rfc5322_field f;
	struct rfc5322_addr *list, *a;
	struct buf b;
	char *r;

	if (d->data == NULL || !rfc5322_find(d->data, d->len, field, &f))
		return xstrdup("");
	list = rfc5322_addr_parse(f.value, f.value_len);
	for (a = list; a != NULL && a->host == NULL; a = a->next)
		;	/* group markers */
	buf_init(&b, 0);
	if (a != NULL && display && a->name != NULL && a->name[0] != '\0')
		rfc5322_decode(a->name, strlen(a->name), &b);
	else if (a != NULL && display)
		buf_printf(&b, "%s@%s", a->mailbox, a->host);
	else if (a != NULL)
		buf_puts(&b, a->mailbox);
	rfc5322_addr_free(&list);
	r = fold(buf_cstr(&b), b.len);
	buf_free(&b);
	return r;
}

/* Fills the keys of it that need[] asks for from the message header. */
static void
item_load(struct imap_cmd *cmd, struct item *it, const bool *need,
    bool thread)
{
	struct mbox_view *v = cmd->c->view;
	struct mbox_msg_info info;
	struct imap_msg_data d;
	const struct mime_msg *m = NULL;
	char *s;

	memset(&d, 0, sizeof(d));
	if (mbox_view_msg(v, it->seq, &info) == 0) {
		it->uid = info.uid;
		it->arrival = info.internaldate;
		it->size = info.size;
	}
	it->date = it->arrival;
	if (!need[C_CC] && !need[C_DATE] && !need[C_FROM] &&
	    !need[C_SUBJECT] && !need[C_TO] && !need[C_DISPLAYFROM] &&
	    !need[C_DISPLAYTO] && !thread)
		return;		/* ARRIVAL and SIZE: the index is enough */
	if (imap_msgs_load(v, it->seq, true, &d) == 0)
		m = imap_msgs_mime(&d);
	if (m != NULL && need[C_DATE])
		(void)mail_search_sent_date(m, &it->date, NULL);
	if (need[C_SUBJECT]) {
		s = m != NULL ? mail_search_base_subject(m, &it->reply) :
		    xstrdup("");
		it->str[C_SUBJECT] = fold(s, strlen(s));
		free(s);
	}
	it->str[C_FROM] = need[C_FROM] ? addr_key(&d, "From", false) : NULL;
	it->str[C_TO] = need[C_TO] ? addr_key(&d, "To", false) : NULL;
	it->str[C_CC] = need[C_CC] ? addr_key(&d, "Cc", false) : NULL;
	it->str[C_DISPLAYFROM] = need[C_DISPLAYFROM] ?
	    addr_key(&d, "From", true) : NULL;
	it->str[C_DISPLAYTO] = need[C_DISPLAYTO] ?
	    addr_key(&d, "To", true) : NULL;
	if (thread && m != NULL) {
		it->msgid = mail_thread_message_id(m);
		it->nrefs = mail_thread_references(m, &it->refs);
	}
	imap_msgs_data_free(&d);
}

/* Runs the search in args[from..] and loads the matched messages' keys.
   Returns the items (*n_r of them), or NULL after setting the reply. */
static struct item *
collect(struct imap_cmd *cmd, unsigned from, const bool *need, bool thread,
    size_t *n_r, bool *modseq_r, uint64_t *highest_r)
{
	struct imap_search s;
	struct imap_msgs_found found;
	struct item *it = NULL;
	const char *error;
	size_t i;

	*n_r = 0;
	if (imap_args_parse_search(cmd->args + from, cmd->count - from, &s,
	    &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return NULL;
	}
	if (s.ret_given || s.charset != NULL)
		imap_cmd_bad(cmd, "Invalid search program");
	else if (imap_msgs_search_prepare(cmd, &s) < 0)
		;	/* tagged NO set */
	else if (imap_msgs_search(cmd, &s, &found, &error) < 0)
		imap_cmd_bad(cmd, "%s", error);
	else {
		it = xcalloc(found.n ? found.n : 1, sizeof(*it));
		for (i = 0; i < found.n; i++) {
			it[i].seq = found.seqs[i];
			item_load(cmd, &it[i], need, thread);
		}
		*n_r = found.n;
		*modseq_r = s.uses_modseq;
		*highest_r = found.highest_modseq;
		imap_msgs_found_free(&found);
	}
	imap_search_free(&s);
	return it;
}

/* The charset argument of SORT and THREAD (RFC 5256 requires one). */
static int
charset_arg(struct imap_cmd *cmd, unsigned i)
{
	const char *cs;
	size_t len;

	if (i >= cmd->count ||
	    !imap_arg_get_astring(&cmd->args[i], &cs, &len)) {
		imap_cmd_bad(cmd, "Missing charset");
		return -1;
	}
	if (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0) {
		imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported "
		    "charset");
		return -1;
	}
	if (i + 1 >= cmd->count) {
		imap_cmd_bad(cmd, "Missing search criteria");
		return -1;
	}
	return 0;
}

static uint32_t
item_num(struct imap_cmd *cmd, const struct item *it)
{
	return cmd->uid ? it->uid : it->seq;
}

/* ---- SORT ---------------------------------------------------------------- */

struct sort_key {
	enum crit	 crit;
	bool		 reverse;
};

struct sort_spec {
	struct sort_key	 keys[SORT_CRIT_MAX];
	unsigned	 n;
};

static int
cmp_num(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_time(time_t a, time_t b)
{
	return a < b ? -1 : a > b;
}

static int
sort_cmp(const void *pa, const void *pb, void *arg)
{
	const struct item *a = pa, *b = pb;
	const struct sort_spec *sp = arg;
	unsigned i;
	int c;

	for (i = 0; i < sp->n; i++) {
		switch (sp->keys[i].crit) {
		case C_ARRIVAL:
			/* equal INTERNALDATEs: the mailbox order is the
			   arrival order, so REVERSE turns it round too */
			c = cmp_time(a->arrival, b->arrival);
			if (c == 0)
				c = cmp_num(a->seq, b->seq);
			break;
		case C_DATE:
			c = cmp_time(a->date, b->date);
			break;
		case C_SIZE:
			c = cmp_num(a->size, b->size);
			break;
		default:
			c = strcmp(a->str[sp->keys[i].crit],
			    b->str[sp->keys[i].crit]);
			break;
		}
		if (c != 0)
			return sp->keys[i].reverse ? -c : c;
	}
	return cmp_num(a->seq, b->seq);
}

/* (criteria) -> spec and what to load. */
static int
parse_criteria(struct imap_cmd *cmd, struct sort_spec *sp, bool *need)
{
	const struct imap_arg *list;
	unsigned count, i, k;
	bool reverse = false;
	const char *s;

	memset(sp, 0, sizeof(*sp));
	if (cmd->count < 1 ||
	    !imap_arg_get_list(&cmd->args[0], &list, &count) || count == 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (!imap_arg_get_atom(&list[i], &s))
			return -1;
		if (strcasecmp(s, "REVERSE") == 0 && !reverse) {
			reverse = true;
			continue;
		}
		for (k = 0; crit_names[k] != NULL; k++)
			if (strcasecmp(s, crit_names[k]) == 0)
				break;
		if (crit_names[k] == NULL || sp->n == SORT_CRIT_MAX)
			return -1;
		sp->keys[sp->n].crit = (enum crit)k;
		sp->keys[sp->n++].reverse = reverse;
		need[k] = true;
		reverse = false;
	}
	return reverse ? -1 : 0;
}

enum imap_cmd_result
cmd_sort(struct imap_cmd *cmd)
{
	struct sort_spec sp;
	bool need[C_DISPLAYTO + 1] = { false }, modseq = false;
	struct item *it;
	uint64_t highest = 0;
	size_t n, i;

	if (parse_criteria(cmd, &sp, need) < 0) {
		imap_cmd_bad(cmd, "Invalid sort criteria");
		return IMAP_CMD_DONE;
	}
	if (charset_arg(cmd, 1) < 0 ||
	    (it = collect(cmd, 2, need, false, &n, &modseq, &highest)) == NULL)
		return IMAP_CMD_DONE;
	qsort_r(it, n, sizeof(*it), sort_cmp, &sp);
	buf_puts(&cmd->out, "* SORT");
	for (i = 0; i < n; i++)
		buf_printf(&cmd->out, " %u", item_num(cmd, &it[i]));
	if (modseq && n > 0)
		buf_printf(&cmd->out, " (MODSEQ %llu)",
		    (unsigned long long)highest);
	buf_puts(&cmd->out, "\r\n");
	items_free(it, n);
	imap_cmd_ok(cmd, "Sort completed");
	return IMAP_CMD_DONE;
}

/* ---- THREAD: the tree ------------------------------------------------------ */

#define NONE	(-1)

struct node {
	int	 parent, child;		/* indices, NONE */
	int	 next, prev;		/* siblings: unlinking is O(1) */
	int	 item;			/* NONE: a dummy */
};

struct tree {
	struct node	*n;
	size_t		 count, cap;
	int		 root;
	const struct item *items;
};

static int
node_new(struct tree *t, int item)
{
	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->n = xrealloc(t->n, t->cap * sizeof(*t->n));
	}
	t->n[t->count].parent = t->n[t->count].child = NONE;
	t->n[t->count].next = t->n[t->count].prev = NONE;
	t->n[t->count].item = item;
	return (int)t->count++;
}

static void
node_unlink(struct tree *t, int x)
{
	int p = t->n[x].parent, nx = t->n[x].next, pv = t->n[x].prev;

	if (p == NONE)
		return;
	if (pv != NONE)
		t->n[pv].next = nx;
	else
		t->n[p].child = nx;
	if (nx != NONE)
		t->n[nx].prev = pv;
	t->n[x].parent = t->n[x].next = t->n[x].prev = NONE;
}

/* Makes x the first child of p (x must have no parent). */
static void
node_link(struct tree *t, int x, int p)
{
	t->n[x].parent = p;
	t->n[x].prev = NONE;
	t->n[x].next = t->n[p].child;
	if (t->n[p].child != NONE)
		t->n[t->n[p].child].prev = x;
	t->n[p].child = x;
}

/* True when a is b or one of b's ancestors. */
static bool
is_ancestor(const struct tree *t, int a, int b)
{
	for (; b != NONE; b = t->n[b].parent)
		if (b == a)
			return true;
	return false;
}

static size_t
n_children(const struct tree *t, int x)
{
	size_t k = 0;
	int c;

	for (c = t->n[x].child; c != NONE; c = t->n[c].next)
		k++;
	return k;
}

/* The message a node stands for in comparisons: itself, or a dummy's
   first child (children are sorted first). */
static const struct item *
node_item(const struct tree *t, int x)
{
	while (x != NONE && t->n[x].item == NONE)
		x = t->n[x].child;
	return x == NONE ? NULL : &t->items[t->n[x].item];
}

static int
date_cmp(const struct item *a, const struct item *b)
{
	int c;

	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	c = cmp_time(a->date, b->date);
	return c != 0 ? c : cmp_num(a->seq, b->seq);
}

static int
node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tree *t = arg;

	return date_cmp(node_item(t, *(const int *)pa),
	    node_item(t, *(const int *)pb));
}

/* Sorts x's children by sent date. */
static void
sort_children(struct tree *t, int x)
{
	size_t k = n_children(t, x), i;
	int *a, c;

	if (k < 2)
		return;
	a = xcalloc(k, sizeof(*a));
	for (i = 0, c = t->n[x].child; c != NONE; c = t->n[c].next)
		a[i++] = c;
	qsort_r(a, k, sizeof(*a), node_cmp, t);
	t->n[x].child = a[0];
	for (i = 0; i < k; i++) {
		t->n[a[i]].prev = i > 0 ? a[i - 1] : NONE;
		t->n[a[i]].next = i + 1 < k ? a[i + 1] : NONE;
	}
	free(a);
}

/* Every node under from (from included), children before parents. */
static int *
post_order(const struct tree *t, int from, size_t *n_r)
{
	int *order = xcalloc(t->count + 1, sizeof(*order));
	int *stack = xcalloc(t->count + 1, sizeof(*stack));
	size_t n = 0, sp = 0, i, j;
	int x, c, tmp;

	/* Pre-order with children pushed, then reversed: a node comes
	   after all of its descendants. */
	stack[sp++] = from;
	while (sp > 0) {
		x = stack[--sp];
		order[n++] = x;
		for (c = t->n[x].child; c != NONE; c = t->n[c].next)
			stack[sp++] = c;
	}
	for (i = 0, j = n - 1; i < j; i++, j--) {
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	free(stack);
	*n_r = n;
	return order;
}

/* RFC 5256 REFERENCES step 1: link messages through their references. */
static void
link_references(struct tree *t, const struct item *it, size_t n)
{
	struct hashmap *ids = hashmap_new(0);
	size_t i, j;
	int x, r, prev;
	void *v;

	for (i = 0; i < n; i++) {
		v = it[i].msgid ? hashmap_get(ids, it[i].msgid) : NULL;
		x = v ? (int)(intptr_t)v - 1 : NONE;
		if (x == NONE || t->n[x].item != NONE) {
			/* no id, or a duplicate: a container of its own */
			x = node_new(t, (int)i);
			if (v == NULL && it[i].msgid != NULL)
				hashmap_put(ids, it[i].msgid,
				    (void *)(intptr_t)(x + 1));
		} else
			t->n[x].item = (int)i;
		prev = NONE;
		for (j = 0; j < it[i].nrefs; j++) {
			v = hashmap_get(ids, it[i].refs[j]);
			r = v ? (int)(intptr_t)v - 1 : NONE;
			if (r == NONE) {
				r = node_new(t, NONE);
				hashmap_put(ids, it[i].refs[j],
				    (void *)(intptr_t)(r + 1));
			}
			if (prev != NONE && t->n[r].parent == NONE &&
			    !is_ancestor(t, r, prev))
				node_link(t, r, prev);
			prev = r;
		}
		node_unlink(t, x);
		if (prev != NONE && !is_ancestor(t, x, prev))
			node_link(t, x, prev);
	}
	hashmap_free(&ids, NULL);
}

/* Steps 2 and 3: a root over the parentless nodes; dummies pruned. */
static void
gather_and_prune(struct tree *t)
{
	size_t count = t->count, n, i;
	int x, p, c, *order;

	t->root = node_new(t, NONE);
	for (i = 0; i < count; i++)
		if (t->n[i].parent == NONE)
			node_link(t, (int)i, t->root);
	order = post_order(t, t->root, &n);
	for (i = 0; i < n; i++) {
		x = order[i];
		if (x == t->root || t->n[x].item != NONE)
			continue;
		p = t->n[x].parent;
		if (t->n[x].child != NONE && p == t->root &&
		    n_children(t, x) > 1)
			continue;	/* keeps its children off the root */
		node_unlink(t, x);
		while ((c = t->n[x].child) != NONE) {
			node_unlink(t, c);
			node_link(t, c, p);
		}
	}
	free(order);
}

/* The subject a root child stands for, and whether it was a reply. */
static const struct item *
subject_of(const struct tree *t, int x)
{
	const struct item *it = node_item(t, x);

	return it != NULL && it->str[C_SUBJECT][0] != '\0' ? it : NULL;
}

/* Moves all of from's children under to. */
static void
adopt_children(struct tree *t, int from, int to)
{
	int c;

	while ((c = t->n[from].child) != NONE) {
		node_unlink(t, c);
		node_link(t, c, to);
	}
}

/* Step 5 (C): merges root child x into the thread t's table names. */
static void
merge_subject(struct tree *t, struct hashmap *tab, int x)
{
	const struct item *xi = subject_of(t, x), *ti;
	bool xd = t->n[x].item == NONE, td;
	int y, d;

	if (xi == NULL)
		return;
	y = (int)(intptr_t)hashmap_get(tab, xi->str[C_SUBJECT]) - 1;
	if (y < 0 || y == x)
		return;
	td = t->n[y].item == NONE;
	ti = node_item(t, y);
	if (xd && td) {
		adopt_children(t, x, y);
		node_unlink(t, x);
	} else if (td) {
		node_unlink(t, x);
		node_link(t, x, y);
	} else if (!xd && xi->reply && !ti->reply) {
		node_unlink(t, x);
		node_link(t, x, y);
	} else {
		d = node_new(t, NONE);
		node_unlink(t, x);
		node_unlink(t, y);
		node_link(t, d, t->root);
		node_link(t, x, d);
		node_link(t, y, d);
		hashmap_put(tab, xi->str[C_SUBJECT], (void *)(intptr_t)(d + 1));
	}
}

/* Step 5: threads of the same base subject grouped. */
static void
group_subjects(struct tree *t)
{
	struct hashmap *tab = hashmap_new(0);
	const struct item *xi, *ti;
	size_t k = n_children(t, t->root), i;
	int *roots = xcalloc(k + 1, sizeof(*roots)), x, y;

	for (i = 0, x = t->n[t->root].child; x != NONE; x = t->n[x].next)
		roots[i++] = x;
	for (i = 0; i < k; i++) {
		x = roots[i];
		if ((xi = subject_of(t, x)) == NULL)
			continue;
		y = (int)(intptr_t)hashmap_get(tab, xi->str[C_SUBJECT]) - 1;
		ti = y >= 0 ? node_item(t, y) : NULL;
		if (y < 0 || (t->n[y].item != NONE &&
		    (t->n[x].item == NONE || (ti->reply && !xi->reply))))
			hashmap_put(tab, xi->str[C_SUBJECT],
			    (void *)(intptr_t)(x + 1));
	}
	for (i = 0; i < k; i++)
		if (t->n[roots[i]].parent == t->root)
			merge_subject(t, tab, roots[i]);
	free(roots);
	hashmap_free(&tab, NULL);
}

/* Step 6 (and 4): every set of siblings by sent date, deepest first. */
static void
sort_all(struct tree *t)
{
	size_t n, i;
	int *order = post_order(t, t->root, &n);

	for (i = 0; i < n; i++)
		sort_children(t, order[i]);
	free(order);
}

/* ---- THREAD: the answer ---------------------------------------------------- */

/* Writes the threads under t->root: "(1 2 (3)(4 5))(6)". Without
   recursion: the stack holds nodes to open and CLOSE marks. */
#define CLOSE	(-2)

static void
push_children(const struct tree *t, int x, int *stack, size_t *sp)
{
	size_t k = n_children(t, x), i;
	int c;

	/* Pushed last-first so the first child is opened first. */
	*sp += 2 * k;
	for (i = 0, c = t->n[x].child; c != NONE; c = t->n[c].next, i++) {
		stack[*sp - 1 - 2 * i] = c;
		stack[*sp - 2 - 2 * i] = CLOSE;
	}
}

static void
render(struct imap_cmd *cmd, const struct tree *t)
{
	int *stack = xcalloc(2 * t->count + 2, sizeof(*stack)), x;
	size_t sp = 0;
	bool space;

	push_children(t, t->root, stack, &sp);
	while (sp > 0) {
		if ((x = stack[--sp]) == CLOSE) {
			buf_putc(&cmd->out, ')');
			continue;
		}
		buf_putc(&cmd->out, '(');
		for (space = false;;) {
			if (t->n[x].item != NONE) {
				buf_printf(&cmd->out, space ? " %u" : "%u",
				    item_num(cmd, &t->items[t->n[x].item]));
				space = true;
			}
			if (n_children(t, x) != 1)
				break;
			x = t->n[x].child;
		}
		if (t->n[x].child != NONE && space)
			buf_putc(&cmd->out, ' ');
		push_children(t, x, stack, &sp);
	}
	free(stack);
}

static void
thread_references(struct tree *t, const struct item *it, size_t n)
{
	int x;

	link_references(t, it, n);
	gather_and_prune(t);
	/* Step 4: the root's children by date, a dummy by its first
	   child's (so its children are sorted first). */
	for (x = t->n[t->root].child; x != NONE; x = t->n[x].next)
		if (t->n[x].item == NONE)
			sort_children(t, x);
	sort_children(t, t->root);
	group_subjects(t);
	sort_all(t);
}

static int
subj_date_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c = strcmp(a->str[C_SUBJECT], b->str[C_SUBJECT]);

	return c != 0 ? c : date_cmp(a, b);
}

/* ORDEREDSUBJECT: by base subject, then date; each subject a thread
   whose first message is the parent of all the others. */
static void
thread_orderedsubject(struct tree *t, struct item *it, size_t n)
{
	size_t i;
	int head = NONE, x, last = NONE;

	qsort(it, n, sizeof(*it), subj_date_cmp);
	t->root = node_new(t, NONE);
	for (i = 0; i < n; i++) {
		x = node_new(t, (int)i);
		if (head != NONE && strcmp(it[i].str[C_SUBJECT],
		    it[t->n[head].item].str[C_SUBJECT]) == 0) {
			/* appended: kept in date order */
			if (last == head)
				node_link(t, x, head);
			else {
				t->n[x].parent = head;
				t->n[x].prev = last;
				t->n[last].next = x;
			}
			last = x;
			continue;
		}
		node_link(t, x, t->root);
		head = last = x;
	}
	sort_children(t, t->root);
}

enum imap_cmd_result
cmd_thread(struct imap_cmd *cmd)
{
	bool need[C_DISPLAYTO + 1] = { false }, modseq = false, refs;
	struct tree t;
	struct item *it;
	uint64_t highest = 0;
	const char *alg;
	size_t n;

	if (cmd->count < 1 || !imap_arg_get_atom(&cmd->args[0], &alg) ||
	    (strcasecmp(alg, "REFERENCES") != 0 &&
	    strcasecmp(alg, "ORDEREDSUBJECT") != 0)) {
		imap_cmd_bad(cmd, "Unknown thread algorithm");
		return IMAP_CMD_DONE;
	}
	refs = strcasecmp(alg, "REFERENCES") == 0;
	need[C_SUBJECT] = need[C_DATE] = true;
	if (charset_arg(cmd, 1) < 0 ||
	    (it = collect(cmd, 2, need, refs, &n, &modseq, &highest)) == NULL)
		return IMAP_CMD_DONE;
	memset(&t, 0, sizeof(t));
	t.items = it;
	if (refs)
		thread_references(&t, it, n);
	else
		thread_orderedsubject(&t, it, n);
	buf_puts(&cmd->out, "* THREAD");
	if (t.n[t.root].child != NONE)
		buf_putc(&cmd->out, ' ');
	render(cmd, &t);
	buf_puts(&cmd->out, "\r\n");
	free(t.n);
	items_free(it, n);
	imap_cmd_ok(cmd, "Thread completed");
	return IMAP_CMD_DONE;
}
