/*
 * server - the running server's shared state: loop threads, listeners,
 * the session registry, per-address and global session caps. The
 * running state (config, accounts, ...) is server/state.h.
 *
 * Trust: sits between the network and the protocol sessions; holds no
 * protocol knowledge. Protocols register an accept function per service.
 *
 * Threads: one loop thread per core, each with its own copy of every
 * listening socket (SO_REUSEPORT, so the kernel spreads connections);
 * a session lives and dies on the thread that accepted it.
 */
#ifndef TEM_SERVER_H
#define TEM_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

struct conf;
struct loop;
struct acct_snapshot;

enum service {
	SVC_SMTP, SVC_SUBMISSION, SVC_SUBMISSIONS, SVC_IMAP, SVC_IMAPS,
	SVC_POP3, SVC_POP3S, SVC_MANAGESIEVE, SVC_HTTP, SVC_HTTPS, SVC_COUNT
};

struct server_thread;
struct session;

typedef void server_accept_fn(struct server_thread *t, int fd,
    const struct sockaddr *sa, socklen_t len, enum service svc);

const char *service_name(enum service svc);

/* Setup, in the main thread, before server_run(): c becomes the running
 * state's config (server/state.h; it takes c). Raises the soft
 * RLIMIT_NOFILE to the hard limit and derives the session cap from it. */
void server_init(struct conf *c, unsigned nthreads);
/* The global session cap: conf max_sessions, else derived from the
 * open-file limit (formula in server.c). */
unsigned server_max_sessions(void);
/* Binds one listener address for svc (nthreads sockets); -1 + *error_r. */
int server_bind(enum service svc, const char *host, int port, char **error_r);
void server_set_accept(enum service svc, server_accept_fn *fn);
/* Starts the loop threads. */
void server_start(void);
/* Stops accepting, asks every session to close, waits up to grace_ms,
 * then frees what is left and joins the threads. */
void server_stop(unsigned grace_ms);

struct loop *server_thread_loop(struct server_thread *t);
/* Loop thread i (0 <= i < the count given to server_init), NULL past the
 * end: lets unit tests and the session fuzzer run a protocol's accept
 * function on a thread's loop without server_start. */
struct server_thread *server_thread_at(unsigned i);
/* Sessions registered on t and not yet removed (the session fuzzer waits
 * for 0 between inputs). */
unsigned server_thread_sessions(const struct server_thread *t);
/* The thread's DNS resolver (made at first use, on the thread itself,
 * asking dns_server); NULL when it cannot be made (logged). */
struct dns_resolver *server_thread_resolver(struct server_thread *t);

/* Registers s on t (fills thread, id, run: a reference to the running
 * state, dropped at the session's free) after taking its slots.
 * Returns false when the address already holds max_sessions_per_ip
 * sessions of that service: the caller refuses and closes. */
bool server_session_add(struct server_thread *t, struct session *s,
    enum service svc, const struct sockaddr *sa);
/* At the session's free (session.c): releases its slot. */
void server_session_remove(struct session *s);
/* After a refused server_session_add: says line (with CRLF) unless the
 * service speaks TLS first, and closes fd. Best effort, never blocks. */
void server_refuse(int fd, enum service svc, const char *line);

/* Counted slots under an arbitrary key (e.g. "imap-user/alice@a.test"):
 * false when key already holds max (0: no limit). Thread-safe. */
bool server_slot_acquire(const char *key, unsigned max);
void server_slot_release(const char *key);

#endif
