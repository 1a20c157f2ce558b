/*
 * imap_args - typed parsers over the argument tree of an IMAP command
 * (struct imap_arg from imap_parser.h): sequence sets, SEARCH keys, FETCH
 * items, STORE, LIST, STATUS, SELECT/EXAMINE parameters, APPEND, dates,
 * mailbox name encodings and the LIST wildcard matcher.
 *
 * Trust: the arguments come from an untrusted client. Every parser checks
 * the grammar fully and refuses what it does not know (a BAD is better than
 * a guess); nothing is written to a fixed buffer; allocations are bounded
 * by the size of the command the parser accepted; recursion (SEARCH) is
 * bounded by IMAP_SEARCH_DEPTH_MAX.
 *
 * Conventions: each imap_args_parse_X(args, count, ..., out, error_r) takes
 * the command's top-level arguments (struct imap_command args/count, i.e.
 * everything after the command name), fills *out and returns 0; or returns
 * -1 with *error_r set to a static human text for a "BAD" reply (no tag, no
 * "BAD ", no CRLF) and *out left holding nothing to free. *out is
 * overwritten, not freed first. Everything in *out is owned by it and freed
 * by the matching X_free(), which zeroes it and is safe on a zeroed or
 * failed result; nothing points into the parser's command, so results
 * outlive it. Mailbox names are returned as sent (astring bytes): decode
 * them with imap_mailbox_decode().
 *
 * Standards: RFC 9051 and RFC 3501 (section 9 grammar), RFC 7162
 * (CONDSTORE/QRESYNC), RFC 4731 (ESEARCH), RFC 5182 (SEARCHRES "$"),
 * RFC 5032 (WITHIN), RFC 3516 (BINARY), RFC 5258 (LIST-EXTENDED),
 * RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE), RFC 3502 (MULTIAPPEND),
 * RFC 2152 / RFC 3501 5.1.3 (modified UTF-7).
 */
#ifndef TEM_IMAP_ARGS_H
#define TEM_IMAP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_parser.h"

struct buf;

/* ------------------------------------------------------------------ */
/* Numbers and dates                                                    */

/* number (RFC 9051): 1*DIGIT fitting 32 bits. nz: must be > 0 and have
   no leading zero (nz-number). Returns 0 or -1. */
int imap_parse_number32(const char *s, bool nz, uint32_t *n_r);
/* number64 / mod-sequence-valzer: 1*DIGIT, at most 2^63-1. */
int imap_parse_number64(const char *s, uint64_t *n_r);

struct imap_date {
	uint16_t	 year;
	uint8_t		 month;		/* 1..12 */
	uint8_t		 day;		/* 1..31, valid for the month */
};

/* date-text "1-Feb-1994" (day 1 or 2 digits, month any case, year 4
   digits). Returns 0 or -1. */
int imap_parse_date(const char *s, struct imap_date *d_r);
/* Days from 1970-01-01 to d (negative before). */
int64_t imap_date_days(const struct imap_date *d);
/* date-time body without quotes: "dd-Mon-yyyy hh:mm:ss +zzzz" with day as
   " d" or "dd" (RFC 9051 date-day-fixed; "d-" also accepted). Returns 0
   with *t_r the UTC instant and *tz_minutes_r the zone offset (east
   positive), or -1. */
int imap_parse_datetime(const char *s, time_t *t_r, int *tz_minutes_r);
/* "dd-Mon-yyyy hh:mm:ss +zzzz" (26), with room for any int in struct tm */
#define IMAP_DATETIME_MAX	128
/* t as date-time in the server's zone, without quotes (INTERNALDATE);
   returns out. */
char *imap_datetime_format(time_t t, char out[IMAP_DATETIME_MAX]);

/* ------------------------------------------------------------------ */
/* Sequence sets                                                        */

/* A range as parsed: "*" is a flag, not a number, because every value of
   a nz-number up to 4294967295 is a valid UID (RFC 9051 2.3.1.1). After
   imap_seqset_resolve the flags are false and lo <= hi. */
