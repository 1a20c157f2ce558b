/*
 * dns_rr - I/O-free parsers for DNS RDATA and names (see dns_rr.h).
 *
 * Trust: all input is untrusted. Each parser checks every length against
 * the bytes it was given before reading; names are capped at 255 wire
 * octets and may not use compression pointers (libunbound hands out
 * uncompressed RDATA, so a pointer means corruption), which also rules out
 * pointer loops. Callers: dns.c, test-dns-rr.c, fuzz/fuzz-dns.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns_rr.h"
#include "util/buf.h"
#include "util/xmalloc.h"

static bool
dns_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void
dns_label_append(struct buf *b, const uint8_t *label, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (label[i] >= 'A' && label[i] <= 'Z')
			buf_putc(b, (char)(label[i] - 'A' + 'a'));
		else if (dns_ldh(label[i]))
			buf_putc(b, (char)label[i]);
		else
			buf_printf(b, "\\%03u", (unsigned)label[i]);
	}
}

char *
dns_name_from_wire(const uint8_t *data, size_t len, size_t *off)
{
	struct buf b;
	size_t p = *off, wire = 0;

	buf_init(&b, 0);	/* at most 255 octets, each at most 4 chars */
	for (;;) {
		size_t l;

		if (p >= len)
			goto bad;
		l = data[p++];
		wire += 1 + l;
		if (wire > DNS_NAME_WIRE_MAX)
			goto bad;
		if (l == 0)
			break;
		if (l & 0xc0)	/* compression pointer or reserved type */
			goto bad;
		if (l > len - p)
			goto bad;
		if (b.len > 0)
			buf_putc(&b, '.');
		dns_label_append(&b, data + p, l);
		p += l;
	}
	if (b.len == 0)
		buf_putc(&b, '.');
	*off = p;
	return buf_steal(&b, NULL);
bad:
	buf_free(&b);
	return NULL;
}

int
dns_rr_mx_parse(const uint8_t *rdata, size_t len, unsigned *pref_r,
    char **host_r)
{
	size_t off = 2;
	char *host;

	if (len < 3)
		return -1;
	host = dns_name_from_wire(rdata, len, &off);
	if (host == NULL)
		return -1;
	if (off != len) {
		free(host);
		return -1;
	}
	*pref_r = ((unsigned)rdata[0] << 8) | rdata[1];
	*host_r = host;
	return 0;
}

char *
dns_rr_txt_parse(const uint8_t *rdata, size_t len, size_t *len_r)
{
	char *out;
	size_t p = 0, n = 0;

	if (len == 0)
		return NULL;
	/* Each string costs 1 + its length in RDATA: the text fits in len. */
	out = xmalloc(len + 1);
	while (p < len) {
		size_t l = rdata[p++];

		if (l > len - p) {
			free(out);
			return NULL;
		}
		memcpy(out + n, rdata + p, l);
		n += l;
		p += l;
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

int
dns_rr_addr_parse(int rrtype, const uint8_t *rdata, size_t len,
    struct dns_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (rrtype == DNS_TYPE_A && len == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, rdata, 4);
		out->len = sizeof(*sin);
		return 0;
	}
	if (rrtype == DNS_TYPE_AAAA && len == 16) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, rdata, 16);
		out->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

bool
dns_name_valid(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!dns_ldh((unsigned char)name[i]) || ++label > DNS_LABEL_MAX)
			return false;
	}
	return label > 0;
}

static size_t
dns_name_len(const char *s)
{
	size_t n = strlen(s);

	return n > 1 && s[n - 1] == '.' ? n - 1 : n;
}

bool
dns_name_equal(const char *a, const char *b)
{
	size_t n = dns_name_len(a);

	return n == dns_name_len(b) && strncasecmp(a, b, n) == 0;
}

