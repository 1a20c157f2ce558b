/*
 * sdnotify - readiness, reload, stop and watchdog notices to systemd
 * (see sdnotify.h). Trust: the socket path comes from the environment
 * the service manager set; libsystemd's sd_notify does the sending.
 */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "server/sdnotify.h"
#include "util/log.h"
#include "util/loop.h"

static struct loop_timer *watchdog_timer;
static unsigned watchdog_ms;

static void
say(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_warn("- server sd-notify-failed state=%s error=%d", state,
		    -r);
}

void
sdnotify_ready(void)
{
	say("READY=1\nSTATUS=serving");
}

void
sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	/* systemd 253+ wants the monotonic time with RELOADING=1 to tell
	 * this reload's READY=1 from an older one */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000);
	say(msg);
}

void
sdnotify_stopping(void)
{
	say("STOPPING=1");
}

static void
watchdog_ping(void *arg)
{
	(void)arg;
	say("WATCHDOG=1");
	loop_timer_add(watchdog_timer, watchdog_ms);
}

void
sdnotify_watchdog_start(struct loop *l)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	/* half the interval, as sd_watchdog_enabled(3) advises; at least
	 * 1 ms so a tiny test interval cannot spin the loop */
	watchdog_ms = usec / 2000 > 0 ? (unsigned)(usec / 2000) : 1;
	watchdog_timer = loop_timer_new(l, watchdog_ping, NULL);
	log_info("- server watchdog interval_ms=%u", watchdog_ms);
	watchdog_ping(NULL);
}

void
sdnotify_watchdog_stop(void)
{
	loop_timer_free(&watchdog_timer);
}
