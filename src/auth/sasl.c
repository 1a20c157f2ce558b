/*
 * sasl - SASL PLAIN and LOGIN decoding (see sasl.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/sasl.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int
sasl_plain_decode(const char *b64, size_t len, struct sasl_creds *c)
{
	struct buf b;
	const char *p, *z1, *z2, *end;
	int r = -1;

	memset(c, 0, sizeof(*c));
	buf_init(&b, SASL_RESPONSE_MAX);
	if (base64_decode(b64, len, &b) < 0 || b.len == 0)
		goto out;
	p = b.data;
	end = b.data + b.len;
	z1 = memchr(p, '\0', b.len);
	if (z1 == NULL)
		goto out;
	z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1));
	if (z2 == NULL || memchr(z2 + 1, '\0', (size_t)(end - z2 - 1)))
		goto out;
	if (z2 == z1 + 1 || z2 + 1 == end)	/* empty user or password */
		goto out;
	c->authzid = xstrndup(p, (size_t)(z1 - p));
	c->user = xstrndup(z1 + 1, (size_t)(z2 - z1 - 1));
	c->pass = xstrndup(z2 + 1, (size_t)(end - z2 - 1));
	if (c->authzid[0] && strcmp(c->authzid, c->user) != 0) {
		sasl_creds_clear(c);
		r = -2;
		goto out;
	}
	r = 0;
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return r;
}

int
sasl_login_decode(const char *b64, size_t len, char **out_r)
{
	struct buf b;

	buf_init(&b, SASL_RESPONSE_MAX);
	if (base64_decode(b64, len, &b) < 0 || b.len == 0 ||
	    memchr(b.data, '\0', b.len) != NULL) {
		if (b.data)
			OPENSSL_cleanse(b.data, b.len);
		buf_free(&b);
		return -1;
	}
	*out_r = buf_steal(&b, NULL);
	return 0;
}

void
sasl_creds_clear(struct sasl_creds *c)
{
	if (c->pass) {
		OPENSSL_cleanse(c->pass, strlen(c->pass));
		free(c->pass);
	}
	free(c->user);
	free(c->authzid);
	memset(c, 0, sizeof(*c));
}
