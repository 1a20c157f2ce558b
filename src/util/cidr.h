/*
 * cidr - an address or a network (192.0.2.0/24, 2001:db8::/32, ::1) and
 * whether a socket address is in it. Used by access lists such as the
 * config's metrics_allow.
 *
 * Trust: the text is the administrator's (checked at config load); the
 * socket address is the kernel's.
 */
#ifndef TEM_CIDR_H
#define TEM_CIDR_H

#include <stdbool.h>
#include <sys/socket.h>

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network order; host bits zeroed */
	unsigned	bits;		/* prefix length */
};

/* "ADDR" or "ADDR/BITS"; 0 ok, -1 bad (also host bits set past BITS
 * are accepted and cleared, as iptables does). */
int cidr_parse(const char *s, struct cidr *r);
/* Whether sa (AF_INET, AF_INET6; v4-mapped v6 counts as v4) is in c. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

#endif
