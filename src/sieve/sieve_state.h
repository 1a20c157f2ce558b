/*
 * sieve_state - the durable memory of Sieve for one user: which
 * duplicate ids (RFC 7352) were seen, and when each vacation handle last
 * answered each sender (RFC 5230 4.2, RFC 6131), so a reply goes out at
 * most once per period even across restarts.
 *
 * On disk: one SQLite database per user at
 * data_dir/sieve/DOMAIN/LOCAL/state.db (directories 0700, the file 0600,
 * created on first use), in WAL mode with a busy timeout, so concurrent
 * deliveries to the same user from several worker threads or processes
 * wait for each other instead of failing. Rows carry their expiry; each
 * write first deletes expired rows, and each table keeps at most
 * SIEVE_STATE_ROWS_MAX rows a user (the oldest expiry goes first), so a
 * sender flood cannot grow the file without bound.
 * With storage = postgresql (sieve_store_setup) the same calls work on
 * the sieve_duplicates and sieve_vacation tables instead, with the same
 * answers and caps (sieve_store_pg.h; data_dir is then unused).
 *
 * Trust: handle, id and address come from scripts and messages
 * (untrusted): they are bound as SQL parameters, never spliced into SQL,
 * and longer ones than SIEVE_STATE_KEY_MAX are refused (seen: false,
 * record: -1). user is an account address from the accounts snapshot;
 * it is parsed and canonicalised again (accounts_address_parse, as the
 * script store does) before it names a directory.
 *
 * Threads: every call is blocking (disk): run it on a worker, never on
 * an event loop. One struct sieve_state is used by one thread at a time.
 * Errors are logged by the caller; the functions set errno and return
 * -1 / false (a state that cannot be read never stops delivery: the
 * message is delivered and at worst a vacation reply is sent again).
 */
#ifndef TEM_SIEVE_STATE_H
#define TEM_SIEVE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Rows kept a user in each table (duplicate ids, vacation replies). */
#define SIEVE_STATE_ROWS_MAX	10000
/* Longest handle, id or address stored, in octets. */
#define SIEVE_STATE_KEY_MAX	1024

struct sieve_state;

/*
 * Opens (creating it and its directories when missing) the state of
 * user ("local@domain", as the accounts know it) under data_dir. A file
 * SQLite finds damaged is renamed state.db.corrupt and a new one made
 * (the memory is lost: at worst one more reply per sender). NULL with
 * errno on error (EINVAL: user is not a valid address of ours,
 * see accounts_address_parse).
 */
struct sieve_state *sieve_state_open(const char *data_dir, const char *user);

/* duplicate (RFC 7352): true when id was recorded under handle with an
 * expiry later than now. Errors: false. */
bool sieve_state_dup_seen(struct sieve_state *st, const char *handle,
    const char *id, time_t now);

/* Records id under handle until expiry (replacing an earlier record of
 * the same pair), after pruning expired rows. 0, or -1 with errno. */
int sieve_state_dup_record(struct sieve_state *st, const char *handle,
    const char *id, time_t expiry);

/*
 * vacation (RFC 5230 4.2): true when a reply of handle to address is
 * due, that is, none was recorded at a time later than now - seconds.
 * address is compared case-insensitively (the caller passes it as the
 * action has it). Errors: true (better one reply too many than a user
 * who misses that their correspondent was away).
 */
bool sieve_state_vacation_due(struct sieve_state *st, const char *handle,
    const char *address, uint64_t seconds, time_t now);

/* Records that handle replied to address at now (replacing an earlier
 * record of the pair), after pruning rows older than the longest period
 * Sieve allows (RFC 5230 4.1 lets a site cap :days; tem keeps a reply
 * record SIEVE_STATE_VACATION_KEEP seconds). 0, or -1 with errno. */
#define SIEVE_STATE_VACATION_KEEP	(90 * 86400)
int sieve_state_vacation_record(struct sieve_state *st, const char *handle,
    const char *address, time_t now);

/* Closes the database and frees *st; sets it to NULL. NULL is fine. */
void sieve_state_close(struct sieve_state **st);

#endif
