/*
 * milter_proto - the I/O-free codec of the Sendmail/Postfix milter
 * protocol, version 6: encoders of the MTA->filter packets and a decoder
 * of the filter->MTA replies. The milter client (milter/milter_client.c)
 * does the I/O, the timeouts and the filter chain; nothing here logs,
 * allocates beyond the caller's bufs, or blocks.
 *
 * Trust: the replies come from a filter process the admin configured,
 * but a filter may be buggy, hostile or not a milter at all (the wrong
 * port): every reply is checked before a field is used. Limits: one reply
 * packet is at most MILTER_PKT_MAX octets; strings must be NUL-terminated
 * inside their packet; a decoded reply only points into the caller's
 * input. The encoders take tem's own, already checked values.
 *
 * Wire: every packet is a 4-octet big-endian length (counting the command
 * octet and data), one command octet, data. Strings are NUL-terminated.
 * Reference: sendmail's libmilter (mfdef.h, engine.c) and Postfix's
 * src/milter/milter8.c, whose encodings this follows octet for octet.
 */
#ifndef TEM_MILTER_PROTO_H
#define TEM_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct sockaddr;

#define MILTER_VERSION		6
#define MILTER_PKT_MAX		(1024 * 1024)	/* longest reply packet accepted */
#define MILTER_CHUNK		65535		/* largest body chunk sent */

/* MTA -> milter commands (SMFIC_*) */
#define SMFIC_ABORT	'A'
#define SMFIC_BODY	'B'
#define SMFIC_CONNECT	'C'
#define SMFIC_MACRO	'D'
#define SMFIC_BODYEOB	'E'
#define SMFIC_HELO	'H'
#define SMFIC_QUIT_NC	'K'
#define SMFIC_HEADER	'L'
#define SMFIC_MAIL	'M'
#define SMFIC_EOH	'N'
#define SMFIC_OPTNEG	'O'
#define SMFIC_QUIT	'Q'
#define SMFIC_RCPT	'R'
#define SMFIC_DATA	'T'
#define SMFIC_UNKNOWN	'U'

/* milter -> MTA replies (SMFIR_*) */
#define SMFIR_ADDRCPT	'+'
#define SMFIR_DELRCPT	'-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN	'4'
#define SMFIR_ACCEPT	'a'
#define SMFIR_REPLBODY	'b'
#define SMFIR_CONTINUE	'c'
#define SMFIR_DISCARD	'd'
#define SMFIR_CHGFROM	'e'
#define SMFIR_CONN_FAIL	'f'
#define SMFIR_ADDHEADER	'h'
#define SMFIR_INSHEADER	'i'
#define SMFIR_SETSYMLIST 'l'
#define SMFIR_CHGHEADER	'm'
#define SMFIR_PROGRESS	'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT	'r'
#define SMFIR_SKIP	's'
#define SMFIR_TEMPFAIL	't'
#define SMFIR_REPLYCODE	'y'
#define SMFIR_OPTNEG	'O'

/* action flags (SMFIF_*) and protocol flags (SMFIP_*): libmilter's values */
#define SMFIF_ADDHDRS	0x001
#define SMFIF_CHGBODY	0x002
#define SMFIF_ADDRCPT	0x004
#define SMFIF_DELRCPT	0x008
#define SMFIF_CHGHDRS	0x010
#define SMFIF_QUARANTINE 0x020
#define SMFIF_CHGFROM	0x040
#define SMFIF_ADDRCPT_PAR 0x080
#define SMFIF_SETSYMLIST 0x100
#define SMFIP_NOCONNECT	0x000001
#define SMFIP_NOHELO	0x000002
#define SMFIP_NOMAIL	0x000004
#define SMFIP_NORCPT	0x000008
#define SMFIP_NOBODY	0x000010
#define SMFIP_NOHDRS	0x000020
#define SMFIP_NOEOH	0x000040
#define SMFIP_NR_HDR	0x000080
#define SMFIP_NOUNKNOWN	0x000100
#define SMFIP_NODATA	0x000200
#define SMFIP_SKIP	0x000400
#define SMFIP_RCPT_REJ	0x000800
#define SMFIP_NR_CONN	0x001000
#define SMFIP_NR_HELO	0x002000
#define SMFIP_NR_MAIL	0x004000
#define SMFIP_NR_RCPT	0x008000
#define SMFIP_NR_DATA	0x010000
#define SMFIP_NR_UNKN	0x020000
#define SMFIP_NR_EOH	0x040000
#define SMFIP_NR_BODY	0x080000
#define SMFIP_HDR_LEADSPC 0x100000
/* what tem offers at negotiation */
#define MILTER_ACTIONS_ALL	0x1ff
#define MILTER_PROTO_ALL	0x1fffff

/* macro stages of SETSYMLIST and OPTNEG's macro lists (SMFIM_*) */
#define SMFIM_CONNECT	0
#define SMFIM_HELO	1
#define SMFIM_ENVFROM	2
#define SMFIM_ENVRCPT	3
#define SMFIM_DATA	4
#define SMFIM_EOM	5
#define SMFIM_EOH	6

/* Encoders: each appends exactly one packet to out (util/buf.h), which
 * must have no maximum (asserted: half a packet would desynchronise the
 * stream). Strings are sent up to their NUL; the caller passes what the
 * milter should see (e.g. a header value with or without its leading
 * space, per SMFIP_HDR_LEADSPC). */
void milter_put_optneg(struct buf *out, uint32_t version, uint32_t actions,
    uint32_t protocol);
/* SMFIC_MACRO for the stage cmd (SMFIC_CONNECT, _HELO, _MAIL, _RCPT,
 * _DATA, _EOH, _BODYEOB): n name/value pairs, kv[2i] = name ("j",
 * "{daemon_name}", "i", "{auth_authen}" ...), kv[2i+1] = value. */
