/*
 * sdnotify - tell systemd how `tem serve` is doing (Type=notify units).
 *
 * Every call is a no-op when NOTIFY_SOCKET is unset (tem serve in a
 * terminal or under the tests' own supervisor), so serve.c calls them
 * unconditionally. Called from the main thread only.
 *
 *   READY=1      after every listener is bound, privileges are dropped and
 *                the loops accept (sdnotify_ready), and again after a reload
 *   RELOADING=1  when SIGHUP's reload begins (with MONOTONIC_USEC)
 *   STOPPING=1   when SIGTERM/SIGINT's shutdown begins
 *   WATCHDOG=1   every half of WATCHDOG_USEC from the main loop, when the
 *                service manager set WATCHDOG_USEC for this pid: a main
 *                thread that stops turning gets the service restarted.
 */
#ifndef TEM_SDNOTIFY_H
#define TEM_SDNOTIFY_H

struct loop;

void sdnotify_ready(void);
void sdnotify_reloading(void);
void sdnotify_stopping(void);
/* Starts the WATCHDOG=1 timer on l if the manager asked for one. */
void sdnotify_watchdog_start(struct loop *l);
void sdnotify_watchdog_stop(void);

#endif
