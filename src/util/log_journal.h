/*
 * log_journal - log lines to the systemd journal with fields (log.c's
 * other sink; not for callers outside util/log.c and its test).
 *
 * Under systemd, stderr is a stream to journald and JOURNAL_STREAM names
 * it ("DEV:INODE"). When it names our stderr, log.c sends each line with
 * sd_journal_send instead: MESSAGE is the same text as on stderr from the
 * level on ("info: 5f1c0a9e3b2d4c11 smtp connect addr=..."; the journal
 * records the time and pid itself), PRIORITY the syslog level, TEM_ID the
 * session or queue id when the message starts with one (16 hex digits),
 * so `journalctl TEM_ID=5f1c0a9e3b2d4c11` shows one session.
 * In a terminal (no JOURNAL_STREAM, or stderr redirected elsewhere by the
 * admin) nothing changes.
 */
#ifndef TEM_LOG_JOURNAL_H
#define TEM_LOG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

/* True when JOURNAL_STREAM names the stream stderr is. */
bool log_journal_detect(void);
/* Sends MSG (LEN octets, no newline; "LEVEL: ID ...") at PRIORITY (0-7).
 * Returns 0, or -1 when the journal refused it (the caller writes the
 * line to stderr instead). */
int log_journal_send(int priority, const char *msg, size_t len);

#endif
