/*
 * milter_proto - the milter protocol codec (see milter_proto.h).
 *
 * Trust: the decoder reads untrusted replies from a filter process: the
 * packet length is checked against MILTER_PKT_MAX before anything else,
 * every fixed field against the packet's end and every string for its
 * NUL inside the packet; nothing is copied. The encoders take tem's own
 * values and append to an unbounded buf. Called by the milter client and
 * fuzz/fuzz-milter.c; the reply-code parser is in milter_replycode.c.
 *
 * Encodings follow Postfix's milter8.c and libmilter's engine.c octet for
 * octet: 32-bit fields big-endian, the CONNECT port a big-endian 16-bit
 * field, strings NUL-terminated, the body chunk raw.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "milter/milter_proto.h"
#include "util/buf.h"
#include "util/log.h"

/* Connect families (SMFIA_*), as libmilter names them. */
#define SMFIA_UNKNOWN	'U'
#define SMFIA_UNIX	'L'
#define SMFIA_INET	'4'
#define SMFIA_INET6	'6'

/* --- encoding ----------------------------------------------------------- */

static void
put_u32(struct buf *out, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_append(out, b, sizeof(b));
}

/* A string and its NUL. */
static void
put_str(struct buf *out, const char *s)
{
	buf_append(out, s, strlen(s) + 1);
}

/* Starts a packet: room for the length, the command; returns where the
   packet starts, for pkt_end. */
static size_t
pkt_begin(struct buf *out, char cmd)
{
	size_t start = out->len;

	/* a bounded buf could take half a packet and desynchronise the
	   stream: the client's output buffer has no maximum */
	TEM_ASSERT(out->max == 0);
	put_u32(out, 0);
	buf_putc(out, cmd);
	return start;
}

/* Fills in the length of the packet started at start. */
static void
pkt_end(struct buf *out, size_t start)
{
	size_t n = out->len - start - 4;
	unsigned char *p = (unsigned char *)out->data + start;

	TEM_ASSERT(n >= 1 && n <= UINT32_MAX);
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

void
milter_put_optneg(struct buf *out, uint32_t version, uint32_t actions,
    uint32_t protocol)
{
	size_t start = pkt_begin(out, SMFIC_OPTNEG);

	put_u32(out, version);
	put_u32(out, actions);
	put_u32(out, protocol);
	pkt_end(out, start);
}

void
milter_put_macros(struct buf *out, char cmd, const char *const *kv, size_t n)
{
	size_t start = pkt_begin(out, SMFIC_MACRO);

	buf_putc(out, cmd);
	for (size_t i = 0; i < 2 * n; i++)
		put_str(out, kv[i]);
	pkt_end(out, start);
}

static void
put_port(struct buf *out, uint16_t port_host_order)
{
	unsigned char b[2] = { port_host_order >> 8, port_host_order };

	buf_append(out, b, sizeof(b));
}

/* family, port and address text of an internet address; an IPv4 address
   mapped into IPv6 goes as IPv4, as Postfix's smtpd normalises it */
static void
put_inet(struct buf *out, const struct sockaddr *sa)
{
	char text[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		buf_putc(out, SMFIA_INET);
		put_port(out, ntohs(sin->sin_port));
	} else {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], text,
			    sizeof(text));
			buf_putc(out, SMFIA_INET);
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, text,
			    sizeof(text));
			buf_putc(out, SMFIA_INET6);
		}
		put_port(out, ntohs(sin6->sin6_port));
	}
	put_str(out, text);
}

void
milter_put_connect(struct buf *out, const char *host,
    const struct sockaddr *sa)
{
	size_t start = pkt_begin(out, SMFIC_CONNECT);
	const struct sockaddr_un *sun;

	put_str(out, host);
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6)) {
		put_inet(out, sa);
	} else if (sa != NULL && sa->sa_family == AF_UNIX) {
		/* Postfix: 'L', port 0, the socket's path */
		sun = (const struct sockaddr_un *)(const void *)sa;
		buf_putc(out, SMFIA_UNIX);
		put_port(out, 0);
		buf_append(out, sun->sun_path, strnlen(sun->sun_path,
		    sizeof(sun->sun_path)));
		buf_putc(out, '\0');
	} else {
		/* unknown: the family alone, no port, no address */
		buf_putc(out, SMFIA_UNKNOWN);
	}
	pkt_end(out, start);
}

void
milter_put_helo(struct buf *out, const char *helo)
{
	size_t start = pkt_begin(out, SMFIC_HELO);

	put_str(out, helo);
	pkt_end(out, start);
}

