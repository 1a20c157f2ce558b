/*
 * loop - one event loop per thread, timers, listeners, signals, and a
 * thread-safe way to run a function on a given loop.
 *
 * Trust: none; generic. Only util/loop.c and util/io.c include libevent
 * (STYLE.md habit 3), so changing the loop library is a two-file change.
 * Every object belongs to the loop it was made on and is used only from
 * that loop's thread, except loop_post() and loop_break(), which any
 * thread may call.
 */
#ifndef TEM_LOOP_H
#define TEM_LOOP_H

#include <stdbool.h>
#include <sys/socket.h>

struct loop;
struct loop_timer;
struct loop_listener;
struct loop_signal;

/* Must be called once, before any loop is made (enables libevent locks). */
void loop_global_init(void);

struct loop *loop_new(void);
void loop_free(struct loop **l);
/* Runs until loop_break(). */
void loop_run(struct loop *l);
/* Thread-safe: makes loop_run() return after the current turn. */
void loop_break(struct loop *l);
/* Thread-safe: runs fn(arg) on l's thread during a later turn. */
void loop_post(struct loop *l, void (*fn)(void *), void *arg);
/* The libevent base, for util/io.c only. */
void *loop_base(struct loop *l);

/* One-shot timer; loop_timer_add re-arms it (replacing a pending one). */
struct loop_timer *loop_timer_new(struct loop *l, void (*fn)(void *), void *arg);
void loop_timer_add(struct loop_timer *t, unsigned ms);
void loop_timer_del(struct loop_timer *t);
void loop_timer_free(struct loop_timer **t);

/* Accepts on a bound, listening, non-blocking fd; fn owns the new fd. */
typedef void loop_accept_fn(int fd, const struct sockaddr *sa, socklen_t len,
    void *arg);
struct loop_listener *loop_listener_new(struct loop *l, int fd,
    loop_accept_fn *fn, void *arg);
void loop_listener_enable(struct loop_listener *ll, bool on);
void loop_listener_free(struct loop_listener **ll);	/* closes the fd */

/* Calls fn whenever fd is readable, until freed (for library fds such
 * as libunbound's). The fd stays the caller's. */
struct loop_fd;
struct loop_fd *loop_fd_new(struct loop *l, int fd, void (*fn)(void *),
    void *arg);
void loop_fd_free(struct loop_fd **f);

struct loop_signal *loop_signal_new(struct loop *l, int signo,
    void (*fn)(int signo, void *arg), void *arg);
void loop_signal_free(struct loop_signal **s);

#endif
