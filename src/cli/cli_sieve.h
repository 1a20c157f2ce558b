/*
 * cli_sieve - the `tem sieve` administration commands: a user's Sieve
 * scripts in the store (sieve/sieve_store.h).
 *
 *   tem sieve put ADDRESS NAME       the script on standard input; it is
 *                                    compiled first: an error prints
 *                                    "NAME:LINE: message", exit 1
 *   tem sieve get ADDRESS NAME       the script on standard output
 *   tem sieve list ADDRESS           one name a line, the active one
 *                                    followed by " (active)"
 *   tem sieve activate ADDRESS NAME  make NAME the active script
 *   tem sieve deactivate ADDRESS     no script active
 *   tem sieve del ADDRESS NAME       remove NAME; the active script is
 *                                    refused (deactivate it first), as
 *                                    ManageSieve's DELETESCRIPT does
 *
 * argv[0] is "sieve". The account must exist (accounts DB). Returns the
 * exit status: 0, 1 when the operation failed, 2 on a usage error, each
 * failure one "tem: ..." line on stderr; `sieve --help` prints the usage.
 * Run as root with run_as set, the files are written as run_as (the
 * server must read and change them).
 */
#ifndef TEM_CLI_SIEVE_H
#define TEM_CLI_SIEVE_H

struct conf;

int cli_sieve(const struct conf *c, int argc, char **argv);

#endif
