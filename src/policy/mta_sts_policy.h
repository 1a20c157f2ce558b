/*
 * mta_sts_policy - I/O-free parsers for MTA-STS (RFC 8461) and SMTP TLS
 * reporting (RFC 8460): the policy file fetched from
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt (3.2), the MX match of
 * 4.1, the "_mta-sts" TXT record (3.1) and the "_smtp._tls" TXT record
 * (RFC 8460 3).
 *
 * Trust: every input comes from the recipient domain's DNS or web server
 * and is untrusted. Parsers work on (pointer, length), never read past
 * it, bound what they keep by the limits below, and are fuzzed by
 * fuzz/fuzz-mta-sts.c. A refused record or policy comes back as -1 with
 * a static reason; the caller then acts as if there were none (RFC 8461
 * 3.1, 3.2: "MUST be treated as if ... not present"), or, for a policy
 * refresh, keeps the cached one (5.1).
 */
#ifndef TEM_POLICY_MTA_STS_POLICY_H
#define TEM_POLICY_MTA_STS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MTA_STS_BODY_MAX	65536	/* RFC 8461 3.3: 64 KiB policy body */
#define MTA_STS_MX_MAX		100	/* mx lines kept; more refuse the
					   policy (Gmail lists 5) */
#define MTA_STS_MAX_AGE_MAX	31557600u	/* RFC 8461 3.2: one year */
#define MTA_STS_ID_MAX		32	/* RFC 8461 3.1: 1*32 ALNUM */
#define TLSRPT_RUA_MAX		8	/* report URIs kept; more ignored */
#define TLSRPT_URI_MAX		1024	/* octets of one report URI */

enum mta_sts_mode {
	MTA_STS_NONE,
	MTA_STS_TESTING,
	MTA_STS_ENFORCE,
};

struct mta_sts_policy {
	enum mta_sts_mode	 mode;
	uint32_t		 max_age;	/* seconds, ≤ MTA_STS_MAX_AGE_MAX */
	size_t			 n_mx;
	char			*mx[MTA_STS_MX_MAX];	/* xmalloc'd, lowercase,
							   maybe "*." first */
};

/*
 * Parses a policy body (RFC 8461 3.2): "key: value" lines ended by LF or
 * CRLF (the last one may lack it), white space allowed after the colon
 * and at the end of a line, empty lines skipped. version (STSv1), mode
 * and max_age are required, each once; mx is required (once or more)
 * unless mode is none. Keys are case-sensitive; unknown keys with the
 * RFC's extension name syntax are ignored, values unchecked (a policy
 * refused is a policy lost, so only what tem uses is strict). max_age has at
 * most 10 digits; a value above one year is cut to one year. Refused: a
 * body over MTA_STS_BODY_MAX, a NUL, more than MTA_STS_MX_MAX mx lines, an
 * mx that is not ["*."] a domain name. Returns 0 (free with
 * mta_sts_policy_clear) or -1 with *error_r set and *p empty.
 */
int mta_sts_policy_parse(const char *s, size_t len, struct mta_sts_policy *p,
    const char **error_r);
void mta_sts_policy_clear(struct mta_sts_policy *p);
const char *mta_sts_mode_name(enum mta_sts_mode m);

/*
 * RFC 8461 4.1: whether MX host name host matches pattern, ASCII case
 * ignored and a final dot of host ignored. "*.example.com" matches
 * exactly one label more ("mx.example.com", not "example.com" nor
 * "a.b.example.com"); any other pattern matches only itself.
 */
bool mta_sts_mx_match(const char *pattern, const char *host);
/* Whether host matches any of p's mx patterns. */
bool mta_sts_policy_mx_ok(const struct mta_sts_policy *p, const char *host);

/*
 * The "_mta-sts.DOMAIN" TXT record (RFC 8461 3.1): "v=STSv1" first, then
 * ";"-separated fields with white space around the ";"; id= (1..32
 * letters and digits) required; extension fields checked and ignored.
 * Returns 0 with the id NUL-terminated in id_r, or -1 with *error_r.
 * (Several TXT records starting with "v=STSv1" mean no policy: the
 * caller counts them.)
 */
int mta_sts_txt_parse(const char *s, size_t len,
    char id_r[MTA_STS_ID_MAX + 1], const char **error_r);

/* The "_smtp._tls.DOMAIN" TXT record (RFC 8460 3). */
struct tlsrpt_record {
	size_t	 n_rua;
	char	*rua[TLSRPT_RUA_MAX];	/* xmalloc'd, "mailto:..." or
					   "https:..." as written */
};

/*
 * "v=TLSRPTv1" first, then fields as in the "_mta-sts" record; rua=
 * required, a ","-separated list of URIs (white space allowed around the
 * commas). URIs with the mailto: or https: scheme (case ignored) are
 * kept, up to TLSRPT_RUA_MAX; other schemes are ignored. Refused: no rua,
 * rua twice, a URI over TLSRPT_URI_MAX or with a control byte or space,
 * or no usable URI. Returns 0 (free with tlsrpt_record_clear) or -1 with
 * *error_r and *r empty.
 */
int tlsrpt_record_parse(const char *s, size_t len, struct tlsrpt_record *r,
    const char **error_r);
void tlsrpt_record_clear(struct tlsrpt_record *r);

#endif
