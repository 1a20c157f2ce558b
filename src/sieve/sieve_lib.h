/*
 * sieve_lib - the I/O-free pieces the Sieve interpreter is built on:
 * comparators and match types (RFC 5228 2.7, RFC 5231 relational), match
 * variables and `set` modifiers (RFC 5229), address parts (RFC 5228
 * 2.7.4, RFC 5233 subaddress), header values as tests see them, date
 * parts (RFC 5260) and body text (RFC 5173). Internal to src/sieve/.
 *
 * Trust: every input is untrusted (message bytes, script strings). Every
 * function is bounded: :matches backtracking by a step budget shared by a
 * whole run, outputs by the caller's size limit.
 */
#ifndef TEM_SIEVE_LIB_H
#define TEM_SIEVE_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sieve/sieve_ast.h"
#include "util/buf.h"

/* ---- comparators and match types (sieve_match.c) ---- */

/* ${0}..${9} after a successful :matches (RFC 5229 3.2): ${0} the whole
 * value, ${N} what the Nth wildcard matched. */
struct sieve_captures {
	char		*v[10];
	size_t		 len[10];
	unsigned	 n;		/* 0: none set */
};
void sieve_captures_clear(struct sieve_captures *c);

/* The run's budget of :matches steps (max: sieve_limits.max_match_steps). */
struct sieve_match_budget {
	uint64_t	 used;
	uint64_t	 max;
};

/*
 * Does value match key? m, rel and cmp as the test's tags (for :count the
 * caller passes the count in decimal as value and SIEVE_MATCH_VALUE).
 * i;ascii-numeric: a string not starting with a digit is +infinity (RFC
 * 4790 9.1). cap, when not NULL, is filled on a :matches success. 1: it
 * matches, 0: no, -1: the budget ran out (the run fails with an error).
 * b NULL: a budget of 1000000 steps for this call alone. '?' is one
 * octet and a backslash makes the next octet literal, as in Pigeonhole.
 */
int sieve_match(enum sieve_match m, enum sieve_rel rel, enum sieve_cmp cmp,
    const char *value, size_t vlen, const char *key, size_t klen,
    struct sieve_match_budget *b, struct sieve_captures *cap);

/* ---- variables (sieve_vars.c) ---- */

/* Looks up a variable for expansion: its value (not NUL-terminated) or
 * NULL when unknown (expands to ""). name is as written (case-folded by
 * the callee), with "global." prefix if any; nlen its length. */
typedef const char *sieve_var_lookup(void *arg, const char *name,
    size_t nlen, size_t *len);

/* Expands "${name}" and "${N}" references in s (RFC 5229 3): names are
 * identifier ("." identifier)*, numbers are match variables; anything
 * else stays literal. At most max octets are appended to out (cut on a
 * UTF-8 character boundary). */
void sieve_expand(const char *s, sieve_var_lookup *lookup, void *arg,
    const struct sieve_captures *cap, size_t max, struct buf *out);

/* Applies `set` modifiers (SIEVE_MOD_*) in RFC 5229 4's order; the
 * case modifiers act on ASCII only. */
void sieve_modify(unsigned mods, const char *in, size_t len,
    struct buf *out);

/* A valid variable name (identifier, or "global." identifier)? */
bool sieve_var_name_ok(const char *name);

/* ---- addresses and headers (sieve_header.c) ---- */

/* The part of addr-spec "local@domain" (RFC 5228 2.7.4; :user/:detail
 * split at the first sep, RFC 5233). false: the part does not exist
 * (:detail without sep), and the test treats it as not matching. Each
 * character of sep is a separator (NULL or "": "+"). An addr that is not
 * an addr-spec has only :all (itself); "" (the null reverse-path) is ""
 * for every part (RFC 5228 5.4). */
bool sieve_addr_part(const char *addr, size_t len, enum sieve_addrpart part,
    const char *sep, struct buf *out);

/*
 * Values of header field name in head (case-insensitive, every
 * occurrence, top to bottom): unfolded, leading and trailing whitespace
 * removed, RFC 2047 encoded words decoded to UTF-8. *vals is a malloc'd
 * array of malloc'd strings (sieve_strings_free); returns the count.
 */
size_t sieve_header_values(const char *head, size_t len, const char *name,
    char ***vals);
/* The addr-specs of an address header (groups expanded, display names
 * dropped), as the address test sees them; an unparsable field gives
 * its whole unfolded value. */
size_t sieve_header_addresses(const char *head, size_t len,
    const char *name, char ***addrs);
void sieve_strings_free(char ***v, size_t n);
/* The same for one field's raw value (what follows its colon): the
 * value as sieve_header_values gives it (malloc'd), and its addresses
 * appended to *addrs (*n of them so far; *addrs NULL when *n is 0). */
char *sieve_field_value(const char *value, size_t len);
void sieve_field_addresses(const char *value, size_t len, char ***addrs,
    size_t *n);

/* ---- dates (sieve_date.c) ---- */

/* "+0100" / "-0830" → minutes east of UTC; false when malformed. */
bool sieve_zone_parse(const char *s, int *minutes);
/* The date-part (RFC 5260 4.2: year month day date julian hour minute
 * second time iso8601 std11 zone weekday) of t in zone; false: unknown
 * part name. */
bool sieve_date_part(time_t t, int zone, const char *part,
    struct buf *out);

/* ---- body (sieve_body.c) ---- */

/*
 * The texts the body test searches (RFC 5173 5): RAW: the body as is;
 * CONTENT: each MIME part whose Content-Type matches one of types ("":
 * any; "text": any text/; "text/html": that one), decoded (base64/QP)
 * and converted to UTF-8 for text parts; TEXT: as CONTENT "text" with
 * text/html rendered as plain text. As Pigeonhole: a multipart part gives
 * its prologue and epilogue, a message/rfc822 part the embedded header.
 * head is the top-level header section. cb gets each text; the total
 * given is cut at max octets.
 */
void sieve_body_texts(const char *head, size_t hlen, const char *body,
    size_t blen, enum sieve_body_xform x, char * const *types,
    size_t ntypes, size_t max,
    void (*cb)(void *arg, const char *text, size_t len), void *arg);

#endif
