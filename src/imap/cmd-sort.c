/*
 * cmd-sort - SORT and UID SORT (RFC 5256): criteria ARRIVAL CC DATE FROM
 * REVERSE SIZE SUBJECT TO, and DISPLAYFROM DISPLAYTO (RFC 5957); and the
 * per-message keys THREAD uses too (cmd-sort.h).
 *
 * Trust: criteria and search keys come from an authenticated but
 * untrusted client; message headers from anyone, read through src/mail's
 * parsers. Everything here is bounded by the number of matched messages
 * (and the References a message may list, RFC5322_MSGID_MAX).
 *
 * Only the header fields of each message are read, and only when a
 * criterion needs them (ARRIVAL and SIZE come from the index); every
 * field SORT and THREAD use is in the index's header cache
 * (store/mailbox_hdrcache.h), so the files are not opened.
 *
 * Keys: src/mail/mail_keys.h computes them from the first field of each
 * name (as Dovecot does), compared with strcmp (i;ascii-casemap for
 * ASCII). Ties are broken by sequence number, ascending, whatever
 * REVERSE said (RFC 5256 3): REVERSE reverses only its own key. ARRIVAL
 * is the INTERNALDATE (the one APPEND gave, else the delivery time). The
 * sent date is the Date: field, else the INTERNALDATE (RFC 5256 2.2).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/cmd-sort.h"
#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "mail/mail_keys.h"
#include "mail/mail_search.h"
#include "mail/rfc5322.h"
#include "store/mailbox.h"
#include "store/mailbox_hdrcache.h"
#include "util/xmalloc.h"

/* ---- per-message keys ------------------------------------------------ */

#define SORT_CRIT_MAX	32	/* criteria in one SORT */

static const char *const crit_names[] = {
	"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO",
	"DISPLAYFROM", "DISPLAYTO", NULL,
};

void
imap_sort_items_free(struct imap_sort_item *it, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k <= IMAP_SORT_DISPLAYTO; k++)
			free(it[i].str[k]);
		free(it[i].msgid);
		rfc5322_msgids_free(&it[i].refs, it[i].nrefs);
	}
	free(it);
	if (n >= IMAP_TRIM_AFTER)
		xmalloc_trim();
}

/* The key of the first field called name: keyf of its value, or "". */
static char *
field_key(const struct imap_msg_data *d, const char *name,
    char *(*keyf)(const char *, size_t))
{
	struct rfc5322_field f;

	if (d->data == NULL || !rfc5322_find(d->data, d->len, name, &f))
		return xstrdup("");
	return keyf(f.value, f.value_len);
}

/* Fills the keys of it that need[] asks for from the message header. */
static void
item_load(struct imap_cmd *cmd, struct mbox_hdr_reader *hdrs,
    struct imap_sort_item *it, const bool *need, bool thread)
{
	static const struct {
		enum imap_sort_key	 key;
		const char		*field;
		char		*(*keyf)(const char *, size_t);
	} addrs[] = {
		{ IMAP_SORT_FROM, "From", mail_key_addr_mailbox },
		{ IMAP_SORT_TO, "To", mail_key_addr_mailbox },
		{ IMAP_SORT_CC, "Cc", mail_key_addr_mailbox },
		{ IMAP_SORT_DISPLAYFROM, "From", mail_key_addr_display },
		{ IMAP_SORT_DISPLAYTO, "To", mail_key_addr_display },
	};
	struct rfc5322_field f;
	struct mbox_view *v = cmd->c->view;
	struct mbox_msg_info info;
	struct imap_msg_data d;
	const struct mime_msg *m = NULL;
	bool header;
	size_t k;

	memset(&d, 0, sizeof(d));
	if (mbox_view_msg(v, it->seq, &info) == 0) {
		it->uid = info.uid;
		it->arrival = info.internaldate;
		it->size = info.size;
	}
	it->date = it->arrival;
	for (k = 0, header = thread; k < IMAP_SORT_NKEYS; k++)
		if (need[k] && k != IMAP_SORT_ARRIVAL && k != IMAP_SORT_SIZE)
			header = true;
	if (!header)
		return;		/* ARRIVAL and SIZE: the index is enough */
	if (imap_msgs_load_header(v, hdrs, it->seq, &d) == 0)
		m = imap_msgs_mime(&d);
	if (m != NULL && need[IMAP_SORT_DATE])
		(void)mail_search_sent_date(m, &it->date, NULL);
	if (need[IMAP_SORT_SUBJECT])
		it->str[IMAP_SORT_SUBJECT] = d.data != NULL &&
		    rfc5322_find(d.data, d.len, "Subject", &f) ?
		    mail_key_subject(f.value, f.value_len, &it->reply) :
		    xstrdup("");
	for (k = 0; k < sizeof(addrs) / sizeof(addrs[0]); k++)
		if (need[addrs[k].key])
			it->str[addrs[k].key] = field_key(&d, addrs[k].field,
			    addrs[k].keyf);
	if (thread && m != NULL) {
		it->msgid = mail_thread_message_id(m);
		it->nrefs = mail_thread_references(m, &it->refs);
	}
	imap_msgs_data_free(&d);
}

/* Runs the search in args[from..] and loads the matched messages' keys.
   Returns the items (*n_r of them), or NULL after setting the reply. */
