/*
 * clock - the time in milliseconds, the one helper for it.
 *
 * clock_mono_ms() is for deadlines and elapsed times (it never jumps
 * back when the wall clock is set); clock_real_ms() is the wall clock,
 * for comparing with file timestamps (mtime) and other stored times.
 * Both never fail (clock_gettime with these clocks cannot on Linux).
 */
#ifndef TEM_CLOCK_H
#define TEM_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds (since an arbitrary start). */
uint64_t clock_mono_ms(void);
/* CLOCK_REALTIME in milliseconds since the Epoch. */
int64_t clock_real_ms(void);
/* CLOCK_REALTIME ms from now, as pthread_cond_timedwait's deadline. */
struct timespec clock_real_after(unsigned ms);

#endif
