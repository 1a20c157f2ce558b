/*
 * smtp_params - ESMTP parameters of MAIL and RCPT (SIZE, BODY, SMTPUTF8,
 * REQUIRETLS, RET, ENVID, AUTH, NOTIFY, ORCPT) and the xtext they use (RFC 3461 4).
 *
 * Trust: untrusted network input, parsed before authentication. Pure
 * functions: no I/O, no globals, no logging. Allocations are bounded by the
 * caller's line length.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_parser_int.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static const char REPLY_PARAM_UNKNOWN[] = "555 5.5.4 Unsupported parameter";
static const char REPLY_PARAM_VALUE[] = "501 5.5.4 Bad parameter value";
static const char REPLY_PARAM_DUP[] = "501 5.5.4 Duplicate parameter";

/* ------------------------------------------------------------------ */
/* xtext (RFC 3461 4)                                                   */

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
		h = hex_value((unsigned char)s[i + 1]);
		l = hex_value((unsigned char)s[i + 2]);
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

/* RFC 8689 2: a keyword without a value. */
static int
param_requiretls(const struct param *pa, struct smtp_path *p, bool utf8_ok)
{
	(void)utf8_ok;
	if (pa->val != NULL)
		return -1;
	p->requiretls = true;
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
		    hex_value((unsigned char)pa->val[i + 1]) < 0 ||
		    hex_value((unsigned char)pa->val[i + 2]) < 0))
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
	{ "REQUIRETLS", true, param_requiretls },
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

int
smtp_parse_params(const char *s, bool is_mail, bool utf8_ok, struct smtp_path *p,
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
