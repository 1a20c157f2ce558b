/*
 * sieve_ast - the compiled form of a script, shared by the compiler
 * (sieve_lex.c, sieve_parse.c, sieve_validate.c) and the interpreter
 * (sieve_run*.c). Internal to src/sieve/.
 *
 * RFC 5228's grammar is generic (command = identifier *argument [test /
 * test-list] (";" / block)), so the parser builds nodes of one shape; the
 * validator then checks each against its command's signature, sets its
 * id, moves the tagged arguments into `tags` (with their defaults
 * filled) and leaves the positional ones in `pos`, in order. After
 * sieve_compile() succeeds, the interpreter may rely on every shape
 * below without checking: a node's id, its pos count and types, and the
 * tags its command allows.
 *
 * Strings are kept as written (quoted-string escapes and multi-line
 * dot-stuffing removed, a multi-line string's line ends made CRLF as
 * Pigeonhole does, encoded-character already decoded when
 * required); `${...}` variable references are expanded at run time only
 * when the script requires "variables". No string holds a NUL (the
 * compiler refuses one).
 */
#ifndef TEM_SIEVE_AST_H
#define TEM_SIEVE_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/sieve.h"

enum sieve_arg_type {
	SIEVE_ARG_NUMBER,	/* number, with K/M/G applied */
	SIEVE_ARG_STRING,	/* one string (nstr == 1) */
	SIEVE_ARG_STRLIST,	/* "[...]" (nstr >= 1) or a lone string
				 * where the signature wants a list */
	SIEVE_ARG_TAG,		/* only before validation */
};

struct sieve_arg {
	enum sieve_arg_type type;
	int		 line;
	uint64_t	 number;
	char		*tag;		/* TAG: lower case, without ':' */
	char		**strs;		/* STRING/STRLIST */
	size_t		 nstr;
	/* set once the script is compiled (sieve_compile): the lengths of
	 * strs, and whether none holds "${" (the run then uses them as
	 * they are, without a copy) */
	size_t		*lens;
	bool		 plain;
};

/* Commands. */
enum sieve_cmd_id {
	SIEVE_CMD_UNKNOWN = 0,
	SIEVE_CMD_REQUIRE, SIEVE_CMD_IF, SIEVE_CMD_ELSIF, SIEVE_CMD_ELSE,
	SIEVE_CMD_STOP, SIEVE_CMD_KEEP, SIEVE_CMD_DISCARD,
	SIEVE_CMD_REDIRECT, SIEVE_CMD_FILEINTO, SIEVE_CMD_REJECT,
	SIEVE_CMD_EREJECT, SIEVE_CMD_SETFLAG, SIEVE_CMD_ADDFLAG,
	SIEVE_CMD_REMOVEFLAG, SIEVE_CMD_SET, SIEVE_CMD_VACATION,
	SIEVE_CMD_ADDHEADER, SIEVE_CMD_DELETEHEADER, SIEVE_CMD_INCLUDE,
	SIEVE_CMD_RETURN, SIEVE_CMD_GLOBAL,
};

/* Tests (a separate numbering: a node is a command or a test by where
 * it stands). */
enum sieve_test_id {
	SIEVE_TEST_UNKNOWN = 0,
	SIEVE_TEST_ADDRESS, SIEVE_TEST_ALLOF, SIEVE_TEST_ANYOF,
	SIEVE_TEST_ENVELOPE, SIEVE_TEST_EXISTS, SIEVE_TEST_FALSE,
	SIEVE_TEST_HEADER, SIEVE_TEST_NOT, SIEVE_TEST_SIZE, SIEVE_TEST_TRUE,
	SIEVE_TEST_BODY, SIEVE_TEST_DATE, SIEVE_TEST_CURRENTDATE,
	SIEVE_TEST_DUPLICATE, SIEVE_TEST_HASFLAG, SIEVE_TEST_STRING,
	SIEVE_TEST_MAILBOXEXISTS,
};

enum sieve_match { SIEVE_MATCH_IS, SIEVE_MATCH_CONTAINS,
	SIEVE_MATCH_MATCHES, SIEVE_MATCH_VALUE, SIEVE_MATCH_COUNT };
enum sieve_rel { SIEVE_REL_GT, SIEVE_REL_GE, SIEVE_REL_LT, SIEVE_REL_LE,
	SIEVE_REL_EQ, SIEVE_REL_NE };
enum sieve_cmp { SIEVE_CMP_ASCII_CASEMAP, SIEVE_CMP_OCTET,
	SIEVE_CMP_ASCII_NUMERIC };
enum sieve_addrpart { SIEVE_AP_ALL, SIEVE_AP_LOCALPART, SIEVE_AP_DOMAIN,
	SIEVE_AP_USER, SIEVE_AP_DETAIL };
enum sieve_body_xform { SIEVE_BODY_TEXT, SIEVE_BODY_RAW,
	SIEVE_BODY_CONTENT };

/* set (RFC 5229) modifiers, applied in the RFC's precedence order */
#define SIEVE_MOD_LOWER		0x01
#define SIEVE_MOD_UPPER		0x02
#define SIEVE_MOD_LOWERFIRST	0x04
#define SIEVE_MOD_UPPERFIRST	0x08
#define SIEVE_MOD_QUOTEWILDCARD	0x10
#define SIEVE_MOD_LENGTH	0x20
#define SIEVE_MOD_ENCODEURL	0x40	/* RFC 5435 (with enotify only) */

