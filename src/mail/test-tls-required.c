/*
 * test-tls-required - unit tests of tls_required.c: which header
 * sections say "TLS-Required: No" (RFC 8689 3).
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <string.h>

#include "mail/tls_required.h"
#include "util/test.h"

static void
test_tls_required(void)
{
	static const struct {
		const char	*msg;
		bool		 no;
	} cases[] = {
		{ "TLS-Required: No\n\nbody\n", true },
		{ "From: a@b\r\ntls-required:no\r\n\r\n", true },
		{ "Subject: x\nTLS-Required :  NO  \nTo: c@d\n\n", true },
		{ "TLS-Required:\n No\n\n", true },		/* folded */
		{ "TLS-Required: No", true },			/* no body */
		{ "TLS-Required: Yes\n\n", false },
		{ "TLS-Required: Nope\n\n", false },
		{ "TLS-Required: No thanks\n\n", false },
		{ "TLS-Required:\n\n", false },
		{ "X-TLS-Required: No\n\n", false },
		{ "Subject: x\n\nTLS-Required: No\n", false },	/* in body */
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_ASSERT(tls_required_no(cases[i].msg,
		    strlen(cases[i].msg)) == cases[i].no);
}

int
main(void)
{
	TEST_RUN(test_tls_required);
	return test_done("test-tls-required");
}
