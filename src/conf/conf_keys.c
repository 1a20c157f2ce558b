/*
 * conf_keys - the settings table (see conf_keys.h): every key of
 * tem.conf, its type, default, meaning and an example.
 *
 * Each entry is K(name, type, default, "meaning", "example"): the meaning
 * is the paragraph tem.conf(5) prints (say why a limit is what it is), the
 * example must parse as a value of the type (test-conf.c checks both).
 * The old three-argument K(name, type, default) no longer compiles
 * ("macro K requires 5 arguments"): add the two texts. A key is listed
 * under the CONF_AREA defined above it.
 * Trust: none needed, constant data.
 */
#include <stddef.h>

#include "conf/conf.h"
#include "conf/conf_keys.h"

#define K(name, type, def, meaning, example) \
	{ #name, type, offsetof(struct conf, name), def, meaning, example, \
	    CONF_AREA }

const struct conf_key conf_keys[] = {
#define CONF_AREA "Server"
	K(hostname, T_HOST, NULL,
	    "The name tem gives itself in the SMTP banner, in EHLO and in "
	    "bounces; unset: the system's host name.",
	    "mail.example.com"),
	K(data_dir, T_PATH, "/var/lib/tem",
	    "The folder of the accounts, mailboxes, queue, DKIM keys and "
	    "self-signed certificate; a relative path is taken from the "
	    "config file's folder.",
	    "/srv/tem"),
	K(run_as, T_STR, "tem",
	    "The user tem drops its privileges to after binding the ports "
	    "when started as root; empty: stay as started.",
	    "mail"),
	K(worker_threads, T_UINT, "0",
	    "Threads doing the disk, DNS and CPU-heavy work off the event "
	    "loop; 0: one per core.",
	    "4"),
	K(log_level, T_LEVEL, "info",
	    "The least important log lines written: debug, info, warning or "
	    "error.",
	    "debug"),
#undef CONF_AREA
#define CONF_AREA "Listeners"
	K(smtp_listen, T_LISTEN, "",
	    "Where SMTP from other servers is received (port 25 by "
	    "convention); empty or off: not at all.",
	    "0.0.0.0:25, [::]:25"),
	K(submission_listen, T_LISTEN, "",
	    "Where users submit mail with STARTTLS and AUTH (port 587 by "
	    "convention).",
	    "0.0.0.0:587"),
	K(submissions_listen, T_LISTEN, "",
	    "Submission over implicit TLS (port 465 by convention, RFC "
	    "8314).",
	    "0.0.0.0:465"),
	K(imap_listen, T_LISTEN, "",
	    "IMAP with STARTTLS (port 143 by convention).",
	    "[::1]:143"),
	K(imaps_listen, T_LISTEN, "",
	    "IMAP over implicit TLS (port 993 by convention).",
	    "0.0.0.0:993"),
	K(pop3_listen, T_LISTEN, "",
	    "POP3 with STLS (port 110 by convention).",
	    "127.0.0.1:110"),
	K(pop3s_listen, T_LISTEN, "",
	    "POP3 over implicit TLS (port 995 by convention).",
	    "0.0.0.0:995"),
	K(managesieve_listen, T_LISTEN, "",
	    "ManageSieve (RFC 5804) with STARTTLS, for users' Sieve scripts "
	    "(port 4190 by convention).",
	    "0.0.0.0:4190"),
	K(http_listen, T_LISTEN, "",
	    "HTTP (port 80 by convention): client autoconfiguration, ACME "
	    "http-01 challenges, /metrics and /healthz.",
	    "0.0.0.0:80, [::]:80"),
	K(https_listen, T_LISTEN, "",
	    "HTTPS over implicit TLS with tls_cert_file (port 443 by "
	    "convention): the same as http_listen, plus the MTA-STS policy "
	    "(served over HTTPS only, RFC 8461 3.3).",
	    "0.0.0.0:443, [::]:443"),
#undef CONF_AREA
#define CONF_AREA "TLS"
	K(tls_cert_file, T_PATH, NULL,
	    "The certificate chain (PEM, leaf first) offered by every TLS "
	    "listener; unset: a self-signed certificate made in data_dir.",
	    "/etc/tem/fullchain.pem"),
	K(tls_key_file, T_PATH, NULL,
	    "The private key (PEM) of tls_cert_file.",
	    "/etc/tem/privkey.pem"),
	K(auth_allow_cleartext, T_BOOL, "no",
	    "Whether a password may be sent before TLS is up (LOGIN, AUTH "
	    "PLAIN, USER/PASS); only for tests on loopback.",
	    "yes"),
#undef CONF_AREA
#define CONF_AREA "Limits"
	K(message_size_limit, T_SIZE, "50M",
	    "The largest message accepted (announced in EHLO SIZE); larger "
	    "ones get 552.",
	    "25M"),
	K(max_sessions_per_ip, T_UINT, "100",
	    "Sessions at once from one client address and service: enough "
	    "for a large NAT, small enough that one host cannot take every "
	    "descriptor.",
	    "20"),
	K(max_sessions, T_UINT, "0",
	    "All sessions together; 0: the open-file limit less a reserve "
	    "for the disk, DNS and the queue.",
	    "5000"),
	K(max_connections_per_minute, T_UINT, "600",
	    "New connections per client address and minute, all services; "
	    "0: no limit. Real clients reconnect a few times a minute.",
	    "120"),
	K(imap_max_sessions_per_user, T_UINT, "100",
	    "IMAP sessions of one user at once: a phone, a laptop and a few "
	    "sync tools hold about 10 (Dovecot's per user and address "
	    "default).",
	    "20"),
	K(default_quota, T_QUOTA, "0",
	    "The mail store quota (RFC 9208 STORAGE) of a user that tem user "
	    "quota gave none: a size, or 0 or none for no limit. Over it, "
	    "SMTP answers 452 4.2.2 and IMAP NO [OVERQUOTA].",
	    "2G"),
	K(default_quota_messages, T_UINT, "0",
	    "The number of messages (RFC 9208 MESSAGE) a user may keep; "
	    "0: no limit.",
	    "100000"),
	K(submission_max_messages_per_hour, T_UINT, "1000",
	    "Messages one account may send an hour: generous for people, "
	    "small enough that a stolen password cannot turn the server into "
	    "a spam cannon.",
	    "200"),
	K(submission_max_recipients_per_hour, T_UINT, "5000",
	    "Recipients one account may send to an hour, for the same "
	    "reason.",
	    "1000"),
#undef CONF_AREA
#define CONF_AREA "SMTP"
	K(smtp_max_recipients, T_UINT, "100",
	    "Recipients of one message; RFC 5321 4.5.3.1.8 asks for at "
	    "least 100.",
	    "500"),
	K(smtp_max_errors, T_UINT, "20",
	    "Errors in a session before \"421 too many errors\": Postfix's "
	    "hard limit is 20; a real client never needs more than a few.",
	    "10"),
	K(smtp_command_timeout, T_DURATION, "5m",
	    "How long a client may take to send a command (RFC 5321 4.5.3.2 "
	    "suggests 5 minutes).",
	    "2m"),
	K(smtp_data_timeout, T_DURATION, "10m",
	    "How long a client may take for each block of DATA (RFC 5321 "
	    "suggests 10 minutes).",
	    "10m"),
	K(dnsbl_zones, T_STRLIST, "",
	    "DNS block lists asked about a client's address when it "
	    "connects to port 25; none by default.",
	    "zen.spamhaus.org"),
	K(arc_trusted_sealers, T_STRLIST, "",
	    "Domains whose ARC seals (RFC 8617) are trusted: when DMARC "
	    "fails on mail they forwarded and their intact chain says it "
	    "passed before, the DMARC fail is overridden (reported as "
	    "arc in Authentication-Results and DMARC reports).",
	    "lists.example.org, forwarder.example.net"),
#undef CONF_AREA
#define CONF_AREA "Outbound mail and queue"
	K(dns_server, T_DNS, NULL,
	    "The resolver asked for MX, SPF, DKIM and DMARC records; unset: "
	    "the system's resolver.",
	    "127.0.0.1:53"),
	K(dns_trust_anchor_file, T_STR, "/usr/share/dns/root.key",
	    "DNSSEC trust anchors (DS or DNSKEY records in zone-file form, "
	    "absolute path) every answer is validated from; \"none\": no "
	    "validation. With dns_server set, that resolver must pass "
	    "DNSSEC records on (the DO bit is set). A bogus answer is "
	    "never used: look-ups fail temporarily (mail is deferred, "
	    "SPF/DKIM/DMARC give temperror).",
	    "/etc/tem/trust-anchor.key"),
	K(outbound_port, T_PORT, "25",
	    "The port outbound mail is delivered to.",
	    "2525"),
	K(outbound_bind_address, T_ADDR, NULL,
	    "The local address outbound connections come from; unset: the "
	    "system chooses.",
	    "192.0.2.10"),
	K(relay_host, T_HOSTPORT, NULL,
	    "Send all outbound mail through this host instead of the "
	    "recipients' MX; unset: direct delivery.",
	    "smtp.example.net:587"),
	K(queue_retry_base, T_DURATION, "1m",
	    "The first retry delay of a deferred message; each next one "
	    "doubles, up to a few hours.",
	    "5m"),
	K(queue_lifetime, T_DURATION, "5d",
	    "How long a message is retried before it bounces (RFC 5321 "
	    "4.5.4.1 suggests 4-5 days).",
	    "3d"),
	K(delay_warning_time, T_DURATION0, "4h",
	    "After this long still undelivered, a recipient gets one "
	    "\"delayed\" notice (RFC 3464) sent to the sender, when its "
	    "RCPT asked for NOTIFY=DELAY or gave no NOTIFY; 0: never.",
	    "1d"),
	K(tls_ca_file, T_PATH, NULL,
	    "Extra certificate authorities (PEM) trusted, beside the "
	    "system's, when outbound TLS is checked against the web PKI "
	    "(MTA-STS policy fetches and MX certificates of enforced "
	    "MTA-STS domains); unset: the system store only.",
	    "/etc/tem/extra-ca.pem"),
	K(dane, T_BOOL, "yes",
	    "DANE for outbound SMTP (RFC 7672): when a recipient's MX "
	    "answer is DNSSEC-signed and its hosts publish usable TLSA "
	    "records, mail goes only over TLS whose certificate matches "
	    "them, else it waits in the queue.",
	    "no"),
	K(mta_sts, T_BOOL, "yes",
	    "MTA-STS for outbound SMTP (RFC 8461): a recipient domain's "
	    "policy is fetched over HTTPS and cached; in enforce mode mail "
	    "goes only to the MX hosts it lists, over TLS with a valid "
	    "certificate, else it waits in the queue. DANE wins where both "
	    "exist.",
	    "no"),
	K(tlsrpt, T_BOOL, "yes",
	    "Send daily SMTP TLS reports (RFC 8460) to recipient domains "
	    "that ask for them in a _smtp._tls record.",
	    "no"),
	K(dmarc_reports, T_BOOL, "yes",
	    "Send daily DMARC aggregate reports (RFC 7489 7.2) about the "
	    "mail received to sender domains that ask for them (rua=).",
	    "no"),
	K(report_from, T_STR, NULL,
	    "The address DMARC and TLS reports are sent from; unset: "
	    "postmaster@ the first local domain.",
	    "reports@example.com"),
#undef CONF_AREA
#define CONF_AREA "HTTP services"
	K(metrics_allow, T_CIDRS, "127.0.0.1, ::1",
	    "Who may read /metrics on http_listen and https_listen: addresses "
	    "or CIDR networks (at most 16); anyone else gets 403. Loopback by "
	    "default: the numbers tell an attacker how busy and how full the "
	    "server is.",
	    "127.0.0.1, ::1, 192.0.2.0/24"),
	K(mta_sts_mode, T_STSMODE, "testing",
	    "The mode of the MTA-STS policy (RFC 8461) that each local "
	    "domain's mta-sts name serves over HTTPS: testing (senders report failures but deliver) until "
	    "TLS-RPT reports show every sender gets through, then enforce; "
	    "none withdraws it. tem dns-records prints its _mta-sts record.",
	    "enforce"),
#undef CONF_AREA
#define CONF_AREA "Milters"
	K(smtp_milters, T_MILTERS, "",
	    "Mail filters (Sendmail's milter protocol) asked about mail "
	    "received on port 25, in order: inet:HOST:PORT, "
	    "inet6:HOST:PORT or unix:/PATH, HOST numeric or localhost.",
	    "inet:127.0.0.1:11332"),
	K(submission_milters, T_MILTERS, "",
	    "Mail filters for mail submitted on 587 and 465.",
	    "unix:/run/opendkim/opendkim.sock"),
	K(milter_default_action, T_MACTION, "tempfail",
	    "What a filter that is down, slow or garbled means for the mail: "
	    "tempfail (451, the client retries: a broken filter must not "
	    "lose mail), accept (the filter is skipped) or reject (550).",
	    "accept"),
	K(milter_connect_timeout, T_DURATION, "30s",
	    "How long connecting to a filter may take (Postfix's default).",
	    "10s"),
	K(milter_command_timeout, T_DURATION, "30s",
	    "How long a filter may take to answer a command.",
	    "1m"),
	K(milter_content_timeout, T_DURATION, "300s",
	    "How long a filter may take to answer the end of the message "
	    "(it may scan a big body).",
	    "10m"),
#undef CONF_AREA
#define CONF_AREA "Sieve"
	K(sieve_before, T_PATH, NULL,
	    "A global Sieve script (RFC 5228) run before each user's at "
	    "delivery, as Pigeonhole's sieve_before. It must compile, else "
	    "tem does not start (a reload keeps the old config). Each run is "
	    "limited to 100,000 steps, 4 redirects, 32 actions and 1 MiB of "
	    "body searched.",
	    "/etc/tem/before.sieve"),
#undef CONF_AREA
#define CONF_AREA "Spam"
	K(rspamd_controller, T_HOSTPORT, NULL,
	    "rspamd's controller as HOST:PORT, told about messages users "
	    "move into or out of Junk so it learns spam and ham; unset: no "
	    "learning.",
	    "127.0.0.1:11334"),
	K(rspamd_password, T_STR, NULL,
	    "The password sent to rspamd_controller; unset: none.",
	    "s3cret"),
#undef CONF_AREA
#define CONF_AREA "Certificates by ACME"
	K(acme_names, T_STRLIST, "",
	    "The names of the certificate tem orders by ACME (RFC 8555) and "
	    "renews 30 days before it expires (a third of its life when it "
	    "lives under 90 days), with retries from 1 minute doubling to 6 "
	    "hours. Empty: ACME is off. `tem setup` fills it with the host "
	    "name and each domain's mail., autoconfig. and mta-sts. names. "
	    "Once issued, the certificate (kept under data_dir/acme) "
	    "replaces tls_cert_file on every listener, without a restart.",
	    "mx.example.com, mail.example.com, mta-sts.example.com"),
	K(acme_directory, T_STR,
	    "https://acme-v02.api.letsencrypt.org/directory",
	    "The ACME directory URL of the certificate authority.",
	    "https://acme-staging-v02.api.letsencrypt.org/directory"),
	K(acme_email, T_STR, NULL,
	    "The contact address of the ACME account (the CA's expiry "
	    "warnings go there); unset: none.",
	    "hostmaster@example.com"),
	K(acme_challenge, T_ACMECHAL, "http-01",
	    "How the CA checks that tem answers for the names: http-01 (needs "
	    "http_listen on port 80) or tls-alpn-01 (RFC 8737, needs "
	    "https_listen on port 443).",
	    "tls-alpn-01"),
	K(acme_ca_file, T_PATH, NULL,
	    "Extra trust for the CA's HTTPS, on top of the system store: "
	    "for a test CA such as pebble; unset: the system store only.",
	    "/etc/tem/test-ca.pem"),
#undef CONF_AREA
#define CONF_AREA "Storage"
	K(storage, T_STORAGE, "embedded",
	    "Where accounts, mailboxes and the queue live: embedded (files "
	    "and SQLite under data_dir, one host) or postgresql (the "
	    "database at postgresql_dsn, shared by several tem nodes; "
	    "prepare it with tem db init). serve waits for the database at "
	    "start and refuses one whose schema is not its own (tem db "
	    "upgrade).",
	    "postgresql"),
	K(postgresql_dsn, T_STR, NULL,
	    "The libpq connection string of the PostgreSQL database "
	    "(key=value pairs or a postgresql:// URI); a password is better "
	    "kept in ~/.pgpass or PGPASSFILE than here.",
	    "host=db.example.com dbname=tem user=tem"),
	K(queue_lease_time, T_LEASE, "30s",
	    "With storage = postgresql: how long a node's claim on a queued "
	    "message it is delivering lasts without renewal (it renews it "
	    "every half of it while the delivery runs). A node that dies "
	    "loses its messages to the other nodes after this long; shorter "
	    "costs more renewals, and 5s to 60s is allowed.",
	    "1m"),
#undef CONF_AREA
};

const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const char *
conf_type_name(enum conf_type t)
{
	static const char *const names[] = {
		[T_STR] = "string", [T_PATH] = "path", [T_BOOL] = "yes or no",
		[T_UINT] = "number", [T_PORT] = "port", [T_SIZE] = "size",
		[T_QUOTA] = "size or none", [T_DURATION] = "duration",
		[T_LISTEN] = "listen list", [T_LEVEL] = "log level",
		[T_STRLIST] = "list", [T_HOST] = "host name",
		[T_ADDR] = "address", [T_HOSTPORT] = "host[:port]",
		[T_DNS] = "address[:port]", [T_MILTERS] = "milter list",
		[T_MACTION] = "tempfail, accept or reject",
		[T_STSMODE] = "none, testing or enforce",
		[T_ACMECHAL] = "http-01 or tls-alpn-01",
		[T_DURATION0] = "duration or 0",
		[T_STORAGE] = "embedded or postgresql",
		[T_LEASE] = "duration from 5s to 60s",
		[T_CIDRS] = "list of addresses or networks (CIDR)",
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) == T_NTYPES,
	    "a new enum conf_type needs its name here, for tem.conf(5)");
	return t < T_NTYPES && names[t] ? names[t] : "value";
}
