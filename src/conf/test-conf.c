/*
 * test-conf - unit tests of the config reader: every key of the settings
 * table with its default, a good value parsed and bad values refused with
 * file:line; the value parsers (sizes, durations, listeners), lists,
 * relative paths, unknown and repeated keys, and conf_load on real files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

enum kind { R_STR, R_UINT, R_U64, R_BOOL, R_LISTEN, R_LIST };

struct key_case {
	const char	*key;
	enum kind	 kind;
	size_t		 off;
	const char	*def;	/* rendered default; "*" any non-empty */
	const char	*good;	/* config text ... */
	const char	*good_r;	/* ... and its rendering */
	const char	*bad[4];	/* refused values (NULL-ended) */
};

#define F(name) offsetof(struct conf, name)

/* The config is read from /etc/tem/tem.conf, so relative paths resolve
 * below /etc/tem. */
static const struct key_case keys[] = {
	{ "hostname", R_STR, F(hostname), "*", "mx.example.test",
	    "mx.example.test", { "", "mx example", "a/b", NULL } },
	{ "data_dir", R_STR, F(data_dir), "/var/lib/tem", "data",
	    "/etc/tem/data", { "", NULL } },
	{ "run_as", R_STR, F(run_as), "tem", "", "", { NULL } },
	{ "smtp_listen", R_LISTEN, F(smtp_listen), "", "127.0.0.1:25, [::1]:25",
	    "127.0.0.1:25,::1:25", { "127.0.0.1", "localhost:25",
	    "127.0.0.1:65536", NULL } },
	{ "submission_listen", R_LISTEN, F(submission_listen), "", "*:587",
	    "0.0.0.0:587", { "[::1]587", "1.2.3.4:", NULL } },
	{ "submissions_listen", R_LISTEN, F(submissions_listen), "", "off", "",
	    { "on", NULL } },
	{ "imap_listen", R_LISTEN, F(imap_listen), "", "127.0.0.2:143",
	    "127.0.0.2:143", { "127.0.0.1:x", NULL } },
	{ "imaps_listen", R_LISTEN, F(imaps_listen), "", "[::]:993", ":::993",
	    { "[::1:993", NULL } },
	{ "pop3_listen", R_LISTEN, F(pop3_listen), "", "127.0.0.1:110,",
	    "127.0.0.1:110", { ":110", NULL } },
	{ "pop3s_listen", R_LISTEN, F(pop3s_listen), "", "127.0.0.1:995",
	    "127.0.0.1:995", { "127.0.0.1:-1", NULL } },
	{ "managesieve_listen", R_LISTEN, F(managesieve_listen), "",
	    "127.0.0.1:4190", "127.0.0.1:4190", { "127.0.0.1:", NULL } },
	{ "http_listen", R_LISTEN, F(http_listen), "", "127.0.0.1:80",
	    "127.0.0.1:80", { "80", NULL } },
	{ "https_listen", R_LISTEN, F(https_listen), "", "[::1]:443",
	    "::1:443", { "[::1]", NULL } },
	{ "mta_sts_mode", R_UINT, F(mta_sts_mode), "1", "enforce", "2",
	    { "Enforce", "on", "", NULL } },
	{ "tls_cert_file", R_STR, F(tls_cert_file), "(null)", "/c.pem",
	    "/c.pem", { "", NULL } },
	{ "tls_key_file", R_STR, F(tls_key_file), "(null)", "k.pem",
	    "/etc/tem/k.pem", { "", NULL } },
	{ "message_size_limit", R_U64, F(message_size_limit), "52428800",
	    "64k", "65536", { "0", "10T", "M", NULL } },
	{ "auth_allow_cleartext", R_BOOL, F(auth_allow_cleartext), "no", "yes",
	    "yes", { "maybe", "", "YES", NULL } },
	{ "max_sessions_per_ip", R_UINT, F(max_sessions_per_ip), "100", "7",
	    "7", { "-1", "4294967296", "7x", NULL } },
	{ "max_sessions", R_UINT, F(max_sessions), "0", "5000",
	    "5000", { "-1", "4294967296", "many", NULL } },
	{ "dns_server", R_STR, F(dns_server), "(null)", "127.0.0.1:5353",
	    "127.0.0.1:5353", { "dns.example", "127.0.0.1:x", NULL } },
	{ "dns_trust_anchor_file", R_STR, F(dns_trust_anchor_file),
	    "/usr/share/dns/root.key", "none", "none",
	    { "", "root.key", NULL } },
	{ "outbound_port", R_UINT, F(outbound_port), "25", "2525", "2525",
	    { "0", "65536", "smtp", NULL } },
	{ "outbound_bind_address", R_STR, F(outbound_bind_address), "(null)",
	    "::1", "::1", { "localhost", "1.2.3", NULL } },
	{ "relay_host", R_STR, F(relay_host), "(null)", "[::1]:2525",
	    "[::1]:2525", { "relay:0", "relay:x", "re lay:25", NULL } },
	{ "queue_retry_base", R_UINT, F(queue_retry_base), "60", "30s", "30",
	    { "0", "5y", "m", NULL } },
	{ "queue_lifetime", R_UINT, F(queue_lifetime), "432000", "2w",
	    "1209600", { "0s", "4294967296s", "-5d", NULL } },
	{ "delay_warning_time", R_UINT, F(delay_warning_time), "14400", "0",
	    "0", { "-1", "4x", "", NULL } },
	{ "smtp_max_recipients", R_UINT, F(smtp_max_recipients), "100", "1000",
	    "1000", { "", "ten", NULL } },
	{ "smtp_max_errors", R_UINT, F(smtp_max_errors), "20", "0", "0",
	    { "1.5", NULL } },
	{ "smtp_command_timeout", R_UINT, F(smtp_command_timeout), "300", "1h",
	    "3600", { "1x", NULL } },
	{ "smtp_data_timeout", R_UINT, F(smtp_data_timeout), "600", "90",
	    "90", { "", NULL } },
	{ "worker_threads", R_UINT, F(worker_threads), "0", "8", "8",
	    { "+8", NULL } },
	{ "imap_max_sessions_per_user", R_UINT,
	    F(imap_max_sessions_per_user), "100", "10", "10", { "many", NULL } },
	{ "default_quota", R_U64, F(default_quota), "0", "2G", "2147483648",
	    { "-1", "10T", "lots", NULL } },
	{ "default_quota_messages", R_UINT, F(default_quota_messages), "0",
	    "5000", "5000", { "many", NULL } },
	{ "submission_max_messages_per_hour", R_UINT,
	    F(submission_max_messages_per_hour), "1000", "50", "50",
	    { "50/h", NULL } },
	{ "submission_max_recipients_per_hour", R_UINT,
	    F(submission_max_recipients_per_hour), "5000", "1", "1",
	    { " -1", NULL } },
	{ "max_connections_per_minute", R_UINT, F(max_connections_per_minute),
	    "600", "0", "0", { "0x10", NULL } },
	{ "rspamd_controller", R_STR, F(rspamd_controller), "(null)",
	    "127.0.0.1:11334", "127.0.0.1:11334", { "rspamd:0", "a b",
	    "[::1]:x", NULL } },
	{ "rspamd_password", R_STR, F(rspamd_password), "(null)", "q1 x",
	    "q1 x", { NULL } },
	{ "dnsbl_zones", R_LIST, F(dnsbl_zones), "", " zen.test , , bl.test",
	    "zen.test,bl.test", { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
	    NULL } },
	{ "metrics_allow", R_LIST, F(metrics_allow), "127.0.0.1,::1",
	    "10.1.2.3, 192.0.2.0/24 ,2001:db8::/32",
	    "10.1.2.3,192.0.2.0/24,2001:db8::/32", { "10.0.0.0/33",
	    "host.test", "::1/129", NULL } },
	{ "log_level", R_STR, F(log_level), "info", "debug", "debug",
	    { "verbose", "INFO", NULL } },
	{ "smtp_milters", R_LIST, F(smtp_milters), "",
	    "inet:localhost:11332, unix:/run/f.sock",
	    "inet:localhost:11332,unix:/run/f.sock",
	    { "inet:example.test:1", "unix:rel.sock", "inet:127.0.0.1:0",
	    NULL } },
	{ "submission_milters", R_LIST, F(submission_milters), "",
	    "inet6:[::1]:8891,inet:127.0.0.1:8892",
	    "inet6:[::1]:8891,inet:127.0.0.1:8892",
	    { "tcp:127.0.0.1:1", "inet:127.0.0.1", "inet:[::1:5", NULL } },
	{ "milter_default_action", R_UINT, F(milter_default_action), "0",
	    "reject", "2", { "quarantine", "Accept", "", NULL } },
	{ "milter_connect_timeout", R_UINT, F(milter_connect_timeout), "30",
	    "5s", "5", { "0", "5x", NULL } },
	{ "milter_command_timeout", R_UINT, F(milter_command_timeout), "30",
	    "1m", "60", { "", NULL } },
	{ "milter_content_timeout", R_UINT, F(milter_content_timeout), "300",
	    "10m", "600", { "-1", NULL } },
	{ "sieve_before", R_STR, F(sieve_before), "(null)", "before.sieve",
	    "/etc/tem/before.sieve", { "", NULL } },
	{ "acme_directory", R_STR, F(acme_directory),
	    "https://acme-v02.api.letsencrypt.org/directory",
	    "https://127.0.0.1:14000/dir", "https://127.0.0.1:14000/dir",
	    { NULL } },
	{ "acme_email", R_STR, F(acme_email), "(null)", "hostmaster@a.test",
	    "hostmaster@a.test", { NULL } },
	{ "acme_names", R_LIST, F(acme_names), "", "mx.a.test, mail.a.test",
	    "mx.a.test,mail.a.test", { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
	    "16,17", NULL } },
	{ "acme_ca_file", R_STR, F(acme_ca_file), "(null)", "pebble.pem",
	    "/etc/tem/pebble.pem", { "", NULL } },
	{ "acme_challenge", R_STR, F(acme_challenge), "http-01",
	    "tls-alpn-01", "tls-alpn-01", { "dns-01", "HTTP-01", "", NULL } },
	{ "tls_ca_file", R_STR, F(tls_ca_file), "(null)", "ca.pem",
	    "/etc/tem/ca.pem", { "", NULL } },
	{ "dane", R_BOOL, F(dane), "yes", "no", "no", { "maybe", NULL } },
	{ "mta_sts", R_BOOL, F(mta_sts), "yes", "no", "no", { "2", NULL } },
	{ "tlsrpt", R_BOOL, F(tlsrpt), "yes", "no", "no", { "", NULL } },
	{ "dmarc_reports", R_BOOL, F(dmarc_reports), "yes", "no", "no",
	    { "off!", NULL } },
	{ "report_from", R_STR, F(report_from), "(null)", "r@a.test",
	    "r@a.test", { NULL } },
	{ "arc_trusted_sealers", R_LIST, F(arc_trusted_sealers), "",
	    "a.test, b.test", "a.test,b.test", { NULL } },
	{ "storage", R_UINT, F(storage), "0", "postgresql", "1",
	    { "sqlite", "PostgreSQL", "", NULL } },
	{ "postgresql_dsn", R_STR, F(postgresql_dsn), "(null)",
	    "host=127.0.0.1 dbname=tem", "host=127.0.0.1 dbname=tem",
	    { NULL } },
	{ "queue_lease_time", R_UINT, F(queue_lease_time), "30", "1m", "60",
	    { "4s", "61s", "0", NULL } },
};
#define NCASES (sizeof(keys) / sizeof(keys[0]))

