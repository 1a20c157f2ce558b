/* Unit tests for msg/deliver_pg.h's parts that need no database: the
 * info string of a Sieve flag set (system flags by their canonical
 * names, valid keywords, the rest left out). The deliveries themselves
 * are tests/integration/test_pg_serve.py's. */
#include <stdlib.h>
#include <string.h>

#include "msg/deliver_pg.h"
#include "util/test.h"

static void
test_info(void)
{
	const char *flags[] = { "\\seen", "$Work", "\\Bogus", "bad word",
	    "\\FLAGGED", "" };
	char *s = deliver_pg_info(flags, 6);

	TEST_ASSERT(strcmp(s, "\\Seen $Work \\Flagged") == 0);
	free(s);
	s = deliver_pg_info(flags, 0);
	TEST_ASSERT(strcmp(s, "") == 0);
	free(s);
}

int
main(void)
{
	TEST_RUN(test_info);
	return test_done("test-deliver-pg");
}
