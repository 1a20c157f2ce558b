/*
 * fuzz-dkim-key - the DKIM key record parser (RFC 6376 3.6.1, RFC 8463)
 * on arbitrary TXT values, as they come from DNS. Checks: a parsed key
 * has an OpenSSL key of the announced type and a size within the limits;
 * a refused one holds nothing; OpenSSL's error queue is left empty.
 */
#include <stddef.h>
#include <stdint.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "policy/dkim.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_pubkey k;
	const char *err = NULL;

	if (dkim_pubkey_parse((const char *)data, size, &k, &err) < 0) {
		TEM_ASSERT(k.pkey == NULL && err != NULL);
	} else if (k.type == DKIM_KEY_RSA) {
		TEM_ASSERT(EVP_PKEY_get_base_id(k.pkey) == EVP_PKEY_RSA);
		TEM_ASSERT(k.bits >= DKIM_RSA_MIN_BITS &&
		    k.bits <= DKIM_RSA_MAX_BITS);
	} else {
		TEM_ASSERT(EVP_PKEY_get_base_id(k.pkey) == EVP_PKEY_ED25519);
	}
	TEM_ASSERT(ERR_peek_error() == 0);
	dkim_pubkey_clear(&k);
	return 0;
}
