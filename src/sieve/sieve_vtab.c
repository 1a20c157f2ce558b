/*
 * sieve_vtab - the signatures of every command and test tem knows
 * (RFC 5228 and the extensions of sieve.h), their tagged arguments and
 * the require names. Data only; sieve_validate.c applies it.
 *
 * Trust: none needed (lookups by name in constant tables).
 */
#include <string.h>

#include "sieve/sieve_compile.h"

#define G(x)	SIEVE_TG(SIEVE_TG_##x)
#define CMPT	(G(MATCH) | G(CMP))

static const struct sieve_cmd_def cmds[] = {
	/* commands */
	{ "require", SIEVE_CMD_REQUIRE, false, 0, NULL, 0, "L", 0,
	    SIEVE_SUB_NONE, false },
	{ "if", SIEVE_CMD_IF, false, 0, NULL, 0, "", 0, SIEVE_SUB_ONE, true },
	{ "elsif", SIEVE_CMD_ELSIF, false, 0, NULL, 0, "", 0, SIEVE_SUB_ONE,
	    true },
	{ "else", SIEVE_CMD_ELSE, false, 0, NULL, 0, "", 0, SIEVE_SUB_NONE,
	    true },
	{ "stop", SIEVE_CMD_STOP, false, 0, NULL, 0, "", 0, 0, false },
	{ "keep", SIEVE_CMD_KEEP, false, 0, NULL, G(FLAGS), "", 0, 0, false },
	{ "discard", SIEVE_CMD_DISCARD, false, 0, NULL, 0, "", 0, 0, false },
	{ "redirect", SIEVE_CMD_REDIRECT, false, 0, NULL, G(COPY), "S", 0, 0,
	    false },
	{ "fileinto", SIEVE_CMD_FILEINTO, false, SIEVE_EXT_FILEINTO,
	    "fileinto", G(CREATE) | G(COPY) | G(FLAGS), "S", 0, 0, false },
	{ "reject", SIEVE_CMD_REJECT, false, SIEVE_EXT_REJECT, "reject", 0,
	    "S", 0, 0, false },
	{ "ereject", SIEVE_CMD_EREJECT, false, SIEVE_EXT_EREJECT, "ereject",
	    0, "S", 0, 0, false },
	{ "setflag", SIEVE_CMD_SETFLAG, false, SIEVE_EXT_IMAP4FLAGS,
	    "imap4flags", 0, "SL", 'F', 0, false },
	{ "addflag", SIEVE_CMD_ADDFLAG, false, SIEVE_EXT_IMAP4FLAGS,
	    "imap4flags", 0, "SL", 'F', 0, false },
	{ "removeflag", SIEVE_CMD_REMOVEFLAG, false, SIEVE_EXT_IMAP4FLAGS,
	    "imap4flags", 0, "SL", 'F', 0, false },
	{ "set", SIEVE_CMD_SET, false, SIEVE_EXT_VARIABLES, "variables",
	    G(MODS), "SS", 0, 0, false },
	{ "vacation", SIEVE_CMD_VACATION, false, SIEVE_EXT_VACATION,
	    "vacation", G(PERIOD) | G(SUBJECT) | G(FROM) | G(ADDRESSES) |
	    G(MIME) | G(HANDLE), "S", 0, 0, false },
	{ "addheader", SIEVE_CMD_ADDHEADER, false, SIEVE_EXT_EDITHEADER,
	    "editheader", G(LAST), "SS", 0, 0, false },
	{ "deleteheader", SIEVE_CMD_DELETEHEADER, false, SIEVE_EXT_EDITHEADER,
	    "editheader", G(DHINDEX) | CMPT, "SL", 'T', 0, false },
	{ "include", SIEVE_CMD_INCLUDE, false, SIEVE_EXT_INCLUDE, "include",
	    G(LOCATION) | G(ONCE) | G(OPTIONAL), "S", 0, 0, false },
	{ "return", SIEVE_CMD_RETURN, false, SIEVE_EXT_INCLUDE, "include", 0,
	    "", 0, 0, false },
	{ "global", SIEVE_CMD_GLOBAL, false, SIEVE_EXT_INCLUDE, "include", 0,
	    "L", 0, 0, false },
	/* tests */
	{ "address", SIEVE_TEST_ADDRESS, true, 0, NULL,
	    CMPT | G(ADDRPART) | G(INDEX), "LL", 0, 0, false },
	{ "allof", SIEVE_TEST_ALLOF, true, 0, NULL, 0, "", 0, SIEVE_SUB_LIST,
	    false },
	{ "anyof", SIEVE_TEST_ANYOF, true, 0, NULL, 0, "", 0, SIEVE_SUB_LIST,
	    false },
	{ "envelope", SIEVE_TEST_ENVELOPE, true, SIEVE_EXT_ENVELOPE,
	    "envelope", CMPT | G(ADDRPART), "LL", 0, 0, false },
	{ "exists", SIEVE_TEST_EXISTS, true, 0, NULL, 0, "L", 0, 0, false },
	{ "false", SIEVE_TEST_FALSE, true, 0, NULL, 0, "", 0, 0, false },
	{ "header", SIEVE_TEST_HEADER, true, 0, NULL, CMPT | G(INDEX), "LL",
	    0, 0, false },
	{ "not", SIEVE_TEST_NOT, true, 0, NULL, 0, "", 0, SIEVE_SUB_ONE,
	    false },
	{ "size", SIEVE_TEST_SIZE, true, 0, NULL, G(SIZE), "N", 0, 0, false },
	{ "true", SIEVE_TEST_TRUE, true, 0, NULL, 0, "", 0, 0, false },
	{ "body", SIEVE_TEST_BODY, true, SIEVE_EXT_BODY, "body",
	    CMPT | G(BODY), "L", 0, 0, false },
	{ "date", SIEVE_TEST_DATE, true, SIEVE_EXT_DATE, "date",
	    CMPT | G(ZONE) | G(INDEX), "SSL", 0, 0, false },
	{ "currentdate", SIEVE_TEST_CURRENTDATE, true, SIEVE_EXT_DATE, "date",
	    CMPT | G(CZONE), "SL", 0, 0, false },
	{ "duplicate", SIEVE_TEST_DUPLICATE, true, SIEVE_EXT_DUPLICATE,
	    "duplicate", G(HANDLE) | G(DUPID) | G(DUPSEC) | G(LAST), "", 0, 0,
	    false },
	{ "hasflag", SIEVE_TEST_HASFLAG, true, SIEVE_EXT_IMAP4FLAGS,
	    "imap4flags", CMPT, "LL", 'F', 0, false },
	{ "string", SIEVE_TEST_STRING, true, SIEVE_EXT_VARIABLES, "variables",
	    CMPT, "LL", 0, 0, false },
	{ "mailboxexists", SIEVE_TEST_MAILBOXEXISTS, true, SIEVE_EXT_MAILBOX,
	    "mailbox", 0, "L", 0, 0, false },
};

