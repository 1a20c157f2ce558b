/*
 * spf_macro - SPF macro syntax and expansion (RFC 7208 section 7).
 *
 * Trust: the strings to check and expand come from untrusted DNS records;
 * the variables come from the SMTP envelope (already syntax-checked by the
 * SMTP layer) and from DNS. Expansion is I/O-free and bounded: a domain
 * name keeps only what can survive the left truncation to 253 characters,
 * an explanation is cut at SPF_EXPLAIN_MAX. Fuzzed by fuzz/fuzz-spf.c.
 */
#ifndef TEM_SPF_MACRO_H
#define TEM_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest expanded domain name (RFC 7208 7.3; a DNS name in text). */
#define SPF_DOMAIN_MAX		253
/* An explanation goes into an SMTP reply line (RFC 5321 4.5.3.1.5 caps a
 * reply line at 512 octets); longer ones are cut. */
#define SPF_EXPLAIN_MAX		400

enum spf_macro_kind {
	/* domain-spec: macro-string then domain-end (a macro or "."
	 * toplabel ["."]); no c, r or t macro; no SP. */
	SPF_MACRO_DOMAIN,
	/* macro-string of an unknown modifier: any macro letter, no SP. */
	SPF_MACRO_STRING,
	/* explain-string of an exp= TXT record: macro-strings and SP. */
	SPF_MACRO_EXPLAIN,
};

/* The values macros expand to; each a NUL-terminated string. */
struct spf_macro_vars {
	const char	*s;	/* <sender>: local@domain */
	const char	*l;	/* local part of <sender> */
	const char	*o;	/* domain of <sender> */
	const char	*d;	/* <domain> of the current check_host() */
	const char	*i;	/* <ip>: dotted quad, or 32 dotted nibbles */
	const char	*p;	/* validated name of <ip>; NULL: "unknown" */
	const char	*v;	/* "in-addr" or "ip6" */
	const char	*h;	/* HELO/EHLO domain */
	const char	*c;	/* <ip> readable (exp only) */
	const char	*r;	/* receiving host's domain (exp only) */
	const char	*t;	/* current time, decimal seconds (exp only) */
};

/*
 * Checks the syntax of s (len bytes) as the given kind. Returns 0, or -1
 * with *error_r set to a static one-line reason.
 */
int spf_macro_check(const char *s, size_t len, enum spf_macro_kind kind,
    const char **error_r);

/* Whether s (len bytes, already checked) uses the p macro, which needs
 * DNS look-ups before it can be expanded. */
bool spf_macro_uses_p(const char *s, size_t len);

/*
 * Expands s (len bytes) with vars. For SPF_MACRO_DOMAIN one final dot is
 * dropped and, past SPF_DOMAIN_MAX characters, labels are removed from the
 * left until it fits; for SPF_MACRO_EXPLAIN the result is cut at
 * SPF_EXPLAIN_MAX octets. Returns the expansion (xmalloc'd, printable
 * ASCII), or NULL with *error_r set (static text) when s does not pass
 * spf_macro_check().
 */
char *spf_macro_expand(const char *s, size_t len, enum spf_macro_kind kind,
    const struct spf_macro_vars *vars, const char **error_r);

/*
 * The "i" form of an address into out (at least 64 bytes): dotted quad for
 * AF_INET, 32 lowercase nibbles joined by '.' for AF_INET6 (RFC 7208
 * 7.3). Returns out, or NULL for another family.
 */
char *spf_macro_ip(const struct sockaddr *sa, char *out, size_t outlen);

#endif
