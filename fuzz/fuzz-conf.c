/*
 * fuzz-conf - the config parser on arbitrary text: errors, never crashes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = conf_new_defaults("/nonexistent/tem.conf");
	char *err = NULL;

	if (conf_parse(c, "fuzz.conf", (const char *)data, size, &err) < 0)
		free(err);
	conf_free(&c);
	return 0;
}
