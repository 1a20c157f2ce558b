/*
 * cmd-search - SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4),
 * ESEARCH results (RFC 4731, IMAP4rev2), CONDSTORE's MODSEQ key and
 * result (RFC 7162 3.1.5), and the search engine SORT and THREAD use
 * (cmd-sort.c).
 *
 * Trust: the search program comes from an authenticated but untrusted
 * client and is parsed by imap_args.c (depth-bounded, so evaluating it
 * recursively here is bounded too); message content is from anyone and
 * is only matched through src/mail's decoders.
 *
 * Cost: keys that need no file (flags, sizes, dates, sets, MODSEQ) run
 * from the index; so do header keys on the fields the index caches
 * (store/mailbox_hdrcache.h: SUBJECT, FROM, TO, CC, BCC, SENT*, HEADER of
 * those); a message file is opened only when another key needs it, and
 * only its header is read when no BODY/TEXT key is in the program; a
 * BODY/TEXT scan asks the kernel to read PREFETCH_AHEAD files ahead, so
 * that on a cold cache the disk works while this thread decodes. The
 * children of every AND are reordered so that the index keys run first
 * and a content key runs only for messages that got past them.
 *
 * Charsets: CHARSET UTF-8 and US-ASCII (any case) are accepted, anything
 * else gets "NO [BADCHARSET (UTF-8 US-ASCII)]". Keys are matched as UTF-8
 * (an IMAP4rev2 client sends UTF-8 without CHARSET anyway), folded once
 * by mail_search_fold().
 *
 * Addresses: FROM/TO/CC/BCC match the parsed addresses of the field as
 * "Name <mailbox@host>" text (mail_search_addr), HEADER the raw field.
 *
 * Dates: BEFORE/ON/SINCE compare the INTERNALDATE's calendar day in the
 * server's time zone (as Dovecot does); SENT* the day of the Date: field
 * as written (mail_search_sent_date); a message without a usable Date:
 * matches no SENT* key.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "mail/mail_search.h"
#include "store/mailbox.h"
#include "store/mailbox_hdrcache.h"
#include "util/xmalloc.h"

#define NO_KEYWORD	UINT64_MAX	/* KEYWORD the folder does not have */
#define PREFETCH_AHEAD	64	/* files read ahead by a BODY/TEXT scan */

enum need { NEED_NONE, NEED_HEADER, NEED_BODY };

struct search_run {
	struct imap_client	*c;
	struct mbox_view	*v;
	uint32_t		 count;
	time_t			 now;
	enum need		 need;
	bool			 uncached;	/* a HEADER key the cache lacks */
	struct mbox_hdr_reader	*hdrs;		/* header cache, or NULL */
};

/* One message while the program runs over it. */
struct msg_state {
	uint32_t		 seq;
	struct mbox_msg_info	 info;
	struct imap_msg_data	 d;
	int			 loaded;	/* 0 not yet, 1 ok, -1 failed */
};

/* ---- preparing the program ---------------------------------------- */

static bool
charset_ok(const char *cs)
{
	return cs == NULL || strcasecmp(cs, "UTF-8") == 0 ||
	    strcasecmp(cs, "US-ASCII") == 0;
}

static enum need
key_need(enum imap_search_key_type t)
{
	switch (t) {
	case IMAP_SK_BCC:
	case IMAP_SK_CC:
	case IMAP_SK_FROM:
	case IMAP_SK_SUBJECT:
	case IMAP_SK_TO:
	case IMAP_SK_HEADER:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return NEED_HEADER;
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		return NEED_BODY;
	default:
		return NEED_NONE;
	}
}

static uint64_t
keyword_index(struct mbox_view *v, const char *name)
{
	unsigned i, n = mbox_view_n_keywords(v);
	const char *kw;

	for (i = 0; i < n; i++)
		if ((kw = mbox_view_keyword(v, i)) != NULL &&
		    strcasecmp(kw, name) == 0)
			return i;
	return NO_KEYWORD;
}

