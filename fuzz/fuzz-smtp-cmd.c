/*
 * fuzz-smtp-cmd - libFuzzer target for smtp_parser: the input is one
 * command line; its arguments (and the raw input itself) go through the
 * MAIL, RCPT, EHLO and BDAT parsers.
 *
 * Beyond "no crash, no leak, no UB" it checks contracts: failures leave the
 * path zeroed and give a "5xx " reply; successful paths have non-NULL
 * strings; and smtp_path_to_string() round-trips: the formatted path parses
 * again to the same local part and domain.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parser.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_reply(const char *reply)
{
	CHECK(reply != NULL);
	CHECK(reply[0] == '5' && reply[1] >= '0' && reply[1] <= '5' &&
	    reply[2] >= '0' && reply[2] <= '9' && reply[3] == ' ');
	CHECK(strpbrk(reply, "\r\n") == NULL);
}

static void
check_failed_path(const struct smtp_path *p)
{
	CHECK(p->localpart == NULL && p->domain == NULL && p->envid == NULL &&
	    p->orcpt == NULL && p->auth == NULL && !p->null_path);
}

/* Formats p, parses the result again, and compares. */
static void
round_trip(const struct smtp_path *p, bool is_mail, bool utf8_ok)
{
	struct smtp_path q;
	const char *reply = NULL;
	char *s, *args;
	int r;

	s = smtp_path_to_string(p);
	if (p->null_path) {
		CHECK(s[0] == '\0');
		free(s);
		return;
	}
	if (is_mail) {
		args = xasprintf("FROM:<%s>%s", s, p->utf8 ? " SMTPUTF8" : "");
		r = smtp_parse_mail(args, &q, &reply);
	} else {
		args = xasprintf("TO:<%s>", s);
		r = smtp_parse_rcpt(args, utf8_ok, &q, &reply);
	}
	CHECK(r == 0);
	CHECK(strcmp(q.localpart, p->localpart) == 0);
	CHECK(strcmp(q.domain, p->domain) == 0);
	CHECK(q.bare_postmaster == p->bare_postmaster);
	CHECK(q.utf8 == p->utf8);
	CHECK(!q.had_route);
	smtp_path_free(&q);
	free(args);
	free(s);
}

static void
check_path_ok(const struct smtp_path *p)
{
	CHECK(p->localpart != NULL && p->domain != NULL);
	CHECK(strlen(p->localpart) < SMTP_PATH_MAX);
	CHECK(strlen(p->domain) <= SMTP_DOMAIN_MAX + 2);
	CHECK(utf8_valid(p->localpart, strlen(p->localpart)));
	CHECK(utf8_valid(p->domain, strlen(p->domain)));
	CHECK(!(p->notify & SMTP_NOTIFY_NEVER) ||
	    p->notify == SMTP_NOTIFY_NEVER);
	if (p->envid != NULL)
		CHECK(smtp_xtext_valid(p->envid, strlen(p->envid)));
}

static void
fuzz_args(const char *args)
{
	struct smtp_path p;
	const char *reply;
	uint64_t size;
	bool last, utf8_ok;
	int r;

	reply = NULL;
	r = smtp_parse_mail(args, &p, &reply);
	if (r == 0) {
		check_path_ok(&p);
		CHECK(!p.bare_postmaster);
		CHECK(!p.utf8 || p.smtputf8);
		round_trip(&p, true, p.smtputf8);
	} else {
		check_reply(reply);
		check_failed_path(&p);
	}
	smtp_path_free(&p);

	for (utf8_ok = false;; utf8_ok = true) {
		reply = NULL;
		r = smtp_parse_rcpt(args, utf8_ok, &p, &reply);
		if (r == 0) {
			check_path_ok(&p);
			CHECK(!p.null_path);
			CHECK(!p.utf8 || utf8_ok);
			round_trip(&p, false, utf8_ok);
		} else {
			check_reply(reply);
			check_failed_path(&p);
		}
		smtp_path_free(&p);
		if (utf8_ok)
			break;
	}

	reply = NULL;
	if (smtp_parse_helo(args, &reply) < 0)
		check_reply(reply);
	reply = NULL;
	if (smtp_parse_bdat(args, &size, &last, &reply) < 0)
		check_reply(reply);
}

static void
fuzz_xtext(const char *s, size_t len)
{
	struct buf b;
	bool valid = smtp_xtext_valid(s, len);

	buf_init(&b, 0);
	CHECK((smtp_xtext_decode(s, len, &b) == 0) == (valid || len == 0));
	CHECK(!valid || b.len <= len);
	buf_free(&b);
	(void)utf8_valid(s, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_command cmd;
	const char *reply = NULL;
	char *copy;

	if (smtp_command_parse((const char *)data, size, &cmd, &reply) == 0) {
		CHECK(cmd.line != NULL && cmd.args >= cmd.line);
		CHECK(strlen(cmd.args) <= size);
		(void)smtp_verb_name(cmd.verb);
		reply = NULL;
		if (smtp_command_check_no_args(&cmd, &reply) < 0)
			check_reply(reply);
		fuzz_args(cmd.args);
	} else {
		check_reply(reply);
		CHECK(cmd.line == NULL);
	}
	smtp_command_free(&cmd);

	/* the raw input as arguments too, so the fuzzer need not find a verb */
	copy = xstrndup((const char *)data, size);
	fuzz_args(copy);
	fuzz_xtext((const char *)data, size);
	free(copy);
	return 0;
}
