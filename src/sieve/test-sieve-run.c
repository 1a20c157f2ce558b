/* Unit tests for the Sieve interpreter (sieve_run*.c, sieve_editheader.c,
 * sieve_vacation.c): real scripts compiled with sieve_compile and run on
 * messages; each case asserts the result's actions in a compact form
 * (see summary()), and flags, texts, edited headers, vacation fields and
 * errors where they matter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve/sieve.h"
#include "util/buf.h"
#include "util/test.h"

#define NOW	1796594400	/* Sun, 6 Dec 2026 22:00:00 UTC */

static const char *HEAD =
    "Return-Path: <alice@example.org>\r\n"
    "Received: from a by b; Sun, 06 Dec 2026 09:00:00 +0000\r\n"
    "Received: from c by d; Sat, 05 Dec 2026 08:00:00 +0000\r\n"
    "From: Alice Example <alice@example.org>\r\n"
    "To: Bob <bob@example.com>, carol@example.net\r\n"
    "Cc: dave+lists@example.com\r\n"
    "Subject: Hello World\r\n"
    "Date: Sun, 06 Dec 2026 10:30:00 +0100\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "References: <r0@example.org>\r\n"
    "X-Spam-Score: 7\r\n"
    "\r\n";

static const char *BODY = "Hi Bob,\r\nthe meeting is at noon.\r\n";

/* What a run may ask about. */
static const char *const mine[] = { "bob@example.com",
    "robert@example.com" };
static const char *includes[][2] = {
	{ "sub", "require \"fileinto\"; fileinto \"Sub\";" },
	{ "ret", "require \"include\"; keep; return; discard;" },
	{ "loop", "require \"include\"; include \"loop\";" },
	{ "setg", "require [\"include\", \"variables\"]; global \"g\";"
	    " set \"g\" \"from-sub\"; set \"l\" \"local\";" },
	{ "once", "require [\"imap4flags\"]; addflag \"once\";" },
	{ "bad", "fileinto \"x\";" },
	{ NULL, NULL },
};

static const char *body_text;
static char *last_include;

static char *
inc_load(void *arg, bool global, const char *name, size_t *len)
{
	(void)arg;
	free(last_include);
	last_include = strdup(name);
	for (size_t i = 0; includes[i][0] != NULL; i++)
		if (strcmp(includes[i][0], name) == 0 && !global) {
			*len = strlen(includes[i][1]);
			return strdup(includes[i][1]);
		}
	return NULL;
}

static bool
mbox_exists(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "INBOX") == 0 || strcmp(name, "Lists") == 0;
}

static bool
dup_seen(void *arg, const char *handle, const char *id)
{
	(void)arg;
	(void)handle;
	return strcmp(id, "<seen@example.org>") == 0 ||
	    strcmp(id, "seen-id") == 0;
}

static int
get_body(void *arg, const char **data, size_t *len)
{
	(void)arg;
	*data = body_text;
	*len = strlen(body_text);
	return 0;
}

static struct sieve_msg msg;
static struct sieve_env env;
static struct sieve_limits lim;
static struct sieve_result R;

static void
reset(void)
{
	sieve_result_free(&R);
	memset(&msg, 0, sizeof(msg));
	msg.head = HEAD;
	msg.head_len = strlen(HEAD);
	msg.body = get_body;
	body_text = BODY;
	msg.size = strlen(HEAD) + strlen(BODY);
	msg.env_from = "alice@example.org";
	msg.env_to = "bob+box@example.com";
	msg.now = NOW;
	msg.now_zone = 60;
	memset(&env, 0, sizeof(env));
	env.user = "bob@example.com";
	env.addresses = mine;
	env.naddresses = 2;
	env.subaddress_sep = "+";
	env.include_load = inc_load;
	env.mailbox_exists = mbox_exists;
	env.duplicate_seen = dup_seen;
	sieve_limits_default(&lim);
}

/* The actions in one line: "keep", "ikeep" (implicit), "fileinto:Box",
 * "redirect:a@b", "reject:text", "ereject:text", "discard",
 * "vacation:to", each followed by {flags} when it has any; the error,
 * if any, last as "error:...". */
