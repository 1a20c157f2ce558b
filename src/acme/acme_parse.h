/*
 * acme_parse - the CA's JSON answers (RFC 8555 section 7.1) into small
 * structs: the directory, an order, an authorization with the challenge
 * of the wanted type, and a problem document (RFC 7807).
 *
 * Trust: the text comes from the network (the CA, or whoever answers
 * for it if acme_directory is wrong). Bodies are at most ACME_BODY_MAX
 * (the HTTP layer stops reading there); an order has at most
 * ACME_MAX_AUTHZ authorizations; every string kept is bounded by
 * ACME_STR_MAX; a token must be base64url (it becomes a URL path). I/O
 * free and fuzzed (fuzz/fuzz-acme.c).
 */
#ifndef TEM_ACME_PARSE_H
#define TEM_ACME_PARSE_H

#include <stddef.h>

#define ACME_BODY_MAX	(256 * 1024)
#define ACME_MAX_AUTHZ	16	/* = the config's list limit */
#define ACME_STR_MAX	2048

struct acme_dir {
	char	*new_nonce, *new_account, *new_order;
};

struct acme_order {
	char	*status;		/* pending ready processing valid invalid */
	char	*authz[ACME_MAX_AUTHZ];
	int	 nauthz;
	char	*finalize;
	char	*certificate;		/* NULL until valid */
};

struct acme_authz {
	char	*status;		/* pending valid invalid ... */
	char	*name;			/* the identifier's value */
	char	*chal_url;		/* the challenge of the wanted type */
	char	*token;
	char	*chal_status;
	char	*error;			/* the challenge's error detail, or NULL */
};

/* Each: 0, or -1 with a malloc'd *error_r. The structs own their strings
 * (free with the _free function, also after a failure). */
int acme_parse_dir(const char *text, size_t len, struct acme_dir *d,
    char **error_r);
void acme_dir_free(struct acme_dir *d);
int acme_parse_order(const char *text, size_t len, struct acme_order *o,
    char **error_r);
void acme_order_free(struct acme_order *o);
int acme_parse_authz(const char *text, size_t len, const char *type,
    struct acme_authz *a, char **error_r);
void acme_authz_free(struct acme_authz *a);
/* "TYPE: DETAIL" of a problem document, or NULL when text is not one. */
char *acme_parse_problem(const char *text, size_t len);

#endif