void milter_put_macros(struct buf *out, char cmd, const char *const *kv,
    size_t n);
/* host: the client's name or "[ip]"; sa: its address (AF_INET, AF_INET6,
 * or NULL/AF_UNIX -> family 'U'/'L' as libmilter defines), port in host
 * order on the wire as libmilter expects (network order u16). */
void milter_put_connect(struct buf *out, const char *host,
    const struct sockaddr *sa);
void milter_put_helo(struct buf *out, const char *helo);
/* args[0] is "<sender>" / "<rcpt>" with the angle brackets, then the ESMTP
 * parameters "SIZE=123" ... each its own NUL-terminated string. */
void milter_put_mail(struct buf *out, const char *const *args, size_t n);
void milter_put_rcpt(struct buf *out, const char *const *args, size_t n);
void milter_put_header(struct buf *out, const char *name, const char *value);
/* DATA, EOH, BODYEOB, ABORT, QUIT, QUIT_NC: a packet with no data. */
void milter_put_simple(struct buf *out, char cmd);
/* n <= MILTER_CHUNK; the body as the milter sees it: CRLF line ends. */
void milter_put_body(struct buf *out, const char *p, size_t n);

/* One decoded reply. Pointers point into the input given to
 * milter_get_reply and live as long as it does. */
struct milter_reply {
	char		 code;		/* SMFIR_* */
	const char	*str1;		/* ADDRCPT/DELRCPT/ADDRCPT_PAR: rcpt;
					   CHGFROM: sender; ADD/INS/CHGHEADER:
					   name; QUARANTINE: reason;
					   REPLYCODE: the whole reply text */
	const char	*str2;		/* ADDRCPT_PAR/CHGFROM: ESMTP args or
					   NULL; headers: value */
	uint32_t	 index;		/* INSHEADER/CHGHEADER */
	const char	*data;		/* REPLBODY bytes (CRLF as sent) */
	size_t		 len;
	uint32_t	 version, actions, protocol;	/* OPTNEG; data/len:
					   the macro lists after them
					   (milter_optneg_symlist) */
	uint32_t	 symlist_stage;	/* SETSYMLIST: stage, str1: macro list */
};
/* Decodes one packet from p[0..len). Returns 1 and sets *used when one
 * reply was decoded, 0 when more bytes are needed, -1 when the input is
 * malformed (length 0 or > MILTER_PKT_MAX, unknown code, missing NULs,
 * short fixed fields) with a static reason in *err. Never reads past
 * len.
 * Beyond that: data after the last field is malformed ("trailing data";
 * only REPLBODY and OPTNEG's macro lists run to the packet's end); an
 * empty recipient, sender or header name is malformed; the length and the
 * code are judged as soon as they arrive (a peer that is no milter fails
 * at once, not at a timeout). On 0 and -1 *r is zeroed, *used untouched.
 * What a reply means at a stage (e.g. REPLBODY only at end of message) is
 * the client's to check. */
int milter_get_reply(const char *p, size_t len, size_t *used,
    struct milter_reply *r, const char **err);

/* A SMFIR_REPLYCODE text ("554 5.7.1 Spam message rejected", possibly
 * multi-line "550-5.7.1 a\r\n550 5.7.1 b"): checks the code is 4xx or 5xx
 * (and consistent across lines), and returns it, the enhanced status
 * (or NULL) and the text, copied into out-params owned by the caller
 * (buf). 0 ok, -1 invalid (then the milter's reply is treated as garbage).
 * Details: status and msg are reset first (either may be NULL); status
 * stays empty (len 0) when the first line has none; msg holds each line's
 * text after its code and status, lines joined by CRLF. Each line is read
 * after Sendmail's format-string convention is undone ("%%" is '%', a
 * lone '%' is dropped, as Postfix does), so send milter_replycode_format's
 * output, not the raw text. A status must be of the reply's class
 * ("550 4.7.1" is invalid) and, once the first line has one, the same on
 * every line that has one. Limits: at most
 * MILTER_REPLY_LINES_MAX lines of MILTER_REPLY_LINE_MAX octets of text;
 * no control character but TAB; nothing after the last line (libmilter
 * never sends a final CRLF). */
#define MILTER_REPLY_LINE_MAX	980	/* libmilter's MAXREPLYLEN */
#define MILTER_REPLY_LINES_MAX	32	/* libmilter's MAXREPLIES */
int milter_replycode_parse(const char *text, int *code, struct buf *status,
    struct buf *msg);

/* Helpers beyond the contract. */

/* The reply milter_replycode_parse took apart, as tem sends it: every line
 * "code-status text" ("code status text" for the last), the status on
 * each line when there is one, lines joined by CRLF, no final CRLF, '%'
 * as it is meant. Appends to out. */
void milter_replycode_format(int code, const char *status, const char *msg,
    struct buf *out);

/* SMFIC_UNKNOWN: an SMTP command line tem does not know, without CRLF. */
void milter_put_unknown(struct buf *out, const char *line);
/* The macro lists an OPTNEG reply may carry after its three fields
 * (milter_reply.data/len, already checked by milter_get_reply): call with
 * p = &r.data, len = &r.len; 1 and one (stage SMFIM_*, space-separated
 * macro names) per call, 0 at the end, -1 if malformed. */
int milter_optneg_symlist(const char **p, size_t *len, uint32_t *stage,
    const char **list);
/* For log lines: a short lower-case name of a reply code ("accept",
 * "replycode" ...) or of a command ("connect", "body", "eom" ...); "?"
 * for anything else. Static strings. */
const char *milter_reply_name(char code);
const char *milter_cmd_name(char cmd);

#endif