static char *
summary(const struct sieve_result *r)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < r->nactions; i++) {
		const struct sieve_action *a = &r->actions[i];

		if (b.len > 0)
			buf_putc(&b, ' ');
		switch (a->type) {
		case SIEVE_KEEP:
			buf_puts(&b, a->line == 0 && r->implicit_keep ?
			    "ikeep" : "keep");
			break;
		case SIEVE_FILEINTO:
			buf_printf(&b, "fileinto:%s%s%s", a->mailbox,
			    a->create ? "+create" : "", a->copy ? "+copy" : "");
			break;
		case SIEVE_REDIRECT:
			buf_printf(&b, "redirect:%s%s", a->address,
			    a->copy ? "+copy" : "");
			break;
		case SIEVE_REJECT:
			buf_printf(&b, "%s:%s", a->ereject ? "ereject" :
			    "reject", a->text);
			break;
		case SIEVE_DISCARD:
			buf_puts(&b, "discard");
			break;
		case SIEVE_VACATION:
			buf_printf(&b, "vacation:%s", a->address);
			break;
		}
		if (a->nflags > 0) {
			buf_putc(&b, '{');
			for (size_t j = 0; j < a->nflags; j++)
				buf_printf(&b, "%s%s", j ? " " : "",
				    a->flags[j]);
			buf_putc(&b, '}');
		}
	}
	if (r->error != NULL)
		buf_printf(&b, " error:%s", r->error);
	return buf_steal(&b, NULL);
}

/* Compiles each script (NULL ends), runs them in sequence, returns the
 * summary (static: valid until the next call). */
static const char *
run_seq(const char *const *texts)
{
	static char *last;
	struct sieve_script *sc[4];
	struct sieve_error err;
	size_t n;

	free(last);
	last = NULL;
	for (n = 0; texts[n] != NULL; n++) {
		sc[n] = sieve_compile(texts[n], strlen(texts[n]), NULL, &err);
		if (sc[n] == NULL) {
			fprintf(stderr, "  compile: line %d: %s\n", err.line,
			    err.msg);
			while (n > 0)
				sieve_script_free(&sc[--n]);
			return "compile error";
		}
	}
	sieve_result_free(&R);
	sieve_run(sc, n, &msg, &env, &lim, &R);
	while (n > 0)
		sieve_script_free(&sc[--n]);
	last = summary(&R);
	return last;
}

static const char *
run(const char *text)
{
	const char *t[2] = { text, NULL };

	return run_seq(t);
}

#define CHECK(script, want) TEST_ASSERT_STREQ(run(script), want)
#define REQ(x) "require [" x "];\n"
#define NUM "\"comparator-i;ascii-numeric\""

/* ---- base language (RFC 5228) ---- */

static void
test_base(void)
{
	reset();
	CHECK("", "ikeep");
	CHECK("keep;", "keep");
	TEST_ASSERT(!R.implicit_keep);
	CHECK("discard;", "discard");
	CHECK("discard; keep;", "discard keep");
	CHECK("stop; discard;", "ikeep");
	CHECK(REQ("\"fileinto\"") "if header :contains \"subject\" \"hello\""
	    " { fileinto \"A\"; }", "fileinto:A");
	CHECK(REQ("\"fileinto\"") "if header :is \"subject\" \"x\" "
	    "{ fileinto \"A\"; } elsif exists \"x-spam-score\" { fileinto "
	    "\"B\"; } else { fileinto \"C\"; }", "fileinto:B");
	CHECK(REQ("\"fileinto\"") "if false { fileinto \"A\"; } elsif "
	    "false { fileinto \"B\"; } else { fileinto \"C\"; }",
	    "fileinto:C");
	CHECK("if not exists \"x-nope\" { discard; }", "discard");
	CHECK("if allof (true, exists [\"from\", \"to\"]) { discard; }",
	    "discard");
	CHECK("if allof (true, exists [\"from\", \"x-nope\"]) { discard; }",
	    "ikeep");
	CHECK("if anyof (false, header :matches \"from\" \"*alice*\") "
	    "{ discard; }", "discard");
}

static void
test_size_address(void)
{
	reset();
	CHECK("if size :over 100 { discard; }", "discard");
	CHECK("if size :under 100 { discard; }", "ikeep");
	CHECK("if size :over 1M { discard; }", "ikeep");
	CHECK("if address :domain :is \"from\" \"EXAMPLE.org\" "
	    "{ discard; }", "discard");
	CHECK("if address :localpart :is \"to\" \"carol\" { discard; }",
	    "discard");
	CHECK("if address :all :is \"from\" \"Alice Example\" "
	    "{ discard; }", "ikeep");
	CHECK("if address :is :comparator \"i;octet\" \"from\" "
	    "\"ALICE@example.org\" { discard; }", "ikeep");
	CHECK(REQ("\"subaddress\"") "if address :detail \"cc\" \"lists\""
	    " { discard; }", "discard");
	CHECK(REQ("\"subaddress\"") "if address :user \"cc\" \"dave\""
	    " { discard; }", "discard");
	/* :detail of an address without a separator does not match */
	CHECK(REQ("\"subaddress\"") "if address :detail :matches \"from\" "
	    "\"*\" { discard; }", "ikeep");
}

