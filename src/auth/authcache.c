/*
 * authcache - cache of verified logins (see authcache.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "auth/authcache.h"
#include "util/log.h"

struct authcache_slot {
	unsigned char	mac[32];
	uint64_t	serial;
	time_t		expires;
	bool		used;
};

static struct authcache_slot slots[AUTHCACHE_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static unsigned char key[32];

static void
authcache_init(void)
{
	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		log_panic("authcache: getrandom failed");
}

/* The MAC of user NUL pass; its first bytes pick the slot. */
static void
authcache_mac(const char *user, const char *pass, unsigned char mac[32])
{
	size_t len = 32;

	pthread_once(&key_once, authcache_init);
	/* EVP_MAC would do too; HMAC() in one call needs one buffer */
	{
		size_t ul = strlen(user), pl = strlen(pass);
		unsigned char zero = 0;
		EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string("digest",
			    (char *)(uintptr_t)"SHA256", 0),
			OSSL_PARAM_construct_end(),
		};
		size_t out = 0;

		if (ctx == NULL || !EVP_MAC_init(ctx, key, sizeof(key), params) ||
		    !EVP_MAC_update(ctx, (const unsigned char *)user, ul) ||
		    !EVP_MAC_update(ctx, &zero, 1) ||
		    !EVP_MAC_update(ctx, (const unsigned char *)pass, pl) ||
		    !EVP_MAC_final(ctx, mac, &out, len))
			log_panic("authcache: HMAC failed");
		EVP_MAC_CTX_free(ctx);
		EVP_MAC_free(m);
	}
}

static struct authcache_slot *
slot_of(const unsigned char mac[32])
{
	unsigned v = (unsigned)mac[0] | (unsigned)mac[1] << 8;

	return &slots[v % AUTHCACHE_SLOTS];
}

bool
authcache_check(const char *user, const char *pass, uint64_t serial)
{
	unsigned char mac[32];
	struct authcache_slot *sl;
	bool hit;

	authcache_mac(user, pass, mac);
	sl = slot_of(mac);
	pthread_mutex_lock(&lock);
	hit = sl->used && sl->serial == serial && sl->expires > time(NULL) &&
	    CRYPTO_memcmp(sl->mac, mac, sizeof(mac)) == 0;
	pthread_mutex_unlock(&lock);
	return hit;
}

void
authcache_store(const char *user, const char *pass, uint64_t serial)
{
	unsigned char mac[32];
	struct authcache_slot *sl;

	authcache_mac(user, pass, mac);
	sl = slot_of(mac);
	pthread_mutex_lock(&lock);
	memcpy(sl->mac, mac, sizeof(mac));
	sl->serial = serial;
	sl->expires = time(NULL) + AUTHCACHE_TTL;
	sl->used = true;
	pthread_mutex_unlock(&lock);
}
