/*
 * cli_commands - the table of `tem` commands: main.c dispatches from it,
 * `tem COMMAND --help` and `tem --help` print from it, and `tem man 8`
 * makes tem(8) from it, so the three cannot disagree.
 *
 * Trust: the table is constant; argv is the administrator's.
 */
#ifndef TEM_CLI_COMMANDS_H
#define TEM_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

struct conf;

/* What main.c hands a command: the -c FILE given (NULL: the default
 * path; for a command such as setup that writes the file rather than
 * reading it) and the loaded config (NULL for CLI_CONF_NONE). A handler
 * that keeps conf sets it to NULL; main.c frees what is left. */
struct cli_ctx {
	const char	*file;
	struct conf	*conf;
};

/* One synopsis line: the arguments after "tem [-c FILE] NAME" and what
 * that form does (may be NULL). */
struct cli_form {
	const char	*args;
	const char	*what;
};

/* One option: as written ("--type rsa|ed25519") and what it does. */
struct cli_option {
	const char	*flag;
	const char	*what;
};

/* When main.c loads the config before calling the handler. */
enum cli_conf {
	CLI_CONF_NONE,		/* never: c is NULL */
	CLI_CONF_ALWAYS,	/* always (unless argv[1] asks for --help) */
	CLI_CONF_WITH_ARGS,	/* only with a subcommand: a bare command is
				 * a usage error the handler reports */
};

struct cli_command {
	const char	*name;		/* "queue", or two words: "sieve test" */
	const char	*brief_args;	/* the line in `tem --help` ... */
	const char	*brief;		/* ... and what it says */
	const struct cli_form *forms;	/* synopsis lines, {NULL} ends */
	const char	*description;	/* one paragraph */
	const struct cli_option *options;	/* NULL or {NULL} ends */
	enum cli_conf	 conf;
	bool		 hidden;	/* left out of usage and tem(8) */
	/* argv[0] is the last word of name. Returns the exit status. */
	int		(*run)(struct cli_ctx *ctx, int argc, char **argv);
};

extern const struct cli_command cli_commands[];

/* The command that argv names (two words first), or NULL; *words_r is
 * how many of argv's words the name took. */
const struct cli_command *cli_command_find(int argc, char **argv,
    int *words_r);
const struct cli_command *cli_command_named(const char *name);

/* `tem --help`: the usage text listing every visible command. */
void cli_usage(FILE *f);
/* `tem NAME --help`: synopsis, description, options of NAME. */
void cli_help(FILE *f, const char *name);
/* For the handlers: prints "tem: MSG" on stderr, frees msg, returns
 * status; whether argv[1..) asks for help (--help, -h, or "help"). */
int cli_fail(int status, char *msg);
bool cli_wants_help(int argc, char **argv);
/* tem(8) in man(7) roff, and the command names one a line. */
void cli_man(FILE *f);
void cli_man_names(FILE *f);

#endif
