/*
 * fuzz-sasl - SASL PLAIN and LOGIN decoding of arbitrary client input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "auth/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_creds c;
	char *v = NULL;

	if (sasl_plain_decode((const char *)data, size, &c) == 0)
		sasl_creds_clear(&c);
	if (sasl_login_decode((const char *)data, size, &v) == 0)
		free(v);
	return 0;
}
