/* Unit tests for milter/milter_spam.h: which fields count as a filter's
 * spam mark. */
#include <string.h>

#include "milter/milter_spam.h"
#include "util/test.h"

static unsigned
marks(const char *s)
{
	return milter_spam_marks(s, strlen(s));
}

static void
test_marks(void)
{
	TEST_ASSERT(marks("") == 0);
	TEST_ASSERT(marks("Subject: x\n\n") == 0);
	TEST_ASSERT(marks("X-Spam: Yes\nSubject: x\n\nX-Spam: Yes\n") == 1);
	TEST_ASSERT(marks("x-spam:yes\r\nX-SPAM-FLAG:  YES\r\n\r\n") == 2);
	TEST_ASSERT(marks("X-Spam:\n\tyes\n\n") == 1);	/* folded */
	TEST_ASSERT(marks("X-Spam: Yes; score=7\n") == 1);
	TEST_ASSERT(marks("X-Spam: No\nX-Spam: yesterday\nX-Spam:\n") == 0);
	TEST_ASSERT(marks("X-Spam-Status: Yes, score=7\nX-Spamd-Bar: +\n")
	    == 0);
	TEST_ASSERT(marks("X-Spam : yes\n") == 1);	/* obs white space */
	/* no empty line: the whole buffer is header (a trace prefix) */
	TEST_ASSERT(marks("Received: x\nX-Spam: yes") == 1);
}

int
main(void)
{
	TEST_RUN(test_marks);
	return test_done("test-milter-spam");
}
