/*
 * cmd-fetch - FETCH and UID FETCH (RFC 9051 6.4.5), with BINARY
 * (RFC 3516), PREVIEW (RFC 8970, mail/mail_preview.c) and the
 * CONDSTORE/QRESYNC modifiers CHANGEDSINCE and VANISHED (RFC 7162
 * 3.1.4, 3.2.6).
 *
 * Trust: the client is authenticated but untrusted: the arguments are
 * parsed by imap_args.c and the set is checked against the view here;
 * message content is from anyone and is only ever sent as literals or
 * through the IMAP-safe renderers of src/mail.
 *
 * Work and memory: runs on a worker thread. A message file is read only
 * when an item needs content, only its header when that is enough
 * (ENVELOPE, BODY[HEADER...], RFC822.HEADER), and parsed only when an
 * item needs its structure. BODY[HEADER.FIELDS (...)] naming only fields
 * the header cache keeps (store/mailbox_hdrcache.h: the lines as in the
 * file, in file order) is answered from the cache without opening the
 * file, as clients' message-list FETCHes are. Output goes out in IMAP_OUT_CHUNK pieces
 * (IMAP_CMD_MORE), the position kept in cmd->ctx, so a FETCH 1:* holds
 * one message at a time.
 *
 * \Seen: non-PEEK body items set it (not in a read-only view), in
 * batches of SEEN_BATCH messages ahead of the output so that a large
 * FETCH does not rename one file per store call; those messages' FETCH
 * responses then carry FLAGS (and MODSEQ under CONDSTORE).
 *
 * Expunged meanwhile: a message another session expunged while this one
 * still has its sequence number gets no FETCH response. A non-UID FETCH
 * then ends with "NO [EXPUNGEISSUED]" as Dovecot does (RFC 9051 7.1
 * allows either); a UID FETCH just omits it, as it omits any UID the
 * mailbox does not have.
 *
 * NUL octets: a non-BINARY item never carries a raw NUL (RFC 9051 4.3);
 * each becomes 0x80, as Dovecot does. BINARY items go as literal8 when
 * they were decoded or hold NUL, else as plain literals (Dovecot again).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/imap_acl.h"
#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "imap/imap_notify.h"
#include "mail/imap_msgstruct.h"
#include "mail/imap_section.h"
#include "mail/mail_preview.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "store/mailbox_hdrcache.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SEEN_BATCH	64	/* messages looked at per \Seen store */

enum load_level { LOAD_NONE, LOAD_HEADER, LOAD_FULL };

struct fetch_ctx {
	struct imap_fetch	 f;
	struct imap_section	*secs;		/* one per f.bodies[i] */
	struct imap_seqset	 seqs;		/* resolved, ascending */
	unsigned		 ri;		/* position: range index */
	uint32_t		 next;		/*   and next seq in it */
	enum load_level		 load;
	bool			 parse;		/* an item needs mime_parse */
	bool			 cached;	/* the header cache is enough */
	struct mbox_hdr_reader	*hdrs;		/* during one cmd_fetch call */
	bool			 set_seen;	/* non-PEEK body items */
	uint32_t		 seen_upto;	/* batch covers seqs <= this */
	uint32_t		*marked;	/* seqs given \Seen in it */
	size_t			 n_marked, mi;
	bool			 expunged;	/* some message was gone */
	struct buf		 scratch;
};

static void
fetch_ctx_destroy(struct fetch_ctx *x)
{
	unsigned i;

	if (x == NULL)
		return;
	for (i = 0; i < x->f.body_count && x->secs != NULL; i++)
		imap_section_free(&x->secs[i]);
	free(x->secs);
	imap_fetch_free(&x->f);
	imap_seqset_free(&x->seqs);
	free(x->marked);
	buf_free(&x->scratch);
	free(x);
}

static void
fetch_ctx_free(struct imap_cmd *cmd)
{
	fetch_ctx_destroy(cmd->ctx);
	cmd->ctx = NULL;
}

/* ---- set-up ------------------------------------------------------- */

/* What loading body item b needs. */
static enum load_level
body_load(const struct imap_fetch_body *b, bool *parse)
{
	if (b->binary || b->binary_size) {
		*parse = true;
		return LOAD_FULL;
	}
	if (b->part_count == 0 && b->text == IMAP_FETCH_SECTION_WHOLE)
		return LOAD_FULL;
	*parse = true;
	if (b->part_count == 0 && (b->text == IMAP_FETCH_SECTION_HEADER ||
	    b->text == IMAP_FETCH_SECTION_HEADER_FIELDS ||
	    b->text == IMAP_FETCH_SECTION_HEADER_FIELDS_NOT))
		return LOAD_HEADER;
	return LOAD_FULL;
}

