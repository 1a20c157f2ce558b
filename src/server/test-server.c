/*
 * test-server - unit tests of the per-address session caps and the
 * counted slot API, without sockets: sessions are registered on loop
 * thread 0 straight from made-up client addresses.
 *
 * Checked: max_sessions_per_ip per (service, address), IPv4-mapped IPv6
 * counted as its IPv4 address, a removed session frees its slot, a
 * refused or twice-removed session changes nothing, 0 means no cap,
 * max_connections_per_minute, and server_slot_acquire/release (long
 * keys, unknown keys, threads).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "server/server.h"
#include "server/session.h"
#include "util/test.h"
#include "util/xmalloc.h"

static struct conf *conf;
static struct server_thread *thr;

static struct sockaddr_storage
addr(const char *ip, int port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return ss;
}

static bool
add(struct session *s, enum service svc, const char *ip)
{
	struct sockaddr_storage ss = addr(ip, 40000);

	memset(s, 0, sizeof(*s));
	return server_session_add(thr, s, svc, (struct sockaddr *)&ss);
}

struct cap_step {
	enum service	 svc;
	const char	*ip;
	bool		 ok;
};

/* With max_sessions_per_ip = 3. */
static void
test_per_ip_cap(void)
{
	static const struct cap_step steps[] = {
		{ SVC_SMTP, "192.0.2.1", true },
		{ SVC_SMTP, "192.0.2.1", true },
		{ SVC_SMTP, "192.0.2.1", true },
		{ SVC_SMTP, "192.0.2.1", false },	/* 4th: refused */
		{ SVC_SMTP, "::ffff:192.0.2.1", false },	/* same address */
		{ SVC_IMAP, "192.0.2.1", true },	/* other service */
		{ SVC_SUBMISSION, "192.0.2.1", true },
		{ SVC_SMTP, "192.0.2.2", true },	/* other address */
		{ SVC_SMTP, "2001:db8::1", true },
		{ SVC_SMTP, "2001:db8::1", true },
		{ SVC_SMTP, "2001:db8::1", true },
		{ SVC_SMTP, "2001:db8:0::1", false },	/* same, spelled long */
		{ SVC_SMTP, "2001:db8::2", true },
	};
	struct session s[sizeof(steps) / sizeof(steps[0])], again;
	size_t n = sizeof(steps) / sizeof(steps[0]);

	conf->max_sessions_per_ip = 3;
	for (size_t i = 0; i < n; i++) {
		bool ok = add(&s[i], steps[i].svc, steps[i].ip);
		if (ok != steps[i].ok)
			fprintf(stderr, "  step %zu: %s %s -> %d\n", i,
			    service_name(steps[i].svc), steps[i].ip, ok);
		TEST_ASSERT(ok == steps[i].ok);
		TEST_ASSERT(s[i].thread == thr && s[i].svc == steps[i].svc);
		TEST_ASSERT(strlen(s[i].id) == 16);
	}
	TEST_ASSERT_STREQ(s[4].ip, "192.0.2.1");	/* mapped: shown v4 */
	TEST_ASSERT(s[0].port == 40000);
	/* removing a refused session changes nothing */
	server_session_remove(&s[3]);
	TEST_ASSERT(!add(&again, SVC_SMTP, "192.0.2.1"));
	/* removing one admitted session frees one slot, once */
	server_session_remove(&s[0]);
	server_session_remove(&s[0]);
	TEST_ASSERT(add(&again, SVC_SMTP, "192.0.2.1"));
	TEST_ASSERT(!add(&s[3], SVC_SMTP, "192.0.2.1"));
	server_session_remove(&again);
	for (size_t i = 1; i < n; i++)
		server_session_remove(&s[i]);
	/* all gone: three fit again */
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(add(&s[i], SVC_SMTP, "192.0.2.1"));
	for (int i = 0; i < 3; i++)
		server_session_remove(&s[i]);
}

static void
test_no_cap(void)
{
	struct session s[150];

	conf->max_sessions_per_ip = 0;
	for (int i = 0; i < 150; i++)
		TEST_ASSERT(add(&s[i], SVC_POP3, "198.51.100.7"));
	for (int i = 0; i < 150; i++)
		server_session_remove(&s[i]);
	conf->max_sessions_per_ip = 3;
}

