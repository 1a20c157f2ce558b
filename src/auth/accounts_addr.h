/*
 * accounts_addr - syntax checks and canonical forms of the addresses and
 * domain names stored as accounts.
 *
 * Case rules (SPEC "Addresses and mailboxes"): domains are lowercased; an
 * all-ASCII local part of ours is lowercased; a UTF-8 local part is kept
 * exactly as given (compared later with only its ASCII letters folded).
 * Errors: -1 or NULL with a malloc'd one-line message in *error_r.
 */
#ifndef TEM_ACCOUNTS_ADDR_H
#define TEM_ACCOUNTS_ADDR_H

#include <stdbool.h>

/* Limits (RFC 5321 4.5.3.1). */
#define ACCOUNTS_LOCALPART_MAX	64
#define ACCOUNTS_DOMAIN_MAX	253
#define ACCOUNTS_ADDRESS_MAX	254

/*
 * Splits and canonicalises ADDRESS ("local@domain", split at the last '@'):
 * the domain lowercased (one trailing dot dropped) and checked as an LDH
 * host name; the local part a dot-atom of ASCII atext or valid UTF-8
 * (quoted local parts are refused). With local set, the address is one of
 * ours: its all-ASCII local part is lowercased, and it must be usable as a
 * mailbox folder name (no '/'). Without it (a remote address), the local
 * part is kept as given. Returns 0 with malloc'd outputs, or -1 + error.
 */
int accounts_address_parse(const char *address, bool local,
    char **localpart_r, char **domain_r, char **error_r);
/* Checks and lowercases a domain name; malloc'd result, or NULL + error. */
char *accounts_domain_canon(const char *domain, char **error_r);
/* Lowercases lp in place when it is all ASCII (a local part of ours). */
void accounts_localpart_fold(char *lp);

/* data_dir/mail/DOMAIN/LOCALPART, malloc'd. */
char *accounts_mailbox_path(const char *data_dir, const char *domain,
    const char *localpart);

#endif
