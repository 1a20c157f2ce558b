/*
 * smtp_parser - SMTP command lines, paths and ESMTP parameters (see
 * smtp_parser.h for the contract).
 *
 * Trust: untrusted network input, parsed before authentication. Pure
 * functions: no I/O, no globals, no logging. Allocations are bounded by the
 * caller's line length; the only fixed array (an address literal handed to
 * inet_pton) is filled after a length check.
 *
 * Addresses follow RFC 5321 4.1.2 strictly: angle brackets required, a
 * source route is parsed and dropped (4.1.1.3), the local part is a
 * Dot-string or a Quoted-string, the domain is LDH labels or an address
 * literal. RFC 6531 adds UTF-8 in atoms, quoted strings and labels; such
 * bytes must be well-formed UTF-8 and set p->utf8, and the caller is told
 * with a 553 when the client did not ask for SMTPUTF8. Anything the grammar
 * does not allow is refused rather than guessed at: relay and alias
 * decisions are taken later on localpart/domain, so what we accept here
 * must have exactly one meaning.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_parser.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static const char REPLY_NUL[] = "500 5.5.2 Syntax error, NUL byte in command";
static const char REPLY_UNKNOWN[] =
    "500 5.5.2 Syntax error, command unrecognized";
static const char REPLY_MAIL_SYNTAX[] = "501 5.5.4 Syntax: MAIL FROM:<address>";
static const char REPLY_RCPT_SYNTAX[] = "501 5.5.4 Syntax: RCPT TO:<address>";
static const char REPLY_MAIL_ADDR[] = "501 5.1.7 Bad sender address syntax";
static const char REPLY_RCPT_ADDR[] = "501 5.1.3 Bad recipient address syntax";
static const char REPLY_MAIL_LONG[] = "501 5.1.7 Address too long";
static const char REPLY_RCPT_LONG[] = "501 5.1.3 Address too long";
static const char REPLY_UTF8[] =
    "553 5.6.7 Non-ASCII address requires SMTPUTF8";
static const char REPLY_PARAM_UNKNOWN[] = "555 5.5.4 Unsupported parameter";
static const char REPLY_PARAM_VALUE[] = "501 5.5.4 Bad parameter value";
static const char REPLY_PARAM_DUP[] = "501 5.5.4 Duplicate parameter";
static const char REPLY_HELO[] = "501 5.5.4 Syntax: EHLO hostname";
static const char REPLY_BDAT[] = "501 5.5.4 Syntax: BDAT size [LAST]";

/* Length of the well-formed UTF-8 sequence at NUL-terminated s, or 0 (a
   sequence never holds NUL, so at most 4 octets before one are read). */
static size_t
utf8_seq_len(const unsigned char *s)
{
	uint32_t cp;

	return utf8_decode((const char *)s, strnlen((const char *)s, 4), &cp);
}

/* ------------------------------------------------------------------ */
/* Commands                                                             */

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
	const char	*no_args_reply;	/* non-NULL: takes no argument */
} verbs[] = {
	{ "HELO", SMTP_VERB_HELO, NULL },
	{ "EHLO", SMTP_VERB_EHLO, NULL },
	{ "MAIL", SMTP_VERB_MAIL, NULL },
	{ "RCPT", SMTP_VERB_RCPT, NULL },
	{ "DATA", SMTP_VERB_DATA, "501 5.5.4 Syntax: DATA" },
	{ "BDAT", SMTP_VERB_BDAT, NULL },
	{ "RSET", SMTP_VERB_RSET, "501 5.5.4 Syntax: RSET" },
	{ "NOOP", SMTP_VERB_NOOP, NULL },
	{ "QUIT", SMTP_VERB_QUIT, "501 5.5.4 Syntax: QUIT" },
	{ "VRFY", SMTP_VERB_VRFY, NULL },
	{ "EXPN", SMTP_VERB_EXPN, NULL },
	{ "HELP", SMTP_VERB_HELP, NULL },
	{ "STARTTLS", SMTP_VERB_STARTTLS, "501 5.5.4 Syntax: STARTTLS" },
	{ "AUTH", SMTP_VERB_AUTH, NULL },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

int
smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
    const char **reply_r)
{
	size_t vlen, i, end;

	memset(cmd, 0, sizeof(*cmd));
	cmd->args = "";
	if (memchr(line, '\0', len) != NULL) {
		*reply_r = REPLY_NUL;
		return -1;
	}
	for (end = len; end > 0 && (line[end - 1] == ' ' ||
	    line[end - 1] == '\t'); end--)
		;
	for (vlen = 0; vlen < end && line[vlen] != ' '; vlen++)
		;
	for (i = 0; i < NVERBS; i++)
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(verbs[i].name, line, vlen) == 0)
			break;
	if (i == NVERBS) {
		*reply_r = REPLY_UNKNOWN;
		return -1;
	}
	cmd->line = xmalloc(end + 1);
	memcpy(cmd->line, line, end);
	cmd->verb = verbs[i].verb;
	while (vlen < end && cmd->line[vlen] == ' ')
		vlen++;
	cmd->args = cmd->line + vlen;
	return 0;
}

