/*
 * imap_msgs - what the message commands (cmd-fetch.c, cmd-search.c,
 * cmd-store.c) share: message sets resolved against the selected view,
 * message files read into memory (whole, or only their header), number
 * lists in sequence-set form, and the CONDSTORE switch-on. Internal to
 * src/imap/.
 *
 * Trust: sets come from the client (already parsed by imap_args.c) and
 * are checked against the view here; message files are untrusted content,
 * read with a size bound (the file size, which the store's limits bound).
 * All functions run on the command's worker thread.
 */
#ifndef TEM_IMAP_MSGS_H
#define TEM_IMAP_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_args.h"
#include "mail/mime.h"
#include "util/buf.h"

struct imap_client;
struct imap_cmd;
struct mbox_view;

/*
 * Resolves a parsed (unresolved) set of c's selected view into ascending,
 * merged ranges of sequence numbers in *seqs_r (free with
 * imap_seqset_free). uid: the set holds UIDs ("*" is the highest UID; UIDs
 * the view lacks are skipped). Otherwise the numbers are sequence numbers
 * and one above the message count is an error, as RFC 9051 wants a BAD
 * for them (in an empty mailbox: any set without "*"; "1:*" gives no
 * messages). "$" (RFC 5182) is the saved result's messages still in the
 * view (uid or not). Returns 0, or -1 with *error_r (static text for a
 * BAD).
 */
int imap_msgs_resolve(struct imap_client *c, const struct imap_seqset *set,
    bool uid, struct imap_seqset *seqs_r, const char **error_r);

/*
 * RFC 5182 SEARCHRES: the session's saved search result, as ascending
 * UIDs. get: false when the session keeps no result store (then "$" and
 * RETURN (SAVE) are refused with a BAD); an empty result is true with
 * *n_r 0. set: replaces the result (copied); false as for get.
 */
bool imap_msgs_saved_get(struct imap_client *c, const uint32_t **uids_r,
    size_t *n_r);
bool imap_msgs_saved_set(struct imap_client *c, const uint32_t *uids,
    size_t n);

/* A message file in memory. */
struct imap_msg_data {
	char		*data;		/* malloc'd, NUL-terminated at len */
	size_t		 len;
	bool		 header_only;	/* data ends after the header's
					   empty line (or is the whole file) */
	struct mime_msg	*mime;		/* imap_msgs_mime(), or NULL */
	bool		 exact;		/* stored as received (mbox_msg_info) */
};

/*
 * BLOCKING. Reads message seq of v: all of it, or when header_only just
 * up to and including the empty line ending its header (the whole file
 * when there is none). Returns 0, or -1 with errno set (ENOENT: the
 * message was expunged meanwhile). d is overwritten; free it with
 * imap_msgs_data_free() after a success.
 */
int imap_msgs_load(struct mbox_view *v, uint32_t seq, bool header_only,
    struct imap_msg_data *d);
/*
 * BLOCKING. As imap_msgs_load(v, seq, true, d), but from the index's
 * header cache when hdrs (NULL: never) has seq's cached fields: then d
 * holds only those fields (store/mailbox_hdrcache.h), so use it only when
 * every field the caller looks at is one of them. Seqs must ascend from
 * call to call with one hdrs.
 */
struct mbox_hdr_reader;
int imap_msgs_load_header(struct mbox_view *v, struct mbox_hdr_reader *hdrs,
    uint32_t seq, struct imap_msg_data *d);
/* The MIME tree of d, parsed on first use (owned by d). */
const struct mime_msg *imap_msgs_mime(struct imap_msg_data *d);
void imap_msgs_data_free(struct imap_msg_data *d);

/* Appends the n ascending numbers as a sequence set ("1:3,5"); nothing
   when n is 0. */
void imap_msgs_format_set(struct buf *out, const uint32_t *nums, size_t n);

/* A message's flags as c may see them: IMAP4rev2 has no \Recent
   (RFC 9051 removed it), so rev2 clients do not get it. */
unsigned imap_msgs_flags(const struct imap_client *c, unsigned flags);

/*
 * A CONDSTORE enabling command (RFC 7162 3.1: FETCH MODSEQ or
 * CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ) while CONDSTORE was
 * off: turns it on for the session and appends the
 * "* OK [HIGHESTMODSEQ n]" the client has not seen yet.
 */
void imap_msgs_condstore_on(struct imap_cmd *cmd);

/* ---- cmd-search.c: the search engine (SEARCH, SORT, THREAD) ---- */

/* Messages: a SEARCH, SORT or THREAD over more ends with xmalloc_trim(),
   so that its peak does not stay resident in each worker's arena. */
#define IMAP_TRIM_AFTER		10000

/* The messages a search program matched. */
struct imap_msgs_found {
	uint32_t	*seqs;		/* ascending */
	size_t		 n;
	uint64_t	 highest_modseq;	/* of those messages */
};

/* Checks the CHARSET (else sets the tagged "NO [BADCHARSET ...]" and
   returns -1) and turns CONDSTORE on for a MODSEQ key. Returns 0. */
int imap_msgs_search_prepare(struct imap_cmd *cmd,
    const struct imap_search *s);
/*
 * BLOCKING. Runs the parsed program s over every message of the view
 * (s is changed: sets resolved, strings folded, ANDs reordered). Returns
 * 0 with *found filled (free with imap_msgs_found_free), or -1 with
 * *error_r for a BAD.
 */
int imap_msgs_search(struct imap_cmd *cmd, struct imap_search *s,
    struct imap_msgs_found *found, const char **error_r);
void imap_msgs_found_free(struct imap_msgs_found *found);

#endif
