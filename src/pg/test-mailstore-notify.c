/*
 * test-mailstore-notify - the 'tem_user' payloads of IMAP NOTIFY on
 * PostgreSQL (pg_mailstore_notify.c) without a database: what the
 * builder writes the parser reads back, origins, the 'O' for names too
 * long, and payloads another client might NOTIFY refused.
 */
#include <stdlib.h>
#include <string.h>

#include "pg/pg_mailstore.h"
#include "pg/pg_mailstore_int.h"
#include "util/test.h"

static void
round_trip(char kind, const char *a, const char *b)
{
	struct pg_ms_user_event ev;
	char *p = pg_ms_user_payload(42, kind, a, b);

	TEST_ASSERT(pg_ms_user_event_parse(p, &ev) == 0);
	TEST_ASSERT(ev.user_id == 42 && ev.kind == kind);
	TEST_ASSERT_STREQ(ev.a, a ? a : "");
	TEST_ASSERT_STREQ(ev.b, b ? b : "");
	TEST_ASSERT_STREQ(ev.origin, pg_ms_origin());
	pg_ms_user_event_free(&ev);
	free(p);
}

static void
test_round_trip(void)
{
	char *p;

	pg_ms_origin_set(NULL);
	p = pg_ms_user_payload(7, 'C', "Lists", NULL);
	TEST_ASSERT_STREQ(p, "7 - C 5 Lists");
	free(p);
	round_trip('C', "Lists", NULL);
	round_trip('D', "A b/C d", NULL);	/* spaces in names */
	round_trip('R', "Old name", "New/name");
	round_trip('S', "Ünïcode/Ordner", NULL);
	round_trip('U', "x", NULL);
	round_trip('M', "", "/private/motd");	/* the server's */
	round_trip('M', "Notes", "/shared/comment");
	pg_ms_origin_set("0123456789abcdef.17");
	round_trip('R', "a", "b");
	TEST_ASSERT_STREQ(pg_ms_origin(), "0123456789abcdef.17");
	pg_ms_origin_set(NULL);
	TEST_ASSERT_STREQ(pg_ms_origin(), "");
}

static void
test_origin_checked(void)
{
	char long_o[PG_MS_ORIGIN_MAX + 2];

	pg_ms_origin_set("BAD ONE");	/* not [0-9a-z.]: none */
	TEST_ASSERT_STREQ(pg_ms_origin(), "");
	memset(long_o, 'a', sizeof(long_o) - 1);
	long_o[sizeof(long_o) - 1] = '\0';
	pg_ms_origin_set(long_o);
	TEST_ASSERT_STREQ(pg_ms_origin(), "");
	long_o[PG_MS_ORIGIN_MAX] = '\0';	/* just fits */
	pg_ms_origin_set(long_o);
	TEST_ASSERT_STREQ(pg_ms_origin(), long_o);
	pg_ms_origin_set("");
	TEST_ASSERT_STREQ(pg_ms_origin(), "");
}

static void
test_too_long_is_lost(void)
{
	struct pg_ms_user_event ev;
	char *big = malloc(PG_MS_PAYLOAD_MAX);
	char *p;

	memset(big, 'x', PG_MS_PAYLOAD_MAX / 2);
	big[PG_MS_PAYLOAD_MAX / 2] = '\0';
	p = pg_ms_user_payload(3, 'R', big, big);
	TEST_ASSERT(strlen(p) < PG_MS_PAYLOAD_MAX);
	TEST_ASSERT(pg_ms_user_event_parse(p, &ev) == 0 && ev.kind == 'O');
	pg_ms_user_event_free(&ev);
	free(p);
	free(big);
}

static void
test_bad_payloads(void)
{
	static const char *const bad[] = {
		"", "x", "7", "7 ", "7 - ", "7 - C", "7 - C 5", "7 - C 99 x",
		"0 - C 1 x", "-3 - C 1 x", "7 - Z 1 x", "7 -- C 1 x",
		"7 A.B C 1 x", "7 - C 1 x\ny", "7 - C x x",
		"99999999999999999999 - C 1 x",
		"7 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa C 1 x",
	};
	struct pg_ms_user_event ev;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = pg_ms_user_event_parse(bad[i], &ev);

		TEST_ASSERT(r < 0);
		if (r == 0)
			pg_ms_user_event_free(&ev);
	}
}

int
main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_origin_checked);
	TEST_RUN(test_too_long_is_lost);
	TEST_RUN(test_bad_payloads);
	return test_done("test-mailstore-notify");
}
