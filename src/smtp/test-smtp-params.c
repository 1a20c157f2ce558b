/*
 * test-smtp-params - table-driven tests for ESMTP parameters and xtext (smtp_params.c).
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include "smtp/test-smtp-parser.h"

static void
test_mail_params(void)
{
	struct smtp_path p;
	const char *reply;

	TEST_ASSERT(smtp_parse_mail("FROM:<a@b.test> SIZE=12345 BODY=8bitmime "
	    "SMTPUTF8 RET=hdrs ENVID=QQ+2Bx AUTH=a+2Bb@c.test", &p, &reply) == 0);
	TEST_ASSERT(p.size == 12345);
	TEST_ASSERT(p.body == SMTP_BODY_8BITMIME);
	TEST_ASSERT(p.smtputf8);
	TEST_ASSERT(!p.requiretls);
	TEST_ASSERT(p.ret == SMTP_RET_HDRS);
	TEST_ASSERT_STREQ(p.envid, "QQ+2Bx");
	TEST_ASSERT_STREQ(p.auth, "a+2Bb@c.test");
	TEST_ASSERT(p.notify == 0 && p.orcpt == NULL);
	smtp_path_free(&p);

	TEST_ASSERT(smtp_parse_mail("FROM:<> size=0   body=7BIT ret=FULL "
	    "auth=<>  ", &p, &reply) == 0);
	TEST_ASSERT(p.null_path && p.size == 0 && p.body == SMTP_BODY_7BIT &&
	    p.ret == SMTP_RET_FULL);
	TEST_ASSERT_STREQ(p.auth, "<>");
	smtp_path_free(&p);

	TEST_ASSERT(smtp_parse_mail("FROM:<a@b.test> BODY=BINARYMIME "
	    "SIZE=18446744073709551615", &p, &reply) == 0);
	TEST_ASSERT(p.body == SMTP_BODY_BINARYMIME);
	TEST_ASSERT(p.size == UINT64_MAX);
	smtp_path_free(&p);

	/* RFC 8689 2: a keyword alone, any case */
	TEST_ASSERT(smtp_parse_mail("FROM:<a@b.test> RequireTLS SMTPUTF8",
	    &p, &reply) == 0);
	TEST_ASSERT(p.requiretls && p.smtputf8);
	smtp_path_free(&p);
}

struct param_case {
	bool		 rcpt;
	const char	*args;
	const char	*reply;
};

static const struct param_case bad_params[] = {
	{ false, "FROM:<a@b.test> FOO=1", R_PUNK },
	{ false, "FROM:<a@b.test> NOTIFY=NEVER", R_PUNK },
	{ false, "FROM:<a@b.test> ORCPT=rfc822;a@b", R_PUNK },
	{ false, "FROM:<a@b.test> -X", R_PUNK },
	{ false, "FROM:<a@b.test> SI%ZE=1", R_PUNK },
	{ false, "FROM:<a@b.test> SIZE", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=-1", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=1k", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=18446744073709551616", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=000000000000000000001", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=1=2", R_PVAL },
	{ false, "FROM:<a@b.test> BODY=9BIT", R_PVAL },
	{ false, "FROM:<a@b.test> BODY", R_PVAL },
	{ false, "FROM:<a@b.test> SMTPUTF8=yes", R_PVAL },
	{ false, "FROM:<a@b.test> RET=ALL", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=a+2", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=a+ZZ", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=a+0D+0A", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=\xc3\xa9", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=12345678901234567890123456789012345678"
	  "901234567890123456789012345678901234567890123456789012345678901",
	  R_PVAL },
	{ false, "FROM:<a@b.test> AUTH=x+00y", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=1 SIZE=2", R_PDUP },
	{ false, "FROM:<a@b.test> size=1 SIZE=1", R_PDUP },
	{ false, "FROM:<a@b.test> SMTPUTF8 SMTPUTF8", R_PDUP },
	{ false, "FROM:<a@b.test> REQUIRETLS=yes", R_PVAL },
	{ false, "FROM:<a@b.test> REQUIRETLS requiretls", R_PDUP },
	{ true, "TO:<a@b.test> REQUIRETLS", R_PUNK },
	{ true, "TO:<a@b.test> SIZE=1", R_PUNK },
	{ true, "TO:<a@b.test> NOTIFY=NEVER,SUCCESS", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=DELAY,NEVER", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=SUCCESS,", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=,SUCCESS", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=SOMETIMES", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=FAILURE NOTIFY=DELAY", R_PDUP },
	{ true, "TO:<a@b.test> ORCPT=a@b.test", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=;a@b.test", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc822;", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc(822;a", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc822;a+4", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=utf-8;\xc3\xb6@b.test", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc822;a@b ORCPT=rfc822;a@b", R_PDUP },
};

static void
test_bad_params(void)
{
	struct smtp_path p;
	const char *reply;
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
		const struct param_case *c = &bad_params[i];

		reply = NULL;
		r = c->rcpt ? smtp_parse_rcpt(c->args, false, &p, &reply) :
		    smtp_parse_mail(c->args, &p, &reply);
		if (r != -1 || reply == NULL || strcmp(reply, c->reply) != 0)
			fprintf(stderr, "  case: %s -> %s\n", c->args,
			    reply ? reply : "ok");
		TEST_ASSERT(r == -1);
		TEST_ASSERT_STREQ(reply, c->reply);
		TEST_ASSERT(p.envid == NULL && p.auth == NULL &&
		    p.orcpt == NULL && p.localpart == NULL);
	}
}

static void
test_rcpt_params(void)
{
	struct smtp_path p;
	const char *reply;

	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> NOTIFY=success,Delay,FAILURE "
	    "ORCPT=rfc822;a+2Bb@b.test", false, &p, &reply) == 0);
	TEST_ASSERT(p.notify == (SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY |
	    SMTP_NOTIFY_FAILURE));
	TEST_ASSERT_STREQ(p.orcpt, "rfc822;a+2Bb@b.test");
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> notify=never", false, &p,
	    &reply) == 0);
	TEST_ASSERT(p.notify == SMTP_NOTIFY_NEVER);
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> ORCPT=utf-8;\xc3\xb6@b.test",
	    true, &p, &reply) == 0);
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> ORCPT=utf-8;\xc3(@b.test",
	    true, &p, &reply) == -1);
	TEST_ASSERT_STREQ(reply, R_PVAL);
}

static void
test_xtext(void)
{
	struct buf b;

	TEST_ASSERT(smtp_xtext_valid("abc", 3));
	TEST_ASSERT(smtp_xtext_valid("a+2Bb+3D", 8));
	TEST_ASSERT(!smtp_xtext_valid("", 0));
	TEST_ASSERT(!smtp_xtext_valid("a+2", 3));
	TEST_ASSERT(!smtp_xtext_valid("a=b", 3));
	TEST_ASSERT(!smtp_xtext_valid("a b", 3));
	TEST_ASSERT(!smtp_xtext_valid("a+2B", 3));	/* length bounds */
	buf_init(&b, 0);
	TEST_ASSERT(smtp_xtext_decode("a+2Bb+3D+0d", 11, &b) == 0);
	TEST_ASSERT(b.len == 5 && memcmp(b.data, "a+b=\r", 5) == 0);
	buf_reset(&b);
	TEST_ASSERT(smtp_xtext_decode("a+G0", 4, &b) == -1);
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_mail_params);
	TEST_RUN(test_bad_params);
	TEST_RUN(test_rcpt_params);
	TEST_RUN(test_xtext);
	return test_done("test-smtp-params");
}
