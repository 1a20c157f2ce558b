/*
 * cli_report - `tem report run [--date YYYY-MM-DD]`: asks the running
 * server over the control socket (server/control.h) to send the DMARC
 * and TLS reports now, of every finished day not reported yet or of the
 * day given (today included: its counters so far), and prints the
 * server's answer "jobs=N queued=N" once the messages are queued. The
 * daily run after UTC midnight does the same by itself; this is for
 * tests and for an administrator who wants them at once.
 */
#ifndef TEM_CLI_REPORT_H
#define TEM_CLI_REPORT_H

struct conf;

int cli_report(const struct conf *c, int argc, char **argv);

#endif
