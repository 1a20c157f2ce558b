/*
 * imap_msgs - message sets, message loading and small formatters shared
 * by FETCH, SEARCH/SORT/THREAD and STORE/COPY/MOVE (see imap_msgs.h).
 *
 * Trust: sets come from an authenticated client; messages from anyone.
 * Nothing here interprets message content beyond finding the end of its
 * header.
 *
 * SEARCHRES ("$", RETURN (SAVE), RFC 5182) goes through
 * imap_msgs_saved_get/set, which need a slot in struct imap_client.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "store/mailbox.h"
#include "store/mailbox_hdrcache.h"
#include "util/xmalloc.h"

#define LOAD_CHUNK	(16 * 1024)	/* header-only reads grow by this */

/* ---- sets ---------------------------------------------------------------- */

/* UID ranges -> seq ranges of the view (UIDs it lacks drop out). */
static void
uids_to_seqs(struct mbox_view *v, struct imap_seqset *s)
{
	uint32_t count = mbox_view_count(v), lo, hi;
	unsigned i, out = 0;

	for (i = 0; i < s->count; i++) {
		lo = mbox_view_seq_ceil(v, s->ranges[i].lo);
		hi = s->ranges[i].hi == UINT32_MAX ? count + 1 :
		    mbox_view_seq_ceil(v, s->ranges[i].hi + 1);
		if (lo > count || hi <= lo)
			continue;
		s->ranges[out].lo = lo;
		s->ranges[out].hi = hi - 1;
		out++;
	}
	s->count = out;
}

/* "$": the saved UIDs the view still has, as seq ranges. */
static int
saved_seqs(struct imap_client *c, struct imap_seqset *seqs_r,
    const char **error_r)
{
	const uint32_t *uids;
	uint32_t seq;
	size_t n, i;

	if (!imap_msgs_saved_get(c, &uids, &n)) {
		*error_r = "Saved search results ($) are not supported";
		return -1;
	}
	seqs_r->ranges = xcalloc(n ? n : 1, sizeof(*seqs_r->ranges));
	for (i = 0; i < n; i++) {
		if ((seq = mbox_view_seq(c->view, uids[i])) == 0)
			continue;
		seqs_r->ranges[seqs_r->count].lo = seq;
		seqs_r->ranges[seqs_r->count++].hi = seq;
	}
	imap_seqset_resolve(seqs_r, 0);		/* merges */
	return 0;
}

int
imap_msgs_resolve(struct imap_client *c, const struct imap_seqset *set,
    bool uid, struct imap_seqset *seqs_r, const char **error_r)
{
	struct mbox_view *v = c->view;
	uint32_t count = mbox_view_count(v);

	memset(seqs_r, 0, sizeof(*seqs_r));
	if (set->saved)
		return saved_seqs(c, seqs_r, error_r);
	seqs_r->count = set->count;
	seqs_r->ranges = xmemdup(set->ranges,
	    (set->count ? set->count : 1) * sizeof(*set->ranges));
	if (uid) {
		imap_seqset_resolve(seqs_r,
		    count ? mbox_view_uid(v, count) : 0);
		uids_to_seqs(v, seqs_r);
		return 0;
	}
	if (count == 0 && imap_seqset_has_star(set)) {
		/* "1:*" in an empty mailbox: nothing, rather than a BAD that
		   would break clients which sync that way. */
		seqs_r->count = 0;
		return 0;
	}
	imap_seqset_resolve(seqs_r, count);
	if (count == 0 || imap_seqset_max(seqs_r) > count ||
	    (seqs_r->count > 0 && seqs_r->ranges[0].lo == 0)) {
		imap_seqset_free(seqs_r);
		*error_r = count == 0 ? "No messages in the mailbox" :
		    "Invalid message sequence number";
		return -1;
	}
	return 0;
}

void
imap_msgs_format_set(struct buf *out, const uint32_t *nums, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && nums[j + 1] == nums[j] + 1; j++)
			;
		if (i > 0)
			buf_putc(out, ',');
		if (j == i)
			buf_printf(out, "%u", nums[i]);
		else
			buf_printf(out, "%u:%u", nums[i], nums[j]);
	}
}

unsigned
imap_msgs_flags(const struct imap_client *c, unsigned flags)
{
	return c->rev2 ? flags & ~(unsigned)MBOX_F_RECENT : flags;
}

