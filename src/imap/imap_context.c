/*
 * imap_context - ESORT, CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267):
 * SORT RETURN (MIN MAX ALL COUNT PARTIAL), the PARTIAL window of SEARCH
 * and SORT results, and updating contexts: a SEARCH or SORT with
 * RETURN (UPDATE) keeps its program and its result while the mailbox
 * stays selected, and the session tells the client how the result
 * changes (ESEARCH ADDTO / REMOVEFROM) as messages arrive, are expunged
 * or change flags - until CANCELUPDATE or the mailbox is closed.
 *
 * Trust: the programs come from an authenticated but untrusted client,
 * parsed by imap_search_args.c; at most IMAP_CONTEXT_MAX contexts a
 * session (more get "* NO [NOUPDATE]" and the command still answers).
 *
 * How updates are found: no per-message bookkeeping. The session core
 * calls imap_context_expunged() before it reports expunges (REMOVEFROM
 * must come first, RFC 5267 4.3.4) and imap_context_refresh() after the
 * EXISTS and FETCH FLAGS lines (ADDTO after EXISTS, 4.3.3); the refresh
 * runs the program again only when the view's HIGHESTMODSEQ or message
 * count moved since the context last looked (a flag change, an arrival
 * or an expunge all move one), and compares the result with the kept
 * one. Cost: one search (and for SORT the headers it needs) per changed
 * context per reported change, on the worker that reports it.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/cmd-sort.h"
#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "store/mailbox.h"
#include "util/xmalloc.h"

struct imap_context {
	struct imap_context	*next;
	char			*tag;
	bool			 uid;		/* UID SEARCH / UID SORT */
	struct imap_search	 s;		/* prepared; run again as is */
	struct imap_sort_spec	*sort;		/* NULL: a SEARCH context */
	uint32_t		*uids;		/* the result, in its order */
	size_t			 n;
	uint64_t		 modseq;	/* view HIGHESTMODSEQ then */
	uint32_t		 count;		/* view message count then */
};

static void
context_free(struct imap_context *x)
{
	free(x->tag);
	imap_search_free(&x->s);
	imap_sort_spec_free(&x->sort);
	free(x->uids);
	free(x);
}

void
imap_context_clear(struct imap_client *c)
{
	struct imap_context *x, *next;

	for (x = c->contexts; x != NULL; x = next) {
		next = x->next;
		context_free(x);
	}
	c->contexts = NULL;
}

static unsigned
context_count(const struct imap_client *c)
{
	const struct imap_context *x;
	unsigned n = 0;

	for (x = c->contexts; x != NULL; x = x->next)
		n++;
	return n;
}

static struct imap_context **
context_find(struct imap_client *c, const char *tag)
{
	struct imap_context **p;

	for (p = &c->contexts; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->tag, tag) == 0)
			return p;
	return NULL;
}

/* ---- answers ----------------------------------------------------------- */

static uint32_t
num_of(struct imap_client *c, bool uid, uint32_t seq_or_uid, bool is_uid)
{
	if (uid == is_uid)
		return seq_or_uid;
	return uid ? mbox_view_uid(c->view, seq_or_uid) :
	    mbox_view_seq(c->view, seq_or_uid);
}

void
imap_context_partial(struct buf *out, const struct imap_search *s,
    const uint32_t *nums, size_t n)
{
	size_t lo = s->partial_lo - 1, hi = s->partial_hi;

	buf_printf(out, " PARTIAL (%u:%u ", s->partial_lo, s->partial_hi);
	if (lo >= n)
		buf_puts(out, "NIL");
	else
		imap_msgs_format_set(out, nums + lo, (hi < n ? hi : n) - lo);
	buf_putc(out, ')');
}

static void
esearch_head(struct buf *out, const char *tag, bool uid)
{
	buf_puts(out, "* ESEARCH (TAG ");
	imap_out_string(out, tag, strlen(tag), false);
	buf_putc(out, ')');
	if (uid)
		buf_puts(out, " UID");
}