static void
put_args(struct buf *out, char cmd, const char *const *args, size_t n)
{
	size_t start = pkt_begin(out, cmd);

	for (size_t i = 0; i < n; i++)
		put_str(out, args[i]);
	pkt_end(out, start);
}

void
milter_put_mail(struct buf *out, const char *const *args, size_t n)
{
	put_args(out, SMFIC_MAIL, args, n);
}

void
milter_put_rcpt(struct buf *out, const char *const *args, size_t n)
{
	put_args(out, SMFIC_RCPT, args, n);
}

void
milter_put_unknown(struct buf *out, const char *line)
{
	put_args(out, SMFIC_UNKNOWN, &line, 1);
}

void
milter_put_header(struct buf *out, const char *name, const char *value)
{
	size_t start = pkt_begin(out, SMFIC_HEADER);

	put_str(out, name);
	put_str(out, value);
	pkt_end(out, start);
}

void
milter_put_simple(struct buf *out, char cmd)
{
	pkt_end(out, pkt_begin(out, cmd));
}

void
milter_put_body(struct buf *out, const char *p, size_t n)
{
	size_t start;

	TEM_ASSERT(n <= MILTER_CHUNK);
	start = pkt_begin(out, SMFIC_BODY);
	buf_append(out, p, n);
	pkt_end(out, start);
}

/* --- decoding ----------------------------------------------------------- */

/* A cursor over one packet's data. */
struct rd {
	const char	*p;
	size_t		 left;
	const char	*err;
};

static uint32_t
get_u32_at(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | u[3];
}

static bool
rd_u32(struct rd *rd, uint32_t *v)
{
	if (rd->left < 4) {
		rd->err = "short fixed field";
		return false;
	}
	*v = get_u32_at(rd->p);
	rd->p += 4;
	rd->left -= 4;
	return true;
}

/* A NUL-terminated string inside the packet. */
static bool
rd_str(struct rd *rd, const char **s)
{
	const char *nul = memchr(rd->p, '\0', rd->left);

	if (nul == NULL) {
		rd->err = rd->left == 0 ? "missing string" :
		    "string without NUL";
		return false;
	}
	*s = rd->p;
	rd->left -= (size_t)(nul + 1 - rd->p);
	rd->p = nul + 1;
	return true;
}

/* A non-empty string (a header name, an address). */
static bool
rd_name(struct rd *rd, const char **s)
{
	if (!rd_str(rd, s))
		return false;
	if (**s == '\0') {
		rd->err = "empty name";
		return false;
	}
	return true;
}

static bool
rd_end(struct rd *rd)
{
	if (rd->left != 0) {
		rd->err = "trailing data";
		return false;
	}
	return true;
}

/* OPTNEG's tail: (stage u32, macro list string)* up to the end. */
static bool
rd_symlists(struct rd *rd)
{
	struct rd t = *rd;
	uint32_t stage;
	const char *list;

	while (t.left > 0)
		if (!rd_u32(&t, &stage) || !rd_str(&t, &list)) {
			rd->err = "bad macro list";
			return false;
		}
	return true;
}

static bool
decode(char code, struct rd *rd, struct milter_reply *r)
{
	switch (code) {
	case SMFIR_ACCEPT: case SMFIR_CONTINUE: case SMFIR_DISCARD:
	case SMFIR_REJECT: case SMFIR_TEMPFAIL: case SMFIR_SKIP:
	case SMFIR_PROGRESS: case SMFIR_SHUTDOWN: case SMFIR_CONN_FAIL:
		return rd_end(rd);
	case SMFIR_ADDRCPT: case SMFIR_DELRCPT:
		return rd_name(rd, &r->str1) && rd_end(rd);
	case SMFIR_ADDRCPT_PAR: case SMFIR_CHGFROM:
		if (!rd_name(rd, &r->str1))
			return false;
		return rd->left == 0 || (rd_str(rd, &r->str2) && rd_end(rd));
	case SMFIR_QUARANTINE: case SMFIR_REPLYCODE:
		return rd_str(rd, &r->str1) && rd_end(rd);
	case SMFIR_ADDHEADER:
		return rd_name(rd, &r->str1) && rd_str(rd, &r->str2) &&
		    rd_end(rd);
	case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
		return rd_u32(rd, &r->index) && rd_name(rd, &r->str1) &&
		    rd_str(rd, &r->str2) && rd_end(rd);
	case SMFIR_REPLBODY:
		r->data = rd->p;
		r->len = rd->left;
		return true;
	case SMFIR_SETSYMLIST:
		return rd_u32(rd, &r->symlist_stage) && rd_str(rd, &r->str1) &&
		    rd_end(rd);
	case SMFIR_OPTNEG:
		if (!rd_u32(rd, &r->version) || !rd_u32(rd, &r->actions) ||
		    !rd_u32(rd, &r->protocol) || !rd_symlists(rd))
			return false;
		r->data = rd->p;
		r->len = rd->left;
		return true;
	default:
		rd->err = "unknown reply code";
		return false;
	}
}

