/*
 * fuzz-report-url - the host and port of an https: rua (report_post.h),
 * as a _smtp._tls record may carry it: any bytes give a verdict, never a
 * crash; an accepted URL has a non-empty host without '/' and a port in
 * 1..65535.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_post.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = xstrndup((const char *)data, size), *host = NULL;
	unsigned port = 0;

	if (report_url_host(url, &host, &port)) {
		if (host == NULL || host[0] == '\0' || strchr(host, '/') ||
		    port == 0 || port > 65535)
			abort();
		free(host);
	} else if (host != NULL)
		abort();
	free(url);
	return 0;
}
