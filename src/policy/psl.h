/*
 * psl - the Public Suffix List (publicsuffix.org), for the DMARC
 * Organizational Domain (RFC 7489 3.2).
 *
 * Trust: the list file is the administrator's (Debian package
 * `publicsuffix`); domains handed in come from mail (From, MAIL FROM,
 * DKIM d=) and are checked here: anything that is not a plain domain name
 * gives NULL, never a crash.
 *
 * The whole list is used, ICANN and PRIVATE sections alike (RFC 7489 3.2
 * does not tell them apart). Rules are matched as publicsuffix.org says:
 * the longest matching rule wins, "*." rules match any one label, "!"
 * exception rules beat everything, and with no rule matching the implicit
 * rule "*" makes the last label the public suffix. Rules written in UTF-8
 * (U-labels) are also stored as their A-labels ("xn--..."), so either form
 * of a domain matches.
 *
 * A loaded list is read-only: any number of threads may use one at once.
 * To reload (SIGHUP), load a new one and swap pointers; free the old one
 * only once no thread can still be using it.
 */
#ifndef TEM_PSL_H
#define TEM_PSL_H

#include <stdbool.h>
#include <stddef.h>

/* Where Debian's publicsuffix package puts the list. */
#define PSL_DEFAULT_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"
/* Refuse larger files (the 2023 list is 240 KiB). */
#define PSL_FILE_MAX		(16 * 1024 * 1024)
/* Longest domain name handled, in bytes (a U-label form may be longer
 * than the 253 octets of its A-label form). */
#define PSL_DOMAIN_MAX		1024

struct psl;

/*
 * Reads the list at path (NULL: PSL_DEFAULT_PATH). Blocking: call it at
 * start-up (and on reload), never on a loop thread. When the file cannot
 * be read, logs a warning and returns an empty list, with which the
 * Organizational Domain of any name is its last two labels. Never NULL;
 * free with psl_free().
 */
struct psl *psl_load(const char *path);

/* The list from the text data[0..len) (the .dat format: one rule a line,
 * "//" comments, a rule ends at the first white space). Never NULL. */
struct psl *psl_parse(const char *data, size_t len);

/* Frees the list and NULLs *p; NULL is fine. */
void psl_free(struct psl **p);

/* Number of rules read (A-label copies not counted); 0 for the fallback. */
size_t psl_rule_count(const struct psl *p);

/*
 * Each of the functions below takes p == NULL as an empty list, lowercases
 * ASCII letters, ignores one final dot, and returns a fresh string (the
 * caller frees) in the form it was given (U-labels stay U-labels), or NULL
 * when domain is not a usable name: empty, a leading dot or an empty
 * label, control characters or white space, longer than PSL_DOMAIN_MAX,
 * or an IP address literal ("[...]").
 */

/* The public suffix of domain ("co.uk" for "a.b.co.uk"). */
char *psl_public_suffix(const struct psl *p, const char *domain);

/* The public suffix plus one label ("b.co.uk" for "a.b.co.uk"); NULL also
 * when domain is itself a public suffix (publicsuffix.org's
 * checkPublicSuffix semantics). */
char *psl_registrable_domain(const struct psl *p, const char *domain);

/*
 * The DMARC Organizational Domain (RFC 7489 3.2): the registrable domain,
 * or domain itself when it is a public suffix (so that mail from a bare
 * public suffix is compared with itself, as RFC 9091 does for PSDs).
 */
char *psl_org_domain(const struct psl *p, const char *domain);

/*
 * Converts domain to its ASCII form for DNS look-ups and comparisons:
 * ASCII letters lowercased, one final dot dropped, each label holding
 * non-ASCII turned into "xn--" + Punycode (RFC 3492). No IDNA mapping
 * (case folding beyond ASCII, NFC) is done: mail software sends U-labels
 * already in their canonical form. Returns a fresh string, or NULL when
 * domain is not usable (see above) or not valid UTF-8.
 */
char *psl_domain_to_ascii(const char *domain);

#endif
