/*
 * spf_record - I/O-free parser of one SPF record (RFC 7208 4.5, 4.6, 5, 6,
 * 12) into terms.
 *
 * Trust: the record is untrusted text from DNS (a TXT record of any
 * domain). The parser checks the whole record before anything is
 * evaluated, as RFC 7208 4.6 requires: any syntax error anywhere makes the
 * record a permerror. Macro syntax inside domain-specs is checked here (by
 * spf_macro.c) and expanded later, per evaluation. Fuzzed by
 * fuzz/fuzz-spf.c.
 */
#ifndef TEM_SPF_RECORD_H
#define TEM_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

/* A TXT record cannot be longer than one DNS message. */
#define SPF_RECORD_MAX	65535

/* The results of check_host() (RFC 7208 2.6). */
enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech	 mech;
	/* The qualifier as a result: PASS (+, the default), FAIL (-),
	 * SOFTFAIL (~) or NEUTRAL (?). */
	enum spf_result	 qual;
	/* The domain-spec as written (macros unexpanded), or NULL when the
	 * mechanism has none (then <domain> is meant). Always set for
	 * include and exists. */
	char		*domain;
	/* ip4 (first 4 bytes) and ip6: the network, in network order. */
	unsigned char	 net[16];
	/* Prefix lengths: ip4 and a/mx for IPv4 (default 32), ip6 and a/mx
	 * for IPv6 (default 128). */
	unsigned	 cidr4;
	unsigned	 cidr6;
};

struct spf_record {
	int		 nterms;
	struct spf_term	*terms;		/* mechanisms, in record order */
	char		*redirect;	/* domain-spec of redirect=, or NULL */
	char		*exp;		/* domain-spec of exp=, or NULL */
	bool		 has_all;	/* then redirect= is ignored (6.1) */
};

/*
 * Whether txt (len bytes) is an SPF record: it starts with "v=spf1"
 * (any case) followed by a space or the end (RFC 7208 4.5).
 */
bool spf_record_is_spf(const char *txt, size_t len);

/*
 * Parses an SPF record (len bytes, which must pass spf_record_is_spf).
 * Returns the record (free with spf_record_free), or NULL on any syntax
 * error, with *error_r set to a one-line reason (xmalloc'd, caller frees;
 * printable ASCII, the offending term quoted and cut at 64 characters).
 * Refused: bytes other than printable ASCII and SP, records longer than
 * SPF_RECORD_MAX, unknown mechanisms, a qualifier on a modifier, missing
 * or malformed domain-specs (bad macros, no valid top label), the macros
 * c, r and t outside exp text, bad addresses or prefix lengths, and
 * redirect= or exp= given twice. Unknown modifiers are checked for macro
 * syntax and otherwise ignored.
 */
struct spf_record *spf_record_parse(const char *txt, size_t len,
    char **error_r);

/* Frees a record and NULLs *rec; a NULL *rec is ignored. */
void spf_record_free(struct spf_record **rec);

#endif
