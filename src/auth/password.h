/*
 * password - salted slow password hashes (yescrypt through libcrypt).
 *
 * Both functions block for tens of milliseconds on purpose: the server
 * calls them from a worker thread, never from an event loop. They are
 * thread-safe (libcrypt's reentrant crypt_rn with per-call state).
 */
#ifndef TEM_PASSWORD_H
#define TEM_PASSWORD_H

#include <stdbool.h>

/*
 * Hashes pw with yescrypt and a fresh random salt ("$y$..."). Returns a
 * malloc'd string the caller frees, or NULL if libcrypt failed (no
 * randomness, yescrypt unsupported).
 */
char *password_hash(const char *pw);

/*
 * True when pw matches hash. Only strong salted hashes are accepted:
 * yescrypt ($y$), gost-yescrypt ($gy$), scrypt ($7$) and bcrypt ($2b$,
 * $2y$); any other or malformed hash verifies as false. The final compare
 * is constant-time.
 */
bool password_verify(const char *pw, const char *hash);

/* True if hash uses one of the methods password_verify accepts. */
bool password_hash_is_strong(const char *hash);

#endif
