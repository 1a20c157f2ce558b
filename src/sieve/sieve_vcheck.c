/*
 * sieve_vcheck - what the signature alone does not say about a command
 * or test: header field names (editheader's protected ones compile: RFC
 * 5293 6 has the attempt ignored at run time), the headers an address test may read, envelope parts,
 * variable and script names, redirect addresses, mailbox names; and the
 * compile-time decoding of encoded-character (RFC 5228 2.4.2.4).
 *
 * Trust: the strings come from an untrusted script. A string holding a
 * variable reference (with "variables") is only known at run time: its
 * checks are left to the interpreter.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve/sieve_compile.h"
#include "sieve/sieve_lib.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ---- encoded-character ---------------------------------------------- */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * One "${hex:...}" or "${unicode:...}" at s[0..end): its length, the
 * decoded octets appended to out; 0 when it is not well formed (it then
 * stays literal); -1 for a code point outside Unicode.
 */
static long
decode_one(const char *s, const char *end, struct buf *out)
{
	const char *p = s + 2;
	bool uni;
	size_t ndig, nval = 0, start = out->len;

	if ((size_t)(end - p) > 4 && strncasecmp(p, "hex:", 4) == 0) {
		uni = false;
		p += 4;
	} else if ((size_t)(end - p) > 8 &&
	    strncasecmp(p, "unicode:", 8) == 0) {
		uni = true;
		p += 8;
	} else {
		return 0;
	}
	for (;;) {
		uint32_t val = 0;

		while (p < end && is_blank(*p))
			p++;
		if (p < end && *p == '}' && nval > 0)
			return (long)(p + 1 - s);
		if (nval > 0 && !is_blank(p[-1]))
			break;
		for (ndig = 0; p < end && hex_value(*p) >= 0; p++, ndig++)
			if (val <= 0x10ffff)
				val = val * 16 + (uint32_t)hex_value(*p);
		if (ndig == 0 || (!uni && ndig > 2))
			break;
		if (uni && (val > 0x10ffff || (val >= 0xd800 &&
		    val <= 0xdfff)))
			return -1;
		if (uni)
			utf8_append(out, val);
		else
			buf_putc(out, (char)val);
		nval++;
	}
	out->len = start;
	return 0;
}

int
sieve_decode_encoded(char **sp, int line, struct sieve_error *err)
{
	char *s = *sp;
	size_t len = strlen(s);
	const char *p = s, *end = s + len;
	struct buf out;

	if (strstr(s, "${") == NULL)
		return 0;
	buf_init(&out, 0);
	while (p < end) {
		long n = 0;

		if (p[0] == '$' && p + 1 < end && p[1] == '{')
			n = decode_one(p, end, &out);
		if (n < 0) {
			buf_free(&out);
			sieve_error_set(err, line, 0, "encoded character "
			    "outside Unicode (U+0000..U+10FFFF without "
			    "surrogates)");
			return -1;
		}
		if (n > 0) {
			p += n;
			continue;
		}
		buf_putc(&out, *p++);
	}
	if (strlen(buf_cstr(&out)) != out.len) {
		buf_free(&out);
		sieve_error_set(err, line, 0,
		    "encoded NUL character in string");
		return -1;
	}
	free(s);
	*sp = buf_steal(&out, NULL);
	return 0;
}

/* ---- names and addresses -------------------------------------------- */

/* A string only known at run time (a variable reference in it)? */
static bool
dynamic(const struct sieve_script *sc, const char *s)
{
	return (sc->exts & SIEVE_EXT_VARIABLES) != 0 &&
	    strstr(s, "${") != NULL;
}

/* RFC 5229 3 (sieve_var_name_ok); "global." only with include (RFC 6609
 * 3.3: Pigeonhole calls it an unknown namespace otherwise). */
static bool
var_name_ok(const struct sieve_script *sc, const char *s)
{
	if (strncasecmp(s, "global.", 7) == 0 &&
	    (sc->exts & SIEVE_EXT_INCLUDE) == 0)
		return false;
	return sieve_var_name_ok(s);
}

/* A match variable ("0".."9"...), which hasflag may read (RFC 5229 3). */
static bool
match_var(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* RFC 5322 field-name: 1*ftext (printable ASCII but ':'). */
static bool
header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < 33 || *s > 126 || *s == ':')
			return false;
	return true;
}

