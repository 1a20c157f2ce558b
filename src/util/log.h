/*
 * log - one event, one line (STYLE.md habit 13).
 *
 * Lines look like
 *   2026-11-28T02:40:00.123Z tem[123]: info: 5f1c0a9e3b2d4c11 smtp connect addr=127.0.0.1
 * Callers pass "<id> <module> <event> key=value..." as the message; each
 * line is written with a single write(2) so lines from threads never mix.
 * Never log secrets: AUTH arguments and passwords are masked by callers.
 */
#ifndef TEM_LOG_H
#define TEM_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_init(enum log_level min_level);
void log_set_level(enum log_level min_level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)

/* Environment broken at startup: one line, exit(1). */
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A bug: one line, abort() for a core. */
void log_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#define TEM_ASSERT(cond) do { if (!(cond)) \
	log_panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
} while (0)

/* A fresh random 16-hex-digit id for a session or queue entry. */
void log_new_id(char out[17]);

#endif
