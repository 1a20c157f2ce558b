/*
 * smtp_parser - I/O-free parsers for SMTP server command lines.
 *
 * Trust: every input here comes straight from an unauthenticated network
 * client. Nothing is written to a fixed buffer; every allocation is bounded
 * by the length of the line the caller hands in (the session caps lines).
 * No function logs: failures come back as -1 plus a complete static reply
 * ("5xx x.y.z text", no CRLF) in *reply_r for the session to send as is.
 *
 * Standards: RFC 5321 (commands, Mailbox syntax, limits), 6531 (SMTPUTF8),
 * 3461 (DSN parameters, xtext), 1870 (SIZE), 6152 (8BITMIME), 3030
 * (BINARYMIME, BDAT), 4954 (AUTH= on MAIL).
 */
#ifndef TEM_SMTP_PARSER_H
#define TEM_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* RFC 5321 4.5.3.1: limits on the parts of a path, in octets. */
#define SMTP_PATH_MAX		256	/* "<" ... ">" inclusive */
#define SMTP_LOCALPART_MAX	64	/* enforced on RCPT; see smtp_parse_mail */
#define SMTP_DOMAIN_MAX		255
#define SMTP_LABEL_MAX		63
/* RFC 3461 4.4 / 5.4: longest ENVID and ORCPT values. */
#define SMTP_ENVID_MAX		100
#define SMTP_ORCPT_MAX		500

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

struct smtp_command {
	enum smtp_verb	 verb;
	/* Points into line just after the verb and its separating space(s);
	   "" when there are none. Trailing SP/HTAB are removed. */
	const char	*args;
	char		*line;	/* owned copy of the whole line, NUL-terminated */
};

/*
 * Parses one command line. line is len bytes WITHOUT its CRLF/LF and need
 * not be NUL-terminated; it is copied into cmd (release with
 * smtp_command_free). The verb is matched case-insensitively and must be
 * followed by a space or the end of the line.
 * Returns 0, or -1 with *reply_r set ("500 5.5.2 ..." for a NUL byte or an
 * unknown verb) and cmd left holding nothing to free (verb UNKNOWN, args
 * "").
 */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
    const char **reply_r);
/* Releases cmd's copy of the line; safe on a zeroed or failed command. */
void smtp_command_free(struct smtp_command *cmd);
/* The canonical upper-case name of a verb ("MAIL"; "UNKNOWN"). Static. */
const char *smtp_verb_name(enum smtp_verb verb);
/*
 * For verbs that take no argument (DATA, RSET, QUIT, STARTTLS): returns 0
 * when cmd->args is empty, else -1 with "501 5.5.4 Syntax: <VERB>" in
 * *reply_r. Other verbs always return 0.
 */
int smtp_command_check_no_args(const struct smtp_command *cmd,
    const char **reply_r);

/* DSN NOTIFY= bits (RFC 3461 4.1). */
#define SMTP_NOTIFY_NEVER	1u
#define SMTP_NOTIFY_SUCCESS	2u
#define SMTP_NOTIFY_FAILURE	4u
#define SMTP_NOTIFY_DELAY	8u

/* BODY= values (RFC 6152, 3030). */
#define SMTP_BODY_7BIT		7
#define SMTP_BODY_8BITMIME	8
#define SMTP_BODY_BINARYMIME	2

/* RET= values (RFC 3461 4.3). */
#define SMTP_RET_FULL		1
#define SMTP_RET_HDRS		2