bool
dns_addr_literal(const char *s, struct dns_addr *out)
{
	char tmp[INET6_ADDRSTRLEN];
	size_t n = strlen(s);
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return false;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &sin6->sin6_addr) != 1)
			return false;
		sin6->sin6_family = AF_INET6;
		out->len = sizeof(*sin6);
		return true;
	}
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		out->len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		out->len = sizeof(*sin6);
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* "53" -> 53; 0 when not a port number 1-65535. */
static unsigned
dns_port_parse(const char *s)
{
	unsigned port = 0;

	if (*s == '\0' || strlen(s) > 5)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		port = port * 10 + (unsigned)(*s - '0');
	}
	return port <= 65535 ? port : 0;
}

/* Splits server into an address (copied to ip) and a port. */
static int
dns_server_split(const char *server, char *ip, size_t iplen, int *af_r,
    unsigned *port_r)
{
	const char *end, *colon = strchr(server, ':');
	size_t n;

	*port_r = 53;
	if (server[0] == '[') {
		end = strchr(server, ']');
		if (end == NULL)
			return -1;
		if (end[1] == ':')
			*port_r = dns_port_parse(end + 2);
		else if (end[1] != '\0')
			return -1;
		server++;
		n = (size_t)(end - server);
		*af_r = AF_INET6;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		*port_r = dns_port_parse(colon + 1);
		n = (size_t)(colon - server);
		*af_r = AF_INET;
	} else {
		n = strlen(server);
		*af_r = colon != NULL ? AF_INET6 : AF_INET;
	}
	if (*port_r == 0 || n == 0 || n >= iplen)
		return -1;
	memcpy(ip, server, n);
	ip[n] = '\0';
	return 0;
}

char *
dns_server_to_unbound(const char *server, const char **error_r)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	unsigned port;
	int af;

	if (server == NULL || dns_server_split(server, ip, sizeof(ip), &af,
	    &port) < 0 || inet_pton(af, ip, bin) != 1) {
		*error_r = "dns_server must be ip, ip:port or [ipv6]:port";
		return NULL;
	}
	return xasprintf("%s@%u", ip, port);
}

struct dns_mx_sortable {
	struct dns_mx_host	host;
	uint32_t		key;
};

static int
dns_mx_cmp(const void *va, const void *vb)
{
	const struct dns_mx_sortable *a = va, *b = vb;

	if (a->host.pref != b->host.pref)
		return a->host.pref < b->host.pref ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return 0;
}

void
dns_mx_sort(struct dns_mx_host *hosts, uint32_t *keys, int n)
{
	struct dns_mx_sortable *tmp;

	if (n < 2)
		return;
	tmp = xcalloc((size_t)n, sizeof(*tmp));
	for (int i = 0; i < n; i++) {
		tmp[i].host = hosts[i];
		tmp[i].key = keys[i];
	}
	qsort(tmp, (size_t)n, sizeof(*tmp), dns_mx_cmp);
	for (int i = 0; i < n; i++) {
		hosts[i] = tmp[i].host;
		keys[i] = tmp[i].key;
	}
	free(tmp);
}

const char *
dns_addr_str(const struct dns_addr *a, char *out, size_t outlen)
{
	const void *p;

	if (a->ss.ss_family == AF_INET)
		p = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	else if (a->ss.ss_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	else
		p = NULL;
	if (p == NULL || inet_ntop(a->ss.ss_family, p, out,
	    (socklen_t)outlen) == NULL) {
		snprintf(out, outlen, "?");
	}
	return out;
}

char *
dns_ptr_name(const struct dns_addr *a)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b;
	struct buf out;

	if (a->ss.ss_family == AF_INET) {
		b = (const uint8_t *)
		    &((const struct sockaddr_in *)&a->ss)->sin_addr;
		return xasprintf("%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1],
		    b[0]);
	}
	if (a->ss.ss_family != AF_INET6)
		return NULL;
	b = ((const struct sockaddr_in6 *)&a->ss)->sin6_addr.s6_addr;
	buf_init(&out, 0);
	for (int i = 15; i >= 0; i--) {
		buf_putc(&out, hex[b[i] & 0xf]);
		buf_putc(&out, '.');
		buf_putc(&out, hex[b[i] >> 4]);
		buf_putc(&out, '.');
	}
	buf_puts(&out, "ip6.arpa");
	return buf_steal(&out, NULL);
}