static void
test_envelope(void)
{
	reset();
	CHECK(REQ("\"envelope\"") "if envelope :is \"from\" "
	    "\"alice@example.org\" { discard; }", "discard");
	CHECK(REQ("\"envelope\", \"subaddress\"") "if envelope :detail "
	    "\"to\" \"box\" { discard; }", "discard");
	CHECK(REQ("\"envelope\", \"subaddress\"") "if envelope :user "
	    "\"to\" \"bob\" { discard; }", "discard");
	CHECK(REQ("\"envelope\"") "if envelope :domain \"to\" "
	    "\"example.com\" { discard; }", "discard");
	msg.env_from = "";
	CHECK(REQ("\"envelope\"") "if envelope :is :domain \"from\" \"\" "
	    "{ discard; }", "discard");
	CHECK(REQ("\"envelope\"") "if envelope :matches \"auth\" \"*\" "
	    "{ discard; }", "ikeep");
	msg.auth = "bob";
	CHECK(REQ("\"envelope\"") "if envelope :is \"auth\" \"bob\" "
	    "{ discard; }", "discard");
}

static void
test_redirect_fileinto(void)
{
	reset();
	CHECK("redirect \"carol@example.net\";", "redirect:carol@example.net");
	CHECK(REQ("\"copy\"") "redirect :copy \"carol@example.net\";",
	    "redirect:carol@example.net+copy ikeep");
	CHECK("redirect \"c@example.net\"; redirect \"C@example.net\";",
	    "redirect:c@example.net");
	CHECK("redirect \"Carol <c@example.net>\";", "redirect:c@example.net");
	CHECK(REQ("\"fileinto\"") "fileinto \"A\"; fileinto \"A\";",
	    "fileinto:A");
	CHECK(REQ("\"fileinto\"") "keep; fileinto \"INBOX\";", "keep");
	CHECK(REQ("\"fileinto\", \"mailbox\"") "fileinto :create \"A/B\";",
	    "fileinto:A/B+create");
	CHECK(REQ("\"fileinto\", \"copy\"") "fileinto :copy \"A\";",
	    "fileinto:A+copy ikeep");
	CHECK(REQ("\"fileinto\"") "fileinto \"INBOX\";", "fileinto:INBOX");
	CHECK(REQ("\"mailbox\"") "if mailboxexists \"Lists\" { discard; }",
	    "discard");
	CHECK(REQ("\"mailbox\"") "if mailboxexists [\"Lists\", \"Nope\"] "
	    "{ discard; }", "ikeep");
}

static void
test_reject(void)
{
	reset();
	CHECK(REQ("\"reject\"") "reject \"go away\";", "reject:go away");
	CHECK(REQ("\"ereject\"") "ereject \"no\";", "ereject:no");
	CHECK(REQ("\"reject\"") "discard; reject \"no\";", "discard reject:no");
	/* RFC 5429 2.1 / Pigeonhole: reject and a delivery conflict */
	CHECK(REQ("\"reject\", \"fileinto\"") "fileinto \"A\";\n"
	    "reject \"no\";",
	    "ikeep error:line 3: reject conflicts with fileinto (line 2)");
	CHECK(REQ("\"reject\"") "reject \"no\";\nkeep;",
	    "ikeep error:line 2: reject conflicts with keep (line 3)");
	CHECK(REQ("\"reject\", \"vacation\"") "reject \"no\";\n"
	    "vacation \"away\";",
	    "ikeep error:line 2: reject conflicts with vacation (line 3)");
	CHECK(REQ("\"reject\"") "reject \"a\";\nreject \"b\";",
	    "ikeep error:line 3: second reject conflicts with reject "
	    "(line 2)");
	CHECK(REQ("\"reject\", \"vacation\"") "vacation \"away\";\n"
	    "reject \"no\";",
	    "ikeep error:line 3: reject conflicts with vacation (line 2)");
}

/* ---- imap4flags (RFC 5232) ---- */