static bool
reply_known(char code)
{
	static const char codes[] = "+-24abcdefhilmpqrstyO";

	return memchr(codes, code, sizeof(codes) - 1) != NULL;
}

int
milter_get_reply(const char *p, size_t len, size_t *used,
    struct milter_reply *r, const char **err)
{
	struct rd rd = { NULL, 0, NULL };
	uint32_t n;

	memset(r, 0, sizeof(*r));
	*err = NULL;
	if (len < 4)
		return 0;
	n = get_u32_at(p);
	if (n == 0 || n > MILTER_PKT_MAX) {
		*err = n == 0 ? "packet length 0" : "packet too long";
		return -1;
	}
	/* the code is judged as soon as it arrives: a peer that is no
	   milter at all fails at once, not after a timeout */
	if (len > 4 && !reply_known(p[4])) {
		*err = "unknown reply code";
		return -1;
	}
	if (len - 4 < n)
		return 0;
	r->code = p[4];
	rd.p = p + 5;
	rd.left = n - 1;
	if (!decode(r->code, &rd, r)) {
		*err = rd.err;
		memset(r, 0, sizeof(*r));
		return -1;
	}
	*used = 4 + (size_t)n;
	return 1;
}

int
milter_optneg_symlist(const char **p, size_t *len, uint32_t *stage,
    const char **list)
{
	struct rd rd = { *p, *len, NULL };

	if (rd.left == 0)
		return 0;
	if (!rd_u32(&rd, stage) || !rd_str(&rd, list))
		return -1;
	*p = rd.p;
	*len = rd.left;
	return 1;
}

/* --- names for log lines ------------------------------------------------ */

const char *
milter_reply_name(char code)
{
	switch (code) {
	case SMFIR_ADDRCPT:	return "addrcpt";
	case SMFIR_DELRCPT:	return "delrcpt";
	case SMFIR_ADDRCPT_PAR:	return "addrcpt_par";
	case SMFIR_SHUTDOWN:	return "shutdown";
	case SMFIR_ACCEPT:	return "accept";
	case SMFIR_REPLBODY:	return "replbody";
	case SMFIR_CONTINUE:	return "continue";
	case SMFIR_DISCARD:	return "discard";
	case SMFIR_CHGFROM:	return "chgfrom";
	case SMFIR_CONN_FAIL:	return "conn_fail";
	case SMFIR_ADDHEADER:	return "addheader";
	case SMFIR_INSHEADER:	return "insheader";
	case SMFIR_SETSYMLIST:	return "setsymlist";
	case SMFIR_CHGHEADER:	return "chgheader";
	case SMFIR_PROGRESS:	return "progress";
	case SMFIR_QUARANTINE:	return "quarantine";
	case SMFIR_REJECT:	return "reject";
	case SMFIR_SKIP:	return "skip";
	case SMFIR_TEMPFAIL:	return "tempfail";
	case SMFIR_REPLYCODE:	return "replycode";
	case SMFIR_OPTNEG:	return "optneg";
	default:		return "?";
	}
}

const char *
milter_cmd_name(char cmd)
{
	switch (cmd) {
	case SMFIC_ABORT:	return "abort";
	case SMFIC_BODY:	return "body";
	case SMFIC_CONNECT:	return "connect";
	case SMFIC_MACRO:	return "macro";
	case SMFIC_BODYEOB:	return "eom";
	case SMFIC_HELO:	return "helo";
	case SMFIC_QUIT_NC:	return "quit_nc";
	case SMFIC_HEADER:	return "header";
	case SMFIC_MAIL:	return "mail";
	case SMFIC_EOH:		return "eoh";
	case SMFIC_OPTNEG:	return "optneg";
	case SMFIC_QUIT:	return "quit";
	case SMFIC_RCPT:	return "rcpt";
	case SMFIC_DATA:	return "data";
	case SMFIC_UNKNOWN:	return "unknown";
	default:		return "?";
	}
}