struct imap_seq_range {
	uint32_t	 lo, hi;	/* inclusive */
	bool		 lo_star, hi_star;	/* "*" (lo/hi then 0) */
};

struct imap_seqset {
	struct imap_seq_range *ranges;	/* malloc'd */
	unsigned	 count;
	bool		 saved;		/* "$" (RFC 5182): the caller uses
					   its saved result; count is 0 */
};

/*
 * Parses sequence-set: "1", "2:4", "*", "5:*", "1,3:4,7:*", and "$" when
 * dollar_ok. Numbers are nz-number (1..4294967295, no leading zero). Ranges
 * are kept as written (lo may exceed hi, either may be "*") until
 * imap_seqset_resolve(). Returns 0, or -1 with *error_r (set zeroed).
 */
int imap_seqset_parse(const char *s, bool dollar_ok, struct imap_seqset *set,
    const char **error_r);
/* Replaces "*" by star (the message count, or the highest UID; 0 for an
   empty mailbox), orders each range, sorts and merges overlapping and
   adjacent ranges. Ranges may then contain 0 only when star is 0. */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t star);
/* True when set names "*" (before imap_seqset_resolve). */
bool imap_seqset_has_star(const struct imap_seqset *set);
/* After resolve: drops the numbers above max (and 0). */
void imap_seqset_clamp(struct imap_seqset *set, uint32_t max);
/* After resolve: binary search. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* After resolve: how many numbers the set holds. */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* After resolve: the largest number, or 0 when empty. */
uint32_t imap_seqset_max(const struct imap_seqset *set);
/* Appends the set as "1:3,5" (after resolve) to out. Returns 0 or -1
   when out is full. */
int imap_seqset_format(const struct imap_seqset *set, struct buf *out);
void imap_seqset_free(struct imap_seqset *set);

/* ------------------------------------------------------------------ */
/* Flags                                                                */

#define IMAP_FLAG_ANSWERED	0x01u
#define IMAP_FLAG_FLAGGED	0x02u
#define IMAP_FLAG_DELETED	0x04u
#define IMAP_FLAG_SEEN		0x08u
#define IMAP_FLAG_DRAFT		0x10u
#define IMAP_FLAG_RECENT	0x20u	/* only ever in SEARCH, never set */

struct imap_flags {
	unsigned	 system;	/* IMAP_FLAG_* */
	char		**keywords;	/* as sent, duplicates (any case)
					   removed */
	unsigned	 keyword_count;
};

/*
 * Parses flags (the elements of a flag-list, or the bare flags of STORE):
 * system flags in any case, keywords as atoms (ATOM-CHAR only). "\Recent"
 * and unknown "\X" flags are refused (they cannot be stored). Returns 0 or
 * -1 with *error_r.
 */
int imap_args_parse_flags(const struct imap_arg *args, unsigned count,
    struct imap_flags *f, const char **error_r);
void imap_flags_free(struct imap_flags *f);
/* True when s is a valid flag-keyword (an atom of ATOM-CHARs). */
bool imap_keyword_valid(const char *s);

/* ------------------------------------------------------------------ */
/* SEARCH                                                               */

#define IMAP_SEARCH_DEPTH_MAX	64	/* nested (), NOT, OR */

