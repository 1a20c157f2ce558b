/*
 * main - `tem` command-line dispatch.
 *
 *   tem [-c FILE] COMMAND [ARGS]   (the commands: cli/cli_commands.c)
 *   tem --version | --help ; tem COMMAND --help
 *
 * FILE defaults to $TEM_CONFIG, else /etc/tem/tem.conf. Every failure is
 * one line on stderr and a non-zero status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_commands.h"
#include "conf/conf.h"
#include "version.h"

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
	const struct cli_command *k;
	struct cli_ctx ctx = { NULL, NULL };
	int i = 1, words, r;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("tem %s\n", TEM_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		cli_usage(stdout);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		ctx.file = argv[2];
		i = 3;
	}
	if (i >= argc) {
		cli_usage(stderr);
		return 2;
	}
	argc -= i;
	argv += i;
	/* two words first: `tem sieve test` needs no config */
	if ((k = cli_command_find(argc, argv, &words)) == NULL) {
		fprintf(stderr, "tem: unknown command '%s' (see tem --help)\n",
		    argv[0]);
		return 2;
	}
	argc -= words - 1;
	argv += words - 1;
	if (wants_help(argc, argv)) {
		cli_help(stdout, k->name);
		return 0;
	}
	/* a bare WITH_ARGS command is a usage error its handler reports */
	if ((k->conf == CLI_CONF_ALWAYS ||
	    (k->conf == CLI_CONF_WITH_ARGS && argc >= 2)) &&
	    load(ctx.file, false, &ctx.conf) < 0)
		return 1;
	r = k->run(&ctx, argc, argv);
	conf_free(&ctx.conf);
	return r;
}