void
imap_msgs_condstore_on(struct imap_cmd *cmd)
{
	struct mbox_status st;

	if (cmd->c->condstore)
		return;
	cmd->c->condstore = true;
	mbox_view_status(cmd->c->view, &st);
	buf_printf(&cmd->out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    (unsigned long long)st.highestmodseq);
}

/* ---- SEARCHRES ---------------------------------------------------------- */

/* struct imap_client has no slot for the saved result yet (the session
   core owns it; it must be cleared when the mailbox is deselected), so
   until it has one these refuse. */
bool
imap_msgs_saved_get(struct imap_client *c, const uint32_t **uids_r,
    size_t *n_r)
{
	*uids_r = c->searchres;
	*n_r = c->searchres_set ? c->n_searchres : 0;
	return true;	/* never saved: "$" is the empty set (RFC 5182 2.1) */
}

bool
imap_msgs_saved_set(struct imap_client *c, const uint32_t *uids, size_t n)
{
	free(c->searchres);
	c->searchres = n ? xmemdup(uids, n * sizeof(*uids)) : NULL;
	c->n_searchres = n;
	c->searchres_set = true;
	return true;
}

/* ---- loading ------------------------------------------------------------- */

/* Where the header of data[0..len) ends (just past its empty line), or 0
   when no empty line is there yet. from: where to start looking. */
static size_t
header_end(const char *data, size_t len, size_t from)
{
	size_t i;

	if (from == 0) {
		if (len >= 1 && data[0] == '\n')
			return 1;
		if (len >= 2 && data[0] == '\r' && data[1] == '\n')
			return 2;
	}
	for (i = from; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Reads fd to its end (at most size + one chunk: a file that grows is
   read as it was), or, when header_only, until the header ends. */
static int
read_fd(int fd, size_t size, bool header_only, struct imap_msg_data *d)
{
	size_t cap = header_only && size > LOAD_CHUNK ? LOAD_CHUNK : size;
	size_t end = 0, want;
	ssize_t n;

	d->data = xmalloc(cap + 1);
	for (;;) {
		if (d->len == cap) {
			if (cap >= size)
				break;
			cap = cap + LOAD_CHUNK < size ? cap + LOAD_CHUNK : size;
			d->data = xrealloc(d->data, cap + 1);
		}
		want = cap - d->len;
		n = read(fd, d->data + d->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		d->len += (size_t)n;
		if (header_only && (end = header_end(d->data, d->len,
		    d->len - (size_t)n > 2 ? d->len - (size_t)n - 2 : 0)) > 0)
			break;
	}
	if (header_only && end > 0) {
		d->len = end;
		d->header_only = true;
	}
	d->data[d->len] = '\0';
	return 0;
}

int
imap_msgs_load(struct mbox_view *v, uint32_t seq, bool header_only,
    struct imap_msg_data *d)
{
	struct mbox_msg_info mi;
	struct stat st;
	int fd, r, e;

	memset(d, 0, sizeof(*d));
	if ((fd = mbox_view_msg_open(v, seq)) < 0)
		return -1;
	d->exact = mbox_view_msg(v, seq, &mi) == 0 && mi.exact;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	r = read_fd(fd, (size_t)st.st_size, header_only, d);
	e = errno;
	close(fd);
	if (r < 0) {
		XFREE(&d->data);
		errno = e;
		return -1;
	}
	return 0;
}

int
imap_msgs_load_header(struct mbox_view *v, struct mbox_hdr_reader *hdrs,
    uint32_t seq, struct imap_msg_data *d)
{
	const char *block;
	size_t len;

	if (hdrs == NULL ||
	    (block = mbox_hdr_reader_get(hdrs, seq, &len)) == NULL)
		return imap_msgs_load(v, seq, true, d);
	memset(d, 0, sizeof(*d));
	d->data = xmalloc(len + 2);
	memcpy(d->data, block, len);
	d->data[len] = '\n';		/* the empty line ending the header */
	d->data[len + 1] = '\0';
	d->len = len + 1;
	d->header_only = true;
	return 0;
}

const struct mime_msg *
imap_msgs_mime(struct imap_msg_data *d)
{
	if (d->mime == NULL) {
		d->mime = mime_parse(d->data, d->len);
		d->mime->exact = d->exact;
	}
	return d->mime;
}

void
imap_msgs_data_free(struct imap_msg_data *d)
{
	if (d->mime != NULL)
		mime_free(&d->mime);
	free(d->data);
	memset(d, 0, sizeof(*d));
}