static enum load_level
max_level(enum load_level a, enum load_level b)
{
	return a > b ? a : b;
}

/* Whether every item needing the message is a top-level HEADER.FIELDS
   of fields the header cache keeps (which then gives the same lines). */
static bool
cache_enough(const struct fetch_ctx *x)
{
	if (x->load != LOAD_HEADER ||
	    (x->f.items & (IMAP_FETCH_ENVELOPE | IMAP_FETCH_RFC822_HEADER)))
		return false;
	for (unsigned i = 0; i < x->f.body_count; i++) {
		const struct imap_fetch_body *b = &x->f.bodies[i];
		if (b->binary || b->binary_size || b->part_count > 0 ||
		    b->text != IMAP_FETCH_SECTION_HEADER_FIELDS)
			return false;
		for (unsigned k = 0; k < b->field_count; k++)
			if (!mbox_hdr_field_cached(b->fields[k]))
				return false;
	}
	return true;
}

/* Works out what each message will need. */
static int
plan(struct fetch_ctx *x, const char **error_r)
{
	unsigned items = x->f.items, i;

	if (items & (IMAP_FETCH_ENVELOPE | IMAP_FETCH_RFC822_HEADER)) {
		x->load = max_level(x->load, LOAD_HEADER);
		x->parse = true;
	}
	if (items & (IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE |
	    IMAP_FETCH_RFC822_TEXT)) {
		x->load = LOAD_FULL;
		x->parse = true;
	}
	if (items & IMAP_FETCH_RFC822)
		x->load = LOAD_FULL;
	if (items & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT))
		x->set_seen = true;
	if (items & IMAP_FETCH_PREVIEW) {	/* never sets \Seen */
		x->load = LOAD_FULL;
		x->parse = true;
	}
	x->secs = xcalloc(x->f.body_count ? x->f.body_count : 1,
	    sizeof(*x->secs));
	for (i = 0; i < x->f.body_count; i++) {
		const struct imap_fetch_body *b = &x->f.bodies[i];

		if (imap_section_parse(b->section, strlen(b->section),
		    &x->secs[i], error_r) < 0)
			return -1;
		x->load = max_level(x->load, body_load(b, &x->parse));
		if (!b->peek && !b->binary_size)
			x->set_seen = true;
	}
	x->cached = cache_enough(x);
	return 0;
}

/* Appends a range list as a sequence set. */
static void
put_ranges(struct buf *out, const struct mbox_uid_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(out, ',');
		if (r[i].first == r[i].last)
			buf_printf(out, "%u", r[i].first);
		else
			buf_printf(out, "%u:%u", r[i].first, r[i].last);
	}
}

/* VANISHED (EARLIER): the requested UIDs expunged after CHANGEDSINCE. */
static int
send_vanished(struct imap_cmd *cmd, struct fetch_ctx *x)
{
	struct mbox_view *v = cmd->c->view;
	struct imap_seqset uids;
	struct mbox_uid_range *van = NULL, *hit = NULL;
	size_t n_van = 0, n_hit = 0, i;
	unsigned j;
	char *error = NULL;
	int r;

	r = mbox_vanished_since(v, x->f.changedsince, &van, &n_van, &error);
	if (r < 0) {
		imap_cmd_store_error(cmd, r, false, error);
		free(error);
		return -1;
	}
	uids.count = x->f.set.count;
	uids.saved = false;
	uids.ranges = xmemdup(x->f.set.ranges,
	    (uids.count ? uids.count : 1) * sizeof(*uids.ranges));
	/* "*" here reaches past the last UID still there: "1:*" must
	   cover UIDs expunged above it too. */
	imap_seqset_resolve(&uids, UINT32_MAX);
	hit = xcalloc(n_van + uids.count + 1, sizeof(*hit));
	/* Both lists are ascending and disjoint within themselves. */
	for (i = 0, j = 0; i < n_van && j < uids.count;) {
		uint32_t lo = van[i].first > uids.ranges[j].lo ?
		    van[i].first : uids.ranges[j].lo;
		uint32_t hi = van[i].last < uids.ranges[j].hi ?
		    van[i].last : uids.ranges[j].hi;

		if (lo <= hi) {
			hit[n_hit].first = lo;
			hit[n_hit++].last = hi;
		}
		if (van[i].last < uids.ranges[j].hi)
			i++;
		else
			j++;
	}
	if (n_hit > 0) {
		buf_puts(&cmd->out, "* VANISHED (EARLIER) ");
		put_ranges(&cmd->out, hit, n_hit);
		buf_puts(&cmd->out, "\r\n");
	}
	imap_seqset_free(&uids);
	free(van);
	free(hit);
	return 0;
}

