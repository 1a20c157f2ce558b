/*
 * smtp_parser - SMTP command lines, MAIL/RCPT, HELO/EHLO and BDAT (see
 * smtp_parser.h for the contract); paths are parsed by smtp_path.c, ESMTP
 * parameters by smtp_params.c.
 *
 * Trust: untrusted network input, parsed before authentication. Pure
 * functions: no I/O, no globals, no logging. Allocations are bounded by the
 * caller's line length.
 *
 * Anything the grammar does not allow is refused rather than guessed at:
 * relay and alias decisions are taken later on localpart/domain, so what
 * we accept must have exactly one meaning. Non-ASCII in a path needs
 * SMTPUTF8 (RFC 6531): without it the client is told with a 553.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_parser_int.h"
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
static const char REPLY_HELO[] = "501 5.5.4 Syntax: EHLO hostname";
static const char REPLY_BDAT[] = "501 5.5.4 Syntax: BDAT size [LAST]";

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
	pr = smtp_parse_path(&s, &ctx, p);
	buf_free(&ctx.lp);
	if (pr == PATH_OK && !is_mail && p->null_path)
		pr = PATH_SYNTAX;
	if (pr == PATH_OK && *s != ' ' && *s != '\0')
		pr = PATH_SYNTAX;
	if (pr != PATH_OK) {
		*reply_r = pr == PATH_TOO_LONG ? r->too_long : r->addr;
		goto fail;
	}
	if (smtp_parse_params(s, is_mail, utf8_ok, p, reply_r) < 0)
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
		len = smtp_parse_address_literal(&s);
	else
		len = smtp_parse_domain(&s, &o, &utf8);
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