static void
test_unknown_family(void)
{
	struct session s;
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	memset(&s, 0, sizeof(s));
	TEST_ASSERT(server_session_add(thr, &s, SVC_IMAP, &sa));
	TEST_ASSERT_STREQ(s.ip, "unknown");
	server_session_remove(&s);
}

/* New connections per minute count adds, not open sessions. */
static void
test_connections_per_minute(void)
{
	struct session s;

	conf->max_connections_per_minute = 4;
	for (int i = 0; i < 4; i++) {
		TEST_ASSERT(add(&s, SVC_SMTP, "203.0.113.9"));
		server_session_remove(&s);
	}
	TEST_ASSERT(!add(&s, SVC_IMAP, "203.0.113.9"));	/* all services */
	TEST_ASSERT(add(&s, SVC_SMTP, "203.0.113.10"));
	server_session_remove(&s);
	conf->max_connections_per_minute = 0;
}

static void
test_slots(void)
{
	char longkey[400];

	TEST_ASSERT(server_slot_acquire("imap-user/alice@a.test", 2));
	TEST_ASSERT(server_slot_acquire("imap-user/alice@a.test", 2));
	TEST_ASSERT(!server_slot_acquire("imap-user/alice@a.test", 2));
	TEST_ASSERT(server_slot_acquire("imap-user/bob@a.test", 2));
	server_slot_release("imap-user/alice@a.test");
	TEST_ASSERT(server_slot_acquire("imap-user/alice@a.test", 2));
	TEST_ASSERT(!server_slot_acquire("imap-user/alice@a.test", 2));
	/* max counts what is held: a lower max refuses, 0 never does */
	TEST_ASSERT(!server_slot_acquire("imap-user/alice@a.test", 1));
	TEST_ASSERT(server_slot_acquire("imap-user/alice@a.test", 0));
	server_slot_release("imap-user/alice@a.test");
	server_slot_release("imap-user/alice@a.test");
	server_slot_release("imap-user/alice@a.test");
	server_slot_release("imap-user/bob@a.test");
	/* releasing what nobody holds is harmless */
	server_slot_release("imap-user/alice@a.test");
	server_slot_release("never/held");
	TEST_ASSERT(server_slot_acquire("imap-user/alice@a.test", 1));
	server_slot_release("imap-user/alice@a.test");
	/* slot keys share the table with sessions' "service/address" keys */
	TEST_ASSERT(server_slot_acquire("smtp/192.0.2.50", 3));
	TEST_ASSERT(server_slot_acquire("smtp/192.0.2.50", 3));
	TEST_ASSERT(server_slot_acquire("smtp/192.0.2.50", 3));
	{
		struct session s;
		TEST_ASSERT(!add(&s, SVC_SMTP, "192.0.2.50"));
	}
	for (int i = 0; i < 3; i++)
		server_slot_release("smtp/192.0.2.50");
	/* a key longer than the table's is capped like a short one */
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	TEST_ASSERT(server_slot_acquire(longkey, 1));
	TEST_ASSERT(!server_slot_acquire(longkey, 1));
	server_slot_release(longkey);
	TEST_ASSERT(server_slot_acquire(longkey, 1));
	server_slot_release(longkey);
}

static void *
slot_worker(void *arg)
{
	int *bad = arg;

	for (int i = 0; i < 2000; i++) {
		if (!server_slot_acquire("shared", 0))
			(*bad)++;
		server_slot_release("shared");
	}
	return NULL;
}

static void
test_slots_threads(void)
{
	pthread_t th[4];
	int bad[4] = { 0 };

	for (int i = 0; i < 4; i++)
		TEST_ASSERT(pthread_create(&th[i], NULL, slot_worker,
		    &bad[i]) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(bad[i] == 0);
	/* every acquire was released: one fits under max 1 */
	TEST_ASSERT(server_slot_acquire("shared", 1));
	server_slot_release("shared");
}

int
main(void)
{
	conf = conf_new_defaults(NULL);
	conf->max_connections_per_minute = 0;
	server_init(conf, 1);
	thr = server_thread_at(0);
	if (thr == NULL || server_thread_at(1) != NULL)
		return 1;
	TEST_RUN(test_per_ip_cap);
	TEST_RUN(test_no_cap);
	TEST_RUN(test_unknown_family);
	TEST_RUN(test_connections_per_minute);
	TEST_RUN(test_slots);
	TEST_RUN(test_slots_threads);
	return test_done("test-server");
}
