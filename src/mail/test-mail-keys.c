/*
 * test-mail-keys - SORT keys and SEARCH address text (mail_keys.c): the
 * collation, RFC 5256's first-address rule, RFC 5957's display keys, the
 * address text SEARCH matches, and the subject order imaptest's
 * sort-subject script expects (the base subject's rules step by step are
 * in test-mail-search.c). Table-driven.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail_keys.h"
#include "mail/mail_search.h"
#include "util/buf.h"
#include "util/test.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_collate(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "abc", "ABC" }, { "ABC", "ABC" }, { "a_[z]", "A_[Z]" },
		{ "  a \t\r\n b  ", " A B " }, { "", "" },
		{ "\xc3\x84pfel", "\xc3\xa4PFEL" },	/* Ä lowered, rest up */
		{ "\xff", "\xc3\xbf" },			/* Latin-1 fallback */
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < N(cases); i++) {
		buf_reset(&b);
		mail_key_collate(cases[i].in, strlen(cases[i].in), &b);
		TEST_ASSERT_STREQ(buf_cstr(&b), cases[i].out);
	}
	buf_free(&b);
	/* i;ascii-casemap: "[" and "_" come after every letter */
	TEST_ASSERT(strcmp("Z", "[") < 0 && strcmp("Z", "_") < 0);
}

static void
test_addr_keys(void)
{
	static const struct {
		const char *in, *mailbox, *display;
	} cases[] = {
		{ "user3@domain.org", "USER3", "USER3@DOMAIN.ORG" },
		/* a group's first address is its start: the group name */
		{ "user2: blah@domain1.org;", "USER2", "USER2" },
		{ "undisclosed-recipients:;", "UNDISCLOSED-RECIPIENTS",
		  "UNDISCLOSED-RECIPIENTS" },
		/* comments are not part of the mailbox; a trailing one is a
		   name for DISPLAY*, as in ENVELOPE */
		{ "user1@domain.org (zzz comment)", "USER1", "ZZZ COMMENT" },
		{ "(lead) user4@x", "USER4", "USER4@X" },
		{ "\"Zed\" <user0 (c) @ (c) domain.org>, a@x", "USER0", "ZED" },
		{ "<user-from (comment)@ (comment) domain.org>", "USER-FROM",
		  "USER-FROM@DOMAIN.ORG" },
		{ "=?utf-8?q?=C3=A9mile?= <a@z>", "A", "\xc3\xa9MILE" },
		{ "\"\" <a@b>", "A", "A@B" },
		{ "<@r1,@r2:bob@x>", "BOB", "BOB@X" },
		{ "\"q u\"@y.example", "Q U", "Q U@Y.EXAMPLE" },
		{ "alice", "ALICE", "ALICE" },
		{ "", "", "" }, { "(only a comment)", "", "" }, { ",,", "", "" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *m = mail_key_addr_mailbox(cases[i].in, len);
		char *d = mail_key_addr_display(cases[i].in, len);

		if (strcmp(m, cases[i].mailbox) != 0 ||
		    strcmp(d, cases[i].display) != 0)
			fprintf(stderr, "  \"%s\" -> \"%s\" \"%s\"\n",
			    cases[i].in, m, d);
		TEST_ASSERT_STREQ(m, cases[i].mailbox);
		TEST_ASSERT_STREQ(d, cases[i].display);
		free(m);
		free(d);
	}
}

static void
test_addr_text(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "user-from@domain.org", "user-from@domain.org" },
		{ "RealFrom <user-from@domain.org>",
		  "RealFrom <user-from@domain.org>" },
		{ "<user-from (comment)@ (comment) domain.org>",
		  "user-from@domain.org" },
		{ "user-from@domain.org (RealFrom)",
		  "RealFrom <user-from@domain.org>" },
		{ "a@b, c@d", "a@b, c@d" },
		{ "groupname: g1@d.org, g2@d.org;,\n  groupname2: g3@d.org;",
		  "groupname: g1@d.org, g2@d.org;, groupname2: g3@d.org;" },
		{ "undisclosed-recipients:;", "undisclosed-recipients: ;" },
		{ "=?utf-8?q?J=C3=B6rg?= <joerg@x>", "J\xc3\xb6rg <joerg@x>" },
		{ "\"Quoted, Name\" <\"q u\"@y>", "Quoted, Name <q u@y>" },
		{ "alice", "alice" }, { "", "" }, { "(c)", "" },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < N(cases); i++) {
		buf_reset(&b);
		mail_key_addr_text(cases[i].in, strlen(cases[i].in), &b);
		if (strcmp(buf_cstr(&b), cases[i].out) != 0)
			fprintf(stderr, "  \"%s\" -> \"%s\"\n", cases[i].in,
			    buf_cstr(&b));
		TEST_ASSERT_STREQ(buf_cstr(&b), cases[i].out);
	}
	buf_free(&b);
}

struct keyed {
	char	*key;
	size_t	 seq;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* SEARCH FROM/TO/CC/BCC on one value, as a header cache would call it. */
static void
test_search_value(void)
{
	static const struct {
		const char *value, *key;
		bool addr, hit;
	} cases[] = {
		{ "<user-from (comment)@ (comment) domain.org>",
		  "USER-FROM@domain.org", true, true },
		{ "<user-from (comment)@ (comment) domain.org>",
		  "user-from@domain.org", false, false },
		{ "<user-from (comment)@ (comment) domain.org>", "comment",
		  true, false },
		{ "=?utf-8?q?J=C3=B6rg?= <joerg@x>", "j\xc3\xb6rg <joerg@x",
		  true, true },
		{ "a@b (RealFrom)", "realfrom <a@b>", true, true },
		{ "g: a@b;", "g: a@b;", true, true },
		{ "x", "", true, true }, { "", "", false, true },
		{ "", "a", true, false },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t klen;
		char *k = mail_search_fold(cases[i].key, strlen(cases[i].key),
		    &klen);

		TEST_ASSERT(mail_search_value(cases[i].value,
		    strlen(cases[i].value), cases[i].addr, k, klen) ==
		    cases[i].hit);
		free(k);
	}
}

/* imaptest's sort-subject: "(subject)" gives 9 1 3 5 6 2 7 8 4. */
static void
test_subject_order(void)
{
	static const char *const subj[] = {
		"a", "C", "b", "_", "[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)",
		"b (a)", "Re: [FWD: c]", "[xyz]", "",
	};
	struct keyed k[N(subj)];
	char got[N(subj) + 1];

	for (size_t i = 0; i < N(subj); i++) {
		k[i].key = mail_key_subject(subj[i], strlen(subj[i]), NULL);
		k[i].seq = i + 1;
	}
	qsort(k, N(subj), sizeof(k[0]), cmp_keyed);
	for (size_t i = 0; i < N(subj); i++) {
		got[i] = (char)('0' + k[i].seq);
		free(k[i].key);
	}
	got[N(subj)] = '\0';
	TEST_ASSERT_STREQ(got, "913562784");
}

int
main(void)
{
	TEST_RUN(test_collate);
	TEST_RUN(test_addr_keys);
	TEST_RUN(test_addr_text);
	TEST_RUN(test_search_value);
	TEST_RUN(test_subject_order);
	return test_done("test-mail-keys");
}