static void
test_flags(void)
{
	reset();
	CHECK(REQ("\"imap4flags\"") "setflag \"\\\\seen\";",
	    "ikeep{\\Seen}");
	CHECK(REQ("\"imap4flags\"") "addflag [\"a b\", \"B\", \"c\"]; "
	    "removeflag \"a\";", "ikeep{b c}");
	CHECK(REQ("\"imap4flags\", \"fileinto\"") "addflag \"x\";"
	    " fileinto :flags \"\\\\Flagged y\" \"A\"; keep;",
	    "fileinto:A{\\Flagged y} keep{x}");
	CHECK(REQ("\"imap4flags\"") "setflag \"\\\\Recent ok\";",
	    "ikeep{ok}");
	CHECK(REQ("\"imap4flags\"") "addflag \"\\\\Seen\"; if hasflag "
	    ":is \"\\\\SEEN\" { discard; }", "discard");
	CHECK(REQ("\"imap4flags\", \"variables\"") "setflag \"v\" \"p q\";"
	    " addflag \"v\" \"r\"; if hasflag :contains \"v\" \"r\" "
	    "{ keep; }", "keep");
	CHECK(REQ("\"imap4flags\", \"variables\", \"relational\", " NUM)
	    "setflag \"v\" \"p q p\"; if hasflag :count \"eq\" "
	    ":comparator \"i;ascii-numeric\" \"v\" \"2\" { discard; }",
	    "discard");
	CHECK(REQ("\"imap4flags\", \"variables\"") "if header :matches "
	    "\"subject\" \"* *\" { if hasflag \"2\" \"world\" { discard; } }",
	    "discard");
	CHECK(REQ("\"imap4flags\"") "addflag \"a\"; keep; addflag \"b\";",
	    "keep{a}");
	/* a folded duplicate takes the later flags (as Pigeonhole) */
	CHECK(REQ("\"imap4flags\", \"fileinto\"") "fileinto :flags \"a\" "
	    "\"A\"; fileinto :flags \"b\" \"A\";", "fileinto:A{b}");
	CHECK(REQ("\"imap4flags\", \"fileinto\"") "keep :flags \"a\"; "
	    "fileinto :flags \"b\" \"INBOX\";", "keep{b}");
	CHECK(REQ("\"imap4flags\"") "setflag \"\\\\Recent x\"; if hasflag "
	    "\"\\\\Recent\" { discard; }", "ikeep{x}");
}

/* ---- variables (RFC 5229) and relational (RFC 5231) ---- */

static void
test_variables(void)
{
	reset();
	CHECK(REQ("\"variables\", \"fileinto\"") "set \"box\" \"Work\";"
	    " fileinto \"${box}/${BOX}\";", "fileinto:Work/Work");
	CHECK(REQ("\"variables\", \"fileinto\"") "if header :matches "
	    "\"subject\" \"* W*\" { fileinto \"${1}-${2}-${0}\"; }",
	    "fileinto:Hello-orld-Hello World");
	CHECK(REQ("\"variables\", \"fileinto\"") "set :upper \"a\" \"x\";"
	    " set :length \"n\" \"hello\"; set :upperfirst \"c\" \"zed\";"
	    " fileinto \"${a}${n}${c}\";", "fileinto:X5Zed");
	CHECK(REQ("\"variables\"") "set \"a\" \"1\"; if string :is "
	    "\"${a}\" \"1\" { discard; }", "discard");
	CHECK(REQ("\"variables\", \"relational\", " NUM) "if string :count \"eq\""
	    " :comparator \"i;ascii-numeric\" [\"a\", \"\", \"b\"] \"2\" "
	    "{ discard; }", "discard");
	/* no "variables": ${} is literal */
	CHECK(REQ("\"fileinto\"") "fileinto \"${x}\";", "fileinto:${x}");
	/* a failed :matches leaves the match variables alone */
	CHECK(REQ("\"variables\", \"fileinto\"") "if header :matches "
	    "\"subject\" \"H*\" {} if header :matches \"subject\" \"Z*\" {}"
	    " fileinto \"${1}\";", "fileinto:ello World");
	CHECK(REQ("\"encoded-character\", \"fileinto\"")
	    "fileinto \"${hex:41 42}${unicode:43}\";", "fileinto:ABC");
}