#define E(x)	SIEVE_EXT_##x
#define T(x)	SIEVE_TG_##x

static const struct sieve_tag_def tags[] = {
	{ "is", T(MATCH), 0, 0, SIEVE_MATCH_IS },
	{ "contains", T(MATCH), 0, 0, SIEVE_MATCH_CONTAINS },
	{ "matches", T(MATCH), 0, 0, SIEVE_MATCH_MATCHES },
	{ "value", T(MATCH), E(RELATIONAL), 'S', SIEVE_MATCH_VALUE },
	{ "count", T(MATCH), E(RELATIONAL), 'S', SIEVE_MATCH_COUNT },
	{ "comparator", T(CMP), 0, 'S', 0 },
	{ "all", T(ADDRPART), 0, 0, SIEVE_AP_ALL },
	{ "localpart", T(ADDRPART), 0, 0, SIEVE_AP_LOCALPART },
	{ "domain", T(ADDRPART), 0, 0, SIEVE_AP_DOMAIN },
	{ "user", T(ADDRPART), E(SUBADDRESS), 0, SIEVE_AP_USER },
	{ "detail", T(ADDRPART), E(SUBADDRESS), 0, SIEVE_AP_DETAIL },
	{ "over", T(SIZE), 0, 0, 1 },
	{ "under", T(SIZE), 0, 0, 0 },
	{ "raw", T(BODY), 0, 0, SIEVE_BODY_RAW },
	{ "content", T(BODY), 0, 'L', SIEVE_BODY_CONTENT },
	{ "text", T(BODY), 0, 0, SIEVE_BODY_TEXT },
	{ "zone", T(ZONE), 0, 'S', 0 },
	{ "originalzone", T(ZONE), 0, 0, 1 },
	{ "zone", T(CZONE), 0, 'S', 0 },
	{ "index", T(INDEX), E(INDEX), 'N', 0 },
	{ "last", T(INDEX), E(INDEX), 0, 1 },
	{ "index", T(DHINDEX), 0, 'N', 0 },
	{ "last", T(DHINDEX), 0, 0, 1 },
	{ "last", T(LAST), 0, 0, 1 },
	{ "mime", T(MIME), 0, 0, 0 },
	{ "create", T(CREATE), E(MAILBOX), 0, 0 },
	{ "copy", T(COPY), E(COPY), 0, 0 },
	{ "flags", T(FLAGS), E(IMAP4FLAGS), 'L', 0 },
	{ "days", T(PERIOD), 0, 'N', 86400 },
	{ "seconds", T(PERIOD), E(VACATION_SECONDS), 'N', 1 },
	{ "seconds", T(DUPSEC), 0, 'N', 1 },
	{ "subject", T(SUBJECT), 0, 'S', 0 },
	{ "from", T(FROM), 0, 'S', 0 },
	{ "handle", T(HANDLE), 0, 'S', 0 },
	{ "addresses", T(ADDRESSES), 0, 'L', 0 },
	{ "header", T(DUPID), 0, 'S', 0 },
	{ "uniqueid", T(DUPID), 0, 'S', 1 },
	{ "lower", T(MODS), 0, 0, SIEVE_MOD_LOWER },
	{ "upper", T(MODS), 0, 0, SIEVE_MOD_UPPER },
	{ "lowerfirst", T(MODS), 0, 0, SIEVE_MOD_LOWERFIRST },
	{ "upperfirst", T(MODS), 0, 0, SIEVE_MOD_UPPERFIRST },
	{ "quotewildcard", T(MODS), 0, 0, SIEVE_MOD_QUOTEWILDCARD },
	{ "length", T(MODS), 0, 0, SIEVE_MOD_LENGTH },
	{ "personal", T(LOCATION), 0, 0, 0 },
	{ "global", T(LOCATION), 0, 0, 1 },
	{ "once", T(ONCE), 0, 0, 0 },
	{ "optional", T(OPTIONAL), 0, 0, 0 },
};