struct smtp_path {
	bool	 null_path;	  /* MAIL FROM:<> */
	bool	 bare_postmaster; /* RCPT TO:<postmaster>, any case, no domain */
	bool	 had_route;	  /* @a,@b: source route seen and dropped */
	bool	 quoted;	  /* local part was a quoted-string */
	bool	 utf8;		  /* local part or domain holds non-ASCII */
	/* After success both are malloc'd and never NULL: "" and "" for the
	   null path, "<as sent>" and "" for a bare postmaster. localpart is
	   unquoted with escapes resolved, case preserved. It never holds
	   NUL, CR, LF or other controls, but a quoted one may hold '@', '"',
	   '/', "..", spaces: treat it as data, never as a file name.
	   domain is lower-cased (ASCII letters
	   only; UTF-8 bytes untouched), one trailing dot removed; an address
	   literal is kept as sent ("[192.0.2.1]", "[IPv6:2001:db8::1]"). */
	char	*localpart;
	char	*domain;
	/* ESMTP parameters, validated. */
	uint64_t size;		/* SIZE=, 0 when absent */
	int	 body;		/* 0 absent, SMTP_BODY_* */
	bool	 smtputf8;	/* SMTPUTF8 */
	bool	 requiretls;	/* REQUIRETLS (RFC 8689 2); the session
				   refuses it outside TLS */
	int	 ret;		/* 0 absent, SMTP_RET_* */
	char	*envid;		/* ENVID= as sent (xtext), or NULL */
	unsigned notify;	/* SMTP_NOTIFY_* bits, 0 when absent */
	char	*orcpt;		/* ORCPT= as sent ("rfc822;xtext"), or NULL */
	char	*auth;		/* AUTH= on MAIL as sent (xtext or "<>"), or NULL */
};

/*
 * Parses the arguments of MAIL: "FROM:<path> [params]". The keyword is
 * case-insensitive; one space after the colon is tolerated; angle brackets
 * are required. Parameters allowed: SIZE BODY SMTPUTF8 REQUIRETLS RET
 * ENVID AUTH.
 * A non-ASCII address is allowed only when SMTPUTF8 is among the params.
 * The local part of a sender is not held to 64 octets (forwarders' SRS and
 * VERP senders often exceed it; RFC 5321 4.5.3.1 asks for leniency); the
 * whole path still is to SMTP_PATH_MAX.
 * *p is overwritten (not freed first). Returns 0 and fills *p (release
 * with smtp_path_free), or -1 with *p zeroed and *reply_r one of:
 *   "501 5.5.4 Syntax: MAIL FROM:<address>"        no FROM:
 *   "501 5.1.7 Bad sender address syntax"
 *   "501 5.1.7 Address too long"
 *   "553 5.6.7 Non-ASCII address requires SMTPUTF8"
 *   "555 5.5.4 Unsupported parameter"               unknown / RCPT-only
 *   "501 5.5.4 Bad parameter value"
 *   "501 5.5.4 Duplicate parameter"
 */
int smtp_parse_mail(const char *args, struct smtp_path *p,
    const char **reply_r);
/*
 * Parses the arguments of RCPT: "TO:<path> [params]", as above with
 * parameters NOTIFY and ORCPT. utf8_ok: the transaction's MAIL carried
 * SMTPUTF8. "<>" is refused; "<postmaster>" (any case) sets
 * bare_postmaster. Replies use 5.1.3 instead of 5.1.7 and "RCPT TO:".
 */
int smtp_parse_rcpt(const char *args, bool utf8_ok, struct smtp_path *p,
    const char **reply_r);
/* Frees the strings of p and zeroes it; safe on a zeroed path. */
void smtp_path_free(struct smtp_path *p);
/*
 * The path as text for logs and headers: "local@domain", the local part
 * re-quoted (with \" and \\ escapes) only when it is not a Dot-string;
 * "postmaster" for a bare postmaster; "" for the null path. Caller frees.
 */
char *smtp_path_to_string(const struct smtp_path *p);

/*
 * Validates the argument of EHLO/HELO: a domain (letters, digits, '-' and,
 * as a concession to Windows host names, '_'; trailing dot allowed) or an
 * address literal. Returns 0, or -1 with "501 5.5.4 Syntax: EHLO hostname".
 */
int smtp_parse_helo(const char *args, const char **reply_r);
/*
 * Parses BDAT arguments "<size> [LAST]" (LAST case-insensitive). Returns 0
 * with *size_r and *last_r, or -1 with "501 5.5.4 Syntax: BDAT size [LAST]".
 */
int smtp_parse_bdat(const char *args, uint64_t *size_r, bool *last_r,
    const char **reply_r);

/*
 * xtext (RFC 3461 4): printable ASCII except '+' and '=' as is, anything
 * else as "+XX" (upper-case hex). smtp_xtext_valid: s is non-empty,
 * well-formed xtext. smtp_xtext_decode appends the decoded bytes of s[0..len)
 * to out; returns 0, or -1 when malformed or out is full.
 */
bool smtp_xtext_valid(const char *s, size_t len);
int smtp_xtext_decode(const char *s, size_t len, struct buf *out);

#endif