enum imap_search_key_type {
	IMAP_SK_AND,		/* children: all must match ("()" and top) */
	IMAP_SK_OR,		/* exactly two children */
	IMAP_SK_NOT,		/* one child */
	IMAP_SK_ALL,
	IMAP_SK_ANSWERED, IMAP_SK_DELETED, IMAP_SK_DRAFT, IMAP_SK_FLAGGED,
	IMAP_SK_SEEN, IMAP_SK_RECENT, IMAP_SK_NEW, IMAP_SK_OLD,
	IMAP_SK_UNANSWERED, IMAP_SK_UNDELETED, IMAP_SK_UNDRAFT,
	IMAP_SK_UNFLAGGED, IMAP_SK_UNSEEN,
	IMAP_SK_KEYWORD, IMAP_SK_UNKEYWORD,		/* str */
	IMAP_SK_BCC, IMAP_SK_BODY, IMAP_SK_CC, IMAP_SK_FROM,
	IMAP_SK_SUBJECT, IMAP_SK_TEXT, IMAP_SK_TO,	/* str */
	IMAP_SK_HEADER,					/* field, str */
	IMAP_SK_BEFORE, IMAP_SK_ON, IMAP_SK_SINCE,	/* date */
	IMAP_SK_SENTBEFORE, IMAP_SK_SENTON, IMAP_SK_SENTSINCE, /* date */
	IMAP_SK_LARGER, IMAP_SK_SMALLER,		/* num */
	IMAP_SK_OLDER, IMAP_SK_YOUNGER,			/* num (seconds) */
	IMAP_SK_MODSEQ,			/* num; entry/entry_type optional */
	IMAP_SK_UID,			/* set (UIDs) */
	IMAP_SK_SEQSET,			/* set (sequence numbers) */
	IMAP_SK_SAVEDBEFORE, IMAP_SK_SAVEDON, IMAP_SK_SAVEDSINCE, /* date */
	IMAP_SK_SAVEDATESUPPORTED,	/* RFC 8514: every message here */
	IMAP_SK_EMAILID, IMAP_SK_THREADID, /* str: RFC 8474 objectid */
};

enum imap_modseq_entry_type {
	IMAP_MODSEQ_ENTRY_NONE, IMAP_MODSEQ_ENTRY_PRIV,
	IMAP_MODSEQ_ENTRY_SHARED, IMAP_MODSEQ_ENTRY_ALL,
};

struct imap_search_key {
	enum imap_search_key_type type;
	struct imap_search_key *next;	/* next sibling */
	struct imap_search_key *child;	/* AND, OR, NOT: first child */
	char		*str;		/* string keys; may hold 8-bit bytes
					   in the search CHARSET */
	size_t		 len;
	char		*field;		/* HEADER field name */
	struct imap_date date;
	uint64_t	 num;
	struct imap_seqset set;		/* UID, SEQSET (unresolved) */
	char		*entry;		/* MODSEQ "/flags/..." or NULL */
	enum imap_modseq_entry_type entry_type;
};

/* ESEARCH RETURN options (RFC 4731, 5182). */
#define IMAP_SEARCH_RET_MIN	0x01u
#define IMAP_SEARCH_RET_MAX	0x02u
#define IMAP_SEARCH_RET_ALL	0x04u
#define IMAP_SEARCH_RET_COUNT	0x08u
#define IMAP_SEARCH_RET_SAVE	0x10u
/* RFC 5267 (CONTEXT=SEARCH, CONTEXT=SORT); PARTIAL excludes ALL. */
#define IMAP_SEARCH_RET_CONTEXT	0x20u	/* a hint: accepted, ignored */
#define IMAP_SEARCH_RET_UPDATE	0x40u	/* ADDTO/REMOVEFROM later */
#define IMAP_SEARCH_RET_PARTIAL	0x80u	/* partial_lo..partial_hi */

struct imap_search {
	char		*charset;	/* NULL when none was given */
	bool		 ret_given;	/* RETURN (...): answer with ESEARCH */
	unsigned	 ret;		/* IMAP_SEARCH_RET_*; "RETURN ()"
					   gives ALL */
	struct imap_search_key *root;	/* an AND of the top-level keys */
	uint32_t	 partial_lo, partial_hi;	/* PARTIAL lo:hi, lo <= hi */
	bool		 uses_saved;	/* "$" appears */
	bool		 uses_modseq;	/* a MODSEQ key: CONDSTORE is on */
};

/*
 * Parses SEARCH arguments: [RETURN (opts)] [CHARSET cs] key+ (RFC 9051
 * search-program plus RECENT/NEW/OLD from RFC 3501, MODSEQ, OLDER/YOUNGER,
 * "$"). The charset is returned as sent; whether it is supported is the
 * caller's call ("NO [BADCHARSET]"). Returns 0 or -1 with *error_r.
 */
int imap_args_parse_search(const struct imap_arg *args, unsigned count,
    struct imap_search *s, const char **error_r);
