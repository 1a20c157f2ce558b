/*
 * fuzz-sieve-run - the Sieve interpreter on arbitrary script + message
 * pairs: the input is a script, a NUL, then a message (header and body;
 * no NUL: a fixed message). Every script that compiles is run with small
 * limits (so the step, match, variable, action and edit limits are hit)
 * and callbacks that answer from the input. Beyond "no crash, no UB, no
 * leak" it checks the result's promises (sieve.h): an error leaves
 * exactly one implicit keep and no edited header; every action has its
 * fields; an implicit keep is a KEEP.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/rfc5322.h"
#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const char MSG[] =
    "From: A <a@example.org>\nTo: u@example.com, b+x@example.net\n"
    "Subject: =?UTF-8?Q?hi?= there\nDate: Sun, 6 Dec 2026 10:00:00 +0100\n"
    "Message-ID: <id@example.org>\nList-Id: <l.example.org>\n"
    "Content-Type: multipart/mixed; boundary=b\n\n"
    "--b\nContent-Type: text/plain\n\nhello\n--b--\n";

struct in {
	const char	*body;
	size_t		 blen;
	const char	*script;
	size_t		 slen;
};

static int
get_body(void *arg, const char **data, size_t *len)
{
	struct in *in = arg;

	*data = in->body;
	*len = in->blen;
	return 0;
}

/* include: the same script again (loops, depth and :once get hit) */
static char *
inc_load(void *arg, bool global, const char *name, size_t *len)
{
	struct in *in = arg;
	char *t;

	if (global || name[0] == 'n')
		return NULL;
	t = malloc(in->slen + 1);
	CHECK(t != NULL);
	memcpy(t, in->script, in->slen);
	*len = in->slen;
	return t;
}

static bool
yes_if_a(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'a' || name[0] == 'I';
}

static bool
seen(void *arg, const char *handle, const char *id)
{
	(void)arg;
	return (strlen(handle) + strlen(id)) % 2 == 0;
}

static void
check(const struct sieve_result *r)
{
	size_t i;

	if (r->error != NULL) {
		CHECK(r->nactions == 1 && r->implicit_keep);
		CHECK(r->actions[0].type == SIEVE_KEEP);
		CHECK(r->head == NULL && r->ndups == 0);
		CHECK(strncmp(r->error, "line ", 5) == 0);
	}
	for (i = 0; i < r->nactions; i++) {
		const struct sieve_action *a = &r->actions[i];

		CHECK(a->type != SIEVE_FILEINTO || a->mailbox != NULL);
		CHECK(a->type != SIEVE_REDIRECT ||
		    strchr(a->address, '@') != NULL);
		CHECK(a->type != SIEVE_REJECT || a->text != NULL);
		CHECK(a->type != SIEVE_VACATION || (a->address != NULL &&
		    a->subject != NULL && a->handle != NULL &&
		    a->text != NULL && a->seconds >= 86400));
		for (size_t f = 0; f < a->nflags; f++)
			CHECK(a->flags[f][0] != '\0' &&
			    strchr(a->flags[f], ' ') == NULL);
	}
	if (r->implicit_keep)
		CHECK(r->nactions > 0 &&
		    r->actions[r->nactions - 1].type == SIEVE_KEEP);
	for (i = 0; i < r->ndups; i++)
		CHECK(r->dups[i].handle != NULL && r->dups[i].id != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	const char *m = MSG;
	size_t mlen = sizeof(MSG) - 1, bo;
	struct sieve_limits l;
	struct sieve_error err;
	struct sieve_script *sc;
	struct sieve_result r;
	struct in in;
	static const char *const mine[] = { "u@example.com" };

	if (nul != NULL) {
		m = nul + 1;
		mlen = size - (size_t)(m - text);
		size = (size_t)(nul - text);
	}
	sieve_limits_default(&l);
	l.max_steps = 2000;
	l.max_match_steps = 20000;
	l.max_variables = 16;
	l.max_variable_size = 256;
	l.max_actions = 8;
	l.max_redirects = 2;
	l.max_include_depth = 3;
	l.max_includes = 3;
	l.max_header_edits = 8;
	l.max_body = 4096;
	sc = sieve_compile(text, size, &l, &err);
	if (sc == NULL)
		return 0;
	bo = rfc5322_body_offset(m, mlen);
	in.body = m + bo;
	in.blen = mlen - bo;
	in.script = text;
	in.slen = size;
	struct sieve_msg msg = {
		.head = m, .head_len = bo, .body = get_body, .body_arg = &in,
		.size = mlen, .env_from = mlen % 3 ? "s@example.org" : "",
		.env_to = "u+d@example.com", .auth = mlen % 2 ? "u" : NULL,
		.now = 1796594400, .now_zone = -300,
	};
	struct sieve_env env = {
		.user = "u@example.com", .addresses = mine, .naddresses = 1,
		.subaddress_sep = "+", .arg = &in, .include_load = inc_load,
		.mailbox_exists = yes_if_a, .duplicate_seen = seen,
	};
	struct sieve_script *seq[2] = { sc, sc };

	sieve_run(seq, 1 + (mlen % 2), &msg, &env, &l, &r);
	check(&r);
	sieve_result_free(&r);
	sieve_script_free(&sc);
	return 0;
}
