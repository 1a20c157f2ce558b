/*
 * dns_rr - I/O-free parsers for DNS RDATA and names, and small helpers.
 *
 * Trust: every input is untrusted bytes from the network or from a mail
 * envelope. All parsers are bounds-checked against the given length,
 * never read past it, and are fuzzed by fuzz/fuzz-dns.c.
 *
 * RDATA here is one record's data without the RDLENGTH prefix, as
 * libunbound's ub_result->data[i] gives it (names inside are already
 * uncompressed: a compression pointer there is refused as malformed).
 */
#ifndef TEM_DNS_RR_H
#define TEM_DNS_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/dns.h"

#define DNS_TYPE_A	1
#define DNS_TYPE_PTR	12
#define DNS_TYPE_MX	15
#define DNS_TYPE_TXT	16
#define DNS_TYPE_AAAA	28
#define DNS_TYPE_TLSA	52
#define DNS_CLASS_IN	1

#define DNS_NAME_WIRE_MAX	255	/* RFC 1035 2.3.4 */
#define DNS_LABEL_MAX		63
#define DNS_NAME_TEXT_MAX	253	/* lookup name, no final dot */

/*
 * Reads the wire-format name at data[*off], within len bytes, and returns
 * its text form (xmalloc'd): labels joined by '.', no final dot, "." for
 * the root. ASCII letters are lowercased (names compare case-insensitively,
 * and an answer's case follows the query's through compression); bytes
 * other than letters, digits, '-' and '_' are escaped as \DDD (a '.' or
 * '\' inside a label too), so the text is printable ASCII and reads back
 * to the same wire name, up to case. On success *off is just past the
 * name. Returns NULL when the name runs past len, exceeds 255 octets or
 * uses a compression pointer or a reserved label type.
 */
char *dns_name_from_wire(const uint8_t *data, size_t len, size_t *off);

/*
 * MX RDATA (RFC 1035 3.3.9): 16-bit preference and an exchange name that
 * must end the RDATA. Returns 0 with *pref_r and *host_r (xmalloc'd text,
 * "." for RFC 7505's null MX), or -1 when malformed (outputs untouched).
 */
int dns_rr_mx_parse(const uint8_t *rdata, size_t len, unsigned *pref_r,
    char **host_r);

/*
 * TXT RDATA (RFC 1035 3.3.14): one or more <length><bytes> strings, which
 * are concatenated (RFC 7208 3.3, RFC 6376 3.6.2.2). Returns the xmalloc'd
 * text, NUL-terminated, with its length in *len_r (it may hold NUL bytes;
 * the caller decides). NULL when empty or when a string overruns len.
 */
char *dns_rr_txt_parse(const uint8_t *rdata, size_t len, size_t *len_r);

/*
 * A (type 1, 4 bytes) or AAAA (type 28, 16 bytes) RDATA into a sockaddr
 * with port 0. Returns 0, or -1 for any other type or length.
 */
int dns_rr_addr_parse(int rrtype, const uint8_t *rdata, size_t len,
    struct dns_addr *out);

/*
 * Whether name may be looked up: 1-253 characters (plus an optional final
 * dot), labels of 1-63 letters, digits, '-' or '_'. Non-ASCII (an IDN
 * U-label) is refused: such a domain must be converted to A-labels first.
 */
bool dns_name_valid(const char *name);

/* Case-insensitive comparison ignoring one final dot; true when equal. */
bool dns_name_equal(const char *a, const char *b);

/*
 * If s is an IPv4 or IPv6 literal (IPv6 possibly in brackets), fills *out
 * (port 0) and returns true.
 */
bool dns_addr_literal(const char *s, struct dns_addr *out);

/*
 * Converts config dns_server ("ip", "ip:port", "[ipv6]", "[ipv6]:port" or a
 * bare IPv6 address) to libunbound's "ip@port" form (xmalloc'd). Returns
 * NULL and sets *error_r (static text) when it is not one of those.
 */
char *dns_server_to_unbound(const char *server, const char **error_r);

/*
 * Orders MX hosts by preference, random among equal preference: keys[i] is
 * a random number drawn for hosts[i] (the caller's source, so tests can
 * fix it); the sort is by (pref, key). keys is reordered along with hosts.
 */
void dns_mx_sort(struct dns_mx_host *hosts, uint32_t *keys, int n);

/*
 * The reverse-lookup name of an address: "4.3.2.1.in-addr.arpa" for
 * 1.2.3.4, 32 nibbles then "ip6.arpa" for IPv6 (xmalloc'd, no final dot).
 * NULL when a is neither AF_INET nor AF_INET6.
 */
char *dns_ptr_name(const struct dns_addr *a);

/* Formats an address without port into out (INET6_ADDRSTRLEN bytes). */
const char *dns_addr_str(const struct dns_addr *a, char *out, size_t outlen);

#endif