/* The ESEARCH answer of an extended SORT: nums in sort order. */
static void
answer_esort(struct imap_cmd *cmd, const struct imap_search *s,
    const uint32_t *nums, size_t n, uint64_t modseq)
{
	struct buf *out = &cmd->out;

	esearch_head(out, cmd->tag, cmd->uid);
	if (n > 0 && (s->ret & IMAP_SEARCH_RET_MIN))
		buf_printf(out, " MIN %u", nums[0]);
	if (n > 0 && (s->ret & IMAP_SEARCH_RET_MAX))
		buf_printf(out, " MAX %u", nums[n - 1]);
	if (n > 0 && (s->ret & IMAP_SEARCH_RET_ALL)) {
		buf_puts(out, " ALL ");
		imap_msgs_format_set(out, nums, n);
	}
	if (s->ret & IMAP_SEARCH_RET_COUNT)
		buf_printf(out, " COUNT %zu", n);
	if (s->ret & IMAP_SEARCH_RET_PARTIAL)
		imap_context_partial(out, s, nums, n);
	if (s->uses_modseq && n > 0 && modseq > 0)
		buf_printf(out, " MODSEQ %llu", (unsigned long long)modseq);
	buf_puts(out, "\r\n");
}

/* ---- keeping contexts -------------------------------------------------- */

/* RFC 5267 4.3: UPDATE with a tag an updating context has is a BAD. */
static int
context_tag_check(struct imap_cmd *cmd)
{
	if (context_find(cmd->c, cmd->tag) == NULL)
		return 0;
	imap_cmd_bad(cmd, "Tag reuse: an updating context has it");
	return -1;
}

/* Keeps s (moved out, zeroed), *sort (taken) and the result seqs as
   cmd's context; past the limit says "* NO [NOUPDATE]" instead (the
   command still answers, RFC 5267 4.3.1). */
static void
context_keep(struct imap_cmd *cmd, struct imap_search *s,
    struct imap_sort_spec **sort, const uint32_t *seqs, size_t n)
{
	struct imap_context *x;
	size_t i;