static const struct { const char *name; uint32_t bit; } exts[] = {
	{ "fileinto", E(FILEINTO) }, { "reject", E(REJECT) },
	{ "ereject", E(EREJECT) }, { "envelope", E(ENVELOPE) },
	{ "imap4flags", E(IMAP4FLAGS) }, { "variables", E(VARIABLES) },
	{ "relational", E(RELATIONAL) }, { "subaddress", E(SUBADDRESS) },
	{ "body", E(BODY) }, { "copy", E(COPY) }, { "date", E(DATE) },
	{ "index", E(INDEX) }, { "encoded-character", E(ENCODED_CHAR) },
	{ "editheader", E(EDITHEADER) }, { "duplicate", E(DUPLICATE) },
	{ "vacation", E(VACATION) },
	{ "vacation-seconds", E(VACATION_SECONDS) },
	{ "include", E(INCLUDE) }, { "mailbox", E(MAILBOX) },
	{ "comparator-i;ascii-numeric", E(CMP_NUMERIC) },
	{ "comparator-i;octet", 0 }, { "comparator-i;ascii-casemap", 0 },
};

const struct sieve_cmd_def *
sieve_cmd_find(const char *name, bool test)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].test == test && strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

const struct sieve_tag_def *
sieve_tag_find(const char *name, uint32_t groups)
{
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if ((groups & SIEVE_TG(tags[i].group)) != 0 &&
		    strcmp(tags[i].name, name) == 0)
			return &tags[i];
	return NULL;
}

int64_t
sieve_ext_find(const char *name)
{
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcmp(exts[i].name, name) == 0)
			return exts[i].bit;
	return -1;
}

const char *
sieve_ext_name(uint32_t bit)
{
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (exts[i].bit == bit)
			return exts[i].name;
	return "?";
}
