/*
 * main - `tem` command-line dispatch.
 *
 *   tem [-c FILE] serve | check | setup | domain | user | alias | queue |
 *                 dkim | dns-records | sieve ...
 *   tem --version | --help ; tem COMMAND --help
 *
 * FILE defaults to $TEM_CONFIG, else /etc/tem/tem.conf. Every failure is
 * one line on stderr and a non-zero status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_accounts.h"
#include "cli/cli_dkim.h"
#include "cli/cli_queue.h"
#include "cli/cli_setup.h"
#include "cli/cli_sieve.h"
#include "cli/cli_sieve_test.h"
#include "conf/conf.h"
#include "serve.h"
#include "version.h"

static const char usage[] =
"usage: tem [-c FILE] COMMAND [ARGS]\n"
"\n"
"commands:\n"
"  serve                          run the server in the foreground\n"
"  check                          validate the config file\n"
"  setup DOMAIN [--hostname HOST] [--force]\n"
"                                 write a first config for this host\n"
"  domain add|del|list [DOMAIN]   manage local domains\n"
"  user add|del|passwd|list [ADDRESS]\n"
"                                 manage accounts (password on stdin)\n"
"  alias add|del|list [ADDRESS [TARGET ...]]\n"
"                                 manage aliases\n"
"  queue list|flush|del [ID]      inspect and manage the outbound queue\n"
"  dkim keygen DOMAIN [SELECTOR] [--type rsa|ed25519]\n"
"                                 make a DKIM key, print its DNS record\n"
"  dns-records DOMAIN             print the DNS records to publish\n"
"  sieve put|get|list|activate|deactivate|del ADDRESS [NAME]\n"
"                                 manage a user's Sieve scripts\n"
"  sieve test [OPTIONS] SCRIPT MESSAGE\n"
"                                 run a Sieve script on a message file\n"
"  --version, --help\n"
"\n"
"FILE defaults to $TEM_CONFIG, else /etc/tem/tem.conf.\n";

static int
load(const char *file, bool allow_missing, struct conf **c)
{
	char *err = NULL;

	if (conf_load(file, allow_missing, c, &err) < 0) {
		fprintf(stderr, "tem: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static bool
wants_help(int argc, char **argv)
{
	return argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0);
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	struct conf *c = NULL;
	int i = 1, r;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("tem %s\n", TEM_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		file = argv[2];
		i = 3;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	argc -= i;
	argv += i;
	/* needs no config: a script and a message file */
	if (argc > 1 && strcmp(argv[0], "sieve") == 0 &&
	    strcmp(argv[1], "test") == 0)
		return cli_sieve_test(argc - 1, argv + 1);
	/* writes the config rather than reading it */
	if (strcmp(argv[0], "setup") == 0)
		return cli_setup(file, argc, argv);
	if (strcmp(argv[0], "serve") == 0) {
		if (wants_help(argc, argv)) {
			puts("usage: tem [-c FILE] serve\n"
			    "Runs the server in the foreground, logging to "
			    "stderr.");
			return 0;
		}
		if (load(file, false, &c) < 0)
			return 1;
		return serve_main(c);	/* it took c */
	}
	if (strcmp(argv[0], "check") == 0) {
		if (wants_help(argc, argv)) {
			puts("usage: tem [-c FILE] check\n"
			    "Validates the config file; errors name file:line.");
			return 0;
		}
		if (load(file, false, &c) < 0)
			return 1;
		printf("%s: ok\n", c->path);
		conf_free(&c);
		return 0;
	}
	if (strcmp(argv[0], "domain") == 0 || strcmp(argv[0], "user") == 0 ||
	    strcmp(argv[0], "alias") == 0) {
		if (wants_help(argc, argv) || argc < 2) {
			if (strcmp(argv[0], "domain") == 0)
				r = cli_domain(NULL, argc, argv);
			else if (strcmp(argv[0], "user") == 0)
				r = cli_user(NULL, argc, argv);
			else
				r = cli_alias(NULL, argc, argv);
			return r;
		}
		if (load(file, false, &c) < 0)
			return 1;
		if (strcmp(argv[0], "domain") == 0)
			r = cli_domain(c, argc, argv);
		else if (strcmp(argv[0], "user") == 0)
			r = cli_user(c, argc, argv);
		else
			r = cli_alias(c, argc, argv);
		conf_free(&c);
		return r;
	}
	if (strcmp(argv[0], "queue") == 0) {
		if (wants_help(argc, argv) || argc < 2)
			return cli_queue(NULL, argc, argv);
		if (load(file, false, &c) < 0)
			return 1;
		r = cli_queue(c, argc, argv);
		conf_free(&c);
		return r;
	}
	if (strcmp(argv[0], "dkim") == 0 ||
	    strcmp(argv[0], "dns-records") == 0) {
		bool dkim = strcmp(argv[0], "dkim") == 0;
		if (wants_help(argc, argv))
			return dkim ? cli_dkim(NULL, argc, argv) :
			    cli_dns_records(NULL, argc, argv);
		if (load(file, false, &c) < 0)
			return 1;
		r = dkim ? cli_dkim(c, argc, argv) :
		    cli_dns_records(c, argc, argv);
		conf_free(&c);
		return r;
	}
	if (strcmp(argv[0], "sieve") == 0) {
		/* (`tem sieve test`, needing no config, is routed above) */
		if (wants_help(argc, argv) || argc < 2)
			return cli_sieve(NULL, argc, argv);
		if (load(file, false, &c) < 0)
			return 1;
		r = cli_sieve(c, argc, argv);
		conf_free(&c);
		return r;
	}
	fprintf(stderr, "tem: unknown command '%s' (see tem --help)\n",
	    argv[0]);
	return 2;
}
