/*
 * fuzz-learn-http - rspamd's controller answer as the spam learner reads
 * it (spam/learn_http.h): the parser on every prefix length and at the
 * close, then the log value of the body; never reads past the buffer,
 * and a complete answer's body lies inside it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spam/learn_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size octets: ASan sees any over-read */
	char *buf = malloc(size ? size : 1), out[256];
	const char *body;
	size_t blen, step = size / 64 + 1;
	int status;

	memcpy(buf, data, size);
	for (size_t n = 0; n <= size; n += step)
		(void)learn_http_answer(buf, n, 0, &status, &body, &blen);
	for (int eof = 0; eof < 2; eof++)
		if (learn_http_answer(buf, size, eof, &status, &body,
		    &blen) == 1) {
			if (body < buf || body + blen > buf + size ||
			    status < 0 || status > 999)
				abort();
			learn_http_log_value(body, blen, 160, out,
			    sizeof(out));
			if (strlen(out) >= sizeof(out))
				abort();
		}
	free(buf);
	return 0;
}