struct imap_sort_item *
imap_sort_collect(struct imap_cmd *cmd, unsigned from, const bool *need,
    bool thread, size_t *n_r, bool *modseq_r, uint64_t *highest_r)
{
	struct imap_search s;
	struct imap_msgs_found found;
	struct imap_sort_item *it = NULL;
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
		struct mbox_hdr_reader *hdrs =
		    mbox_hdr_reader_new(cmd->c->view);
		it = xcalloc(found.n ? found.n : 1, sizeof(*it));
		for (i = 0; i < found.n; i++) {
			it[i].seq = found.seqs[i];
			item_load(cmd, hdrs, &it[i], need, thread);
		}
		mbox_hdr_reader_free(&hdrs);
		*n_r = found.n;
		*modseq_r = s.uses_modseq;
		*highest_r = found.highest_modseq;
		imap_msgs_found_free(&found);
	}
	imap_search_free(&s);
	return it;
}

/* The charset argument of SORT and THREAD (RFC 5256 requires one). */
int
imap_sort_charset_arg(struct imap_cmd *cmd, unsigned i)
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

uint32_t
imap_sort_num(const struct imap_cmd *cmd, const struct imap_sort_item *it)
{
	return cmd->uid ? it->uid : it->seq;
}

/* ---- SORT ---------------------------------------------------------------- */

struct sort_key {
	enum imap_sort_key	 crit;
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

int
imap_sort_date_cmp(const struct imap_sort_item *a,
    const struct imap_sort_item *b)
{
	int c;

	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	c = cmp_time(a->date, b->date);
	return c != 0 ? c : cmp_num(a->seq, b->seq);
}

static int
sort_cmp(const void *pa, const void *pb, void *arg)
{
	const struct imap_sort_item *a = pa, *b = pb;
	const struct sort_spec *sp = arg;
	unsigned i;
	int c;

	for (i = 0; i < sp->n; i++) {
		switch (sp->keys[i].crit) {
		case IMAP_SORT_ARRIVAL:
			c = cmp_time(a->arrival, b->arrival);
			break;
		case IMAP_SORT_DATE:
			c = cmp_time(a->date, b->date);
			break;
		case IMAP_SORT_SIZE:
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

/* (criteria) at cmd->args[at] -> spec and what to load. */
static int
parse_criteria(struct imap_cmd *cmd, unsigned at, struct sort_spec *sp,
    bool *need)
{
	const struct imap_arg *list;
	unsigned count, i, k;
	bool reverse = false;
	const char *s;

	memset(sp, 0, sizeof(*sp));
	if (cmd->count <= at ||
	    !imap_arg_get_list(&cmd->args[at], &list, &count) || count == 0)
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
		sp->keys[sp->n].crit = (enum imap_sort_key)k;
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
	bool need[IMAP_SORT_NKEYS] = { false }, modseq = false;
	struct imap_sort_item *it;
	uint64_t highest = 0;
	size_t n, i;

	if (cmd->count > 0 && imap_arg_atom_equals(&cmd->args[0], "RETURN"))
		return cmd_esort(cmd);		/* imap_context.c */
	if (parse_criteria(cmd, 0, &sp, need) < 0) {
		imap_cmd_bad(cmd, "Invalid sort criteria");
		return IMAP_CMD_DONE;
	}
	if (imap_sort_charset_arg(cmd, 1) < 0 ||
	    (it = imap_sort_collect(cmd, 2, need, false, &n, &modseq,
	    &highest)) == NULL)
		return IMAP_CMD_DONE;
	qsort_r(it, n, sizeof(*it), sort_cmp, &sp);
	buf_puts(&cmd->out, "* SORT");
	for (i = 0; i < n; i++)
		buf_printf(&cmd->out, " %u", imap_sort_num(cmd, &it[i]));
	if (modseq && n > 0)
		buf_printf(&cmd->out, " (MODSEQ %llu)",
		    (unsigned long long)highest);
	buf_puts(&cmd->out, "\r\n");
	imap_sort_items_free(it, n);
	imap_cmd_ok(cmd, "Sort completed");
	return IMAP_CMD_DONE;
}

/* ---- for ESORT and CONTEXT=SORT (imap_context.c) -------------------- */

struct imap_sort_spec {
	struct sort_spec sp;
	bool		 need[IMAP_SORT_NKEYS];
};

struct imap_sort_spec *
imap_sort_spec_parse(struct imap_cmd *cmd, unsigned at)
{
	struct imap_sort_spec *s = xcalloc(1, sizeof(*s));

	if (parse_criteria(cmd, at, &s->sp, s->need) < 0) {
		free(s);
		imap_cmd_bad(cmd, "Invalid sort criteria");
		return NULL;
	}
	return s;
}

void
imap_sort_spec_free(struct imap_sort_spec **s)
{
	free(*s);
	*s = NULL;
}

void
imap_sort_seqs(struct imap_cmd *cmd, const struct imap_sort_spec *s,
    uint32_t *seqs, size_t n)
{
	struct imap_sort_item *it = xcalloc(n ? n : 1, sizeof(*it));
	struct mbox_hdr_reader *hdrs = NULL;
	size_t i;

	for (i = 1; i < n && seqs[i - 1] < seqs[i]; i++)
		;
	if (i >= n)	/* the header cache is read in ascending order */
		hdrs = mbox_hdr_reader_new(cmd->c->view);
	for (i = 0; i < n; i++) {
		it[i].seq = seqs[i];
		item_load(cmd, hdrs, &it[i], s->need, false);
	}
	mbox_hdr_reader_free(&hdrs);
	qsort_r(it, n, sizeof(*it), sort_cmp, (void *)(uintptr_t)&s->sp);
	for (i = 0; i < n; i++)
		seqs[i] = it[i].seq;
	imap_sort_items_free(it, n);
}