/* Stable partition of an AND's children: index-only keys first. */
static struct imap_search_key *
reorder(struct imap_search_key *head, const enum need *needs)
{
	struct imap_search_key *cheap = NULL, **ct = &cheap;
	struct imap_search_key *dear = NULL, **dt = &dear, *k, *next;
	unsigned i = 0;

	for (k = head; k != NULL; k = next, i++) {
		next = k->next;
		k->next = NULL;
		if (needs[i] == NEED_NONE) {
			*ct = k;
			ct = &k->next;
		} else {
			*dt = k;
			dt = &k->next;
		}
	}
	*ct = dear;
	return cheap;
}

/* "$" becomes a UID key holding the saved result (RFC 5182). */
static int
saved_key(struct search_run *r, struct imap_search_key *k, enum need *need_r,
    const char **error_r)
{
	const uint32_t *uids;
	size_t n, i;

	if (!imap_msgs_saved_get(r->c, &uids, &n)) {
		*error_r = "Saved search results ($) are not supported";
		return -1;
	}
	imap_seqset_free(&k->set);
	k->type = IMAP_SK_UID;
	k->set.ranges = xcalloc(n ? n : 1, sizeof(*k->set.ranges));
	for (i = 0; i < n; i++)
		k->set.ranges[i].lo = k->set.ranges[i].hi = uids[i];
	k->set.count = (unsigned)n;
	imap_seqset_resolve(&k->set, 0);
	*need_r = NEED_NONE;
	return 0;
}

/* Resolves sets, folds strings, looks keywords up; *need_r gets what
   the key needs loaded. Returns 0, or -1 with *error_r ("$"). */
static int
prepare(struct search_run *r, struct imap_search_key *k, enum need *need_r,
    const char **error_r)
{
	struct imap_search_key *c;
	enum need need = key_need(k->type), *needs;
	unsigned n = 0, i;
	char *folded;
	size_t len;

	switch (k->type) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		for (c = k->child; c != NULL; c = c->next)
			n++;
		needs = xcalloc(n ? n : 1, sizeof(*needs));
		for (c = k->child, i = 0; c != NULL; c = c->next, i++) {
			if (prepare(r, c, &needs[i], error_r) < 0) {
				free(needs);
				return -1;
			}
			if (needs[i] > need)
				need = needs[i];
		}
		if (k->type == IMAP_SK_AND)
			k->child = reorder(k->child, needs);
		free(needs);
		break;
	case IMAP_SK_SEQSET:
	case IMAP_SK_UID:
		if (k->set.saved)
			return saved_key(r, k, need_r, error_r);
		imap_seqset_resolve(&k->set, k->type == IMAP_SK_SEQSET ?
		    r->count : (r->count ? mbox_view_uid(r->v, r->count) : 0));
		break;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD:
		k->num = keyword_index(r->v, k->str);
		break;
	case IMAP_SK_EMAILID:
	case IMAP_SK_THREADID:
		break;		/* ids compare as they are */
	default:
		if (k->type == IMAP_SK_HEADER && k->field != NULL &&
		    !mbox_hdr_field_cached(k->field))
			r->uncached = true;
		if (k->str != NULL) {
			folded = mail_search_fold(k->str, k->len, &len);
			free(k->str);
			k->str = folded;
			k->len = len;
		}
		break;
	}
	*need_r = need;
	return 0;
}

/* ---- running it --------------------------------------------------- */

static bool
msg_load(struct search_run *r, struct msg_state *st)
{
	if (st->loaded == 0 && r->need == NEED_HEADER)
		st->loaded = imap_msgs_load_header(r->v, r->hdrs, st->seq,
		    &st->d) == 0 ? 1 : -1;
	else if (st->loaded == 0)
		st->loaded = imap_msgs_load(r->v, st->seq, false,
		    &st->d) == 0 ? 1 : -1;
	return st->loaded > 0;
}

static const struct mime_msg *
msg_mime(struct search_run *r, struct msg_state *st)
{
	return msg_load(r, st) ? imap_msgs_mime(&st->d) : NULL;
}

