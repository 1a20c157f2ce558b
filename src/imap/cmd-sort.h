/*
 * cmd-sort.h - what SORT (cmd-sort.c) and THREAD (cmd-thread.c) share:
 * the per-message keys of RFC 5256, loaded from the message header after
 * the search ran. Internal to src/imap/.
 *
 * Trust: as cmd-sort.c: keys come from untrusted message headers through
 * src/mail's parsers; everything is bounded by the matched messages.
 */
#ifndef TEM_CMD_SORT_H
#define TEM_CMD_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct imap_cmd;

/* SORT criteria (and the keys THREAD uses: SUBJECT, DATE). */
enum imap_sort_key {
	IMAP_SORT_ARRIVAL, IMAP_SORT_CC, IMAP_SORT_DATE, IMAP_SORT_FROM,
	IMAP_SORT_SIZE, IMAP_SORT_SUBJECT, IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO,
};
#define IMAP_SORT_NKEYS		(IMAP_SORT_DISPLAYTO + 1)

/* What SORT or THREAD needs of one matched message. */
struct imap_sort_item {
	uint32_t	 seq;
	uint32_t	 uid;
	time_t		 arrival;
	time_t		 date;		/* sent date, else arrival */
	uint64_t	 size;
	char		*str[IMAP_SORT_NKEYS];	/* folded string keys */
	bool		 reply;		/* base subject lost a Re:/Fwd: */
	char		*msgid;		/* THREAD REFERENCES */
	char		**refs;
	size_t		 nrefs;
};

/*
 * BLOCKING. Parses and runs the search keys in cmd->args[from..], then
 * loads the keys need[] (IMAP_SORT_NKEYS flags) asks for - and with
 * thread the Message-ID and references - of every match, reading only
 * headers and only when a key needs one. Returns the items in mailbox
 * order (*n_r; free with imap_sort_items_free), *modseq_r whether a
 * MODSEQ key was used and *highest_r the matches' highest MODSEQ; or NULL
 * after setting the tagged reply.
 */
struct imap_sort_item *imap_sort_collect(struct imap_cmd *cmd, unsigned from,
    const bool *need, bool thread, size_t *n_r, bool *modseq_r,
    uint64_t *highest_r);
void imap_sort_items_free(struct imap_sort_item *it, size_t n);
/* Checks the charset argument cmd->args[i] (UTF-8 or US-ASCII) and that
   search keys follow; else sets the tagged BAD/NO and returns -1. */
int imap_sort_charset_arg(struct imap_cmd *cmd, unsigned i);
/* The number to answer with: UID for UID SORT/THREAD, else seq. */
uint32_t imap_sort_num(const struct imap_cmd *cmd,
    const struct imap_sort_item *it);
/* RFC 5256 sent-date order, then mailbox order; NULLs first. */
int imap_sort_date_cmp(const struct imap_sort_item *a,
    const struct imap_sort_item *b);

/*
 * ESORT and CONTEXT=SORT (imap_context.c): the sort criteria at
 * cmd->args[at] as a spec (NULL after setting the tagged BAD), and
 * BLOCKING, the n seqs put in that order (headers read as SORT does).
 */
struct imap_sort_spec;
struct imap_sort_spec *imap_sort_spec_parse(struct imap_cmd *cmd,
    unsigned at);
void imap_sort_spec_free(struct imap_sort_spec **s);
void imap_sort_seqs(struct imap_cmd *cmd, const struct imap_sort_spec *s,
    uint32_t *seqs, size_t n);

#endif