	if (context_count(cmd->c) >= IMAP_CONTEXT_MAX) {
		buf_puts(&cmd->out, "* NO [NOUPDATE ");
		imap_out_string(&cmd->out, cmd->tag, strlen(cmd->tag), false);
		buf_puts(&cmd->out, "] Too many updating contexts\r\n");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->tag = xstrdup(cmd->tag);
	x->uid = cmd->uid;
	x->s = *s;
	memset(s, 0, sizeof(*s));
	x->sort = *sort;
	*sort = NULL;
	x->uids = xcalloc(n ? n : 1, sizeof(*x->uids));
	for (i = 0; i < n; i++)
		x->uids[i] = mbox_view_uid(cmd->c->view, seqs[i]);
	x->n = n;
	x->modseq = 0;		/* look again at the first report */
	x->next = cmd->c->contexts;
	cmd->c->contexts = x;
}

int
imap_context_search_check(struct imap_cmd *cmd, const struct imap_search *s)
{
	return (s->ret & IMAP_SEARCH_RET_UPDATE) ? context_tag_check(cmd) : 0;
}

void
imap_context_add_search(struct imap_cmd *cmd, struct imap_search *s,
    const struct imap_msgs_found *f)
{
	struct imap_sort_spec *none = NULL;

	if (s->ret & IMAP_SEARCH_RET_UPDATE)
		context_keep(cmd, s, &none, f->seqs, f->n);
}

/* ---- ESORT ------------------------------------------------------------ */

/* SORT RETURN (opts) (criteria) charset search-key... */
enum imap_cmd_result
cmd_esort(struct imap_cmd *cmd)
{
	struct imap_sort_spec *sort = NULL;
	struct imap_msgs_found f;
	struct imap_search s;
	uint32_t *nums = NULL;
	const char *error;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (cmd->count < 5) {
		imap_cmd_bad(cmd, "Syntax: SORT RETURN (options) (criteria) "
		    "charset search-keys");
		return IMAP_CMD_DONE;
	}
	if ((sort = imap_sort_spec_parse(cmd, 2)) == NULL ||
	    imap_sort_charset_arg(cmd, 3) < 0)
		goto out_nosearch;
	if (imap_args_parse_search(cmd->args + 4, cmd->count - 4, &s,
	    &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		goto out_nosearch;
	}
	if (imap_args_parse_search_return(&s, &cmd->args[1], &error) < 0)
		imap_cmd_bad(cmd, "%s", error);
	else if (s.ret & IMAP_SEARCH_RET_SAVE)
		imap_cmd_bad(cmd, "SORT does not take RETURN (SAVE)");
	else if (imap_msgs_search_prepare(cmd, &s) < 0 ||
	    imap_context_search_check(cmd, &s) < 0)
		;	/* tagged reply set */
	else if (imap_msgs_search(cmd, &s, &f, &error) < 0)
		imap_cmd_bad(cmd, "%s", error);
	else {
		imap_sort_seqs(cmd, sort, f.seqs, f.n);
		nums = xcalloc(f.n ? f.n : 1, sizeof(*nums));
		for (i = 0; i < f.n; i++)
			nums[i] = num_of(cmd->c, cmd->uid, f.seqs[i], false);
		answer_esort(cmd, &s, nums, f.n, f.highest_modseq);
		if (s.ret & IMAP_SEARCH_RET_UPDATE)
			context_keep(cmd, &s, &sort, f.seqs, f.n);
		free(nums);
		imap_cmd_ok(cmd, "Sort completed");
	}
	imap_msgs_found_free(&f);
	imap_search_free(&s);
out_nosearch:
	imap_sort_spec_free(&sort);
	return IMAP_CMD_DONE;
}

/* ---- CANCELUPDATE ------------------------------------------------------ */

/* CANCELUPDATE "tag" ... (RFC 5267 4.3.5); unknown tags are ignored. */
enum imap_cmd_result
cmd_cancelupdate(struct imap_cmd *cmd)
{
	struct imap_context **p, *x;
	const char *tag;
	size_t len;
	unsigned i;

	if (cmd->count == 0) {
		imap_cmd_bad(cmd, "Syntax: CANCELUPDATE \"tag\" ...");
		return IMAP_CMD_DONE;
	}
	for (i = 0; i < cmd->count; i++)
		if (!imap_arg_get_astring(&cmd->args[i], &tag, &len) ||
		    strlen(tag) != len) {
			imap_cmd_bad(cmd, "CANCELUPDATE takes tags");
			return IMAP_CMD_DONE;
		}
	for (i = 0; i < cmd->count; i++) {
		(void)imap_arg_get_astring(&cmd->args[i], &tag, &len);
		if ((p = context_find(cmd->c, tag)) != NULL) {
			x = *p;
			*p = x->next;
			context_free(x);
		}
	}
	imap_cmd_ok(cmd, "CANCELUPDATE completed");
	return IMAP_CMD_DONE;
}

/* ---- updates ----------------------------------------------------------- */

/* A result leaving a context: its UID and, for an expunge, the seq it
   had (0: look it up in the view). */
struct gone {
	uint32_t	uid, seq;
};

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool
in_sorted(const uint32_t *set, size_t n, uint32_t v)
{
	return n > 0 && bsearch(&v, set, n, sizeof(*set), cmp_u32) != NULL;
}

static uint32_t *
sorted_copy(const uint32_t *v, size_t n)
{
	uint32_t *s = xcalloc(n ? n : 1, sizeof(*s));

	if (n > 0)
		memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u32);
	return s;
}

/* Appends " NAME (0 set)" for a SEARCH context's unordered change. */
static void
put_zero(struct buf *out, const char *name, uint32_t *nums, size_t n)
{
	qsort(nums, n, sizeof(*nums), cmp_u32);
	buf_printf(out, " %s (0 ", name);
	imap_msgs_format_set(out, nums, n);
	buf_putc(out, ')');
}

/*
 * Removes from x the results listed in gone[] (sorted by UID; struct
 * gone starts with the UID, so cmp_u32 finds them), appending
 * " REMOVEFROM (...)" to line with numbers valid when it is sent.
 */
static void
remove_results(struct imap_client *c, struct imap_context *x,
    const struct gone *gone, size_t n_gone, struct buf *line)
{
	uint32_t *nums = xcalloc(x->n ? x->n : 1, sizeof(*nums));
	size_t *pos = xcalloc(x->n ? x->n : 1, sizeof(*pos));
	const struct gone *g;
	size_t i, k, m = 0, w = 0;

	for (i = 0; i < x->n; i++) {
		g = n_gone == 0 ? NULL : bsearch(&x->uids[i], gone, n_gone,
		    sizeof(*gone), cmp_u32);
		if (g == NULL) {
			x->uids[w++] = x->uids[i];
			continue;
		}
		nums[m] = x->uid ? g->uid : g->seq != 0 ? g->seq :
		    mbox_view_seq(c->view, g->uid);
		pos[m++] = i + 1;
	}
	x->n = w;
	if (m > 0 && x->sort == NULL) {
		put_zero(line, "REMOVEFROM", nums, m);
	} else if (m > 0) {
		/* from the last position back, so each stays valid */
		buf_puts(line, " REMOVEFROM (");
		for (k = m; k-- > 0;)
			buf_printf(line, "%s%zu %u", k + 1 < m ? " " : "",
			    pos[k], nums[k]);
		buf_putc(line, ')');
	}
	free(nums);
	free(pos);
}

static void
flush_line(struct buf *out, struct imap_context *x, struct buf *line)
{
	if (line->len == 0)
		return;
	esearch_head(out, x->tag, x->uid);
	buf_append(out, line->data, line->len);
	buf_puts(out, "\r\n");
	buf_reset(line);
}

void
imap_context_expunged(struct imap_client *c, struct buf *out,
    const struct mbox_changes *ch)
{
	struct imap_context *x;
	struct buf line;
	struct gone *gone;
	size_t i;

	if (c->contexts == NULL || ch->n_expunged == 0)
		return;
	/* expunged_seqs are descending, so each is also its number
	   before any EXPUNGE line went out */
	gone = xcalloc(ch->n_expunged, sizeof(*gone));
	for (i = 0; i < ch->n_expunged; i++) {
		gone[i].uid = ch->expunged_uids[i];
		gone[i].seq = ch->expunged_seqs[i];
	}
	qsort(gone, ch->n_expunged, sizeof(*gone), cmp_u32);
	buf_init(&line, 0);
	for (x = c->contexts; x != NULL; x = x->next) {
		remove_results(c, x, gone, ch->n_expunged, &line);
		flush_line(out, x, &line);
	}
	buf_free(&line);
	free(gone);
}

/* The context's program run again over the view: UIDs in result order. */
static uint32_t *
context_eval(struct imap_client *c, struct imap_context *x, size_t *n_r)
{
	struct imap_cmd run;
	struct imap_msgs_found f;
	const char *error;
	size_t i;

	memset(&run, 0, sizeof(run));
	run.c = c;
	run.uid = x->uid;
	run.tag = x->tag;
	if (imap_msgs_search(&run, &x->s, &f, &error) < 0) {
		*n_r = 0;
		return xcalloc(1, sizeof(uint32_t));
	}
	if (x->sort != NULL)
		imap_sort_seqs(&run, x->sort, f.seqs, f.n);
	for (i = 0; i < f.n; i++)
		f.seqs[i] = mbox_view_uid(c->view, f.seqs[i]);
	*n_r = f.n;
	return f.seqs;
}

/* Results x holds that now[] lacks (sorted by UID; *n_r of them). */
static struct gone *
stale_results(const struct imap_context *x, const uint32_t *now,
    size_t n_now, size_t *n_r)
{
	uint32_t *sorted_now = sorted_copy(now, n_now);
	struct gone *gone = xcalloc(x->n ? x->n : 1, sizeof(*gone));
	size_t i, m = 0;

	for (i = 0; i < x->n; i++)
		if (!in_sorted(sorted_now, n_now, x->uids[i]))
			gone[m++].uid = x->uids[i];
	qsort(gone, m, sizeof(*gone), cmp_u32);
	free(sorted_now);
	*n_r = m;
	return gone;
}

/* " ADDTO (...)" for the results of now[] that x lacks; x becomes now. */
static void
add_results(struct imap_client *c, struct imap_context *x, uint32_t *now,
    size_t n_now, struct buf *line)
{
	uint32_t *had = sorted_copy(x->uids, x->n), *nums;
	size_t i, m = 0;

	nums = xcalloc(n_now ? n_now : 1, sizeof(*nums));
	for (i = 0; i < n_now; i++) {
		if (in_sorted(had, x->n, now[i]))
			continue;
		nums[m] = num_of(c, x->uid, now[i], true);
		if (x->sort != NULL) {
			/* ascending new positions: each lands where it
			   belongs, the ones before it being final */
			buf_printf(line, "%s%zu %u", m == 0 ? " ADDTO (" : " ",
			    i + 1, nums[m]);
		}
		m++;
	}
	if (m > 0 && x->sort == NULL)
		put_zero(line, "ADDTO", nums, m);
	else if (m > 0)
		buf_putc(line, ')');
	free(nums);
	free(had);
	free(x->uids);
	x->uids = now;
	x->n = n_now;
}

void
imap_context_refresh(struct imap_client *c, struct buf *out,
    const struct mbox_changes *ch)
{
	struct imap_context *x;
	struct buf line;
	struct gone *gone;
	uint32_t *now, count = mbox_view_count(c->view);
	size_t n_now, n_gone;

	buf_init(&line, 0);
	for (x = c->contexts; x != NULL; x = x->next) {
		if (x->modseq == ch->highestmodseq && x->count == count)
			continue;
		x->modseq = ch->highestmodseq;
		x->count = count;
		now = context_eval(c, x, &n_now);
		gone = stale_results(x, now, n_now, &n_gone);
		remove_results(c, x, gone, n_gone, &line);
		free(gone);
		add_results(c, x, now, n_now, &line);
		flush_line(out, x, &line);
	}
	buf_free(&line);
}