static void
test_relational(void)
{
	reset();
	CHECK(REQ("\"relational\", " NUM) "if address :count \"eq\" :comparator "
	    "\"i;ascii-numeric\" [\"to\", \"cc\"] \"3\" { discard; }",
	    "discard");
	CHECK(REQ("\"relational\", " NUM) "if header :count \"eq\" :comparator "
	    "\"i;ascii-numeric\" \"received\" \"2\" { discard; }",
	    "discard");
	CHECK(REQ("\"relational\", " NUM) "if header :value \"ge\" :comparator "
	    "\"i;ascii-numeric\" \"x-spam-score\" \"5\" { discard; }",
	    "discard");
	CHECK(REQ("\"relational\", " NUM) "if header :value \"lt\" :comparator "
	    "\"i;ascii-numeric\" \"x-spam-score\" \"5\" { discard; }",
	    "ikeep");
}

/* ---- body (RFC 5173) ---- */

static void
test_body(void)
{
	reset();
	CHECK(REQ("\"body\"") "if body :contains \"noon\" { discard; }",
	    "discard");
	CHECK(REQ("\"body\"") "if body :raw :contains \"midnight\" "
	    "{ discard; }", "ikeep");
	CHECK(REQ("\"body\"") "if body :content \"text\" :contains \"Bob\""
	    " { discard; }", "discard");
	msg.body = NULL;
	CHECK(REQ("\"body\"") "if body :contains \"noon\" { discard; }",
	    "ikeep");
}

/* ---- date and index (RFC 5260) ---- */

static void
test_date(void)
{
	reset();
	CHECK(REQ("\"date\"") "if date :is \"date\" \"year\" \"2026\" "
	    "{ discard; }", "discard");
	CHECK(REQ("\"date\"") "if date :originalzone :is \"date\" \"hour\" "
	    "\"10\" { discard; }", "discard");
	CHECK(REQ("\"date\"") "if date :zone \"+0000\" :is \"date\" "
	    "\"hour\" \"09\" { discard; }", "discard");
	/* no :zone: the local zone, +0100 */
	CHECK(REQ("\"date\"") "if date :is \"date\" \"time\" \"10:30:00\" "
	    "{ discard; }", "discard");
	CHECK(REQ("\"date\"") "if currentdate :zone \"+0000\" :is \"hour\" "
	    "\"22\" { discard; }", "discard");
	CHECK(REQ("\"date\"") "if currentdate :is \"date\" \"2026-12-06\" "
	    "{ discard; }", "discard");	/* 23:00 local: still the 6th */
	CHECK(REQ("\"date\"") "if currentdate :zone \"+0300\" :is \"date\" "
	    "\"2026-12-07\" { discard; }", "discard");
	CHECK(REQ("\"date\", \"index\"") "if date :index 2 :is \"received\""
	    " \"day\" \"05\" { discard; }", "discard");
	CHECK(REQ("\"date\", \"index\"") "if date :index 1 :last :is "
	    "\"received\" \"day\" \"05\" { discard; }", "discard");
	CHECK(REQ("\"index\"") "if header :index 1 :last :contains "
	    "\"received\" \"from a\" { discard; }", "ikeep");
	CHECK(REQ("\"index\"") "if address :index 2 :is \"to\" "
	    "\"carol@example.net\" { discard; }", "ikeep");
}

/* ---- editheader (RFC 5293) ---- */