void imap_search_free(struct imap_search *s);
/* The RETURN option list a (its "(...)") into s->ret, s->ret_given and
   the PARTIAL range: SORT RETURN (RFC 5267) parses it on its own.
   Returns 0 or -1 with *error_r. */
int imap_args_parse_search_return(struct imap_search *s,
    const struct imap_arg *a, const char **error_r);

/* ------------------------------------------------------------------ */
/* FETCH                                                                */

#define IMAP_FETCH_FLAGS		0x001u
#define IMAP_FETCH_INTERNALDATE		0x002u
#define IMAP_FETCH_RFC822_SIZE		0x004u
#define IMAP_FETCH_ENVELOPE		0x008u
#define IMAP_FETCH_BODY			0x010u	/* BODY, non-extensible */
#define IMAP_FETCH_BODYSTRUCTURE	0x020u
#define IMAP_FETCH_UID			0x040u
#define IMAP_FETCH_MODSEQ		0x080u
#define IMAP_FETCH_RFC822		0x100u	/* = BODY[], sets \Seen */
#define IMAP_FETCH_RFC822_HEADER	0x200u	/* = BODY.PEEK[HEADER] */
#define IMAP_FETCH_RFC822_TEXT		0x400u	/* = BODY[TEXT], sets \Seen */
#define IMAP_FETCH_SAVEDATE		0x800u	/* RFC 8514 */
#define IMAP_FETCH_EMAILID		0x1000u	/* RFC 8474 */
#define IMAP_FETCH_THREADID		0x2000u	/* RFC 8474: always NIL */
#define IMAP_FETCH_PREVIEW		0x10000u /* RFC 8970; "(LAZY)" taken */

/* Same order as enum imap_section_kind of mail/imap_section.h, and the
   same bounds, so whatever is accepted here imap_section_parse() accepts
   too (the session may hand it `section`). */
enum imap_fetch_section_text {
	IMAP_FETCH_SECTION_WHOLE,	/* BODY[] or BODY[1.2] */
	IMAP_FETCH_SECTION_HEADER,
	IMAP_FETCH_SECTION_HEADER_FIELDS,
	IMAP_FETCH_SECTION_HEADER_FIELDS_NOT,
	IMAP_FETCH_SECTION_TEXT,
	IMAP_FETCH_SECTION_MIME,	/* only after a part number */
};

#define IMAP_FETCH_PARTS_MAX		64	/* numbers in "1.2.3" */
#define IMAP_FETCH_FIELDS_MAX		256	/* names in HEADER.FIELDS */
#define IMAP_FETCH_FIELD_LEN_MAX	256	/* octets of one name */

struct imap_fetch_body {
	bool		 peek;		/* BODY.PEEK / BINARY.PEEK */
	bool		 binary;	/* BINARY[...] */
	bool		 binary_size;	/* BINARY.SIZE[...] */
	char		*section;	/* between the brackets, as sent */
	uint32_t	*part;		/* "1.2.3" as {1,2,3}; NULL when none */
	unsigned	 part_count;
	enum imap_fetch_section_text text;
	char		**fields;	/* HEADER.FIELDS[.NOT] names as sent */
	unsigned	 field_count;
	bool		 partial;	/* <offset.length> given */
	uint64_t	 offset, length;
	/* The item name for the response, e.g. "BODY[1.HEADER.FIELDS (FROM
	   TO)]<0>", "BINARY[2]", "BINARY.SIZE[2]" (RFC 9051 7.5.2: no
	   .PEEK, origin only). */
	char		*label;
};

struct imap_fetch {
	struct imap_seqset set;		/* unresolved */
	unsigned	 items;		/* IMAP_FETCH_*; UID for UID FETCH,
					   MODSEQ with CHANGEDSINCE */
	struct imap_fetch_body *bodies;
	unsigned	 body_count;
	bool		 changedsince_given;
	uint64_t	 changedsince;
	bool		 vanished;	/* (VANISHED): UID FETCH only */
};

