/*
 * base64 - encode/decode with OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
 *
 * EVP_DecodeBlock accepts some junk (leading/trailing spaces) and counts
 * padding as zero bytes; we validate first and trim the padding after.
 */
#include <string.h>

#include <openssl/evp.h>

#include "util/base64.h"
#include "util/xmalloc.h"

static int
b64_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int
base64_decode(const char *in, size_t len, struct buf *out)
{
	size_t pad = 0;
	unsigned char *tmp;
	int n;

	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char_ok((unsigned char)in[i]))
			return -1;
	if (len > (size_t)1 << 30)
		return -1;
	tmp = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(tmp);
		return -1;
	}
	n -= (int)pad;
	if (buf_append(out, tmp, (size_t)n) < 0) {
		OPENSSL_cleanse(tmp, len / 4 * 3);
		free(tmp);
		return -1;
	}
	/* may hold a password */
	OPENSSL_cleanse(tmp, len / 4 * 3);
	free(tmp);
	return 0;
}

int
base64_encode(const void *in, size_t len, struct buf *out)
{
	unsigned char *tmp = xmalloc((len + 2) / 3 * 4 + 1);
	int n = EVP_EncodeBlock(tmp, in, (int)len);
	int r = buf_append(out, tmp, (size_t)n);

	free(tmp);
	return r;
}
