/*
 * cidr - address/prefix parsing and matching (see cidr.h).
 *
 * Trust: input is config text, bounded by the config's line limits.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "util/cidr.h"

int
cidr_parse(const char *s, struct cidr *r)
{
	char tmp[64], *slash, *end;
	unsigned max;
	unsigned long bits;

	if (strlen(s) >= sizeof(tmp))
		return -1;
	strcpy(tmp, s);
	slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, tmp, r->addr) == 1) {
		r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, r->addr) == 1) {
		r->family = AF_INET6;
		max = 128;
	} else
		return -1;
	bits = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtoul(slash, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
	}
	r->bits = (unsigned)bits;
	for (unsigned i = r->bits; i < max; i++)
		r->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return 0;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family = sa->sa_family;

	if (family == AF_INET)
		a = (const void *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
	else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a += 12;
		}
	} else
		return false;
	if (family != c->family)
		return false;
	for (unsigned i = 0; i < c->bits; i++)
		if ((a[i / 8] ^ c->addr[i / 8]) & (0x80u >> (i % 8)))
			return false;
	return true;
}
