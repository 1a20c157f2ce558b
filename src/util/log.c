/*
 * log - one-line event logging to stderr, or to the journal under
 * systemd (see log.h, log_journal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/log_journal.h"

static enum log_level log_min = LOG_INFO;
/* getpid() is a syscall per line otherwise; tem never forks. */
static int log_pid;
static const char *const level_names[] = { "debug", "info", "warning", "error" };
/* syslog priorities of the levels; fatal and panic are LOG_CRIT (2) */
static const int level_prio[] = { 7, 6, 4, 3 };
#define PRIO_CRIT	2
/* stderr is the journal's stream (set once, before any thread) */
static bool log_to_journal;

void
log_init(enum log_level min_level)
{
	log_min = min_level;
	log_pid = (int)getpid();
	log_to_journal = log_journal_detect();
}

void
log_set_level(enum log_level min_level)
{
	log_min = min_level;
}

static void log_write(const char *level, int prio, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_write(const char *level, int prio, const char *fmt, va_list ap)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n, head;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ tem[%d]: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_pid ? log_pid : (int)getpid());
	head = r > 0 ? (size_t)r : 0;	/* what the journal records itself */
	r = snprintf(line + head, sizeof(line) - head, "%s: ", level);
	n = head + (r > 0 ? (size_t)r : 0);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n > sizeof(line) - 2)	/* truncated: keep one line */
		n = sizeof(line) - 2;
	/* One event, one line: fold any newline a caller let through. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_to_journal &&
	    log_journal_send(prio, line + head, n - head) == 0)
		return;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level < log_min)
		return;
	log_write(level_names[level], level_prio[level], fmt, ap);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("fatal", PRIO_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("panic", PRIO_CRIT, fmt, ap);
	va_end(ap);
	abort();
}

/* Ids come from the kernel's generator, 32 at a time per thread: three
 * ids per message would otherwise be three getrandom(2) calls. */
void
log_new_id(char out[17])
{
	static _Thread_local unsigned char pool[256];
	static _Thread_local size_t used = sizeof(pool);
	static const char hex[] = "0123456789abcdef";
	const unsigned char *r;

	if (used + 8 > sizeof(pool)) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
			log_panic("getrandom failed");
		used = 0;
	}
	r = pool + used;
	used += 8;
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[16] = '\0';
}
