/*
 * tls_required - "TLS-Required: No" (RFC 8689 3), see tls_required.h.
 *
 * Trust: untrusted message text; rfc5322_find scans the header section
 * with every index checked, the value is only compared, never copied.
 */
#include <strings.h>

#include "mail/rfc5322.h"
#include "mail/tls_required.h"

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool
tls_required_no(const char *msg, size_t len)
{
	struct rfc5322_field f;
	const char *v, *end;

	if (!rfc5322_find(msg, len, "TLS-Required", &f))
		return false;
	v = f.value;
	end = f.value + f.value_len;
	while (v < end && is_space(*v))
		v++;
	while (end > v && is_space(end[-1]))
		end--;
	return end - v == 2 && strncasecmp(v, "no", 2) == 0;
}