/* Renders one field of c as text, for comparison with the table. */
static void
render(const struct conf *c, const struct key_case *k, struct buf *out)
{
	const void *f = (const char *)c + k->off;

	buf_reset(out);
	switch (k->kind) {
	case R_STR: {
		const char *s = *(char *const *)f;
		buf_puts(out, s ? s : "(null)");
		break;
	}
	case R_UINT:
		buf_printf(out, "%u", *(const unsigned *)f);
		break;
	case R_U64:
		buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)f);
		break;
	case R_BOOL:
		buf_puts(out, *(const bool *)f ? "yes" : "no");
		break;
	case R_LISTEN: {
		const struct conf_listen_list *l = f;
		for (int i = 0; i < l->n; i++)
			buf_printf(out, "%s%s:%d", i ? "," : "", l->l[i].host,
			    l->l[i].port);
		break;
	}
	case R_LIST: {
		const struct conf_strlist *l = f;
		for (int i = 0; i < l->n; i++)
			buf_printf(out, "%s%s", i ? "," : "", l->v[i]);
		break;
	}
	}
}

static const struct key_case *
find_case(const char *key)
{
	for (size_t i = 0; i < NCASES; i++)
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

/* Every key of conf.c's table has a case here, and no case is stale. */
static void
test_table_complete(void)
{
	size_t n = 0;
	const char *name;

	for (; (name = conf_key_name(n)) != NULL; n++) {
		if (find_case(name) == NULL)
			fprintf(stderr, "  no test case for key %s\n", name);
		TEST_ASSERT(find_case(name) != NULL);
	}
	TEST_ASSERT(n == NCASES);
}

static void
test_defaults(void)
{
	struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
	struct buf b;
	int bad = 0;

	buf_init(&b, 0);
	TEST_ASSERT_STREQ(c->path, "/etc/tem/tem.conf");
	TEST_ASSERT_STREQ(c->dir, "/etc/tem");
	for (size_t i = 0; i < NCASES; i++) {
		render(c, &keys[i], &b);
		if (strcmp(keys[i].def, "*") == 0 ? b.len == 0 :
		    strcmp(buf_cstr(&b), keys[i].def) != 0) {
			fprintf(stderr, "  default of %s: got '%s' want '%s'\n",
			    keys[i].key, buf_cstr(&b), keys[i].def);
			bad++;
		}
	}
	buf_free(&b);
	conf_free(&c);
	TEST_ASSERT(c == NULL);
	TEST_ASSERT(bad == 0);
}

static void
test_good_values(void)
{
	struct buf b, text;
	int bad = 0;

	buf_init(&b, 0);
	buf_init(&text, 0);
	for (size_t i = 0; i < NCASES; i++) {
		struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
		char *err = NULL;

		/* alone, and with spaces, tabs and CRLF around it */
		buf_reset(&text);
		buf_printf(&text, "# comment\n\n \t%s\t= %s \r\n", keys[i].key,
		    keys[i].good);
		if (conf_parse(c, "t.conf", text.data, text.len, &err) < 0) {
			fprintf(stderr, "  %s = %s: %s\n", keys[i].key,
			    keys[i].good, err);
			free(err);
			bad++;
		} else {
			render(c, &keys[i], &b);
			if (strcmp(buf_cstr(&b), keys[i].good_r) != 0) {
				fprintf(stderr, "  %s = %s: got '%s' want '%s'\n",
				    keys[i].key, keys[i].good, buf_cstr(&b),
				    keys[i].good_r);
				bad++;
			}
		}
		conf_free(&c);
	}
	buf_free(&b);
	buf_free(&text);
	TEST_ASSERT(bad == 0);
}

/* Each bad value is refused on its own line with "t.conf:LINE: key: ". */
static void
test_bad_values(void)
{
	struct buf text, want;
	int bad = 0, ncases = 0;

	buf_init(&text, 0);
	buf_init(&want, 0);
	for (size_t i = 0; i < NCASES; i++) {
		for (int j = 0; keys[i].bad[j]; j++) {
			struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
			char *err = NULL;

			ncases++;
			buf_reset(&text);
			buf_printf(&text, "# line 1\n\n  # line 3\n"
			    "%s = %s\n", keys[i].key, keys[i].bad[j]);
			buf_reset(&want);
			buf_printf(&want, "t.conf:4: %s: ", keys[i].key);
			if (conf_parse(c, "t.conf", text.data, text.len,
			    &err) == 0) {
				fprintf(stderr, "  %s = '%s' accepted\n",
				    keys[i].key, keys[i].bad[j]);
				bad++;
			} else if (strncmp(err, want.data, want.len) != 0 ||
			    strchr(err, '\n') != NULL) {
				fprintf(stderr, "  %s = '%s': error '%s'\n",
				    keys[i].key, keys[i].bad[j], err);
				bad++;
			}
			free(err);
			conf_free(&c);
		}
	}
	buf_free(&text);
	buf_free(&want);
	TEST_ASSERT(ncases >= (int)NCASES - 1);	/* run_as has none */
	TEST_ASSERT(bad == 0);
}

struct line_case {
	const char	*text;
	const char	*err;	/* NULL: accepted */
};

/* Shape errors, all collected at once, each naming its line. */
static void
test_lines(void)
{
	static const struct line_case cases[] = {
		{ "", NULL },
		{ "# only a comment", NULL },
		{ "   \t  \n\n", NULL },
		{ "hostname=a.test", NULL },		/* no spaces */
		{ "hostname = a.test\r\n", NULL },
		{ "hostname = a.test", NULL },		/* no final newline */
		{ "nosuchkey = 1", "t.conf:1: unknown key 'nosuchkey'" },
		{ "\nHostname = a.test", "t.conf:2: unknown key 'Hostname'" },
		{ "just words", "t.conf:1: expected key = value" },
		{ "= value", "t.conf:1: unknown key ''" },
		{ "hostname = a.test\nhostname = b.test",
		    "t.conf:2: hostname set twice" },
		{ "a = 1\nb = 2\nmax_sessions_per_ip = x",
		    "t.conf:1: unknown key 'a'\nt.conf:2: unknown key 'b'\n"
		    "t.conf:3: max_sessions_per_ip: expected a number" },
		/* one port for two services: refused, whatever the order */
		{ "smtp_listen = 127.0.0.1:2525\nimap_listen = 127.0.0.1:2525",
		    "t.conf: smtp_listen and imap_listen both listen on "
		    "127.0.0.1 port 2525" },
		{ "imap_listen = 127.0.0.1:143, 0.0.0.0:143",
		    "t.conf: imap_listen and imap_listen both listen on "
		    "0.0.0.0 port 143" },
		{ "smtp_listen = [::1]:25\nimap_listen = 127.0.0.1:25, "
		    "127.0.0.2:143", NULL },
		{ "hostname = a.test # trailing comment",
		    "t.conf:1: hostname: expected a host name (letters, "
		    "digits, '-', '.')" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
		char *err = NULL;
		int r = conf_parse(c, "t.conf", cases[i].text,
		    strlen(cases[i].text), &err);

		if (cases[i].err == NULL) {
			if (r != 0)
				fprintf(stderr, "  case %zu: %s\n", i, err);
			TEST_ASSERT(r == 0 && err == NULL);
		} else {
			TEST_ASSERT(r == -1);
			if (strcmp(err, cases[i].err) != 0)
				fprintf(stderr, "  case %zu: '%s'\n", i, err);
			TEST_ASSERT_STREQ(err, cases[i].err);
			free(err);
		}
		conf_free(&c);
	}
}

static void
test_nul_and_long_key(void)
{
	static const char text[] = "hostname = a\0b\nx = 1";
	struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
	char *err = NULL, longkey[300];

	TEST_ASSERT(conf_parse(c, "t.conf", text, sizeof(text) - 1, &err) < 0);
	TEST_ASSERT_STREQ(err, "t.conf:1: NUL byte in line\n"
	    "t.conf:2: unknown key 'x'");
	free(err);
	/* an unknown key is quoted, cut at 64 characters */
	memset(longkey, 'k', sizeof(longkey) - 3);
	memcpy(longkey + sizeof(longkey) - 3, "=1", 3);
	TEST_ASSERT(conf_parse(c, "t.conf", longkey, strlen(longkey), &err) < 0);
	TEST_ASSERT(strlen(err) == strlen("t.conf:1: unknown key ''") + 64);
	free(err);
	conf_free(&c);
}

struct size_case {
	const char	*s;
	int		 r;
	uint64_t	 v;
};

static void
test_parse_size(void)
{
	static const struct size_case cases[] = {
		{ "0", 0, 0 }, { "1", 0, 1 }, { "64k", 0, 65536 },
		{ "64K", 0, 65536 }, { "25M", 0, 25 << 20 }, { "2m", 0, 2 << 20 },
		{ "3G", 0, 3ULL << 30 }, { "3g", 0, 3ULL << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "17179869184G", -1, 0 },		/* 2^34 G overflows */
		{ "", -1, 0 }, { "k", -1, 0 }, { "-1", -1, 0 }, { " 1", -1, 0 },
		{ "1 k", -1, 0 }, { "1kk", -1, 0 }, { "1T", -1, 0 },
		{ "1.5M", -1, 0 }, { "+1", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int r = conf_parse_size(cases[i].s, &v);

		if (r != cases[i].r)
			fprintf(stderr, "  size '%s': %d\n", cases[i].s, r);
		TEST_ASSERT(r == cases[i].r);
		TEST_ASSERT(v == (r == 0 ? cases[i].v : 12345));
	}
}

struct dur_case {
	const char	*s;
	int		 r;
	unsigned	 v;
};

static void
test_parse_duration(void)
{
	static const struct dur_case cases[] = {
		{ "0", 0, 0 }, { "30", 0, 30 }, { "30s", 0, 30 },
		{ "5m", 0, 300 }, { "2h", 0, 7200 }, { "5d", 0, 432000 },
		{ "1w", 0, 604800 }, { "4294967295", 0, 4294967295u },
		{ "4294967296", -1, 0 }, { "71582789m", -1, 0 },	/* > 2^32 s */
		{ "71582788m", 0, 71582788u * 60 },
		{ "", -1, 0 }, { "m", -1, 0 }, { "5M", -1, 0 }, { "5y", -1, 0 },
		{ "5ms", -1, 0 }, { "-5", -1, 0 }, { " 5", -1, 0 },
		{ "5 s", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned v = 12345;
		int r = conf_parse_duration(cases[i].s, &v);

		if (r != cases[i].r)
			fprintf(stderr, "  duration '%s': %d\n", cases[i].s, r);
		TEST_ASSERT(r == cases[i].r);
		TEST_ASSERT(v == (r == 0 ? cases[i].v : 12345));
	}
}

struct listen_case {
	const char	*s;
	const char	*host;	/* NULL: refused */
	int		 port;
};

static void
test_parse_listen(void)
{
	static const struct listen_case cases[] = {
		{ "127.0.0.1:25", "127.0.0.1", 25 },
		{ "*:0", "0.0.0.0", 0 },
		{ "[::1]:143", "::1", 143 },
		{ "::1:143", "::1", 143 },		/* last colon splits */
		{ "0.0.0.0:65535", "0.0.0.0", 65535 },
		{ "[fe80::1%eth0]:25", NULL, 0 },
		{ "127.0.0.1:65536", NULL, 0 },
		{ "127.0.0.1:", NULL, 0 },
		{ "127.0.0.1: 25", NULL, 0 },
		{ "127.0.0.1:25x", NULL, 0 },
		{ "localhost:25", NULL, 0 },
		{ "[::1]", NULL, 0 },
		{ "[::1]25", NULL, 0 },
		{ "[]:25", NULL, 0 },
		{ ":25", NULL, 0 },
		{ "25", NULL, 0 },
		{ "", NULL, 0 },
		{ "1111111111111111111111111111111111111111111111111111111111111"
		    "111111:25", NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_listen l;
		int r = conf_parse_listen(cases[i].s, &l);

		if ((r == 0) != (cases[i].host != NULL))
			fprintf(stderr, "  listen '%s': %d\n", cases[i].s, r);
		TEST_ASSERT((r == 0) == (cases[i].host != NULL));
		if (r == 0) {
			TEST_ASSERT_STREQ(l.host, cases[i].host);
			TEST_ASSERT(l.port == cases[i].port);
		}
	}
}

static void
test_listen_list_limit(void)
{
	struct buf text;
	struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
	char *err = NULL;

	buf_init(&text, 0);
	buf_puts(&text, "smtp_listen = ");
	for (int i = 0; i < CONF_MAX_LISTEN; i++)
		buf_printf(&text, "%s127.0.0.1:%d", i ? "," : "", 2500 + i);
	TEST_ASSERT(conf_parse(c, "t.conf", text.data, text.len, &err) == 0);
	TEST_ASSERT(c->smtp_listen.n == CONF_MAX_LISTEN);
	TEST_ASSERT(c->smtp_listen.l[CONF_MAX_LISTEN - 1].port ==
	    2500 + CONF_MAX_LISTEN - 1);
	conf_free(&c);
	c = conf_new_defaults("/etc/tem/tem.conf");
	buf_puts(&text, ",127.0.0.1:1");
	TEST_ASSERT(conf_parse(c, "t.conf", text.data, text.len, &err) < 0);
	TEST_ASSERT(strncmp(err, "t.conf:1: smtp_listen: ", 23) == 0);
	free(err);
	conf_free(&c);
	buf_free(&text);
}

/* A repeated list key in a second parse replaces, never leaks or grows. */
static void
test_list_replaced(void)
{
	struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
	char *err = NULL;
	const char *t1 = "dnsbl_zones = a.test, b.test";
	const char *t2 = "dnsbl_zones = c.test";

	TEST_ASSERT(conf_parse(c, "t.conf", t1, strlen(t1), &err) == 0);
	TEST_ASSERT(c->dnsbl_zones.n == 2);
	TEST_ASSERT(conf_parse(c, "t.conf", t2, strlen(t2), &err) == 0);
	TEST_ASSERT(c->dnsbl_zones.n == 1);
	TEST_ASSERT_STREQ(c->dnsbl_zones.v[0], "c.test");
	conf_free(&c);
}

static void
test_paths(void)
{
	struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
	struct conf *root = conf_new_defaults("/tem.conf");
	struct conf *rel = conf_new_defaults("sub/tem.conf");
	struct conf *none = conf_new_defaults(NULL);
	char *p, cwd[4096], *want;

	p = conf_path(c, "data");
	TEST_ASSERT_STREQ(p, "/etc/tem/data");
	free(p);
	p = conf_path(c, "/abs/data");
	TEST_ASSERT_STREQ(p, "/abs/data");
	free(p);
	p = conf_path(c, "../x");
	TEST_ASSERT_STREQ(p, "/etc/tem/../x");
	free(p);
	/* a config in the root folder gives "/data", not "//data" */
	TEST_ASSERT_STREQ(root->dir, "/");
	p = conf_path(root, "data");
	TEST_ASSERT_STREQ(p, "/data");
	free(p);
	/* a relative config name is taken from the working folder */
	TEST_ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
	want = xasprintf("%s/sub", cwd);
	TEST_ASSERT_STREQ(rel->dir, want);
	free(want);
	/* no file: paths stay as written */
	TEST_ASSERT(none->path == NULL && none->dir == NULL);
	p = conf_path(none, "data");
	TEST_ASSERT_STREQ(p, "data");
	free(p);
	conf_free(&c);
	conf_free(&root);
	conf_free(&rel);
	conf_free(&none);
}

static char tmpdir[] = "/tmp/test-conf-XXXXXX";

static char *
write_file(const char *name, const char *text, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	return path;
}

static void
test_load(void)
{
	struct conf *c = NULL;
	char *err = NULL, *path, *big, *want;
	const char *text = "data_dir = d\nmax_sessions_per_ip = 3\n";

	path = write_file("ok.conf", text, strlen(text));
	TEST_ASSERT(conf_load(path, false, &c, &err) == 0);
	want = xasprintf("%s/d", tmpdir);
	TEST_ASSERT_STREQ(c->data_dir, want);
	TEST_ASSERT(c->max_sessions_per_ip == 3);
	free(want);
	conf_free(&c);
	free(path);

	/* every error of the file at once, with the full path */
	text = "x = 1\nmax_sessions_per_ip = -3\n";
	path = write_file("bad.conf", text, strlen(text));
	TEST_ASSERT(conf_load(path, false, &c, &err) < 0 && c == NULL);
	want = xasprintf("%s:1: unknown key 'x'\n%s:2: max_sessions_per_ip: "
	    "expected a number", path, path);
	TEST_ASSERT_STREQ(err, want);
	free(want);
	free(err);
	free(path);

	/* missing: an error, unless allowed (then defaults) */
	path = xasprintf("%s/missing.conf", tmpdir);
	TEST_ASSERT(conf_load(path, false, &c, &err) < 0);
	TEST_ASSERT(strstr(err, "missing.conf: No such file") != NULL);
	free(err);
	TEST_ASSERT(conf_load(path, true, &c, &err) == 0);
	TEST_ASSERT(c->max_sessions_per_ip == 100);
	conf_free(&c);
	free(path);

	/* over 1 MiB is refused whole */
	big = xmalloc(1024 * 1024 + 2);
	memset(big, '#', 1024 * 1024 + 1);
	path = write_file("big.conf", big, 1024 * 1024 + 1);
	TEST_ASSERT(conf_load(path, false, &c, &err) < 0);
	TEST_ASSERT(strstr(err, "larger than 1 MiB") != NULL);
	free(err);
	free(big);
	free(path);

	/* NULL means $TEM_CONFIG */
	path = write_file("env.conf", "worker_threads = 3\n", 19);
	setenv("TEM_CONFIG", path, 1);
	TEST_ASSERT_STREQ(conf_default_path(), path);
	TEST_ASSERT(conf_load(NULL, false, &c, &err) == 0);
	TEST_ASSERT(c->worker_threads == 3);
	conf_free(&c);
	setenv("TEM_CONFIG", "", 1);
	TEST_ASSERT_STREQ(conf_default_path(), "/etc/tem/tem.conf");
	unsetenv("TEM_CONFIG");
	free(path);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	TEST_RUN(test_table_complete);
	TEST_RUN(test_defaults);
	TEST_RUN(test_good_values);
	TEST_RUN(test_bad_values);
	TEST_RUN(test_lines);
	TEST_RUN(test_nul_and_long_key);
	TEST_RUN(test_parse_size);
	TEST_RUN(test_parse_duration);
	TEST_RUN(test_parse_listen);
	TEST_RUN(test_listen_list_limit);
	TEST_RUN(test_list_replaced);
	TEST_RUN(test_paths);
	TEST_RUN(test_load);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
		free(cmd);
	}
	return test_done("test-conf");
}
