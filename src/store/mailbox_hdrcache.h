/*
 * mailbox_hdrcache - the header fields SEARCH, SORT and THREAD use, kept
 * per message in the index so that they need not open every file of a big
 * folder.
 *
 * What is kept: for each message, the raw lines (folding, encoded words
 * and all, exactly as in the file) of its top-level fields named in
 * MBOX_HDR_FIELDS, in file order: a small header block. Parsing it gives
 * the same answers as parsing the file's header for those fields, so
 * decoded and normalised keys (address parsing, base subject, dates) are
 * computed from it by the same code. A message whose cached lines would
 * exceed MBOX_HDR_CACHE_MAX, or whose header does not end within
 * MBOX_HDR_SCAN_MAX octets, is marked "read the file".
 *
 * When: a message gets its entry in the transaction that gives it its UID
 * (delivery, APPEND, COPY, a file found by a sync: its header is read
 * then). Messages indexed before the cache existed get theirs the first
 * time a reader needs them (and keep it).
 *
 * Trust: message headers are untrusted; they are only copied (bounded
 * above) and parsed later by src/mail. The index is ours but disposable.
 */
#ifndef TEM_MAILBOX_HDRCACHE_H
#define TEM_MAILBOX_HDRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mbox_view;

#define MBOX_HDR_FIELDS		"Subject From To Cc Bcc Date Message-ID " \
				"In-Reply-To References"
#define MBOX_HDR_CACHE_MAX	8192	/* octets of cached lines a message */
#define MBOX_HDR_SCAN_MAX	65536	/* octets of header read to find them */

/* Whether field name (any case) is one of MBOX_HDR_FIELDS. */
bool mbox_hdr_field_cached(const char *name);

/*
 * A reader of the cached header blocks of a view's messages, for one
 * command: ask for sequence numbers in ascending order. It holds the
 * user's store lock only while it reads a batch of rows (or writes the
 * entries it had to make), never between calls.
 */
struct mbox_hdr_reader;

struct mbox_hdr_reader *mbox_hdr_reader_new(struct mbox_view *v);
/*
 * BLOCKING (now and then). The cached block of message seq: header lines
 * ending in LF, *len_r octets (0 for a message with none of the fields),
 * valid until the next call; NULL when the file must be read instead
 * (not cacheable, expunged, or the index is unavailable). seq must be
 * above the previous call's.
 */
const char *mbox_hdr_reader_get(struct mbox_hdr_reader *r, uint32_t seq,
    size_t *len_r);
/*
 * Promises that no seq above last_seq will be asked for, so that a batch
 * stops there: a FETCH of 20 headers reads 20 rows, not up to 2,048.
 */
void mbox_hdr_reader_limit(struct mbox_hdr_reader *r, uint32_t last_seq);
/* BLOCKING (writes entries made on the way). *r becomes NULL. */
void mbox_hdr_reader_free(struct mbox_hdr_reader **r);

#endif
