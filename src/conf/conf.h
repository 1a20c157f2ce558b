/*
 * conf - the config file: `key = value` lines into a typed settings table.
 *
 * Trust: the config file is written by the administrator but parsed
 * defensively (it has a fuzz target): every error names file:line, all
 * errors of a file are reported at once, and nothing is half-applied.
 * Relative paths are made relative to the config file's folder.
 * Defaults, meanings and the reason for each limit live in the settings
 * table, conf_keys.c.
 */
#ifndef TEM_CONF_H
#define TEM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_MAX_LISTEN 16

/* One `addr:port` listener; host is numeric ("127.0.0.1", "::1"). */
struct conf_listen {
	char	host[64];
	int	port;
};

struct conf_listen_list {
	int			n;
	struct conf_listen	l[CONF_MAX_LISTEN];
};

struct conf {
	char	*path;			/* absolute path of the file */
	char	*dir;			/* its folder */

	char	*hostname;
	char	*data_dir;
	char	*run_as;		/* "" = stay */
	struct conf_listen_list smtp_listen, submission_listen,
				submissions_listen, imap_listen, imaps_listen,
				pop3_listen, pop3s_listen,
				managesieve_listen;
	/* HTTP (src/http): http_listen plain, https_listen implicit TLS
	 * with the server's certificate. */
	struct conf_listen_list http_listen, https_listen;
	unsigned mta_sts_mode;		/* enum conf_mta_sts_mode */
	char	*tls_cert_file;		/* NULL: self-signed in data_dir */
	char	*tls_key_file;
	uint64_t message_size_limit;
	bool	auth_allow_cleartext;
	unsigned max_sessions_per_ip;
	unsigned max_sessions;		/* 0: from RLIMIT_NOFILE */
	char	*dns_server;		/* NULL: system resolver */
	char	*dns_trust_anchor_file;	/* "none": no DNSSEC validation */
	unsigned outbound_port;
	char	*outbound_bind_address;
	char	*relay_host;
	unsigned queue_retry_base;	/* seconds */
	unsigned queue_lifetime;	/* seconds */
	unsigned delay_warning_time;	/* seconds; 0: no delay DSNs */
	/* Outbound transport security and reports (issue 14). */
	char	*tls_ca_file;		/* NULL: the system store only */
	bool	 dane;
	bool	 mta_sts;
	bool	 tlsrpt;
	bool	 dmarc_reports;
	char	*report_from;		/* NULL: postmaster@first domain */

	/* Limits beyond the SPEC table (documented in conf_keys.c). */
	unsigned smtp_max_recipients;
	unsigned smtp_max_errors;
	unsigned smtp_command_timeout;	/* seconds */
	unsigned smtp_data_timeout;	/* seconds */
	unsigned worker_threads;	/* 0: one per core */
	unsigned imap_max_sessions_per_user;
	uint64_t default_quota;		/* octets; 0: no limit */
	unsigned default_quota_messages;	/* 0: no limit */
	unsigned submission_max_messages_per_hour;
	unsigned submission_max_recipients_per_hour;
	unsigned max_connections_per_minute;
	/* Spam learning (src/spam): rspamd's controller as host[:port]
	 * (NULL: learning is off) and its password (NULL: none sent). */
	char	*rspamd_controller;
	char	*rspamd_password;
	struct conf_strlist {
		int	 n;
		char	*v[16];
	} dnsbl_zones;
	char	*log_level;
	/* Milters (src/milter): each entry "inet:HOST:PORT",
	 * "inet6:HOST:PORT" or "unix:/PATH", checked at load. */
	struct conf_strlist smtp_milters, submission_milters;
	unsigned milter_default_action;	/* enum conf_milter_action */
	unsigned milter_connect_timeout;	/* seconds */
	unsigned milter_command_timeout;	/* seconds */
	unsigned milter_content_timeout;	/* seconds */
	/* Sieve (msg/sieve_stage.h): a global script run before each
	 * user's at delivery (NULL: none), compiled at start and reload. */
	char	*sieve_before;
	/* ACME (src/acme): empty acme_names = off. */
	char	*acme_directory;
	char	*acme_email;		/* NULL: no contact */
	struct conf_strlist acme_names;
	char	*acme_ca_file;		/* NULL: the system store only */
	char	*acme_challenge;	/* "http-01" or "tls-alpn-01" */
	/* Who may read /metrics: addresses or CIDRs (util/cidr.h), checked
	 * at load. */
	struct conf_strlist metrics_allow;
	/* ARC (RFC 8617): sealers whose chain may override a DMARC fail. */
	struct conf_strlist arc_trusted_sealers;
	/* Storage backend (issue 15): enum conf_storage; postgresql_dsn
	 * NULL: unset. */
	unsigned storage;
	char	*postgresql_dsn;
	unsigned queue_lease_time;	/* seconds, 5..60 */
};

