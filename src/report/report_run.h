/*
 * report_run - the report thread: flushes the counters of report.h to
 * data_dir/reports every REPORT_FLUSH_SEC, and once a day, at UTC
 * midnight plus a random delay of 5 to 60 minutes (RFC 8460 4.1 asks
 * senders to spread their reports), sends the reports of every finished
 * day: TLS-RPT to the rua of the domain's "_smtp._tls" record, DMARC to
 * the rua of the record seen with the mail (after the external
 * destination check of RFC 7489 7.1 for a rua in another organizational
 * domain). Reports are queued as messages (msg/msg_author.h) from
 * report_from, DKIM-signed when tem has a key for its domain, and the
 * delivery engine sends them. https: rua are not used (logged).
 *
 * A crash loses at most the last REPORT_FLUSH_SEC of counters.
 */
#ifndef TEM_REPORT_RUN_H
#define TEM_REPORT_RUN_H

struct conf;

/* Starts the thread (after queue_init; the accounts and DKIM keys are
 * read from the running state). Counting starts with it, per the config
 * switches tlsrpt and dmarc_reports. -1 with *error_r. */
int report_start(const struct conf *c, char **error_r);
/* Flushes the counters and stops the thread. */
void report_stop(void);

/*
 * Runs the reports now (the control socket's "report run"; the main
 * thread): day NULL: every finished day not reported yet; else that day
 * only ("YYYY-MM-DD", today allowed: its counters so far). Waits until
 * the messages are queued, at most timeout_ms. Returns a malloc'd reply
 * line: "ok report jobs=N queued=N" or "error TEXT".
 */
char *report_run_now(const char *day, unsigned timeout_ms);

#endif