static int64_t
floor_day(time_t t)
{
	int64_t d = (int64_t)t / 86400;

	if ((int64_t)t % 86400 < 0)
		d--;
	return d;
}

/* INTERNALDATE's day number in the server's zone. */
static int64_t
internal_day(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return floor_day(t + tm.tm_gmtoff);
}

static int
cmp_day(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static bool
date_match(enum imap_search_key_type t, int64_t day, int64_t key)
{
	int c = cmp_day(day, key);

	switch (t) {
	case IMAP_SK_BEFORE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SAVEDBEFORE:
		return c < 0;
	case IMAP_SK_ON:
	case IMAP_SK_SENTON:
	case IMAP_SK_SAVEDON:
		return c == 0;
	default:
		return c >= 0;
	}
}

static bool
sent_match(struct search_run *r, struct msg_state *st,
    const struct imap_search_key *k)
{
	const struct mime_msg *m = msg_mime(r, st);
	time_t day;

	if (m == NULL || mail_search_sent_date(m, NULL, &day) < 0)
		return false;
	return date_match(k->type, floor_day(day), imap_date_days(&k->date));
}

static bool
header_match(struct search_run *r, struct msg_state *st,
    const struct imap_search_key *k)
{
	static const struct {
		enum imap_search_key_type t;
		const char *name;
	} names[] = {
		{ IMAP_SK_BCC, "Bcc" }, { IMAP_SK_CC, "Cc" },
		{ IMAP_SK_FROM, "From" }, { IMAP_SK_SUBJECT, "Subject" },
		{ IMAP_SK_TO, "To" },	/* all but Subject: addresses */
	};
	const char *name = k->field;
	size_t i;

	/* the top-level header is the data's start: no MIME parse (it was
	   a third of a SEARCH FROM's CPU on 200 cached headers) */
	if (!msg_load(r, st))
		return false;
	if (name != NULL)	/* HEADER: the field's text as it is */
		return mail_search_fields(st->d.data, st->d.len, name, false,
		    k->str, k->len);
	for (i = 0; name == NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == k->type)
			name = names[i].name;
	return mail_search_fields(st->d.data, st->d.len, name,
	    k->type != IMAP_SK_SUBJECT, k->str, k->len);
}

static bool eval(struct search_run *r, struct msg_state *st,
    const struct imap_search_key *k);

static bool
eval_flag(const struct msg_state *st, enum imap_search_key_type t)
{
	unsigned f = st->info.flags;

	switch (t) {
	case IMAP_SK_ANSWERED: return (f & MBOX_F_ANSWERED) != 0;
	case IMAP_SK_DELETED: return (f & MBOX_F_DELETED) != 0;
	case IMAP_SK_DRAFT: return (f & MBOX_F_DRAFT) != 0;
	case IMAP_SK_FLAGGED: return (f & MBOX_F_FLAGGED) != 0;
	case IMAP_SK_SEEN: return (f & MBOX_F_SEEN) != 0;
	case IMAP_SK_RECENT: return (f & MBOX_F_RECENT) != 0;
	case IMAP_SK_NEW:
		return (f & MBOX_F_RECENT) && !(f & MBOX_F_SEEN);
	case IMAP_SK_OLD: return (f & MBOX_F_RECENT) == 0;
	case IMAP_SK_UNANSWERED: return (f & MBOX_F_ANSWERED) == 0;
	case IMAP_SK_UNDELETED: return (f & MBOX_F_DELETED) == 0;
	case IMAP_SK_UNDRAFT: return (f & MBOX_F_DRAFT) == 0;
	case IMAP_SK_UNFLAGGED: return (f & MBOX_F_FLAGGED) == 0;
	default: return (f & MBOX_F_SEEN) == 0;	/* UNSEEN */
	}
}

static bool
has_keyword(const struct msg_state *st, uint64_t i)
{
	return i != NO_KEYWORD && (st->info.keywords >> i) & 1u;
}

static bool
eval_list(struct search_run *r, struct msg_state *st,
    const struct imap_search_key *k)
{
	const struct imap_search_key *c;

	switch (k->type) {
	case IMAP_SK_AND:
		for (c = k->child; c != NULL; c = c->next)
			if (!eval(r, st, c))
				return false;
		return true;
	case IMAP_SK_OR:
		return eval(r, st, k->child) || eval(r, st, k->child->next);
	default:
		return !eval(r, st, k->child);
	}
}

static bool
eval(struct search_run *r, struct msg_state *st,
    const struct imap_search_key *k)
{
	const struct mime_msg *m;
	time_t t = st->info.internaldate;

	switch (k->type) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		return eval_list(r, st, k);
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_KEYWORD:
		return has_keyword(st, k->num);
	case IMAP_SK_UNKEYWORD:
		return !has_keyword(st, k->num);
	case IMAP_SK_BCC: case IMAP_SK_CC: case IMAP_SK_FROM:
	case IMAP_SK_SUBJECT: case IMAP_SK_TO: case IMAP_SK_HEADER:
		return header_match(r, st, k);
	case IMAP_SK_BODY:
		return (m = msg_mime(r, st)) != NULL &&
		    mail_search_body(m, k->str, k->len);
	case IMAP_SK_TEXT:
		return (m = msg_mime(r, st)) != NULL &&
		    mail_search_text(m, k->str, k->len);
	case IMAP_SK_BEFORE: case IMAP_SK_ON: case IMAP_SK_SINCE:
		return date_match(k->type, internal_day(t),
		    imap_date_days(&k->date));
	case IMAP_SK_SENTBEFORE: case IMAP_SK_SENTON: case IMAP_SK_SENTSINCE:
		return sent_match(r, st, k);
	case IMAP_SK_LARGER:
		return st->info.size > k->num;
	case IMAP_SK_SMALLER:
		return st->info.size < k->num;
	case IMAP_SK_OLDER:
		return (int64_t)t <= (int64_t)r->now - (int64_t)k->num;
	case IMAP_SK_YOUNGER:
		return (int64_t)t > (int64_t)r->now - (int64_t)k->num;
	case IMAP_SK_MODSEQ:
		return st->info.modseq >= k->num;
	case IMAP_SK_UID:
		return imap_seqset_contains(&k->set, st->info.uid);
	case IMAP_SK_SEQSET:
		return imap_seqset_contains(&k->set, st->seq);
	case IMAP_SK_SAVEDBEFORE: case IMAP_SK_SAVEDON: case IMAP_SK_SAVEDSINCE:
		return date_match(k->type, internal_day(st->info.savedate),
		    imap_date_days(&k->date));
	case IMAP_SK_SAVEDATESUPPORTED:
		return true;
	case IMAP_SK_EMAILID: {
		char id[MBOX_OBJECTID_MAX + 1];
		mbox_emailid_format(st->info.emailid, id);
		return strcmp(id, k->str) == 0;	/* case matters */
	}
	case IMAP_SK_THREADID:
		return false;	/* no THREADIDs (FETCH says NIL) */
	default:
		return eval_flag(st, k->type);
	}
}

