/*
 * cmd-thread - THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT and
 * REFERENCES, the latter in the RFC's six steps (link by references,
 * gather under a root, prune dummies, sort, group by base subject, sort
 * every sibling set).
 *
 * Trust: the algorithm and search keys come from an authenticated but
 * untrusted client; Message-IDs, References and subjects from anyone.
 * The tree lives in one array of nodes linked by index; it is walked
 * without recursion (explicit stacks), so a hostile reply chain of any
 * depth cannot exhaust the worker's stack, and no link that would close
 * a loop is ever made. Memory is bounded by the matched messages and the
 * ids their References name (RFC5322_MSGID_MAX each).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/cmd-sort.h"
#include "imap/imap_client.h"
#include "util/array.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

/* ---- the tree ------------------------------------------------------- */

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
	const struct imap_sort_item *items;
};

static int
node_new(struct tree *t, int item)
{
	int idx = (int)t->count;
	struct node *nd = ARRAY_PUSH(t->n, t->count, t->cap);

	nd->parent = nd->child = NONE;
	nd->next = nd->prev = NONE;
	nd->item = item;
	return idx;
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
static const struct imap_sort_item *
node_item(const struct tree *t, int x)
{
	while (x != NONE && t->n[x].item == NONE)
		x = t->n[x].child;
	return x == NONE ? NULL : &t->items[t->n[x].item];
}

static int
node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tree *t = arg;

	return imap_sort_date_cmp(node_item(t, *(const int *)pa),
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
link_references(struct tree *t, const struct imap_sort_item *it, size_t n)
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
static const struct imap_sort_item *
subject_of(const struct tree *t, int x)
{
	const struct imap_sort_item *it = node_item(t, x);

	return it != NULL && it->str[IMAP_SORT_SUBJECT][0] != '\0' ? it : NULL;
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

/* The root child the subject table holds for xi's subject, or -1. */
static int
table_get(const struct hashmap *tab, const struct imap_sort_item *xi)
{
	return (int)(intptr_t)hashmap_get(tab, xi->str[IMAP_SORT_SUBJECT]) - 1;
}

/* Step 5 (C): merges root child x into the thread t's table names. */
static void
merge_subject(struct tree *t, struct hashmap *tab, int x)
{
	const struct imap_sort_item *xi = subject_of(t, x), *ti;
	bool xd = t->n[x].item == NONE, td;
	int y, d;

	if (xi == NULL)
		return;
	y = table_get(tab, xi);
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
		hashmap_put(tab, xi->str[IMAP_SORT_SUBJECT],
		    (void *)(intptr_t)(d + 1));
	}
}

/* Step 5: threads of the same base subject grouped. */
static void
group_subjects(struct tree *t)
{
	struct hashmap *tab = hashmap_new(0);
	const struct imap_sort_item *xi, *ti;
	size_t k = n_children(t, t->root), i;
	int *roots = xcalloc(k + 1, sizeof(*roots)), x, y;

	for (i = 0, x = t->n[t->root].child; x != NONE; x = t->n[x].next)
		roots[i++] = x;
	for (i = 0; i < k; i++) {
		x = roots[i];
		if ((xi = subject_of(t, x)) == NULL)
			continue;
		y = table_get(tab, xi);
		ti = y >= 0 ? node_item(t, y) : NULL;
		if (y < 0 || (t->n[y].item != NONE &&
		    (t->n[x].item == NONE || (ti->reply && !xi->reply))))
			hashmap_put(tab, xi->str[IMAP_SORT_SUBJECT],
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

/* ---- the answer ----------------------------------------------------- */

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
				    imap_sort_num(cmd,
				    &t->items[t->n[x].item]));
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
thread_references(struct tree *t, const struct imap_sort_item *it, size_t n)
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
	const struct imap_sort_item *a = pa, *b = pb;
	int c = strcmp(a->str[IMAP_SORT_SUBJECT], b->str[IMAP_SORT_SUBJECT]);

	return c != 0 ? c : imap_sort_date_cmp(a, b);
}

/* ORDEREDSUBJECT: by base subject, then date; each subject a thread
   whose first message is the parent of all the others. */
static void
thread_orderedsubject(struct tree *t, struct imap_sort_item *it, size_t n)
{
	size_t i;
	int head = NONE, x, last = NONE;

	qsort(it, n, sizeof(*it), subj_date_cmp);
	t->root = node_new(t, NONE);
	for (i = 0; i < n; i++) {
		x = node_new(t, (int)i);
		if (head != NONE && strcmp(it[i].str[IMAP_SORT_SUBJECT],
		    it[t->n[head].item].str[IMAP_SORT_SUBJECT]) == 0) {
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
	bool need[IMAP_SORT_NKEYS] = { false }, modseq = false, refs;
	struct tree t;
	struct imap_sort_item *it;
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
	need[IMAP_SORT_SUBJECT] = need[IMAP_SORT_DATE] = true;
	if (imap_sort_charset_arg(cmd, 1) < 0 ||
	    (it = imap_sort_collect(cmd, 2, need, refs, &n, &modseq,
	    &highest)) == NULL)
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
	imap_sort_items_free(it, n);
	imap_cmd_ok(cmd, "Thread completed");
	return IMAP_CMD_DONE;
}