/*
 * Parses FETCH arguments: sequence-set, then a macro (ALL FAST FULL), one
 * item or a list of items, then optional modifiers (CHANGEDSINCE n,
 * VANISHED). uid: the command was UID FETCH. Returns 0 or -1 with *error_r.
 */
int imap_args_parse_fetch(const struct imap_arg *args, unsigned count,
    bool uid, struct imap_fetch *f, const char **error_r);
void imap_fetch_free(struct imap_fetch *f);
/*
 * Adds the items of a "(" fetch-att *(SP fetch-att) ")" list to f (no
 * macros, no set: NOTIFY's MessageNew attributes, RFC 5465 8), with
 * FETCH's grammar and limits. Returns 0, or -1 with *error_r (f may hold
 * items then: free it).
 */
int imap_args_parse_fetch_atts(const struct imap_arg *a, struct imap_fetch *f,
    const char **error_r);

/* ------------------------------------------------------------------ */
/* STORE                                                                */

enum imap_store_op { IMAP_STORE_SET, IMAP_STORE_ADD, IMAP_STORE_REMOVE };

struct imap_store {
	struct imap_seqset set;		/* unresolved */
	enum imap_store_op op;		/* FLAGS, +FLAGS, -FLAGS */
	bool		 silent;	/* .SILENT */
	struct imap_flags flags;
	bool		 unchangedsince_given;
	uint64_t	 unchangedsince;
};

/* Parses STORE arguments: sequence-set [(UNCHANGEDSINCE n)] [+|-]FLAGS
   [.SILENT] (flag-list | flag *(SP flag)). */
int imap_args_parse_store(const struct imap_arg *args, unsigned count,
    struct imap_store *st, const char **error_r);
void imap_store_free(struct imap_store *st);

/* ------------------------------------------------------------------ */
/* STATUS                                                               */

#define IMAP_STATUS_MESSAGES		0x01u
#define IMAP_STATUS_UIDNEXT		0x02u
#define IMAP_STATUS_UIDVALIDITY		0x04u
#define IMAP_STATUS_UNSEEN		0x08u
#define IMAP_STATUS_DELETED		0x10u
#define IMAP_STATUS_SIZE		0x20u
#define IMAP_STATUS_RECENT		0x40u
#define IMAP_STATUS_HIGHESTMODSEQ	0x80u
#define IMAP_STATUS_DELETED_STORAGE	0x100u	/* RFC 9208 */
#define IMAP_STATUS_MAILBOXID		0x200u	/* RFC 8474 */

/* The elements of a status-att list (non-empty). */
int imap_args_parse_status_items(const struct imap_arg *args, unsigned count,
    unsigned *items_r, const char **error_r);

struct imap_status {
	char		*mailbox;
	unsigned	 items;		/* IMAP_STATUS_* */
};

/* Parses STATUS arguments: mailbox (items). */
int imap_args_parse_status(const struct imap_arg *args, unsigned count,
    struct imap_status *st, const char **error_r);
void imap_status_free(struct imap_status *st);

/* ------------------------------------------------------------------ */
/* LIST / LSUB                                                          */

#define IMAP_LIST_SEL_SUBSCRIBED	0x01u
#define IMAP_LIST_SEL_REMOTE		0x02u
#define IMAP_LIST_SEL_RECURSIVEMATCH	0x04u
#define IMAP_LIST_SEL_SPECIAL_USE	0x08u

#define IMAP_LIST_RET_SUBSCRIBED	0x01u
#define IMAP_LIST_RET_CHILDREN		0x02u
#define IMAP_LIST_RET_SPECIAL_USE	0x04u
#define IMAP_LIST_RET_STATUS		0x08u
#define IMAP_LIST_RET_MYRIGHTS		0x10u	/* RFC 8440 */

struct imap_list {
	bool		 extended;	/* LIST-EXTENDED syntax was used */
	unsigned	 select;	/* IMAP_LIST_SEL_* */
	unsigned	 ret;		/* IMAP_LIST_RET_* */
	unsigned	 status_items;	/* with RET_STATUS: IMAP_STATUS_* */
	char		*reference;	/* as sent */
	char		**patterns;	/* as sent; at least one */
	unsigned	 pattern_count;
};