int
imap_msgs_search(struct imap_cmd *cmd, struct imap_search *s,
    struct imap_msgs_found *found, const char **error_r)
{
	struct search_run r;
	struct msg_state st;
	uint32_t seq;

	memset(found, 0, sizeof(*found));
	memset(&r, 0, sizeof(r));
	r.c = cmd->c;
	r.v = cmd->c->view;
	r.count = mbox_view_count(r.v);
	r.now = time(NULL);
	if (prepare(&r, s->root, &r.need, error_r) < 0)
		return -1;
	if (r.need == NEED_HEADER && !r.uncached)
		r.hdrs = mbox_hdr_reader_new(r.v);
	found->seqs = xcalloc(r.count ? r.count : 1, sizeof(*found->seqs));
	for (seq = 1; seq <= r.count && r.need == NEED_BODY &&
	    seq <= PREFETCH_AHEAD; seq++)
		mbox_view_msg_prefetch(r.v, seq);
	for (seq = 1; seq <= r.count; seq++) {
		if (r.need == NEED_BODY && seq + PREFETCH_AHEAD <= r.count)
			mbox_view_msg_prefetch(r.v, seq + PREFETCH_AHEAD);
		memset(&st, 0, sizeof(st));
		st.seq = seq;
		if (mbox_view_msg(r.v, seq, &st.info) < 0 || st.info.expunged)
			continue;
		if (eval(&r, &st, s->root)) {
			found->seqs[found->n++] = seq;
			if (st.info.modseq > found->highest_modseq)
				found->highest_modseq = st.info.modseq;
		}
		if (st.loaded > 0)
			imap_msgs_data_free(&st.d);
	}
	mbox_hdr_reader_free(&r.hdrs);
	if (r.count >= IMAP_TRIM_AFTER)
		xmalloc_trim();
	return 0;
}

