/*
 * dkim_keys - DKIM signing keys: generation (RSA 2048, Ed25519), the key
 * files, their DNS records, and the in-memory store the server signs
 * with.
 *
 * Layout: data_dir/dkim/DOMAIN/SELECTOR.rsa.pem and SELECTOR.ed25519.pem
 * (PKCS#8 PEM, unencrypted, mode 0600; the directories 0700; all owned by
 * run_as when made by root). DOMAIN and SELECTOR are lowercase DNS names;
 * a selector names one key of one type (its DNS record holds one key).
 * Files are never overwritten: rotating means a new selector. "Newest"
 * is by file modification time (then by selector, descending).
 *
 * Errors: functions returning int give 0 on success, or -1 with a
 * malloc'd one-line message in *error_r (no "tem:" prefix, no newline).
 *
 * Trust: run by the administrator (keygen, dns-records) and by the server
 * at start and reload (dkim_keystore_load), both on files below data_dir
 * whose names are checked first. Private keys never leave this module
 * and dkim_sign.c.
 */
#ifndef TEM_DKIM_KEYS_H
#define TEM_DKIM_KEYS_H

#include <stddef.h>
#include <time.h>

#include "policy/dkim.h"
#include "util/buf.h"

#define DKIM_KEYS_DIR		"dkim"		/* below data_dir */
#define DKIM_KEY_FILE_MAX	(64 * 1024)	/* a PEM key is < 4 KiB */
#define DKIM_TXT_STRING_MAX	255		/* RFC 1035 3.3 */

/* "rsa" / "ed25519" -> *t; -1 for anything else. */
int dkim_key_type_parse(const char *s, enum dkim_key_type *t);

/* A new key pair in memory (RSA: DKIM_RSA_SIGN_BITS). domain and
 * selector are copied lowercase; both must be DNS names. */
struct dkim_key *dkim_key_generate(enum dkim_key_type type,
    const char *domain, const char *selector, char **error_r);
/* Reads a PEM private key file (at most DKIM_KEY_FILE_MAX octets); the
 * type comes from the key, mtime from the file. */
struct dkim_key *dkim_key_read(const char *path, const char *domain,
    const char *selector, char **error_r);
void dkim_key_free(struct dkim_key **k);

/*
 * Generates a key and writes it as data_dir/dkim/DOMAIN/SELECTOR.TYPE.pem,
 * made durable (fsync of the file and the directory), creating the
 * directories. Fails if the selector already has a key of either type.
 * run_as: owner of what is created when running as root (NULL, "": none).
 * On success *key_r (may be NULL) gets the key, mtime set.
 */
int dkim_keys_create(const char *data_dir, const char *run_as,
    const char *domain, const char *selector, enum dkim_key_type type,
    struct dkim_key **key_r, char **error_r);

/* A selector not yet used in data_dir for domain: "tem-YYYYMM-TYPE", then
 * "-2", "-3"... (UTC month of now). Caller frees. */
char *dkim_keys_default_selector(const char *data_dir, const char *domain,
    enum dkim_key_type type, time_t now);

/* Every key of one domain, newest first. */
struct dkim_keylist {
	size_t		  n;
	struct dkim_key	**key;
};

/* A domain without keys gives n = 0. A key file that cannot be used is
 * left out, with a line "PATH: reason" appended to bad (may be NULL).
 * -1 only when the domain's folder exists but cannot be read. */
int dkim_keys_list(const char *data_dir, const char *domain,
    struct dkim_keylist *l, struct buf *bad, char **error_r);
void dkim_keylist_free(struct dkim_keylist *l);

/* Appends the TXT record value of k's public key: "v=DKIM1; k=TYPE; p=..."
 * (-1 only when OpenSSL fails). */
int dkim_key_record(const struct dkim_key *k, struct buf *out);
/* Appends value as zone-file character strings: "..." "..." with at most
 * DKIM_TXT_STRING_MAX octets each ('"' and '\' escaped). */
void dkim_txt_strings(const char *value, size_t len, struct buf *out);
/* Appends `SELECTOR._domainkey.DOMAIN. IN TXT "..." "..."` (no newline). */
int dkim_key_zone_line(const struct dkim_key *k, struct buf *out);

/*
 * The signing keys of every domain: the newest key of each type, read
 * once (server start, reload) so that signing needs no disk. Read-only
 * once loaded: any number of threads may use it; reload by loading a new
 * store and swapping pointers.
 */
struct dkim_keystore;

/* Reads data_dir/dkim (missing: an empty store). A key file that cannot
 * be read is logged and skipped; -1 only when the directory exists but
 * cannot be read. */
int dkim_keystore_load(const char *data_dir, struct dkim_keystore **ks_r,
    char **error_r);
void dkim_keystore_free(struct dkim_keystore **ks);
/* Domains with at least one key. */
size_t dkim_keystore_count(const struct dkim_keystore *ks);
/* The signing keys of domain (case-insensitive): its newest Ed25519 and
 * newest RSA key, at most max, into keys[]. Returns how many (0: none). */
size_t dkim_keystore_keys(const struct dkim_keystore *ks, const char *domain,
    const struct dkim_key **keys, size_t max);
/*
 * Signs msg[0..len) (LF line ends) with every signing key of domain:
 * appends one DKIM-Signature field per key to header_out (see
 * dkim_sign_message), Ed25519 first. Returns the number of signatures
 * (0: the domain has no key), or -1 when signing failed (nothing
 * appended).
 */
int dkim_keystore_sign(const struct dkim_keystore *ks, const char *msg,
    size_t len, const char *domain, struct buf *header_out);
/* The same for a streamed message: its header section and relaxed body
 * hash (dkim_sign_head). */
int dkim_keystore_sign_head(const struct dkim_keystore *ks, const char *head,
    size_t hlen, const unsigned char bh[DKIM_SHA256_LEN], const char *domain,
    struct buf *header_out);

#endif