static void
test_editheader(void)
{
	reset();
	CHECK(REQ("\"editheader\"") "addheader \"X-Sieve\" \"yes\";"
	    " if header :is \"x-sieve\" \"yes\" { discard; }", "discard");
	TEST_ASSERT(R.head != NULL);
	TEST_ASSERT(strncmp(R.head, "X-Sieve: yes\r\nReturn-Path:", 26) == 0);
	CHECK(REQ("\"editheader\"") "addheader :last \"X-Last\" \"1\";",
	    "ikeep");
	TEST_ASSERT(R.head != NULL && strstr(R.head,
	    "X-Spam-Score: 7\r\nX-Last: 1\r\n\r\n") != NULL);
	CHECK(REQ("\"editheader\"") "deleteheader \"subject\"; if exists "
	    "\"subject\" { discard; }", "ikeep");
	TEST_ASSERT(R.head != NULL && strstr(R.head, "Subject") == NULL);
	TEST_ASSERT(R.head_len == strlen(HEAD) - strlen(
	    "Subject: Hello World\r\n"));
	CHECK(REQ("\"editheader\"") "addheader \"X-A\" \"1\"; addheader "
	    "\"X-A\" \"2\"; addheader \"X-A\" \"3\"; deleteheader :index 2 "
	    "\"x-a\"; deleteheader :matches \"x-a\" \"3\";", "ikeep");
	TEST_ASSERT(strncmp(R.head, "X-A: 1\r\nReturn-Path", 19) == 0);
	/* protected: a computed name is checked at run time */
	CHECK(REQ("\"editheader\", \"variables\", \"relational\", " NUM)
	    "set \"h\" \"Received\"; deleteheader \"${h}\"; if header "
	    ":count \"eq\" :comparator \"i;ascii-numeric\" \"received\" "
	    "\"2\" { discard; }", "discard");
	CHECK(REQ("\"editheader\"") "addheader \"X-U\" \"caf\xc3\xa9\";",
	    "ikeep");
	TEST_ASSERT(strncmp(R.head, "X-U: =?UTF-8?B?Y2Fmw6k=?=\r\n", 27) == 0);
	CHECK(REQ("\"editheader\", \"variables\"") "set \"v\" text:\r\n"
	    "a\r\nb\r\n.\r\n; addheader \"X-F\" \"${v}\";", "ikeep");
	TEST_ASSERT(strncmp(R.head, "X-F: a\r\n b\r\nReturn-Path", 23) == 0);
	CHECK(REQ("\"editheader\"") "addheader \"X-L\" \""
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\";",
	    "ikeep");
	TEST_ASSERT(strncmp(R.head, "X-L: =?UTF-8?B?", 15) == 0);
	TEST_ASSERT(strstr(R.head, "?=\r\n =?UTF-8?B?") != NULL);
	lim.max_header_edits = 2;
	CHECK(REQ("\"editheader\"") "addheader \"X-A\" \"1\";\n"
	    "addheader \"X-A\" \"2\";\naddheader \"X-A\" \"3\";",
	    "ikeep error:line 4: too many header edits (limit 2)");
	TEST_ASSERT(R.head == NULL);
}

/* ---- duplicate (RFC 7352) ---- */

static void
test_duplicate(void)
{
	reset();
	CHECK(REQ("\"duplicate\"") "if duplicate { discard; }", "ikeep");
	TEST_ASSERT(R.ndups == 1);
	TEST_ASSERT_STREQ(R.dups[0].id, "<m1@example.org>");
	TEST_ASSERT(R.dups[0].seconds == 12 * 3600);
	CHECK(REQ("\"duplicate\"") "if duplicate :uniqueid \"seen-id\" "
	    "{ discard; }", "discard");
	TEST_ASSERT(R.ndups == 0);
	CHECK(REQ("\"duplicate\"") "if duplicate :last :uniqueid \"seen-id\""
	    " :seconds 60 :handle \"h\" { discard; }", "discard");
	TEST_ASSERT(R.ndups == 1 && R.dups[0].seconds == 60);
	TEST_ASSERT_STREQ(R.dups[0].handle, "h");
	CHECK(REQ("\"duplicate\"") "if duplicate :header \"x-nope\" "
	    "{ discard; }", "ikeep");
	TEST_ASSERT(R.ndups == 0);
	CHECK(REQ("\"duplicate\"") "if duplicate :header \"subject\" "
	    "{ discard; }", "ikeep");
	TEST_ASSERT(R.ndups == 1);
	TEST_ASSERT_STREQ(R.dups[0].id, "Hello World");
}

/* ---- vacation (RFC 5230, 6131) ---- */

static void
test_vacation(void)
{
	const struct sieve_action *a;
	char *h1;

	reset();
	CHECK(REQ("\"vacation\"") "vacation \"I am away\";",
	    "vacation:alice@example.org ikeep");
	a = &R.actions[0];
	TEST_ASSERT_STREQ(a->subject, "Auto: Hello World");
	TEST_ASSERT_STREQ(a->text, "I am away");
	TEST_ASSERT(a->seconds == 7 * 86400 && a->from == NULL && !a->mime);
	TEST_ASSERT_STREQ(a->in_reply_to, "<m1@example.org>");
	TEST_ASSERT_STREQ(a->references, "<r0@example.org> <m1@example.org>");
	TEST_ASSERT(a->handle != NULL);
	h1 = strdup(a->handle);
	CHECK(REQ("\"vacation\"") "vacation \"I am away\";",
	    "vacation:alice@example.org ikeep");
	TEST_ASSERT_STREQ(R.actions[0].handle, h1);
	CHECK(REQ("\"vacation\"") "vacation \"Back soon\";",
	    "vacation:alice@example.org ikeep");
	TEST_ASSERT(strcmp(R.actions[0].handle, h1) != 0);
	free(h1);
	CHECK(REQ("\"vacation\", \"variables\"") "set \"s\" \"Off\";"
	    " vacation :days 0 :subject \"${s}\" :from \"bob@example.com\" "
	    ":handle \"h\" :mime \"x\";", "vacation:alice@example.org ikeep");
	a = &R.actions[0];
	TEST_ASSERT_STREQ(a->subject, "Off");
	TEST_ASSERT_STREQ(a->from, "bob@example.com");
	TEST_ASSERT_STREQ(a->handle, "h");
	TEST_ASSERT(a->mime && a->seconds == 86400);
	CHECK(REQ("\"vacation\"") "vacation :days 30 \"x\";",
	    "vacation:alice@example.org ikeep");
	TEST_ASSERT(R.actions[0].seconds == 30 * 86400);
	CHECK(REQ("\"vacation-seconds\"") "vacation :seconds 10 \"x\";",
	    "vacation:alice@example.org ikeep");
	TEST_ASSERT(R.actions[0].seconds == 86400);
	CHECK(REQ("\"vacation\"") "vacation \"a\";\nvacation \"b\";",
	    "ikeep error:line 3: duplicate vacation action");
}