void
smtp_command_free(struct smtp_command *cmd)
{
	XFREE(&cmd->line);
	cmd->args = "";
	cmd->verb = SMTP_VERB_UNKNOWN;
}

const char *
smtp_verb_name(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "UNKNOWN";
}

int
smtp_command_check_no_args(const struct smtp_command *cmd,
    const char **reply_r)
{
	size_t i;

	for (i = 0; i < NVERBS; i++) {
		if (verbs[i].verb != cmd->verb)
			continue;
		if (verbs[i].no_args_reply == NULL || cmd->args[0] == '\0')
			return 0;
		*reply_r = verbs[i].no_args_reply;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Character classes and UTF-8                                          */

static bool
is_atext(unsigned char c)
{
	return c != '\0' && isascii(c) && (isalnum(c) ||
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_alnum(unsigned char c)
{
	return isascii(c) && isalnum(c);
}

/* ------------------------------------------------------------------ */
/* xtext (RFC 3461 4)                                                   */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')	/* RFC 3461 says upper; be kind */
		return c - 'a' + 10;
	return -1;
}

/* Decodes one xtext unit at s[i]; returns its length (1 or 3) and the byte
   in *c, or 0 when malformed. */
static size_t
xtext_unit(const char *s, size_t len, size_t i, unsigned char *c)
{
	unsigned char ch = (unsigned char)s[i];
	int h, l;

	if (ch == '+') {
		if (i + 2 >= len)
			return 0;
		h = hexval((unsigned char)s[i + 1]);
		l = hexval((unsigned char)s[i + 2]);
		if (h < 0 || l < 0)
			return 0;
		*c = (unsigned char)(h * 16 + l);
		return 3;
	}
	if (ch < 33 || ch > 126 || ch == '=')
		return 0;
	*c = ch;
	return 1;
}

bool
smtp_xtext_valid(const char *s, size_t len)
{
	size_t i = 0, n;
	unsigned char c;

	if (len == 0)
		return false;
	while (i < len) {
		n = xtext_unit(s, len, i, &c);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

int
smtp_xtext_decode(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, n;
	unsigned char c;

	while (i < len) {
		n = xtext_unit(s, len, i, &c);
		if (n == 0 || buf_putc(out, (char)c) < 0)
			return -1;
		i += n;
	}
	return 0;
}

/* The decoded xtext holds only printable ASCII (no controls, no CR/LF that
   could end up in a DSN or a header). */
static bool
xtext_printable(const char *s, size_t len)
{
	struct buf b;
	size_t i;
	bool ok;

	buf_init(&b, len);
	ok = smtp_xtext_valid(s, len) && smtp_xtext_decode(s, len, &b) == 0;
	for (i = 0; ok && i < b.len; i++)
		if ((unsigned char)b.data[i] < 32 ||
		    (unsigned char)b.data[i] > 126)
			ok = false;
	buf_free(&b);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Domains and address literals                                         */

struct domain_opts {
	bool	allow_utf8;
	bool	allow_underscore;
	bool	allow_trailing_dot;
};

/* One label at *sp: let-dig [ldh-str], UTF-8 counting as a letter. Returns
   its length in octets, or 0 when there is none or it is malformed.
   *utf8_r is set when it held non-ASCII. */
static size_t
parse_label(const char **sp, const struct domain_opts *o, bool *utf8_r)
{
	const unsigned char *s = (const unsigned char *)*sp;
	size_t i = 0, n;
	bool last_hyphen = false;

	for (;;) {
		if (is_alnum(s[i]) || (o->allow_underscore && s[i] == '_')) {
			last_hyphen = false;
			i++;
		} else if (s[i] == '-' && i > 0) {
			last_hyphen = true;
			i++;
		} else if (s[i] >= 0x80 && o->allow_utf8 &&
		    (n = utf8_seq_len(s + i)) > 0) {
			*utf8_r = true;
			last_hyphen = false;
			i += n;
		} else
			break;
	}
	if (i == 0 || last_hyphen || i > SMTP_LABEL_MAX)
		return 0;
	*sp += i;
	return i;
}

/* Domain = sub-domain *("." sub-domain). On success advances *sp past it
   (and past an allowed trailing dot) and returns the length without that
   dot; returns 0 when malformed or longer than SMTP_DOMAIN_MAX. */
static size_t
parse_domain(const char **sp, const struct domain_opts *o, bool *utf8_r)
{
	const char *s = *sp;
	size_t len;

	for (;;) {
		if (parse_label(&s, o, utf8_r) == 0)
			return 0;
		if (*s != '.')
			break;
		s++;
		if (o->allow_trailing_dot && (*s == '\0' || *s == '>' ||
		    *s == ' ')) {
			len = (size_t)(s - 1 - *sp);
			goto done;
		}
	}
	len = (size_t)(s - *sp);
done:
	if (len > SMTP_DOMAIN_MAX)
		return 0;
	*sp = s;
	return len;
}

/* Snum "." Snum "." Snum "." Snum, Snum = 1*3DIGIT with value <= 255. */
static bool
valid_ipv4(const char *s, size_t len)
{
	size_t i = 0, digits;
	int parts, val;

	for (parts = 0; parts < 4; parts++) {
		if (parts > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		val = 0;
		for (digits = 0; i < len && isdigit((unsigned char)s[i]) &&
		    digits < 3; digits++, i++)
			val = val * 10 + (s[i] - '0');
		if (digits == 0 || val > 255)
			return false;
	}
	return i == len;
}

static bool
valid_ipv6(const char *s, size_t len)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* "[" (IPv4 / "IPv6:" IPv6) "]" at *sp; advances past it. General address
   literals (RFC 5321 4.1.3) have no registered tags and are refused. */
static size_t
parse_address_literal(const char **sp)
{
	const char *s = *sp, *close;
	size_t len;

	if (*s != '[')
		return 0;
	close = strchr(s, ']');
	if (close == NULL)
		return 0;
	len = (size_t)(close - s - 1);
	if (!valid_ipv4(s + 1, len) && !(len > 5 &&
	    strncasecmp(s + 1, "IPv6:", 5) == 0 && valid_ipv6(s + 6, len - 5)))
		return 0;
	*sp = close + 1;
	return len + 2;
}

/* ------------------------------------------------------------------ */
/* Paths                                                                */

static int
parse_quoted(const char **sp, struct buf *lp, bool *utf8_r)
{
	const unsigned char *s = (const unsigned char *)*sp + 1;
	size_t n;

	for (;;) {
		if (*s == '"')
			break;
		if (*s == '\\' && s[1] >= 32 && s[1] <= 126) {
			buf_putc(lp, (char)s[1]);
			s += 2;
		} else if (*s >= 32 && *s <= 126 && *s != '\\') {
			buf_putc(lp, (char)*s++);
		} else if (*s >= 0x80 && (n = utf8_seq_len(s)) > 0) {
			buf_append(lp, s, n);
			*utf8_r = true;
			s += n;
		} else
			return -1;
	}
	*sp = (const char *)s + 1;
	return 0;
}

static int
parse_dot_string(const char **sp, struct buf *lp, bool *utf8_r)
{
	const unsigned char *s = (const unsigned char *)*sp;
	size_t n, atom;

	for (;;) {
		for (atom = 0;; atom++) {
			if (is_atext(*s)) {
				buf_putc(lp, (char)*s++);
			} else if (*s >= 0x80 && (n = utf8_seq_len(s)) > 0) {
				buf_append(lp, s, n);
				*utf8_r = true;
				s += n;
			} else
				break;
		}
		if (atom == 0)
			return -1;
		if (*s != '.')
			break;
		buf_putc(lp, (char)*s++);
	}
	*sp = (const char *)s;
	return 0;
}

/* A-d-l ":" — each At-domain a plain domain, no literal (RFC 5321 4.1.2). */
static int
parse_route(const char **sp)
{
	static const struct domain_opts o = { true, false, false };
	const char *s = *sp;
	bool utf8 = false;

	for (;;) {
		if (*s++ != '@' || parse_domain(&s, &o, &utf8) == 0)
			return -1;
		if (*s == ':')
			break;
		if (*s++ != ',')
			return -1;
	}
	*sp = s + 1;
	return 0;
}

enum path_result { PATH_OK, PATH_SYNTAX, PATH_TOO_LONG };

struct path_ctx {
	bool		is_mail;
	struct buf	lp;
};

static enum path_result
parse_mailbox_domain(const char **sp, struct smtp_path *p)
{
	static const struct domain_opts o = { true, false, true };
	const char *start = *sp;
	size_t len;

	if (*start == '[')
		len = parse_address_literal(sp);
	else
		len = parse_domain(sp, &o, &p->utf8);
	if (len == 0)
		return PATH_SYNTAX;
	p->domain = xstrndup(start, len);
	if (*start != '[') {
		for (char *c = p->domain; *c != '\0'; c++)
			if (isascii((unsigned char)*c))
				*c = (char)tolower((unsigned char)*c);
	}
	return PATH_OK;
}

static bool
is_bare_postmaster(const char *lp_start, const char *s, bool is_mail,
    bool quoted, bool route)
{
	return !is_mail && !quoted && !route && *s == '>' &&
	    s - lp_start == 10 && strncasecmp(lp_start, "postmaster", 10) == 0;
}

/* "<" [ A-d-l ":" ] Mailbox ">" or "<>" at *sp; advances past the ">". */
static enum path_result
parse_path(const char **sp, struct path_ctx *ctx, struct smtp_path *p)
{
	const char *start = *sp, *s = *sp + 1, *lp_start, *lp_end;
	int r;

	if (*start != '<')
		return PATH_SYNTAX;
	if (*s == '>') {
		p->null_path = true;
		p->localpart = xstrdup("");
		p->domain = xstrdup("");
		*sp = s + 1;
		return PATH_OK;
	}
	if (*s == '@') {
		if (parse_route(&s) < 0)
			return PATH_SYNTAX;
		p->had_route = true;
	}
	lp_start = s;
	p->quoted = *s == '"';
	r = p->quoted ? parse_quoted(&s, &ctx->lp, &p->utf8) :
	    parse_dot_string(&s, &ctx->lp, &p->utf8);
	if (r < 0)
		return PATH_SYNTAX;
	lp_end = s;
	p->localpart = buf_steal(&ctx->lp, NULL);
	if (is_bare_postmaster(lp_start, s, ctx->is_mail, p->quoted,
	    p->had_route)) {
		p->bare_postmaster = true;
		p->domain = xstrdup("");
	} else if (*s++ != '@' || parse_mailbox_domain(&s, p) != PATH_OK)
		return PATH_SYNTAX;
	if (*s++ != '>')
		return PATH_SYNTAX;
	if ((size_t)(s - start) > SMTP_PATH_MAX)
		return PATH_TOO_LONG;
	if (!ctx->is_mail && (size_t)(lp_end - lp_start) > SMTP_LOCALPART_MAX)
		return PATH_TOO_LONG;
	*sp = s;
	return PATH_OK;
}

/* ------------------------------------------------------------------ */
/* ESMTP parameters                                                     */

struct param {
	const char	*kw;
	size_t		 kwlen;
	const char	*val;		/* NULL: no "=value" */
	size_t		 vallen;
};

static bool
val_is(const struct param *pa, const char *word)
{
	return pa->vallen == strlen(word) &&
	    strncasecmp(pa->val, word, pa->vallen) == 0;
}

static int
param_size(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	uint64_t v = 0;
	size_t i;

	(void)utf8_ok;
	if (pa->val == NULL || pa->vallen > 20)
		return -1;
	for (i = 0; i < pa->vallen; i++) {
		unsigned d = (unsigned)(unsigned char)pa->val[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	p->size = v;
	return 0;
}

static int
param_body(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	(void)utf8_ok;
	if (pa->val == NULL)
		return -1;
	if (val_is(pa, "7BIT"))
		p->body = SMTP_BODY_7BIT;
	else if (val_is(pa, "8BITMIME"))
		p->body = SMTP_BODY_8BITMIME;
	else if (val_is(pa, "BINARYMIME"))
		p->body = SMTP_BODY_BINARYMIME;
	else
		return -1;
	return 0;
}

static int
param_smtputf8(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	(void)utf8_ok;
	if (pa->val != NULL)
		return -1;
	p->smtputf8 = true;
	return 0;
}

static int
param_ret(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	(void)utf8_ok;
	if (pa->val == NULL)
		return -1;
	if (val_is(pa, "FULL"))
		p->ret = SMTP_RET_FULL;
	else if (val_is(pa, "HDRS"))
		p->ret = SMTP_RET_HDRS;
	else
		return -1;
	return 0;
}

static int
param_envid(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	(void)utf8_ok;
	if (pa->val == NULL || pa->vallen > SMTP_ENVID_MAX ||
	    !xtext_printable(pa->val, pa->vallen))
		return -1;
	p->envid = xstrndup(pa->val, pa->vallen);
	return 0;
}

static int
param_auth(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	(void)utf8_ok;
	if (pa->val == NULL || pa->vallen > SMTP_ORCPT_MAX ||
	    (!val_is(pa, "<>") && !xtext_printable(pa->val, pa->vallen)))
		return -1;
	p->auth = xstrndup(pa->val, pa->vallen);
	return 0;
}

static int
param_notify(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	struct param word;
	const char *s, *end, *comma;
	unsigned bits = 0;

	(void)utf8_ok;
	if (pa->val == NULL)
		return -1;
	end = pa->val + pa->vallen;
	for (s = pa->val; s <= end; s = comma + 1) {
		comma = memchr(s, ',', (size_t)(end - s));
		if (comma == NULL)
			comma = end;
		word.val = s;
		word.vallen = (size_t)(comma - s);
		if (val_is(&word, "NEVER"))
			bits |= SMTP_NOTIFY_NEVER;
		else if (val_is(&word, "SUCCESS"))
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (val_is(&word, "FAILURE"))
			bits |= SMTP_NOTIFY_FAILURE;
		else if (val_is(&word, "DELAY"))
			bits |= SMTP_NOTIFY_DELAY;
		else
			return -1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return -1;
	p->notify = bits;
	return 0;
}

/* ORCPT=addr-type ";" xtext. With SMTPUTF8 the address part may also carry
   raw UTF-8 (RFC 6533 utf-8-addr-unitext); it must be well-formed. */
static int
param_orcpt(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	const char *semi;
	size_t i, tlen;

	if (pa->val == NULL || pa->vallen > SMTP_ORCPT_MAX)
		return -1;
	semi = memchr(pa->val, ';', pa->vallen);
	if (semi == NULL || semi == pa->val)
		return -1;
	tlen = (size_t)(semi - pa->val);
	for (i = 0; i < tlen; i++)
		if (!is_atext((unsigned char)pa->val[i]))
			return -1;
	for (i = tlen + 1; i < pa->vallen; i++) {
		unsigned char c = (unsigned char)pa->val[i];
		if (c == '+' && (i + 2 >= pa->vallen ||
		    hexval((unsigned char)pa->val[i + 1]) < 0 ||
		    hexval((unsigned char)pa->val[i + 2]) < 0))
			return -1;
		if (c >= 0x80 && !utf8_ok)
			return -1;
	}
	if (i == tlen + 1 || !utf8_valid(pa->val, pa->vallen))
		return -1;
	p->orcpt = xstrndup(pa->val, pa->vallen);
	return 0;
}

static const struct {
	const char	*kw;
	bool		 mail;		/* else RCPT */
	int		(*fn)(const struct param *, struct smtp_path *, bool);
} params[] = {
	{ "SIZE", true, param_size },
	{ "BODY", true, param_body },
	{ "SMTPUTF8", true, param_smtputf8 },
	{ "RET", true, param_ret },
	{ "ENVID", true, param_envid },
	{ "AUTH", true, param_auth },
	{ "NOTIFY", false, param_notify },
	{ "ORCPT", false, param_orcpt },
};
#define NPARAMS (sizeof(params) / sizeof(params[0]))

/* esmtp-param at *sp: keyword ["=" value]; advances past it. Returns 0,
   or -1 with *reply_r. Value bytes: printable ASCII but "=", or UTF-8
   (RFC 6531 esmtp-value); each handler checks its own grammar. */
static int
split_param(const char **sp, struct param *pa, const char **reply_r)
{
	const char *s = *sp;

	memset(pa, 0, sizeof(*pa));
	pa->kw = s;
	while (is_alnum((unsigned char)*s) || (*s == '-' && s > pa->kw))
		s++;
	pa->kwlen = (size_t)(s - pa->kw);
	if (pa->kwlen == 0 || (*s != '=' && *s != ' ' && *s != '\0')) {
		*reply_r = REPLY_PARAM_UNKNOWN;
		return -1;
	}
	if (*s == '=') {
		pa->val = ++s;
		while (*s != ' ' && *s != '\0') {
			unsigned char c = (unsigned char)*s++;
			if (c == '=' || c < 33 || c == 127) {
				*reply_r = REPLY_PARAM_VALUE;
				return -1;
			}
		}
		pa->vallen = (size_t)(s - pa->val);
		if (pa->vallen == 0) {
			*reply_r = REPLY_PARAM_VALUE;
			return -1;
		}
	}
	*sp = s;
	return 0;
}

static int
apply_param(const struct param *pa, bool is_mail, bool utf8_ok,
    unsigned *seen, struct smtp_path *p, const char **reply_r)
{
	size_t i;

	for (i = 0; i < NPARAMS; i++)
		if (strlen(params[i].kw) == pa->kwlen &&
		    strncasecmp(params[i].kw, pa->kw, pa->kwlen) == 0)
			break;
	if (i == NPARAMS || params[i].mail != is_mail) {
		*reply_r = REPLY_PARAM_UNKNOWN;
		return -1;
	}
	if (*seen & (1u << i)) {
		*reply_r = REPLY_PARAM_DUP;
		return -1;
	}
	*seen |= 1u << i;
	if (params[i].fn(pa, p, utf8_ok) < 0) {
		*reply_r = REPLY_PARAM_VALUE;
		return -1;
	}
	return 0;
}

static int
parse_params(const char *s, bool is_mail, bool utf8_ok, struct smtp_path *p,
    const char **reply_r)
{
	struct param pa;
	unsigned seen = 0;

	while (*s == ' ') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		if (split_param(&s, &pa, reply_r) < 0 ||
		    apply_param(&pa, is_mail, utf8_ok, &seen, p, reply_r) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* MAIL and RCPT                                                        */

struct cmd_replies {
	const char	*keyword;	/* "FROM:" / "TO:" */
	const char	*syntax, *addr, *too_long;
};

static const struct cmd_replies mail_replies = {
	"FROM:", REPLY_MAIL_SYNTAX, REPLY_MAIL_ADDR, REPLY_MAIL_LONG,
};
static const struct cmd_replies rcpt_replies = {
	"TO:", REPLY_RCPT_SYNTAX, REPLY_RCPT_ADDR, REPLY_RCPT_LONG,
};

static int
parse_mail_rcpt(const char *args, bool is_mail, bool utf8_ok,
    struct smtp_path *p, const char **reply_r)
{
	const struct cmd_replies *r = is_mail ? &mail_replies : &rcpt_replies;
	struct path_ctx ctx = { .is_mail = is_mail };
	size_t kwlen = strlen(r->keyword);
	enum path_result pr;
	const char *s = args;

	memset(p, 0, sizeof(*p));
	if (strncasecmp(s, r->keyword, kwlen) != 0) {
		*reply_r = r->syntax;
		return -1;
	}
	s += kwlen;
	if (*s == ' ')
		s++;
	buf_init(&ctx.lp, 0);
	pr = parse_path(&s, &ctx, p);
	buf_free(&ctx.lp);
	if (pr == PATH_OK && !is_mail && p->null_path)
		pr = PATH_SYNTAX;
	if (pr == PATH_OK && *s != ' ' && *s != '\0')
		pr = PATH_SYNTAX;
	if (pr != PATH_OK) {
		*reply_r = pr == PATH_TOO_LONG ? r->too_long : r->addr;
		goto fail;
	}
	if (parse_params(s, is_mail, utf8_ok, p, reply_r) < 0)
		goto fail;
	if (p->utf8 && !(is_mail ? p->smtputf8 : utf8_ok)) {
		*reply_r = REPLY_UTF8;
		goto fail;
	}
	return 0;
fail:
	smtp_path_free(p);
	return -1;
}

int
smtp_parse_mail(const char *args, struct smtp_path *p, const char **reply_r)
{
	return parse_mail_rcpt(args, true, false, p, reply_r);
}

int
smtp_parse_rcpt(const char *args, bool utf8_ok, struct smtp_path *p,
    const char **reply_r)
{
	return parse_mail_rcpt(args, false, utf8_ok, p, reply_r);
}

void
smtp_path_free(struct smtp_path *p)
{
	free(p->localpart);
	free(p->domain);
	free(p->envid);
	free(p->orcpt);
	free(p->auth);
	memset(p, 0, sizeof(*p));
}

static bool
is_dot_string(const char *s)
{
	const char *end = s + strlen(s);
	bool utf8 = false;
	struct buf b;
	int r;

	if (*s == '\0')
		return false;
	buf_init(&b, 0);
	r = parse_dot_string(&s, &b, &utf8);
	buf_free(&b);
	return r == 0 && s == end;
}

char *
smtp_path_to_string(const struct smtp_path *p)
{
	struct buf b;
	const char *c;

	if (p->null_path || p->localpart == NULL)
		return xstrdup("");
	buf_init(&b, 0);
	if (is_dot_string(p->localpart))
		buf_puts(&b, p->localpart);
	else {
		buf_putc(&b, '"');
		for (c = p->localpart; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *c);
		}
		buf_putc(&b, '"');
	}
	if (!p->bare_postmaster && p->domain != NULL) {
		buf_putc(&b, '@');
		buf_puts(&b, p->domain);
	}
	return buf_steal(&b, NULL);
}

/* ------------------------------------------------------------------ */
/* HELO/EHLO and BDAT                                                   */

int
smtp_parse_helo(const char *args, const char **reply_r)
{
	static const struct domain_opts o = { false, true, true };
	const char *s = args;
	bool utf8 = false;
	size_t len;

	if (*s == '[')
		len = parse_address_literal(&s);
	else
		len = parse_domain(&s, &o, &utf8);
	if (len == 0 || *s != '\0') {
		*reply_r = REPLY_HELO;
		return -1;
	}
	return 0;
}

int
smtp_parse_bdat(const char *args, uint64_t *size_r, bool *last_r,
    const char **reply_r)
{
	const char *s = args;
	uint64_t v = 0;
	size_t n;

	for (n = 0; isdigit((unsigned char)*s); n++, s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			goto fail;
		v = v * 10 + d;
	}
	if (n == 0)
		goto fail;
	*last_r = false;
	if (*s == ' ') {
		while (*s == ' ')
			s++;
		if (strcasecmp(s, "LAST") != 0)
			goto fail;
		*last_r = true;
	} else if (*s != '\0')
		goto fail;
	*size_r = v;
	return 0;
fail:
	*reply_r = REPLY_BDAT;
	return -1;
}
