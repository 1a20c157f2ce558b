/*
 * cli_commands - the table of `tem` commands (see cli_commands.h): each
 * command's synopsis, description, options, config need and handler.
 * Add a command here and it is dispatched, has --help and is in tem(8).
 * Trust: constant data; the handlers check their own arguments.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_accounts.h"
#include "cli/cli_commands.h"
#include "cli/cli_db.h"
#include "cli/cli_dkim.h"
#include "cli/cli_queue.h"
#include "cli/cli_report.h"
#include "cli/cli_setup.h"
#include "cli/cli_sieve.h"
#include "cli/cli_sieve_test.h"
#include "conf/conf.h"
#include "serve.h"
#include "version.h"

static int
run_serve(struct cli_ctx *ctx, int argc, char **argv)
{
	struct conf *c = ctx->conf;

	(void)argc, (void)argv;
	ctx->conf = NULL;
	return serve_main(c);	/* it took c */
}

static int
run_check(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)argc, (void)argv;
	printf("%s: ok\n", ctx->conf->path);
	return 0;
}

/* The handlers that only read the config, under their table names. */
#define PASS(fn) \
	static int run_##fn(struct cli_ctx *ctx, int argc, char **argv) \
	{ return cli_##fn(ctx->conf, argc, argv); }
PASS(domain)
PASS(user)
PASS(alias)
PASS(queue)
PASS(report)
PASS(dkim)
PASS(dns_records)
PASS(sieve)
PASS(db)
PASS(migrate)
#undef PASS

/* setup writes the config rather than reading it: it gets the path */
static int
run_setup(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_setup(ctx->file, argc, argv);
}

static int
run_sieve_test(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	return cli_sieve_test(argc, argv);
}

/* `tem man 8|5|commands|keys`: the pages the Makefile saves, and the
 * names the tests compare them with. */
static int
run_man(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc == 2 && strcmp(argv[1], "8") == 0)
		cli_man(stdout);
	else if (argc == 2 && strcmp(argv[1], "5") == 0)
		conf_man(stdout, TEM_VERSION);
	else if (argc == 2 && strcmp(argv[1], "commands") == 0)
		cli_man_names(stdout);
	else if (argc == 2 && strcmp(argv[1], "keys") == 0)
		conf_man_keys(stdout);
	else {
		cli_help(stderr, "man");
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static const struct cli_form serve_forms[] = {
	{ "", NULL }, { NULL, NULL } };
static const struct cli_form check_forms[] = {
	{ "", NULL }, { NULL, NULL } };
static const struct cli_form domain_forms[] = {
	{ "add DOMAIN", "add a local domain" },
	{ "del DOMAIN", "remove a domain that has no users or aliases" },
	{ "list", "list the local domains" },
	{ NULL, NULL } };
static const struct cli_form user_forms[] = {
	{ "add ADDRESS", "add a user and its mailbox" },
	{ "passwd ADDRESS", "change a user's password" },
	{ "del ADDRESS", "remove a user (the mailbox stays on disk; with "
	    "storage = postgresql its mail goes too)" },
	{ "list [DOMAIN|ADDRESS]", "list the users" },
	{ "quota ADDRESS [SIZE|default [MESSAGES]]", "show or set a user's "
	    "quota: SIZE as 500M or 2G, 0 or none for no limit; default: "
	    "config default_quota" },
	{ NULL, NULL } };
static const struct cli_form alias_forms[] = {
	{ "add ADDRESS TARGET...", "add an alias, or targets to it" },
	{ "del ADDRESS", "remove an alias" },
	{ "list [ADDRESS]", "print \"address target1,target2\"" },
	{ NULL, NULL } };
static const struct cli_form queue_forms[] = {
	{ "list", "one line per queued message" },
	{ "flush", "try every queued message now" },
	{ "del ID", "remove a message without delivering it" },
	{ NULL, NULL } };
static const struct cli_form report_forms[] = {
	{ "run", "send the reports of every finished day not sent yet" },
	{ "run --date YYYY-MM-DD", "send the reports of that day now (today "
	    "included: what was counted so far)" },
	{ NULL, NULL } };
static const struct cli_form dkim_forms[] = {
	{ "keygen DOMAIN [SELECTOR] [--type rsa|ed25519]", NULL },
	{ NULL, NULL } };
static const struct cli_form records_forms[] = {
	{ "DOMAIN", NULL }, { NULL, NULL } };
static const struct cli_form sieve_forms[] = {
	{ "put ADDRESS NAME", "store a script read from standard input" },
	{ "get ADDRESS NAME", "print a script" },
	{ "list ADDRESS", "list the scripts, the active one marked "
	    "\"(active)\"" },
	{ "activate ADDRESS NAME", "make NAME the active script" },
	{ "deactivate ADDRESS", "make no script active" },
	{ "del ADDRESS NAME", "remove a script (not the active one)" },
	{ NULL, NULL } };
static const struct cli_form db_forms[] = {
	{ "status", "print the schema version (exit 1 unless current)" },
	{ "init", "create the schema in an empty database" },
	{ "upgrade", "apply the migrations a newer tem brings" },
	{ NULL, NULL } };
static const struct cli_form migrate_forms[] = {
	{ "", "copy data_dir into the database at postgresql_dsn" },
	{ NULL, NULL } };
static const struct cli_form setup_forms[] = {
	{ "DOMAIN [OPTIONS]", NULL },
	{ NULL, NULL } };
static const struct cli_form sieve_test_forms[] = {
	{ "[OPTIONS] SCRIPT MESSAGE", NULL }, { NULL, NULL } };
static const struct cli_form man_forms[] = {
	{ "8|5|commands|keys", NULL }, { NULL, NULL } };

static const struct cli_option dkim_options[] = {
	{ "--type rsa|ed25519", "the key type; RSA keys have 2048 bits" },
	{ NULL, NULL } };
static const struct cli_option setup_options[] = {
	{ "--hostname HOST", "the host's name (default: the system's)" },
	{ "--data-dir DIR", "where tem keeps its data (default "
	    "/var/lib/tem)" },
	{ "--run-as USER", "the user the server runs as (default tem)" },
	{ "--force", "replace a config that has settings" },
	{ NULL, NULL } };
static const struct cli_option sieve_test_options[] = {
	{ "--from ADDR", "the envelope sender" },
	{ "--to ADDR", "the envelope recipient" },
	{ "--user ADDR", "the user the script runs for" },
	{ "--address ADDR", "an address of the user (repeatable; vacation "
	    "answers mail to these)" },
	{ "--include-dir DIR", "where include finds personal scripts" },
	{ "--global-dir DIR", "where include :global finds scripts" },
	{ "--mailbox-exists NAME", "a mailbox that exists (repeatable)" },
	{ "--duplicate ID", "an ID the duplicate test has seen "
	    "(repeatable)" },
	{ "--before SCRIPT", "a script run first, as sieve_before "
	    "(repeatable, in order)" },
	{ "--now EPOCH", "the time the script sees, in seconds since 1970" },
	{ "--zone +HHMM", "the time zone the script sees" },
	{ NULL, NULL } };

const struct cli_command cli_commands[] = {
	{ "serve", "", "run the server in the foreground", serve_forms,
	    "Runs the server in the foreground, logging to stderr. SIGHUP "
	    "reloads the config, SIGTERM stops it.", NULL,
	    CLI_CONF_ALWAYS, false, run_serve },
	{ "check", "", "validate the config file", check_forms,
	    "Validates the config file; errors name file:line.", NULL,
	    CLI_CONF_ALWAYS, false, run_check },
	{ "setup", "DOMAIN [--hostname HOST] [--force]",
	    "write a first config for this host", setup_forms,
	    "Writes a first config for a real host to FILE (listeners on the "
	    "standard ports, HTTP and ACME for the host and DOMAIN's mail., "
	    "autoconfig. and mta-sts. names), adds DOMAIN, the account "
	    "postmaster@DOMAIN with a generated password printed once and a "
	    "DKIM key, then prints the DNS records to publish. A config with "
	    "any setting is kept unless --force.", setup_options,
	    CLI_CONF_NONE, false, run_setup },
	{ "domain", "add|del|list [DOMAIN]", "manage local domains",
	    domain_forms, "Manages the domains tem receives mail for. A "
	    "running server sees the change at once.", NULL,
	    CLI_CONF_WITH_ARGS, false, run_domain },
	{ "user", "add|del|passwd|list [ADDRESS]",
	    "manage accounts (password on stdin)", user_forms,
	    "Manages the accounts. The password is the first line of "
	    "standard input, or prompted for when it is a terminal.", NULL,
	    CLI_CONF_WITH_ARGS, false, run_user },
	{ "alias", "add|del|list [ADDRESS [TARGET ...]]", "manage aliases",
	    alias_forms, "Manages aliases. ADDRESS is in a local domain; "
	    "targets are any addresses, local or remote.", NULL,
	    CLI_CONF_WITH_ARGS, false, run_alias },
	{ "queue", "list|flush|del [ID]",
	    "inspect and manage the outbound queue", queue_forms,
	    "Inspects and manages the outbound queue. list prints one line "
	    "per queued message: ID age=AGE from=<SENDER> to=<RCPT>,... "
	    "next=WHEN [error=\"LAST REPLY\"]. With storage = postgresql "
	    "it works on the queue the nodes share, in the database.", NULL,
	    CLI_CONF_WITH_ARGS, false, run_queue },
	{ "report", "run [--date YYYY-MM-DD]",
	    "send the DMARC and TLS reports now", report_forms,
	    "Asks the running server to send its DMARC aggregate reports "
	    "(RFC 7489) and SMTP TLS reports (RFC 8460) now rather than after "
	    "the next UTC midnight, and prints jobs=N queued=N once the "
	    "report messages are in the queue. A day is reported once; "
	    "counting goes on after a --date run of today, but that day is "
	    "not reported again.", NULL,
	    CLI_CONF_WITH_ARGS, false, run_report },
	{ "dkim", "keygen DOMAIN [SELECTOR] [--type rsa|ed25519]",
	    "make a DKIM key, print its DNS record", dkim_forms,
	    "Makes a DKIM signing key for the local DOMAIN (RSA 2048 bits by "
	    "default) and prints the DNS record to publish, on one line: "
	    "SELECTOR._domainkey.DOMAIN. IN TXT \"v=DKIM1; k=...; p=...\". "
	    "SELECTOR defaults to tem-YYYYMM-TYPE. Mail from DOMAIN is signed "
	    "with its newest key of each type once the server starts or "
	    "reloads (SIGHUP).", dkim_options,
	    CLI_CONF_ALWAYS, false, run_dkim },
	{ "dns-records", "DOMAIN", "print the DNS records to publish",
	    records_forms,
	    "Prints the DNS records to publish for the local DOMAIN, one per "
	    "line: MX, SPF, the TXT record of every DKIM key (newest first), "
	    "DMARC, then where the services are: the SRV records of RFC 6186 "
	    "(\".\" for a service that is off), the mail, autoconfig, autodiscover "
	    "and mta-sts names, the _mta-sts TXT record (its id changes with "
	    "the policy) and the TLS-RPT record.", NULL, CLI_CONF_ALWAYS,
	    false, run_dns_records },
	{ "sieve", "put|get|list|activate|deactivate|del ADDRESS [NAME]",
	    "manage a user's Sieve scripts", sieve_forms,
	    "Manages a user's Sieve scripts, as ManageSieve does. A script "
	    "that does not compile is refused with \"NAME:LINE: message\".",
	    NULL, CLI_CONF_WITH_ARGS, false, run_sieve },
	{ "sieve test", "[OPTIONS] SCRIPT MESSAGE",
	    "run a Sieve script on a message file", sieve_test_forms,
	    "Runs the Sieve SCRIPT (after the --before scripts, as "
	    "sieve_before) on the MESSAGE file and prints the actions, one a "
	    "line (keep, fileinto, redirect, reject, ereject, discard, "
	    "vacation, implicit-keep, header, error). Nothing is delivered or "
	    "sent; no config is read.", sieve_test_options,
	    CLI_CONF_NONE, false, run_sieve_test },
	{ "db", "status|init|upgrade", "manage the PostgreSQL schema",
	    db_forms,
	    "Manages the schema of the PostgreSQL database at "
	    "postgresql_dsn that storage = postgresql uses. Migrations are "
	    "numbered and each is applied once, in its own transaction, under "
	    "a lock, so several nodes may run upgrade at once.", NULL,
	    CLI_CONF_WITH_ARGS, false, run_db },
	{ "migrate", "", "copy the embedded data_dir into PostgreSQL",
	    migrate_forms,
	    "Copies the data_dir of the embedded storage into the database "
	    "at postgresql_dsn (made by tem db init), with the server "
	    "stopped: domains, accounts with their password hashes, aliases, "
	    "quotas, every folder with its UIDVALIDITY, UIDNEXT and "
	    "HIGHESTMODSEQ and every message with its UID, MODSEQ, flags, "
	    "keywords and INTERNALDATE (so IMAP clients download nothing "
	    "again), subscriptions, Sieve scripts and the outbound queue. "
	    "Each folder, queued message and user's scripts is one "
	    "transaction, skipped when already there: a run that stopped is "
	    "finished by running it again. Prints one line per unit, then "
	    "checks every table and folder (messages, octets, UIDNEXT) "
	    "against the data_dir and exits 1 on a difference. ACLs and "
	    "METADATA entries are copied too; Sieve duplicate and vacation "
	    "memory is not.", NULL, CLI_CONF_ALWAYS, false, run_migrate },
	{ "man", "8|5|commands|keys", "print a manual page", man_forms,
	    "Prints tem(8) or tem.conf(5) in man(7) roff, made from the "
	    "tables the program uses, or the names of the commands or config "
	    "keys one a line.", NULL, CLI_CONF_NONE, true, run_man },
	{ NULL, NULL, NULL, NULL, NULL, NULL, CLI_CONF_NONE, false, NULL },
};

const struct cli_command *
cli_command_named(const char *name)
{
	for (const struct cli_command *k = cli_commands; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

const struct cli_command *
cli_command_find(int argc, char **argv, int *words_r)
{
	char two[64];

	if (argc > 1 && snprintf(two, sizeof(two), "%s %s", argv[0],
	    argv[1]) < (int)sizeof(two) && cli_command_named(two) != NULL) {
		*words_r = 2;
		return cli_command_named(two);
	}
	*words_r = 1;
	return argc > 0 ? cli_command_named(argv[0]) : NULL;
}