/* The run's own "do not reply" rules (RFC 5230 4.5, RFC 3834). */
static void
test_vacation_rules(void)
{
	static const char *list =
	    "From: l@example.org\nTo: bob@example.com\nList-Id: <x.y>\n\n";
	static const char *bulk =
	    "From: l@example.org\nTo: bob@example.com\nPrecedence: Bulk\n\n";
	static const char *autos = "From: l@example.org\n"
	    "To: bob@example.com\nAuto-Submitted: auto-replied\n\n";
	static const char *nauto = "From: l@example.org\n"
	    "To: bob@example.com\nAuto-Submitted: no\n\n";
	static const char *other = "From: l@example.org\n"
	    "To: someone@example.net\n\n";
	static const char *alias = "From: l@example.org\n"
	    "Cc: ROBERT@example.com\n\n";
	const char *vac = REQ("\"vacation\"") "vacation \"away\";";
	const char *vac_a = REQ("\"vacation\"")
	    "vacation :addresses [\"x@y.org\", \"Some One <someone@example.net>\"]"
	    " \"away\";";

	reset();
	msg.env_from = "";
	CHECK(vac, "ikeep");
	msg.env_from = "MAILER-DAEMON@example.org";
	CHECK(vac, "ikeep");
	msg.env_from = "owner-list@example.org";
	CHECK(vac, "ikeep");
	msg.env_from = "list-request@example.org";
	CHECK(vac, "ikeep");
	msg.env_from = "bob@example.com";
	CHECK(vac, "ikeep");
	msg.env_from = "l@example.org";
	msg.head = list;
	msg.head_len = strlen(list);
	CHECK(vac, "ikeep");
	msg.head = bulk;
	msg.head_len = strlen(bulk);
	CHECK(vac, "ikeep");
	msg.head = autos;
	msg.head_len = strlen(autos);
	CHECK(vac, "ikeep");
	msg.head = nauto;
	msg.head_len = strlen(nauto);
	CHECK(vac, "vacation:l@example.org ikeep");
	TEST_ASSERT_STREQ(R.actions[0].subject, "Automated reply");
	TEST_ASSERT(R.actions[0].in_reply_to == NULL);
	msg.head = other;
	msg.head_len = strlen(other);
	CHECK(vac, "ikeep");
	CHECK(vac_a, "vacation:l@example.org ikeep");
	msg.head = alias;
	msg.head_len = strlen(alias);
	CHECK(vac, "vacation:l@example.org ikeep");
}

/* ---- include (RFC 6609) ---- */