enum conf_storage {
	CONF_STORAGE_EMBEDDED,
	CONF_STORAGE_POSTGRESQL,
};

/* milter_default_action: what a filter that is down, slow or garbled
 * means for the mail (Postfix's milter_default_action). */
enum conf_milter_action {
	CONF_MILTER_TEMPFAIL,	/* 451 4.7.1 to the client */
	CONF_MILTER_ACCEPT,	/* the filter is skipped for the session */
	CONF_MILTER_REJECT,	/* 550 5.7.1 */
};

/* mta_sts_mode: the mode of the MTA-STS policy served (RFC 8461 5). */
enum conf_mta_sts_mode {
	CONF_MTA_STS_NONE,
	CONF_MTA_STS_TESTING,
	CONF_MTA_STS_ENFORCE,
};

/*
 * Loads FILE (NULL: $TEM_CONFIG, else /etc/tem/tem.conf). On success
 * returns 0 and a new conf in *conf_r. On failure returns -1 and a
 * malloc'd message in *error_r: one "file:line: problem" per line.
 * A missing file is an error unless allow_missing is set (then defaults).
 */
int conf_load(const char *file, bool allow_missing, struct conf **conf_r,
    char **error_r);
/* Parses config text already in memory (used by conf_load and the fuzzer). */
int conf_parse(struct conf *c, const char *name, const char *text,
    size_t len, char **error_r);
/* A conf with every default, path set to FILE. */
struct conf *conf_new_defaults(const char *file);
void conf_free(struct conf **c);
/* The path conf_load uses for NULL. */
const char *conf_default_path(void);

/* Value parsers, exported for tests: 0 ok, -1 bad. */
int conf_parse_size(const char *s, uint64_t *r);
int conf_parse_duration(const char *s, unsigned *r);
/* A quota: a size as conf_parse_size, or 0 / "none" / "unlimited" (0). */
int conf_parse_quota(const char *s, uint64_t *r);
int conf_parse_listen(const char *s, struct conf_listen *r);
/* A milter address: "inet:HOST:PORT" / "inet6:HOST:PORT" (HOST a numeric
 * address, "[ipv6]" or "localhost"), or "unix:/PATH". Fills *ss and *len
 * (AF_INET, AF_INET6 or AF_UNIX). */
struct sockaddr_storage;
int conf_parse_milter(const char *s, struct sockaddr_storage *ss,
    unsigned *len);

/* The name of the i-th key of the settings table, NULL past the end (lets
 * the unit test check that it covers every key). */
const char *conf_key_name(size_t i);

/* The manual page tem.conf(5) in man(7) roff, from the settings table;
 * and the key names alone, one a line (`tem man 5`, `tem man keys`). */
void conf_man(FILE *f, const char *version);
void conf_man_keys(FILE *f);

/* Makes PATH absolute relative to the config's folder; malloc'd. */
char *conf_path(const struct conf *c, const char *path);

#endif
