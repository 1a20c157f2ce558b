/*
 * control - the running server's control socket, data_dir/control.sock:
 * how an admin command learns that the server already uses its change.
 *
 * Why: the admin commands write accounts.db and return; the server used
 * to notice only at its next 1 s poll of accounts.serial, so mail sent
 * right after `tem user add` got a permanent 550. Now the command, after
 * its commit, asks the server to load the accounts of at least its serial
 * and waits for the answer; the 1 s poll stays as the fallback for a
 * command that cannot reach the socket.
 *
 * Protocol: one request line per connection, at most CONTROL_LINE_MAX
 * octets with its LF; one reply line; then the server closes.
 *     reload accounts SERIAL     ->  ok accounts LIVE     (LIVE >= SERIAL)
 *                                ->  error TEXT
 *     report run [YYYY-MM-DD]    ->  ok report jobs=N queued=N
 *                                ->  error TEXT
 * "report run" sends the DMARC and TLS reports now (report/report_run.h):
 * of every finished day not reported yet, or of the day given (today
 * included); the answer comes once the messages are queued.
 * "ok" is sent only after the snapshot with serial LIVE is the current
 * one for every thread (server_state_set_accounts() has returned: any look-up
 * that starts afterwards, on any loop or worker, sees it).
 *
 * Trust: the socket is mode 0600 in data_dir and owned by run_as, so only
 * root and that user reach it; still, input is bounded (one line, one
 * command, CONTROL_TIMEOUT_SEC to send it, CONTROL_CONN_MAX connections
 * at once) and parsed strictly, and nothing in it is echoed into a log
 * unescaped.
 */
#ifndef TEM_CONTROL_H
#define TEM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define CONTROL_SOCKET		"control.sock"
#define CONTROL_LINE_MAX	128
#define CONTROL_TIMEOUT_SEC	10
#define CONTROL_CONN_MAX	16

/* ---- the request line (I/O-free) --------------------------------- */

enum control_verb {
	CONTROL_BAD,			/* unknown or malformed */
	CONTROL_RELOAD_ACCOUNTS,
};

/* Parses one request line (without its line end). Returns the verb and,
 * for RELOAD_ACCOUNTS, the serial in *serial_r. */
enum control_verb control_parse(const char *line, size_t len,
    uint64_t *serial_r);
/* Parses "report run" (*day_r "") or "report run YYYY-MM-DD" (*day_r
 * the date); false for anything else. */
bool control_parse_report(const char *line, size_t len, char day_r[11]);
/* Parses a reply line "ok accounts LIVE"; false for anything else. */
bool control_parse_ok(const char *line, size_t len, uint64_t *live_r);

/* ---- the server side (the main thread) --------------------------- */

/* Makes the accounts of serial >= want current. Returns 0 with the live
 * serial in *live_r, or -1 (the failure is logged by the callee). */
typedef int control_reload_fn(uint64_t want, uint64_t *live_r);

struct control;

/* Runs the reports (day NULL: every finished day), waits at most
 * timeout_ms, returns the reply line (malloc'd, no LF). */
typedef char *control_report_fn(const char *day, unsigned timeout_ms);
/* The server seconds a report run may take before it answers. */
#define CONTROL_REPORT_WAIT_SEC	60

/* Binds data_dir/control.sock (0600, replacing a stale one: the caller
 * holds the queue lock, so no other server uses data_dir) and serves it
 * on l. NULL when it cannot (logged once; admin changes then wait for the
 * poll). Call after dropping privileges, so the socket is run_as's. */
struct control *control_start(struct loop *l, const char *data_dir,
    control_reload_fn *reload);
/* Makes "report run" call fn (without it the request is an error);
 * ctl may be NULL. */
void control_set_report(struct control *ctl, control_report_fn *fn);
/* Closes every connection and the socket, and unlinks it. */
void control_stop(struct control **cp);

/* ---- the client side (admin commands; blocking) ------------------ */

enum control_result {
	CONTROL_OK,		/* the server confirmed */
	CONTROL_NO_SERVER,	/* no socket or nobody listening: nothing to do */
	CONTROL_FAILED,		/* *error_r says why (timeout, refusal, ...) */
};

/* Asks the server on data_dir to make accounts serial >= serial live and
 * waits at most timeout_ms for its answer. *error_r (malloc'd) on FAILED. */
enum control_result control_reload_accounts(const char *data_dir,
    uint64_t serial, unsigned timeout_ms, char **error_r);

/* Asks the server on data_dir to run the reports (day NULL: every
 * finished day) and waits for its answer; *reply_r (malloc'd) is the
 * answer line on OK, *error_r on FAILED. */
enum control_result control_report_run(const char *data_dir,
    const char *day, char **reply_r, char **error_r);

#endif
