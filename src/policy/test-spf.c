/*
 * test-spf - unit tests of the SPF evaluator's frames, records and results
 * (spf.c): include, redirect, exp=, limits, cancel and time limit, on the
 * fake resolver of test-spf.h.
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include "policy/test-spf.h"

static const struct eval_case eval_cases[] = {
	{ "192.0.2.3", "pass.test", SPF_PASS, NULL },
	{ "192.0.2.3", "PASS.TEST.", SPF_PASS, NULL },
	{ "198.51.100.2", "pass.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "fail.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "soft.test", SPF_SOFTFAIL, NULL },
	{ "192.0.2.3", "neutral.test", SPF_NEUTRAL, NULL },
	{ "192.0.2.3", "empty.test", SPF_NEUTRAL, NULL },
	{ "192.0.2.3", "notspf.test", SPF_NONE, NULL },
	{ "192.0.2.3", "nx.test", SPF_NONE, NULL },
	{ "192.0.2.3", "bad..name", SPF_NONE, NULL },
	{ "192.0.2.3", "two.test", SPF_PERMERROR, "two.test has 2 SPF records" },
	{ "192.0.2.3", "syntax.test", SPF_PERMERROR,
	  "syntax.test: unknown mechanism: \"foo\"" },
	{ "192.0.2.3", "case.test", SPF_PASS, NULL },
	{ "192.0.2.3", "incl.test", SPF_PASS, NULL },
	{ "198.51.100.1", "incl.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "inclfail.test", SPF_SOFTFAIL, NULL },
	{ "192.0.2.3", "inclnone.test", SPF_PERMERROR,
	  "include=nx.test has no SPF record" },
	{ "192.0.2.3", "incltemp.test", SPF_TEMPERROR,
	  "DNS error looking up TXT of broken.test" },
	{ "192.0.2.3", "inclperm.test", SPF_PERMERROR, NULL },
	{ "192.0.2.3", "incldeep.test", SPF_FAIL, NULL },
	{ "198.51.100.1", "incldeep.test", SPF_PASS, NULL },
	{ "192.0.2.3", "broken.test", SPF_TEMPERROR, NULL },
	{ "192.0.2.3", "redir.test", SPF_PASS, NULL },
	{ "198.51.100.2", "redir.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "redirnone.test", SPF_PERMERROR,
	  "redirect=nx.test has no SPF record" },
	{ "192.0.2.3", "redirall.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "exp.test", SPF_FAIL,
	  "192.0.2.3 is not one of exp.test's designated mail servers." },
	{ "192.0.2.3", "expredir.test", SPF_FAIL,
	  "192.0.2.3 is not one of exp.test's designated mail servers." },
	{ "192.0.2.3", "expincl.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "expbad.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "exptwo.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "expsyntax.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "expsoft.test", SPF_SOFTFAIL, NULL },
	{ "192.0.2.3", "expp.test", SPF_FAIL, "you are mail.ptr.test" },
	{ "192.0.2.3", "expp2.test", SPF_FAIL,
	  "mail.ptr.test is not expp2.test" },
	{ "192.0.2.5", "expp2.test", SPF_FAIL, "unknown is not expp2.test" },
	{ "192.0.2.3", "limit10.test", SPF_FAIL, NULL },
	{ "10.0.0.1", "limit10.test", SPF_PASS, NULL },
	{ "192.0.2.3", "limit11.test", SPF_PERMERROR,
	  "more than 10 DNS look-ups" },
	{ "192.0.2.3", "limitinc.test", SPF_PERMERROR,
	  "more than 10 DNS look-ups" },
	{ "192.0.2.3", "loop.test", SPF_PERMERROR,
	  "more than 10 DNS look-ups" },
	{ "2001:db8::cb01", "ip6.test", SPF_PASS, NULL },
	{ "2001:db9::1", "ip6.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "ip6.test", SPF_FAIL, NULL },
	{ "2001:db8:1:ffff::1", "ip6cidr.test", SPF_PASS, NULL },
	{ "2001:db8:2::1", "ip6cidr.test", SPF_SOFTFAIL, NULL },
	{ "::ffff:192.0.2.3", "pass.test", SPF_PASS, NULL },
	{ "192.0.2.3", "lmacro.test", SPF_PASS, NULL },
};

static void
test_eval_table(void)
{
	TEST_ASSERT(run_eval_cases(eval_cases, sizeof(eval_cases) /
	    sizeof(eval_cases[0])) == 0);
}

static void
test_eval_helo_identity(void)
{
	struct outcome o;

	(void)start("192.0.2.3", "helo.test", "postmaster@helo.test", &o);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_PASS);
	free(o.text);
	/* No local part: %{l} is "postmaster". */
	(void)start("192.0.2.3", "lmacro.test", "@lmacro.test", &o);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_FAIL);
	free(o.text);
}