/* The tagged arguments of a node, with defaults when absent. A command
 * only has the tags its signature allows; the rest stay at defaults. */
struct sieve_tags {
	/* tests that compare strings */
	enum sieve_match match;		/* :is */
	enum sieve_rel	 rel;		/* with :value / :count */
	enum sieve_cmp	 cmp;		/* i;ascii-casemap */
	enum sieve_addrpart addrpart;	/* :all */
	/* size */
	bool		 over;		/* size :over (else :under) */
	/* body */
	enum sieve_body_xform body;	/* :text */
	struct sieve_arg content;	/* :content list (nstr 0: absent) */
	/* date / currentdate / header (index) */
	char		*zone;		/* :zone "+0100"; NULL: local zone */
	bool		 originalzone;
	unsigned	 index;		/* :index N (1-based); 0: absent */
	bool		 last;		/* :last */
	/* mime-less header options */
	bool		 mime;		/* vacation :mime */
	/* actions */
	bool		 create;	/* fileinto :create */
	bool		 copy;		/* :copy */
	struct sieve_arg flags;		/* :flags (nstr 0 and !has_flags:
					 * absent) */
	bool		 has_flags;
	uint64_t	 seconds;	/* vacation :days*86400 / :seconds */
	bool		 has_period;
	char		*subject, *from, *handle;
	struct sieve_arg addresses;	/* vacation :addresses */
	char		*header;	/* duplicate :header */
	char		*uniqueid;	/* duplicate :uniqueid */
	unsigned	 modifiers;	/* set: SIEVE_MOD_* */
	/* include */
	bool		 global;	/* :global (else :personal) */
	bool		 once, optional;
};

/*
 * pos after validation (S: STRING, L: STRLIST, N: NUMBER):
 *   require L; redirect, fileinto, reject, ereject, vacation, include S;
 *   set S S (name, value); addheader S S (name, value); global L;
 *   setflag/addflag/removeflag [S] L and hasflag [L] L (npos 2: the
 *   first is the variable name(s)); deleteheader S [L] (name, value
 *   patterns); header, address, envelope, string L L; exists, body,
 *   mailboxexists L; size N (tags.over); date S S L (header, date-part,
 *   keys); currentdate S L; the others none. A block that is written
 *   but empty has block != NULL and nblock 0. tags.seconds: vacation's
 *   :days (0 raised to 1) times 86400 or :seconds, duplicate's
 *   :seconds (has_period tells it was given).
 */
struct sieve_node {
	char		*name;		/* lower case identifier */
	int		 id;		/* sieve_cmd_id or sieve_test_id */
	int		 line;
	struct sieve_arg *pos;		/* positional arguments, in order */
	size_t		 npos;
	struct sieve_tags tags;
	/* tests: if/elsif: one; allof/anyof: the list; not: one */
	struct sieve_node *tests;
	size_t		 ntests;
	/* commands with a block (if/elsif/else) */
	struct sieve_node *block;
	size_t		 nblock;
};

/* Extension bits of `require`. */
enum sieve_ext {
	SIEVE_EXT_FILEINTO		= 1u << 0,
	SIEVE_EXT_REJECT		= 1u << 1,
	SIEVE_EXT_EREJECT		= 1u << 2,
	SIEVE_EXT_ENVELOPE		= 1u << 3,
	SIEVE_EXT_IMAP4FLAGS		= 1u << 4,
	SIEVE_EXT_VARIABLES		= 1u << 5,
	SIEVE_EXT_RELATIONAL		= 1u << 6,
	SIEVE_EXT_SUBADDRESS		= 1u << 7,
	SIEVE_EXT_BODY			= 1u << 8,
	SIEVE_EXT_COPY			= 1u << 9,
	SIEVE_EXT_DATE			= 1u << 10,
	SIEVE_EXT_INDEX			= 1u << 11,
	SIEVE_EXT_ENCODED_CHAR		= 1u << 12,
	SIEVE_EXT_EDITHEADER		= 1u << 13,
	SIEVE_EXT_DUPLICATE		= 1u << 14,
	SIEVE_EXT_VACATION		= 1u << 15,
	SIEVE_EXT_VACATION_SECONDS	= 1u << 16,
	SIEVE_EXT_INCLUDE		= 1u << 17,
	SIEVE_EXT_MAILBOX		= 1u << 18,
	SIEVE_EXT_CMP_NUMERIC		= 1u << 19,
};

struct sieve_script {
	struct sieve_node *cmds;	/* top-level commands */
	size_t		 ncmds;
	uint32_t	 exts;		/* SIEVE_EXT_* required */
	/* `global` names this script declared (include), lower case */
	char		**globals;
	size_t		 nglobals;
};

/* sieve_ast.c: frees what a node holds (not n itself: nodes live in
 * arrays), its children included; used by the parser on errors too. */
void sieve_node_free(struct sieve_node *n);
void sieve_arg_free(struct sieve_arg *a);

#endif