static void
test_include(void)
{
	reset();
	CHECK(REQ("\"include\"") "include \"sub\";", "fileinto:Sub");
	CHECK(REQ("\"include\"") "include \"ret\"; discard;",
	    "keep discard");
	CHECK(REQ("\"include\"") "include :optional \"nope\";", "ikeep");
	CHECK(REQ("\"include\"") "include \"nope\";",
	    "ikeep error:line 2: included personal script 'nope' not found");
	CHECK(REQ("\"include\"") "include :global \"sub\";",
	    "ikeep error:line 2: included global script 'sub' not found");
	CHECK(REQ("\"include\"") "include \"loop\";",
	    "ikeep error:line 1: include loop: 'loop' includes itself");
	CHECK(REQ("\"include\"") "include \"bad\";", "ikeep error:line 2: "
	    "included script 'bad': line 1: unknown command 'fileinto' "
	    "(missing require \"fileinto\")");
	CHECK(REQ("\"include\", \"variables\", \"fileinto\"") "global \"g\";"
	    " include \"setg\"; fileinto \"${g}-${l}\";",
	    "fileinto:from-sub-");
	CHECK(REQ("\"include\", \"variables\", \"fileinto\"")
	    "include \"setg\"; fileinto \"${global.g}\";",
	    "fileinto:from-sub");
	CHECK(REQ("\"include\", \"imap4flags\", \"variables\"")
	    "include :once \"once\"; include :once \"once\";"
	    " if hasflag :is \"once\" { keep; }", "keep{once}");
	CHECK(REQ("\"include\"") "return; discard;", "ikeep");
	CHECK(REQ("\"include\", \"variables\"") "set \"n\" \"su\";"
	    " include \"${n}b\";", "fileinto:Sub");
	TEST_ASSERT_STREQ(last_include, "sub");
}

/* ---- limits and errors: always one implicit keep ---- */

static void
test_limits(void)
{
	reset();
	lim.max_redirects = 2;
	CHECK("redirect \"a@x.org\";\nredirect \"b@x.org\";\n"
	    "redirect \"c@x.org\";",
	    "ikeep error:line 3: too many redirects (limit 2)");
	lim.max_actions = 2;
	CHECK(REQ("\"fileinto\"") "fileinto \"a\"; fileinto \"b\";\n"
	    "fileinto \"c\";", "ikeep error:line 3: too many actions "
	    "(limit 2)");
	reset();
	lim.max_steps = 5;
	CHECK("if true {} if true {} if true { discard; }",
	    "ikeep error:line 1: too many steps (limit 5)");
	reset();
	lim.max_variables = 2;
	CHECK(REQ("\"variables\"") "set \"a\" \"1\"; set \"b\" \"2\";\n"
	    "set \"c\" \"3\";",
	    "ikeep error:line 3: too many variables (limit 2)");
	reset();
	lim.max_variable_size = 3;
	CHECK(REQ("\"variables\", \"fileinto\"") "set \"a\" \"12345\";"
	    " fileinto \"${a}\";", "fileinto:123");
	reset();
	lim.max_match_steps = 5;
	CHECK(REQ("\"variables\"") "set \"a\" \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab\";"
	    "\nif string :matches \"${a}\" \"*a?a?c\" { discard; }",
	    "ikeep error:line 3: :matches budget exhausted (limit 5 steps)");
	reset();
	CHECK(REQ("\"variables\"") "set \"a\" \"no address\";\n"
	    "redirect \"${a}\";",
	    "ikeep error:line 3: redirect: invalid address 'no address'");
	TEST_ASSERT(R.implicit_keep);
}

/* ---- sieve_before then the user's script (as Pigeonhole) ---- */

static void
test_sequence(void)
{
	const char *a[] = { REQ("\"fileinto\"") "fileinto \"Global\";",
	    "discard;", NULL };
	const char *b[] = { "stop;", "discard;", NULL };
	const char *c[] = { REQ("\"imap4flags\"") "addflag \"g\"; keep;",
	    REQ("\"imap4flags\"") "addflag \"u\";", NULL };
	const char *d[] = { "keep;", "redirect \"x\";", NULL };

	reset();
	TEST_ASSERT_STREQ(run_seq(a), "fileinto:Global");
	TEST_ASSERT_STREQ(run_seq(b), "discard");
	TEST_ASSERT_STREQ(run_seq(c), "keep{g}");
	TEST_ASSERT_STREQ(run_seq(d), "compile error");
}

int
main(void)
{
	TEST_RUN(test_base);
	TEST_RUN(test_size_address);
	TEST_RUN(test_envelope);
	TEST_RUN(test_redirect_fileinto);
	TEST_RUN(test_reject);
	TEST_RUN(test_flags);
	TEST_RUN(test_variables);
	TEST_RUN(test_relational);
	TEST_RUN(test_body);
	TEST_RUN(test_date);
	TEST_RUN(test_editheader);
	TEST_RUN(test_duplicate);
	TEST_RUN(test_vacation);
	TEST_RUN(test_vacation_rules);
	TEST_RUN(test_include);
	TEST_RUN(test_limits);
	TEST_RUN(test_sequence);
	sieve_result_free(&R);
	free(last_include);
	run_seq((const char *[]){ NULL });
	sieve_result_free(&R);
	return test_done("test-sieve-run");
}
