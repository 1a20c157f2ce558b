/*
 * authcache - remembers recently verified logins, so that a client that
 * logs in every few commands (IMAP clients, POP3 pollers, submission per
 * message) does not pay a yescrypt verification (~20 ms of CPU and 16 MiB
 * touched) each time. Dovecot's auth_cache does the same.
 *
 * Trust: holds no password. An entry is HMAC-SHA256 under a key drawn at
 * start from the kernel's random source, over user NUL password; it
 * expires after AUTHCACHE_TTL seconds, and every entry dies when the
 * accounts change (the snapshot serial moves: a password change or a
 * deleted user takes effect at once). Failed logins are never cached.
 * Fixed size (AUTHCACHE_SLOTS), thread-safe.
 */
#ifndef TEM_AUTHCACHE_H
#define TEM_AUTHCACHE_H

#include <stdbool.h>
#include <stdint.h>

#define AUTHCACHE_TTL	600
#define AUTHCACHE_SLOTS	4096

/* True when user/pass was verified within the TTL at this serial. */
bool authcache_check(const char *user, const char *pass, uint64_t serial);
/* Records a successful verification. */
void authcache_store(const char *user, const char *pass, uint64_t serial);

#endif
