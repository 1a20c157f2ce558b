/*
 * password - yescrypt hashing and constant-time verification.
 *
 * Trust: pw is a secret from an authenticating client or the admin; it is
 * never logged and the libcrypt work area holding derived data is wiped
 * before it is freed. hash comes from the accounts database (trusted, but
 * checked for a strong method so a stray plaintext or DES entry can never
 * verify). Callers: auth workers, the `user` admin command.
 */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "util/xmalloc.h"

static const char *const strong_prefixes[] = {
	"$y$", "$gy$", "$7$", "$2b$", "$2y$",
};

bool
password_hash_is_strong(const char *hash)
{
	for (size_t i = 0; i < sizeof(strong_prefixes) /
	    sizeof(strong_prefixes[0]); i++)
		if (strncmp(hash, strong_prefixes[i],
		    strlen(strong_prefixes[i])) == 0)
			return true;
	return false;
}

/* Runs crypt_rn into a heap work area (struct crypt_data is ~32 KiB, too
 * big for a worker's stack) and returns a malloc'd copy, or NULL. */
static char *
crypt_copy(const char *pw, const char *setting)
{
	struct crypt_data *cd = xmalloc(sizeof(*cd));
	const char *r = crypt_rn(pw, setting, cd, (int)sizeof(*cd));
	char *out = NULL;

	/* Failure is NULL or a string starting with '*' (never a hash). */
	if (r != NULL && r[0] != '*')
		out = xstrdup(r);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return out;
}

char *
password_hash(const char *pw)
{
	char *setting, *out;

	/* count 0: libcrypt's default cost; NULL rbytes: OS randomness. */
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (setting == NULL)
		return NULL;
	out = crypt_copy(pw, setting);
	free(setting);
	return out;
}

static bool
consttime_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = 0;

	if (la != lb)
		return false;	/* hash lengths are public */
	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

bool
password_verify(const char *pw, const char *hash)
{
	char *computed;
	bool ok;

	if (pw == NULL || hash == NULL || !password_hash_is_strong(hash))
		return false;
	computed = crypt_copy(pw, hash);
	if (computed == NULL)
		return false;
	ok = consttime_streq(computed, hash);
	explicit_bzero(computed, strlen(computed));
	free(computed);
	return ok;
}