void
imap_msgs_found_free(struct imap_msgs_found *found)
{
	free(found->seqs);
	memset(found, 0, sizeof(*found));
}

int
imap_msgs_search_prepare(struct imap_cmd *cmd, const struct imap_search *s)
{
	if (!charset_ok(s->charset)) {
		imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported "
		    "charset");
		return -1;
	}
	if (s->uses_modseq)
		imap_msgs_condstore_on(cmd);
	return 0;
}

/* ---- SEARCH answers ------------------------------------------------------ */

/* Seq or UID of found entry i. */
static uint32_t
found_num(struct imap_cmd *cmd, const struct imap_msgs_found *f, size_t i)
{
	return cmd->uid ? mbox_view_uid(cmd->c->view, f->seqs[i]) : f->seqs[i];
}

static uint64_t
modseq_of(struct imap_cmd *cmd, uint32_t seq)
{
	struct mbox_msg_info info;

	return mbox_view_msg(cmd->c->view, seq, &info) == 0 ? info.modseq : 0;
}

/* "* SEARCH 1 2 3 (MODSEQ n)" */
static void
answer_search(struct imap_cmd *cmd, const struct imap_search *s,
    const struct imap_msgs_found *f)
{
	size_t i;

	buf_puts(&cmd->out, "* SEARCH");
	for (i = 0; i < f->n; i++)
		buf_printf(&cmd->out, " %u", found_num(cmd, f, i));
	if (s->uses_modseq && f->n > 0)
		buf_printf(&cmd->out, " (MODSEQ %llu)",
		    (unsigned long long)f->highest_modseq);
	buf_puts(&cmd->out, "\r\n");
}

/* The MODSEQ of an ESEARCH answer (RFC 7162 3.1.10): the highest of the
   messages it returns - all of them for ALL or COUNT, else just the MIN
   and MAX ones. */
static uint64_t
esearch_modseq(struct imap_cmd *cmd, unsigned ret,
    const struct imap_msgs_found *f)
{
	uint64_t a = 0, b = 0;

	if (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))
		return f->highest_modseq;
	if (ret & IMAP_SEARCH_RET_MIN)
		a = modseq_of(cmd, f->seqs[0]);
	if (ret & IMAP_SEARCH_RET_MAX)
		b = modseq_of(cmd, f->seqs[f->n - 1]);
	return a > b ? a : b;
}