static void
test_eval_cancel(void)
{
	struct outcome o;
	struct spf_check *c;

	/* Cancel while the first TXT is pending. */
	c = start("192.0.2.3", "pass.test", "a@pass.test", &o);
	spf_check_cancel(&c);
	TEST_ASSERT(c == NULL);
	spf_check_cancel(&c);		/* NULL is fine */
	fake_pump();
	TEST_ASSERT(o.calls == 0);
	/* Cancel with PTR names being validated in parallel. */
	c = start("192.0.2.3", "ptr.test", "a@ptr.test", &o);
	for (int i = 0; i < 2 && fq_head != NULL; i++) {
		struct fake_req *r = fq_head;

		fq_head = r->next;
		if (fq_head == NULL)
			fq_tail = &fq_head;
		if (r->type == Q_TXT)
			answer_str(r, "TXT");
		else
			answer_str(r, "PTR");
		free(r->name);
		free(r);
	}
	TEST_ASSERT(fq_head != NULL && fq_head->next != NULL);
	spf_check_cancel(&c);
	fake_pump();
	TEST_ASSERT(o.calls == 0);
}

static struct spf_check *self_check;

static void
done_cancel_cb(enum spf_result res, const char *text, void *arg)
{
	struct outcome *o = arg;

	(void)text;
	o->calls++;
	o->res = res;
	spf_check_cancel(&self_check);	/* ignored: freed after done */
}

static void
test_eval_cancel_in_done(void)
{
	struct sockaddr_storage ss;
	struct outcome o = { 0 };

	make_addr("192.0.2.3", &ss);
	self_check = spf_check_start_ops(&fake_ops, NULL,
	    (struct sockaddr *)&ss, "pass.test", "a@pass.test", NULL,
	    done_cancel_cb, &o);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_PASS && self_check == NULL);
}

static void
test_eval_query_counts(void)
{
	struct outcome o;

	/* limit10: TXT + 10 address look-ups, nothing more. */
	fake_queries = 0;
	(void)start("192.0.2.3", "limit10.test", "a@limit10.test", &o);
	fake_pump();
	TEST_ASSERT(o.res == SPF_FAIL && fake_queries == 11);
	/* limit11: the 11th is refused before it is asked. */
	fake_queries = 0;
	(void)start("192.0.2.3", "limit11.test", "a@limit11.test", &o);
	fake_pump();
	TEST_ASSERT(o.res == SPF_PERMERROR && fake_queries == 11);
	free(o.text);
	/* ptr then %{p}: the names are validated once. */
	fake_queries = 0;
	(void)start("192.0.2.3", "expp.test", "a@expp.test", &o);
	fake_pump();
	TEST_ASSERT(o.res == SPF_FAIL && fake_queries == 1 + 1 + 2 + 1);
	free(o.text);
}

static void
test_eval_time_limit(void)
{
	struct outcome o;
	struct spf_check *c;

	/* Out of time before the first DNS term: temperror. */
	c = start("192.0.2.3", "a.test", "a@a.test", &o);
	spf_check_set_time_limit(c, 0);
	while (o.calls == 0) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);	/* 2 ms: past a 0 ms limit */
		fake_pump();
	}
	TEST_ASSERT(o.calls == 1 && o.res == SPF_TEMPERROR);
	TEST_ASSERT_STREQ(o.text, "no result within 0 ms");
	free(o.text);
	/* ip4 and all need no DNS: still decided. */
	c = start("192.0.2.3", "pass.test", "a@pass.test", &o);
	spf_check_set_time_limit(c, 0);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_PASS);
	/* A fail past the limit keeps its result, without exp=. */
	c = start("192.0.2.3", "exp.test", "a@exp.test", &o);
	spf_check_set_time_limit(c, 0);
	{
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_FAIL && o.text == NULL);
}

int
main(void)
{
	TEST_RUN(test_eval_table);
	TEST_RUN(test_eval_helo_identity);
	TEST_RUN(test_eval_cancel);
	TEST_RUN(test_eval_cancel_in_done);
	TEST_RUN(test_eval_query_counts);
	TEST_RUN(test_eval_time_limit);
	fake_pump();
	return test_done("test-spf");
}