/* Parses and checks the command; NULL after setting the tagged reply. */
static struct fetch_ctx *
fetch_start(struct imap_cmd *cmd)
{
	struct fetch_ctx *x = xmalloc(sizeof(*x));
	const char *error;

	cmd->ctx = x;
	cmd->free_ctx = fetch_ctx_free;
	buf_init(&x->scratch, 0);
	if (imap_args_parse_fetch(cmd->args, cmd->count, cmd->uid, &x->f,
	    &error) < 0 || plan(x, &error) < 0 ||
	    imap_msgs_resolve(cmd->c, &x->f.set, cmd->uid, &x->seqs,
	    &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return NULL;
	}
	if (x->f.vanished && !cmd->c->qresync) {
		imap_cmd_bad(cmd, "VANISHED needs QRESYNC enabled");
		return NULL;
	}
	if (x->f.items & IMAP_FETCH_MODSEQ)
		imap_msgs_condstore_on(cmd);
	if (x->f.vanished && send_vanished(cmd, x) < 0)
		return NULL;
	x->ri = 0;
	x->next = x->seqs.count > 0 ? x->seqs.ranges[0].lo : 0;
	return x;
}

/* ---- position ---------------------------------------------------------- */

/* The seq at (*ri, *next) and the position after it; false at the end. */
static bool
iter_next(const struct imap_seqset *s, unsigned *ri, uint32_t *next,
    uint32_t *seq_r)
{
	if (*ri >= s->count)
		return false;
	*seq_r = *next;
	if (*next < s->ranges[*ri].hi)
		(*next)++;
	else if (++*ri < s->count)
		*next = s->ranges[*ri].lo;
	return true;
}

/* ---- \Seen -------------------------------------------------------- */

/* Gives \Seen to the unseen messages among the next SEEN_BATCH of the
   set (from the current position). */
static int
mark_seen_batch(struct imap_cmd *cmd, struct fetch_ctx *x)
{
	struct mbox_view *v = cmd->c->view;
	struct mbox_msg_info info;
	unsigned ri = x->ri, k;
	uint32_t next = x->next, seq = 0, *mod = NULL;
	size_t n_mod = 0;
	char *error = NULL;
	int r;

	x->n_marked = 0;
	x->mi = 0;
	x->marked = xrealloc(x->marked, SEEN_BATCH * sizeof(*x->marked));
	for (k = 0; k < SEEN_BATCH && iter_next(&x->seqs, &ri, &next, &seq);
	    k++) {
		if (mbox_view_msg(v, seq, &info) < 0 || info.expunged ||
		    (info.flags & MBOX_F_SEEN))
			continue;
		if (x->f.changedsince_given && info.modseq <= x->f.changedsince)
			continue;
		x->marked[x->n_marked++] = seq;
	}
	x->seen_upto = seq;
	if (x->n_marked == 0)
		return 0;
	r = mbox_store(v, x->marked, x->n_marked, MBOX_STORE_ADD, MBOX_F_SEEN,
	    NULL, 0, &mod, &n_mod, &error);
	free(mod);
	if (r < 0) {
		log_warn("%s imap fetch-seen user=%s error=\"%s\"",
		    cmd->c->base.id, cmd->c->user ? cmd->c->user : "-",
		    error ? error : "");
		imap_cmd_store_error(cmd, r, false, error);
		free(error);
		return -1;
	}
	return 0;
}

/* True when seq was given \Seen by the current batch. */
static bool
was_marked(struct fetch_ctx *x, uint32_t seq)
{
	while (x->mi < x->n_marked && x->marked[x->mi] < seq)
		x->mi++;
	return x->mi < x->n_marked && x->marked[x->mi] == seq;
}

/* ---- one message ------------------------------------------------------- */

static void
put_internaldate(struct buf *out, time_t t)
{
	char date[IMAP_DATETIME_MAX];

	buf_printf(out, "INTERNALDATE \"%s\"", imap_datetime_format(t, date));
}

/* Starts the next item of a FETCH response: a space after the first. */
static void
item(struct buf *out, bool *first)
{
	if (!*first)
		buf_putc(out, ' ');
	*first = false;
}

static void
no_nul(struct buf *b)
{
	char *p = b->data, *end;

	if (p == NULL)		/* nothing was ever put in b */
		return;
	end = p + b->len;
	while ((p = memchr(p, '\0', (size_t)(end - p))) != NULL)
		*p++ = (char)0x80;
}

static size_t
clamp64(uint64_t n)
{
	return n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

/* Sends a content as a literal. binary (a BINARY item): literal8 when
   the content was decoded or holds NUL, else a plain literal as Dovecot
   does; otherwise NUL octets become 0x80. */
static void
put_content(struct buf *out, const char *label, struct buf *c, bool binary,
    bool decoded)
{
	bool lit8 = binary && (decoded ||
	    (c->len > 0 && memchr(c->data, '\0', c->len) != NULL));

	if (!binary)
		no_nul(c);
	buf_puts(out, label);
	buf_putc(out, ' ');
	imap_out_literal(out, buf_cstr(c), c->len, lit8);
}

/* True when BINARY[sec] decodes a Content-Transfer-Encoding. */
static bool
binary_decodes(const struct mime_msg *m, const struct imap_section *sec)
{
	const struct mime_part *p = imap_section_part(m, sec->parts,
	    sec->nparts);

	return p != NULL && sec->nparts > 0 && !mime_part_is_multipart(p) &&
	    !mime_part_is_message(p) &&
	    (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP);
}

/* One BODY[...] / BINARY[...] / BINARY.SIZE[...] item. Returns 0, or -1
   after setting the tagged NO. */
static int
put_body(struct imap_cmd *cmd, struct fetch_ctx *x, struct imap_msg_data *d,
    unsigned i)
{
	const struct imap_fetch_body *b = &x->f.bodies[i];
	size_t off = b->partial ? clamp64(b->offset) : 0;
	size_t len = b->partial ? clamp64(b->length) : SIZE_MAX, size = 0;
	int r;

	buf_reset(&x->scratch);
	if (b->binary || b->binary_size) {
		r = imap_binary_fetch(imap_msgs_mime(d), &x->secs[i], off,
		    b->binary_size ? 0 : len, &x->scratch, &size);
		if (r == IMAP_BINARY_UNKNOWN_CTE) {
			imap_cmd_no(cmd, "[UNKNOWN-CTE] Unknown "
			    "Content-Transfer-Encoding in %s", b->label);
			return -1;
		}
		if (r == IMAP_BINARY_CORRUPT) {
			imap_cmd_no(cmd, "[PARSE] Cannot decode %s", b->label);
			return -1;
		}
		if (b->binary_size) {
			buf_printf(&cmd->out, "%s %zu", b->label, size);
			return 0;
		}
	} else if (b->part_count == 0 && b->text == IMAP_FETCH_SECTION_WHOLE)
		mime_append_wire(d->data, 0, d->len, off, len, &x->scratch);
	else
		imap_section_fetch(imap_msgs_mime(d), &x->secs[i], off, len,
		    &x->scratch, NULL);
	put_content(&cmd->out, b->label, &x->scratch, b->binary,
	    b->binary && binary_decodes(imap_msgs_mime(d), &x->secs[i]));
	return 0;
}

/* ENVELOPE, BODY, BODYSTRUCTURE and the RFC822 items. */
static void
put_structure(struct imap_cmd *cmd, struct fetch_ctx *x,
    struct imap_msg_data *d, bool *first)
{
	static const struct imap_section header = {
		.kind = IMAP_SECTION_HEADER,
	}, text = {
		.kind = IMAP_SECTION_TEXT,
	};
	struct buf *out = &cmd->out;
	unsigned items = x->f.items;

	if (items & IMAP_FETCH_ENVELOPE) {
		item(out, first);
		buf_puts(out, "ENVELOPE ");
		imap_envelope(imap_msgs_mime(d), imap_msgs_mime(d)->root, out);
	}
	if (items & IMAP_FETCH_BODY) {
		item(out, first);
		buf_puts(out, "BODY ");
		imap_bodystructure(imap_msgs_mime(d), imap_msgs_mime(d)->root,
		    false, out);
	}
	if (items & IMAP_FETCH_BODYSTRUCTURE) {
		item(out, first);
		buf_puts(out, "BODYSTRUCTURE ");
		imap_bodystructure(imap_msgs_mime(d), imap_msgs_mime(d)->root,
		    true, out);
	}
	if (items & IMAP_FETCH_RFC822) {
		item(out, first);
		buf_reset(&x->scratch);
		mime_append_wire(d->data, 0, d->len, 0, SIZE_MAX, &x->scratch);
		put_content(out, "RFC822", &x->scratch, false, false);
	}
	if (items & IMAP_FETCH_RFC822_HEADER) {
		item(out, first);
		buf_reset(&x->scratch);
		imap_section_fetch(imap_msgs_mime(d), &header, 0, SIZE_MAX,
		    &x->scratch, NULL);
		put_content(out, "RFC822.HEADER", &x->scratch, false, false);
	}
	if (items & IMAP_FETCH_RFC822_TEXT) {
		item(out, first);
		buf_reset(&x->scratch);
		imap_section_fetch(imap_msgs_mime(d), &text, 0, SIZE_MAX,
		    &x->scratch, NULL);
		put_content(out, "RFC822.TEXT", &x->scratch, false, false);
	}
	if (items & IMAP_FETCH_PREVIEW) {
		item(out, first);
		buf_reset(&x->scratch);
		mail_preview(imap_msgs_mime(d), &x->scratch);
		buf_puts(out, "PREVIEW ");
		imap_out_string(out, buf_cstr(&x->scratch), x->scratch.len,
		    cmd->c->utf8);
	}
}

/* The items that come from the index (no file needed). */
static void
put_meta(struct imap_cmd *cmd, struct fetch_ctx *x,
    const struct mbox_msg_info *info, bool marked, bool *first)
{
	struct buf *out = &cmd->out;
	unsigned items = x->f.items;

	if (items & IMAP_FETCH_UID) {
		item(out, first);
		buf_printf(out, "UID %u", info->uid);
	}
	if ((items & IMAP_FETCH_FLAGS) || marked) {
		item(out, first);
		buf_puts(out, "FLAGS ");
		imap_out_flags(out, cmd->c->view,
		    imap_msgs_flags(cmd->c, info->flags), info->keywords);
	}
	if ((items & IMAP_FETCH_MODSEQ) || (marked && cmd->c->condstore)) {
		item(out, first);
		buf_printf(out, "MODSEQ (%llu)",
		    (unsigned long long)info->modseq);
	}
	if (items & IMAP_FETCH_INTERNALDATE) {
		item(out, first);
		put_internaldate(out, info->internaldate);
	}
	if (items & IMAP_FETCH_SAVEDATE) {	/* RFC 8514 */
		char date[IMAP_DATETIME_MAX];
		item(out, first);
		buf_printf(out, "SAVEDATE \"%s\"",
		    imap_datetime_format(info->savedate, date));
	}
	if (items & IMAP_FETCH_EMAILID) {	/* RFC 8474 */
		char id[MBOX_OBJECTID_MAX + 1];
		mbox_emailid_format(info->emailid, id);
		item(out, first);
		buf_printf(out, "EMAILID (%s)", id);
	}
	if (items & IMAP_FETCH_THREADID) {	/* no threads by id: NIL */
		item(out, first);
		buf_puts(out, "THREADID NIL");
	}
	if (items & IMAP_FETCH_RFC822_SIZE) {
		item(out, first);
		buf_printf(out, "RFC822.SIZE %llu",
		    (unsigned long long)info->size);
	}
}

/* Appends message seq's FETCH response. Returns 0 (also when the
   message is gone), or -1 after setting the tagged reply. */
static int
fetch_one(struct imap_cmd *cmd, struct fetch_ctx *x, uint32_t seq)
{
	struct mbox_view *v = cmd->c->view;
	struct mbox_msg_info info;
	struct imap_msg_data d;
	size_t mark = cmd->out.len;
	bool first = true, marked = x->set_seen && was_marked(x, seq);
	unsigned i;
	int r = 0;

	if (mbox_view_msg(v, seq, &info) < 0)
		return 0;
	if (info.expunged) {
		x->expunged = true;
		return 0;
	}
	if (x->f.changedsince_given && info.modseq <= x->f.changedsince)
		return 0;
	memset(&d, 0, sizeof(d));
	/* a file stored exactly as received (CRLF) is served from the file */
	if (x->load != LOAD_NONE && (x->hdrs != NULL && !info.exact ?
	    imap_msgs_load_header(v, x->hdrs, seq, &d) :
	    imap_msgs_load(v, seq, x->load == LOAD_HEADER, &d)) < 0) {
		if (errno == ENOENT) {
			x->expunged = true;
			return 0;
		}
		log_warn("%s imap fetch-read user=%s uid=%u error=\"%s\"",
		    cmd->c->base.id, cmd->c->user ? cmd->c->user : "-",
		    info.uid, strerror(errno));
		imap_cmd_no(cmd, "[SERVERBUG] Cannot read message %u", seq);
		return -1;
	}
	if (x->parse && d.data != NULL)
		(void)imap_msgs_mime(&d);
	buf_printf(&cmd->out, "* %u FETCH (", seq);
	put_meta(cmd, x, &info, marked, &first);
	if (d.data != NULL)
		put_structure(cmd, x, &d, &first);
	for (i = 0; i < x->f.body_count && r == 0; i++) {
		item(&cmd->out, &first);
		r = put_body(cmd, x, &d, i);
	}
	imap_msgs_data_free(&d);
	if (r < 0) {
		cmd->out.len = mark;	/* drop the half-made response */
		if (cmd->out.data != NULL)
			cmd->out.data[mark] = '\0';
		return -1;
	}
	buf_puts(&cmd->out, ")\r\n");
	return 0;
}

/* ---- the command ------------------------------------------------------- */

enum imap_cmd_result
cmd_fetch(struct imap_cmd *cmd)
{
	struct fetch_ctx *x = cmd->ctx;
	/* no \Seen without RFC 4314's "s" right on a shared folder */
	bool readonly = cmd->c->readonly || mbox_view_readonly(cmd->c->view) ||
	    !(imap_acl_selected_rights(cmd->c) & MBOX_ACL_SEEN);
	uint32_t seq;

	enum imap_cmd_result res = IMAP_CMD_DONE;

	if (x == NULL && (x = fetch_start(cmd)) == NULL)
		return IMAP_CMD_DONE;
	imap_out_new_keywords(&cmd->out, cmd->c->view, readonly);
	/* the reader lives for this call only: it is freed (BLOCKING) here
	   on the worker, never by the context's free on the loop */
	if (x->cached && x->ri < x->seqs.count) {
		x->hdrs = mbox_hdr_reader_new(cmd->c->view);
		mbox_hdr_reader_limit(x->hdrs,
		    x->seqs.ranges[x->seqs.count - 1].hi);
	}
	while (x->ri < x->seqs.count) {
		if (x->set_seen && !readonly && x->next > x->seen_upto &&
		    mark_seen_batch(cmd, x) < 0)
			goto out;
		if (!iter_next(&x->seqs, &x->ri, &x->next, &seq))
			break;
		if (fetch_one(cmd, x, seq) < 0)
			goto out;
		if (cmd->out.len >= IMAP_OUT_CHUNK && x->ri < x->seqs.count) {
			res = IMAP_CMD_MORE;
			goto out;
		}
	}
	if (x->expunged && !cmd->uid)
		imap_cmd_no(cmd, "[EXPUNGEISSUED] Some messages were expunged "
		    "meanwhile");
	else
		imap_cmd_ok(cmd, "Fetch completed");
out:
	mbox_hdr_reader_free(&x->hdrs);
	return res;
}

/* ---- NOTIFY's MessageNew (RFC 5465 5.2) --------------------------------- */

struct fetch_ctx *
imap_fetch_plan(struct imap_fetch *f, const char **error_r)
{
	struct fetch_ctx *x = xcalloc(1, sizeof(*x));

	x->f = *f;
	memset(f, 0, sizeof(*f));
	buf_init(&x->scratch, 0);
	if (plan(x, error_r) < 0) {
		fetch_ctx_destroy(x);
		return NULL;
	}
	x->set_seen = false;	/* a notification changes nothing */
	return x;
}

void
imap_fetch_plan_free(struct fetch_ctx **xp)
{
	fetch_ctx_destroy(*xp);
	*xp = NULL;
}

void
imap_fetch_unsolicited(struct imap_client *c, struct fetch_ctx *x,
    uint32_t seq, struct buf *out)
{
	struct imap_cmd tmp = { .c = c };

	tmp.out = *out;		/* fetch_one writes to a command's out */
	imap_out_new_keywords(&tmp.out, c->view, c->readonly);
	(void)fetch_one(&tmp, x, seq);	/* a failure: no response, as
					   for an expunged message */
	*out = tmp.out;
	free(tmp.tagged);
}