/* A mailbox or addr-spec, loosely: "local@domain" or "... <l@d>". */
static bool
address_ok(const char *s)
{
	const char *lt = strrchr(s, '<'), *at, *e;

	if (lt != NULL) {
		e = strchr(lt, '>');
		if (e == NULL || e[1] != '\0')
			return false;
		s = lt + 1;
	} else {
		e = s + strlen(s);
	}
	at = memchr(s, '@', (size_t)(e - s));
	if (at == NULL || at == s || at + 1 >= e)
		return false;
	for (const char *p = s; p < e; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<')
			return false;
	return memchr(at + 1, '@', (size_t)(e - at - 1)) == NULL;
}

/* RFC 5228 5.1: the address test reads headers that hold addresses;
 * the same list as Pigeonhole's (0.5.19), so a script valid there is
 * valid here. */
static bool
address_header_ok(const char *s)
{
	static const char *const ok[] = { "from", "sender", "to", "cc",
	    "bcc", "reply-to", "resent-from", "resent-sender", "resent-to",
	    "resent-cc", "resent-bcc", "resent-reply-to", "delivered-to",
	    "errors-to", "x-original-to", "return-receipt-to",
	    "mail-followup-to", "mail-reply-to", "x-beenthere",
	    "apparently-to" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(s, ok[i]) == 0)
			return true;
	return false;
}

/* A header value addheader may add: line breaks only as folding. */
static bool
header_value_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\r' && s[1] == '\n')
			s++;
		if (*s == '\r' || (*s == '\n' && s[1] != ' ' && s[1] != '\t'))
			return false;
	}
	return true;
}

/* An include script name (RFC 6609 3.2: no '/', printable UTF-8). */
static bool
script_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255 || !utf8_valid(s, len))
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '/')
			return false;
	return true;
}

/* The first error, at n's line; -1. */
#define cerr(err, n, ...)	sieve_error_set((err), (n)->line, 0, \
				    __VA_ARGS__)

/* ---- per command ----------------------------------------------------- */

static int
check_header_edit(const struct sieve_script *sc, const struct sieve_node *n,
    struct sieve_error *err)
{
	const char *name = n->pos[0].strs[0];

	if (dynamic(sc, name))
		return 0;
	if (!header_name_ok(name))
		return cerr(err, n, "%s: invalid header field name \"%.80s\"",
		    n->name, name);
	/* Received and Auto-Submitted are protected, but RFC 5293 6 says
	 * such an attempt "MUST be silently ignored": the interpreter
	 * ignores it, the script compiles */
	if (n->id == SIEVE_CMD_ADDHEADER &&
	    !header_value_ok(n->pos[1].strs[0]))
		return cerr(err, n, "addheader: the value has a line break "
		    "that is not folding");
	return 0;
}

/* reads: the names are only read (hasflag), so match variables do. */
static int
check_var_names(const struct sieve_script *sc, const struct sieve_node *n,
    const struct sieve_arg *a, bool reads, struct sieve_error *err)
{
	if ((sc->exts & SIEVE_EXT_VARIABLES) == 0)
		return cerr(err, n, "%s: a variable name needs require "
		    "\"variables\"", n->name);
	for (size_t i = 0; i < a->nstr; i++)
		if (!var_name_ok(sc, a->strs[i]) &&
		    !(reads && match_var(a->strs[i])))
			return cerr(err, n, "%s: invalid variable name "
			    "\"%.80s\"", n->name, a->strs[i]);
	return 0;
}

/* The names `global` declares, into sc->globals (at most max_variables:
 * the interpreter's limit per scope; the duplicate check stays cheap). */
