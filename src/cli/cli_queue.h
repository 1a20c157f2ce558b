/*
 * cli_queue - the `tem queue list|flush|del` administration commands.
 *
 * argv[0] is "queue", argv[1] the subcommand. Returns the process exit
 * status: 0 on success; 1 when the operation failed (unknown id, I/O),
 * 2 on a usage error, each with exactly one "tem: ..." line on stderr.
 * `queue --help` prints the usage to stdout and returns 0 (c may then be
 * NULL, as with no subcommand, which is a usage error).
 *
 * `list` prints one message a line, oldest first, nothing for an empty
 * queue:
 *   ID age=2h05m from=<SENDER> to=<RCPT>,<RCPT> next=+4m error="TEXT"
 * to= holds the recipients still pending; next= is "now", "+DURATION"
 * or "-" (none pending: being finished); error= (the last reply of a
 * pending recipient) is left out when there is none. Control characters
 * and bytes that are not UTF-8 are shown as \xNN. A file the server
 * cannot read shows as `ID damaged="REASON"`.
 * `flush` asks the running server to try every message now (it notices
 * within a second). `del ID` removes a message for good; the running
 * server will not start delivering it again.
 */
#ifndef TEM_CLI_QUEUE_H
#define TEM_CLI_QUEUE_H

struct conf;

int cli_queue(const struct conf *c, int argc, char **argv);

#endif