/* Parses LIST arguments: [(select-opts)] reference (pattern | (patterns))
   [RETURN (return-opts)]; also LSUB's reference pattern. Unknown options
   and RECURSIVEMATCH without a base option are refused (RFC 5258). */
int imap_args_parse_list(const struct imap_arg *args, unsigned count,
    struct imap_list *l, const char **error_r);
void imap_list_free(struct imap_list *l);

/* ------------------------------------------------------------------ */
/* SELECT / EXAMINE                                                     */

struct imap_select {
	char		*mailbox;
	bool		 condstore;	/* (CONDSTORE) */
	bool		 qresync;	/* (QRESYNC (...)) */
	uint32_t	 uidvalidity;	/* QRESYNC */
	uint64_t	 modseq;	/* QRESYNC */
	struct imap_seqset known_uids;	/* QRESYNC, may be empty; no "*" */
	struct imap_seqset match_seqs;	/* seq-match-data, may be empty */
	struct imap_seqset match_uids;	/* same count of numbers as above */
};

/* Parses SELECT/EXAMINE arguments: mailbox [(params)]. */
int imap_args_parse_select(const struct imap_arg *args, unsigned count,
    struct imap_select *sel, const char **error_r);
void imap_select_free(struct imap_select *sel);

/* ------------------------------------------------------------------ */
/* APPEND                                                               */

struct imap_append_msg {
	struct imap_flags flags;
	bool		 date_given;
	time_t		 date;		/* UTC */
	int		 tz_minutes;	/* as sent */
	uint64_t	 size;		/* the streamed literal */
	unsigned	 index;		/* its chunks' imap_literal.index */
	bool		 literal8;
	/* CATENATE (RFC 4469, imap_catenate.h): the message is made of
	   these parts instead (size and index unused). */
	struct imap_cat_part *parts;
	unsigned	 n_parts;
};

struct imap_append {
	char		*mailbox;
	struct imap_append_msg *msgs;	/* one, or more (MULTIAPPEND) */
	unsigned	 count;
};

/* Parses APPEND arguments: mailbox 1*([flag-list] [date-time] message)
   where each message is an IMAP_ARG_STREAM (see imap_parser.h) or
   CATENATE (parts) (RFC 4469). */
int imap_args_parse_append(const struct imap_arg *args, unsigned count,
    struct imap_append *a, const char **error_r);
void imap_append_free(struct imap_append *a);

/* ------------------------------------------------------------------ */
/* Mailbox names                                                        */

#define IMAP_MAILBOX_NAME_MAX	1024	/* bytes of UTF-8 */

/*
 * Turns a mailbox name as sent into UTF-8. utf8_mode (IMAP4rev2 or
 * UTF8=ACCEPT enabled): the name must be valid UTF-8 and is kept as is.
 * Otherwise it must be printable ASCII in modified UTF-7 (RFC 3501 5.1.3)
 * and is decoded strictly: only "&-" or base64 of UTF-16 for non-printable
 * code points, well-formed surrogates, zero padding bits. "INBOX" in any
 * case becomes "INBOX". Names with NUL, CR, LF, other controls or longer
 * than IMAP_MAILBOX_NAME_MAX are refused. Returns a malloc'd string, or
 * NULL with *error_r.
 */
char *imap_mailbox_decode(const char *name, size_t len, bool utf8_mode,
    const char **error_r);
/* UTF-8 to modified UTF-7, for IMAP4rev1 clients. Returns a malloc'd
   string, or NULL when utf8 is not valid UTF-8. */
char *imap_mailbox_encode_mutf7(const char *utf8);

/*
 * LIST wildcard match (RFC 9051 6.3.9): "*" matches any run of characters,
 * "%" any run without sep (sep '\0': no hierarchy, "%" acts as "*").
 * Case-sensitive, except that a leading "INBOX" component of name matches
 * in any case. Time O(len(pattern) * len(name)), no recursion.
 */
bool imap_list_match(const char *pattern, const char *name, char sep);

#endif
