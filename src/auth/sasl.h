/*
 * sasl - I/O-free decoding of SASL PLAIN (RFC 4616) and LOGIN responses,
 * shared by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH.
 *
 * Trust: input is untrusted client data (base64). Results are malloc'd;
 * the caller wipes and frees the password with sasl_creds_clear().
 */
#ifndef TEM_SASL_H
#define TEM_SASL_H

#include <stddef.h>

/* Longest SASL response line we take, base64 without its line end: RFC
 * 4954 section 4 (and RFC 5034 section 4 for POP3) call 12,288 octets
 * "a sufficient line length limit" for the deployed mechanisms, and
 * clients send that much (Kerberos tickets in GSSAPI). */
#define SASL_LINE_MAX		12288
/* Longest decoded response: what SASL_LINE_MAX octets of base64 carry. */
#define SASL_RESPONSE_MAX	(SASL_LINE_MAX / 4 * 3)

struct sasl_creds {
	char	*authzid;	/* "" when none */
	char	*user;
	char	*pass;
};

/* Decodes a PLAIN response "authzid NUL authcid NUL passwd" (base64).
 * 0, or -1 for bad base64 / shape / empty user or password / NUL or
 * over-long fields. An authzid other than "" or the user is refused
 * (-2): tem has no proxy authorization. */
int sasl_plain_decode(const char *b64, size_t len, struct sasl_creds *c);
/* Decodes one base64 LOGIN step into a malloc'd string (no NUL bytes). */
int sasl_login_decode(const char *b64, size_t len, char **out_r);
void sasl_creds_clear(struct sasl_creds *c);

#endif