/* "* ESEARCH (TAG "t") UID MIN 1 MAX 9 ALL 1:9 COUNT 9 MODSEQ n" */
static void
answer_esearch(struct imap_cmd *cmd, const struct imap_search *s,
    const struct imap_msgs_found *f)
{
	unsigned ret = s->ret_given ? s->ret : IMAP_SEARCH_RET_ALL;
	uint32_t *nums;
	uint64_t ms;
	size_t i;

	buf_puts(&cmd->out, "* ESEARCH (TAG ");
	imap_out_string(&cmd->out, cmd->tag, strlen(cmd->tag), false);
	buf_putc(&cmd->out, ')');
	if (cmd->uid)
		buf_puts(&cmd->out, " UID");
	if (f->n > 0 && (ret & IMAP_SEARCH_RET_MIN))
		buf_printf(&cmd->out, " MIN %u", found_num(cmd, f, 0));
	if (f->n > 0 && (ret & IMAP_SEARCH_RET_MAX))
		buf_printf(&cmd->out, " MAX %u", found_num(cmd, f, f->n - 1));
	if (f->n > 0 && (ret & IMAP_SEARCH_RET_ALL)) {
		nums = xcalloc(f->n, sizeof(*nums));
		for (i = 0; i < f->n; i++)
			nums[i] = found_num(cmd, f, i);
		buf_puts(&cmd->out, " ALL ");
		imap_msgs_format_set(&cmd->out, nums, f->n);
		free(nums);
	}
	if (ret & IMAP_SEARCH_RET_COUNT)
		buf_printf(&cmd->out, " COUNT %zu", f->n);
	if (ret & IMAP_SEARCH_RET_PARTIAL) {
		nums = xcalloc(f->n ? f->n : 1, sizeof(*nums));
		for (i = 0; i < f->n; i++)
			nums[i] = found_num(cmd, f, i);
		imap_context_partial(&cmd->out, s, nums, f->n);
		free(nums);
	}
	if (s->uses_modseq && f->n > 0 &&
	    (ms = esearch_modseq(cmd, ret, f)) > 0)
		buf_printf(&cmd->out, " MODSEQ %llu", (unsigned long long)ms);
	buf_puts(&cmd->out, "\r\n");
}

/* RETURN (SAVE): the UIDs found, or with MIN/MAX but neither ALL nor
   COUNT only the MIN/MAX messages (RFC 5182 2.4). */
static void
save_result(struct imap_cmd *cmd, const struct imap_search *s,
    const struct imap_msgs_found *f)
{
	uint32_t *uids = xcalloc(f->n ? f->n : 1, sizeof(*uids));
	size_t i, n = 0;

	if ((s->ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) ||
	    !(s->ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX))) {
		for (i = 0; i < f->n; i++)
			uids[n++] = mbox_view_uid(cmd->c->view, f->seqs[i]);
	} else if (f->n > 0) {
		if (s->ret & IMAP_SEARCH_RET_MIN)
			uids[n++] = mbox_view_uid(cmd->c->view, f->seqs[0]);
		if ((s->ret & IMAP_SEARCH_RET_MAX) &&
		    (n == 0 || f->n > 1))
			uids[n++] = mbox_view_uid(cmd->c->view,
			    f->seqs[f->n - 1]);
	}
	imap_msgs_saved_set(cmd->c, uids, n);
	free(uids);
}

enum imap_cmd_result
cmd_search(struct imap_cmd *cmd)
{
	struct imap_search s;
	struct imap_msgs_found found;
	const char *error;

	memset(&found, 0, sizeof(found));
	if (imap_args_parse_search(cmd->args, cmd->count, &s, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return IMAP_CMD_DONE;
	}
	if ((s.ret & IMAP_SEARCH_RET_SAVE) &&
	    !imap_msgs_saved_set(cmd->c, NULL, 0))
		imap_cmd_bad(cmd, "RETURN (SAVE) is not supported");
	else if (imap_msgs_search_prepare(cmd, &s) < 0 ||
	    imap_context_search_check(cmd, &s) < 0)
		;	/* tagged NO set; the saved result stays empty */
	else if (imap_msgs_search(cmd, &s, &found, &error) < 0)
		imap_cmd_bad(cmd, "%s", error);
	else {
		if (s.ret & IMAP_SEARCH_RET_SAVE)
			save_result(cmd, &s, &found);
		if (s.ret != IMAP_SEARCH_RET_SAVE &&
		    (s.ret_given || cmd->c->rev2))
			answer_esearch(cmd, &s, &found);
		else if (!s.ret_given)
			answer_search(cmd, &s, &found);
		imap_context_add_search(cmd, &s, &found);
		imap_cmd_ok(cmd, "Search completed");
	}
	imap_msgs_found_free(&found);
	imap_search_free(&s);
	return IMAP_CMD_DONE;
}
