/*
 * milter_spam - counting the spam marks filters set (milter_spam.h).
 *
 * Trust: untrusted header text, read through the RFC 5322 iterator
 * (bounded by len); nothing is copied.
 */
#include <ctype.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "milter/milter_spam.h"

/* True when the raw value v[0..n), past white space and folding, starts
 * with "yes" and nothing but white space follows that word. */
static int
value_is_yes(const char *v, size_t n)
{
	size_t i = 0;

	while (i < n && isspace((unsigned char)v[i]))
		i++;
	if (n - i < 3 || strncasecmp(v + i, "yes", 3) != 0)
		return 0;
	i += 3;
	return i == n || isspace((unsigned char)v[i]) || v[i] == ';' ||
	    v[i] == ',';
}

unsigned
milter_spam_marks(const char *head, size_t len)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	unsigned n = 0;

	rfc5322_iter_init(&it, head, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		if ((rfc5322_field_is(&f, "X-Spam") ||
		    rfc5322_field_is(&f, "X-Spam-Flag")) &&
		    value_is_yes(f.value, f.value_len))
			n++;
	return n;
}