static int
check_global(struct sieve_script *sc, const struct sieve_node *n,
    unsigned max, struct sieve_error *err)
{
	const struct sieve_arg *a = &n->pos[0];

	if ((sc->exts & SIEVE_EXT_VARIABLES) == 0)
		return cerr(err, n, "global needs require \"variables\"");
	for (size_t i = 0; i < a->nstr; i++) {
		char *name = a->strs[i];
		bool dup = false;

		if (strncasecmp(name, "global.", 7) == 0 ||
		    !sieve_var_name_ok(name))
			return cerr(err, n, "global: invalid variable name "
			    "\"%.80s\"", a->strs[i]);
		for (size_t j = 0; j < sc->nglobals && !dup; j++)
			dup = strcasecmp(sc->globals[j], name) == 0;
		if (dup)
			continue;
		if (sc->nglobals >= max)
			return cerr(err, n, "global: more than %u variables",
			    max);
		sc->globals = xrealloc(sc->globals, (sc->nglobals + 1) *
		    sizeof(*sc->globals));
		sc->globals[sc->nglobals] = xstrdup(name);
		for (char *c = sc->globals[sc->nglobals]; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		sc->nglobals++;
	}
	return 0;
}

static int
check_address_test(const struct sieve_script *sc, const struct sieve_node *n,
    struct sieve_error *err)
{
	const struct sieve_arg *a = &n->pos[0];

	for (size_t i = 0; i < a->nstr; i++) {
		const char *s = a->strs[i];

		if (dynamic(sc, s))
			continue;
		if (n->id == SIEVE_TEST_ADDRESS && !address_header_ok(s))
			return cerr(err, n, "address: header \"%.80s\" does "
			    "not hold addresses", s);
		if (n->id == SIEVE_TEST_ENVELOPE &&
		    strcasecmp(s, "from") != 0 && strcasecmp(s, "to") != 0 &&
		    strcasecmp(s, "auth") != 0)
			return cerr(err, n, "envelope: unknown envelope part "
			    "\"%.80s\" (from, to or auth)", s);
	}
	return 0;
}

static int
check_vacation(const struct sieve_script *sc, const struct sieve_node *n,
    struct sieve_error *err)
{
	const struct sieve_tags *t = &n->tags;

	if (t->from != NULL && !dynamic(sc, t->from) && !address_ok(t->from))
		return cerr(err, n, "vacation: invalid :from address "
		    "\"%.80s\"", t->from);
	/* :addresses are only compared with the message's: one that is
	 * not an address never matches (Pigeonhole does not check them) */
	return 0;
}

static int
check_command(struct sieve_script *sc, struct sieve_node *n, const char *s,
    const struct sieve_limits *l, struct sieve_error *err)
{
	switch (n->id) {
	case SIEVE_CMD_REDIRECT:
		if (!dynamic(sc, s) && !address_ok(s))
			return cerr(err, n, "redirect: invalid address "
			    "\"%.80s\"", s);
		break;
	case SIEVE_CMD_FILEINTO:
		if (*s == '\0' || !utf8_valid(s, strlen(s)))
			return cerr(err, n, "fileinto: invalid mailbox name "
			    "\"%.80s\"", s);
		break;
	case SIEVE_CMD_SET:
		return check_var_names(sc, n, &n->pos[0], false, err);
	case SIEVE_CMD_SETFLAG:
	case SIEVE_CMD_ADDFLAG:
	case SIEVE_CMD_REMOVEFLAG:
		if (n->npos == 2)
			return check_var_names(sc, n, &n->pos[0], false, err);
		break;
	case SIEVE_CMD_VACATION:
		return check_vacation(sc, n, err);
	case SIEVE_CMD_ADDHEADER:
	case SIEVE_CMD_DELETEHEADER:
		return check_header_edit(sc, n, err);
	case SIEVE_CMD_INCLUDE:
		if (!dynamic(sc, s) && !script_name_ok(s))
			return cerr(err, n, "include: invalid script name "
			    "\"%.80s\"", s);
		break;
	case SIEVE_CMD_GLOBAL:
		return check_global(sc, n, l->max_variables, err);
	}
	return 0;
}

int
sieve_check_node(struct sieve_script *sc, struct sieve_node *n, bool test,
    const struct sieve_limits *l, struct sieve_error *err)
{
	const char *s = n->npos > 0 && n->pos[0].nstr > 0 ?
	    n->pos[0].strs[0] : "";

	if (!test)
		return check_command(sc, n, s, l, err);
	switch (n->id) {
	case SIEVE_TEST_HASFLAG:
		if (n->npos == 2)
			return check_var_names(sc, n, &n->pos[0], true, err);
		break;
	case SIEVE_TEST_ADDRESS:
	case SIEVE_TEST_ENVELOPE:
		return check_address_test(sc, n, err);
	}
	return 0;
}
