/*
 * fuzz-acme - the CA's JSON answers (acme_parse) on arbitrary bytes: a
 * directory, an order, an authorization (both challenge types) and a
 * problem document from every input; errors, never crashes or leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "acme/acme_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct acme_dir d;
	struct acme_order o;
	struct acme_authz a;
	char *err = NULL;

	if (size > ACME_BODY_MAX)
		return 0;
	if (acme_parse_dir(text, size, &d, &err) < 0)
		free(err);
	acme_dir_free(&d);
	err = NULL;
	if (acme_parse_order(text, size, &o, &err) < 0)
		free(err);
	acme_order_free(&o);
	err = NULL;
	if (acme_parse_authz(text, size, "http-01", &a, &err) < 0)
		free(err);
	acme_authz_free(&a);
	err = NULL;
	if (acme_parse_authz(text, size, "tls-alpn-01", &a, &err) < 0)
		free(err);
	acme_authz_free(&a);
	free(acme_parse_problem(text, size));
	return 0;
}
