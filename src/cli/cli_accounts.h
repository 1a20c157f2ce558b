/*
 * cli_accounts - the `tem domain|user|alias` administration commands.
 *
 * Each takes the loaded config and the command's own argv: argv[0] is
 * "domain", "user" or "alias", the rest its subcommand and arguments.
 * Returns the process exit status: 0 on success; 1 when the operation
 * failed, 2 on a usage error, each with exactly one "tem: ..." line on
 * stderr. `COMMAND --help` prints the usage to stdout and returns 0.
 * Listing output goes to stdout, one item per line, sorted.
 *
 * `user add` and `user passwd` read the password from the first line of
 * standard input when it is not a terminal, else prompt twice without echo.
 */
#ifndef TEM_CLI_ACCOUNTS_H
#define TEM_CLI_ACCOUNTS_H

struct conf;

int cli_domain(const struct conf *c, int argc, char **argv);
int cli_user(const struct conf *c, int argc, char **argv);
int cli_alias(const struct conf *c, int argc, char **argv);

#endif
