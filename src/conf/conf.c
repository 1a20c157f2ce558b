/*
 * conf - config file reader (see conf.h).
 *
 * The settings table (each key, its type, default, meaning and example)
 * is conf_keys.c; this file parses values into it. Parsing collects every
 * error of a file before failing, so an administrator fixes them in one go.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "conf/conf.h"
#include "conf/conf_keys.h"
#include "dns/dns_rr.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/xmalloc.h"

#define NKEYS conf_nkeys

const char *
conf_key_name(size_t i)
{
	return i < NKEYS ? conf_keys[i].name : NULL;
}

const char *
conf_default_path(void)
{
	const char *env = getenv("TEM_CONFIG");

	return env && *env ? env : "/etc/tem/tem.conf";
}

int
conf_parse_size(const char *s, uint64_t *r)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1024ULL * 1024 * 1024, end++;
	if (*end != '\0' || v > UINT64_MAX / mul)
		return -1;
	*r = v * mul;
	return 0;
}

int
conf_parse_quota(const char *s, uint64_t *r)
{
	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "unlimited") == 0) {
		*r = 0;
		return 0;
	}
	return conf_parse_size(s, r);
}

int
conf_parse_duration(const char *s, unsigned *r)
{
	char *end;
	unsigned long v;
	unsigned long mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 's': mul = 1; end++; break;
	case 'm': mul = 60; end++; break;
	case 'h': mul = 3600; end++; break;
	case 'd': mul = 86400; end++; break;
	case 'w': mul = 7 * 86400; end++; break;
	}
	if (*end != '\0' || v > UINT_MAX / mul)
		return -1;
	*r = (unsigned)(v * mul);
	return 0;
}

int
conf_parse_listen(const char *s, struct conf_listen *r)
{
	const char *colon, *host, *port;
	size_t hlen;
	unsigned char tmp[16];
	char *end;
	long p;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		host = s + 1;
		hlen = (size_t)(close - host);
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		host = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(r->host))
		return -1;
	memcpy(r->host, host, hlen);
	r->host[hlen] = '\0';
	if (strcmp(r->host, "*") == 0)
		strcpy(r->host, "0.0.0.0");
	if (inet_pton(AF_INET, r->host, tmp) != 1 &&
	    inet_pton(AF_INET6, r->host, tmp) != 1)
		return -1;
	if (!isdigit((unsigned char)*port))
		return -1;
	p = strtol(port, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535)
		return -1;
	r->port = (int)p;
	return 0;
}

static int
parse_bool(const char *s, bool *r)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") ||
	    !strcmp(s, "1"))
		*r = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") ||
	    !strcmp(s, "0"))
		*r = false;
	else
		return -1;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
parse_listen_list(char *v, struct conf_listen_list *r)
{
	char *save = NULL, *tok;

	r->n = 0;
	if (*v == '\0' || strcmp(v, "off") == 0)
		return 0;
	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		if (r->n == CONF_MAX_LISTEN)
			return -1;
		if (conf_parse_listen(tok, &r->l[r->n]) < 0)
			return -1;
		r->n++;
	}
	return 0;
}

char *
conf_path(const struct conf *c, const char *path)
{
	size_t dl;

	if (path[0] == '/' || c->dir == NULL)
		return xstrdup(path);
	dl = strlen(c->dir);
	/* a config in "/" must give "/x", not "//x" */
	return xasprintf("%s%s%s", c->dir, dl && c->dir[dl - 1] == '/' ? "" :
	    "/", path);
}

/* A DNS name as the SMTP banner and EHLO need it: letters, digits, '-',
 * '.', '_', at most 253 octets (RFC 1035 2.3.4). */
static bool
host_ok(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

/* host[:port] or [ipv6]:port, as mta_route's relay parser reads it. */
static bool
hostport_ok(const char *s)
{
	const char *colon = NULL, *host = s;
	unsigned char tmp[16];
	char ip[INET6_ADDRSTRLEN], *end;
	long port;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		size_t n = close ? (size_t)(close - s - 1) : 0;
		if (close == NULL || n == 0 || n >= sizeof(ip) ||
		    (close[1] != '\0' && close[1] != ':'))
			return false;
		memcpy(ip, s + 1, n);
		ip[n] = '\0';
		if (inet_pton(AF_INET6, ip, tmp) != 1)
			return false;
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strrchr(s, ':') != colon)	/* bare IPv6 */
			return inet_pton(AF_INET6, s, tmp) == 1;
		if (!host_ok(host, colon ? (size_t)(colon - s) : strlen(s)))
			return false;
	}
	if (colon == NULL)
		return true;
	if (!isdigit((unsigned char)colon[1]))
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535;
}

int
conf_parse_milter(const char *s, struct sockaddr_storage *ss, unsigned *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	const char *host, *colon;
	char h[INET6_ADDRSTRLEN + 2], *end;
	size_t hl;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(s, "unix:", 5) == 0) {
		s += 5;
		if (s[0] != '/' || strlen(s) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s);
		*len = (unsigned)sizeof(*sun);
		return 0;
	}
	if (strncmp(s, "inet:", 5) == 0)
		host = s + 5;
	else if (strncmp(s, "inet6:", 6) == 0)
		host = s + 6;
	else
		return -1;
	colon = strrchr(host, ':');
	if (colon == NULL || colon == host || !isdigit((unsigned char)colon[1]))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	hl = (size_t)(colon - host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		host++, hl -= 2;
	if (hl >= sizeof(h))
		return -1;
	memcpy(h, host, hl);
	h[hl] = '\0';
	/* no DNS here: a filter runs beside us (Postfix's rspamd example
	 * is inet:localhost:11332) */
	if (strcmp(h, "localhost") == 0)
		strcpy(h, "127.0.0.1");
	if (inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = (unsigned)sizeof(*sin);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = (unsigned)sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Sets one key from its text; 0 ok, -1 with a reason in *why. */
static int
conf_set(struct conf *c, const struct conf_key *k, char *v, const char **why)
{
	void *field = (char *)c + k->offset;
	uint64_t size;
	unsigned u;
	char *end;
	unsigned long ul;

	switch (k->type) {
	case T_STR:
	case T_PATH: {
		char **sp = field;
		free(*sp);
		*sp = NULL;
		if (*v == '\0' && k->type == T_PATH) {
			*why = "empty path";
			return -1;
		}
		/* Read by every loop's resolver, wherever it runs from. */
		if (strcmp(k->name, "dns_trust_anchor_file") == 0 &&
		    *v != '/' && strcmp(v, "none") != 0) {
			*why = "expected an absolute path or none";
			return -1;
		}
		if (k->type == T_PATH)
			*sp = conf_path(c, v);
		else
			*sp = xstrdup(v);
		return 0;
	}
	case T_BOOL:
		if (parse_bool(v, field) < 0) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case T_UINT:
	case T_PORT:
		if (!isdigit((unsigned char)*v)) {
			*why = "expected a number";
			return -1;
		}
		errno = 0;
		ul = strtoul(v, &end, 10);
		if (*end || errno || ul > UINT_MAX ||
		    (k->type == T_PORT && (ul == 0 || ul > 65535))) {
			*why = k->type == T_PORT ? "expected a port 1-65535" :
			    "expected a number";
			return -1;
		}
		*(unsigned *)field = (unsigned)ul;
		return 0;
	case T_SIZE:
		if (conf_parse_size(v, &size) < 0 || size == 0) {
			*why = "expected a size such as 64k or 25M";
			return -1;
		}
		*(uint64_t *)field = size;
		return 0;
	case T_QUOTA:
		if (conf_parse_quota(v, &size) < 0) {
			*why = "expected a size such as 512M or 2G, or none";
			return -1;
		}
		*(uint64_t *)field = size;
		return 0;
	case T_DURATION:
		if (conf_parse_duration(v, &u) < 0 || u == 0) {
			*why = "expected a duration such as 30s, 5m, 2h or 5d";
			return -1;
		}
		*(unsigned *)field = u;
		return 0;
	case T_DURATION0:
		if (conf_parse_duration(v, &u) < 0) {
			*why = "expected a duration such as 30m, 4h or 1d, or 0";
			return -1;
		}
		*(unsigned *)field = u;
		return 0;
	case T_LEASE:
		if (conf_parse_duration(v, &u) < 0 || u < 5 || u > 60) {
			*why = "expected a duration from 5s to 60s";
			return -1;
		}
		*(unsigned *)field = u;
		return 0;
	case T_LISTEN:
		if (parse_listen_list(v, field) < 0) {
			*why = "expected a list of addr:port ([::1]:25 for IPv6)";
			return -1;
		}
		return 0;
	case T_STORAGE:
		if (strcmp(v, "embedded") == 0)
			*(unsigned *)field = CONF_STORAGE_EMBEDDED;
		else if (strcmp(v, "postgresql") == 0)
			*(unsigned *)field = CONF_STORAGE_POSTGRESQL;
		else {
			*why = "expected embedded or postgresql";
			return -1;
		}
		return 0;
	case T_MACTION: {
		static const char *const names[] = { "tempfail", "accept",
		    "reject" };
		for (unsigned i = 0; i < 3; i++)
			if (strcmp(v, names[i]) == 0) {
				*(unsigned *)field = i;
				return 0;
			}
		*why = "expected tempfail, accept or reject";
		return -1;
	}
	case T_CIDRS:
	case T_MILTERS:
	case T_STRLIST: {
		struct conf_strlist *l = field;
		char *save = NULL, *tok;
		for (int i = 0; i < l->n; i++)
			free(l->v[i]);
		l->n = 0;
		for (tok = strtok_r(v, ",", &save); tok;
		    tok = strtok_r(NULL, ",", &save)) {
			tok = trim(tok);
			if (*tok == '\0')
				continue;
			if (l->n == 16) {
				*why = "at most 16 entries";
				return -1;
			}
			if (k->type == T_MILTERS) {
				struct sockaddr_storage ss;
				unsigned sl;
				if (conf_parse_milter(tok, &ss, &sl) < 0) {
					*why = "expected inet:HOST:PORT, "
					    "inet6:HOST:PORT or unix:/PATH "
					    "(HOST numeric or localhost)";
					return -1;
				}
			}
			if (k->type == T_CIDRS) {
				struct cidr cidr;
				if (cidr_parse(tok, &cidr) < 0) {
					*why = "expected addresses or networks "
					    "such as 127.0.0.1, ::1, "
					    "192.0.2.0/24";
					return -1;
				}
			}
			l->v[l->n++] = xstrdup(tok);
		}
		return 0;
	}
	case T_HOST:
	case T_ADDR:
	case T_HOSTPORT:
	case T_DNS: {
		char **sp = field;
		unsigned char tmp[16];
		const char *err;
		char *fwd = NULL;
		if (k->type == T_HOST && !host_ok(v, strlen(v))) {
			*why = "expected a host name (letters, digits, '-', '.')";
			return -1;
		}
		if (k->type == T_ADDR && *v && inet_pton(AF_INET, v, tmp) != 1 &&
		    inet_pton(AF_INET6, v, tmp) != 1) {
			*why = "expected a numeric IPv4 or IPv6 address";
			return -1;
		}
		if (k->type == T_HOSTPORT && *v && !hostport_ok(v)) {
			*why = "expected host, host:port or [ipv6]:port";
			return -1;
		}
		if (k->type == T_DNS && *v &&
		    (fwd = dns_server_to_unbound(v, &err)) == NULL) {
			*why = "expected ip, ip:port or [ipv6]:port";
			return -1;
		}
		free(fwd);
		free(*sp);
		*sp = *v ? xstrdup(v) : NULL;
		return 0;
	}
	case T_STSMODE: {
		static const char *const names[] = { "none", "testing",
		    "enforce" };
		for (unsigned i = 0; i < 3; i++)
			if (strcmp(v, names[i]) == 0) {
				*(unsigned *)field = i;
				return 0;
			}
		*why = "expected none, testing or enforce";
		return -1;
	}
	case T_ACMECHAL: {
		char **sp = field;
		if (strcmp(v, "http-01") && strcmp(v, "tls-alpn-01")) {
			*why = "expected http-01 or tls-alpn-01";
			return -1;
		}
		free(*sp);
		*sp = xstrdup(v);
		return 0;
	}
	case T_LEVEL: {
		char **sp = field;
		if (strcmp(v, "debug") && strcmp(v, "info") &&
		    strcmp(v, "warning") && strcmp(v, "error")) {
			*why = "expected debug, info, warning or error";
			return -1;
		}
		free(*sp);
		*sp = xstrdup(v);
		return 0;
	}
	case T_NTYPES:	/* not a type */
		break;
	}
	*why = "internal: unknown type";
	return -1;
}

struct conf *
conf_new_defaults(const char *file)
{
	struct conf *c = xmalloc(sizeof(*c));
	char host[256];
	const char *why;

	if (file) {
		char *slash;
		if (file[0] == '/')
			c->path = xstrdup(file);
		else {
			char cwd[4096];
			if (getcwd(cwd, sizeof(cwd)) == NULL)
				strcpy(cwd, ".");
			c->path = xasprintf("%s/%s", cwd, file);
		}
		c->dir = xstrdup(c->path);
		slash = strrchr(c->dir, '/');
		if (slash == c->dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
	}
	for (size_t i = 0; i < NKEYS; i++) {
		char *v;
		if (conf_keys[i].def == NULL)
			continue;
		v = xstrdup(conf_keys[i].def);
		if (conf_set(c, &conf_keys[i], v, &why) < 0)
			abort();	/* a bad default is a bug */
		free(v);
	}
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	c->hostname = xstrdup(host);
	return c;
}

/* Two listeners on one address and port would both bind: every socket
 * is SO_REUSEPORT, so the kernel would spread one port's connections
 * over two protocols at random. A wildcard address overlaps every
 * address of its family. */
static bool
listen_overlap(const struct conf_listen *a, const struct conf_listen *b)
{
	bool a6 = strchr(a->host, ':') != NULL, b6 = strchr(b->host, ':');

	if (a->port != b->port || a6 != b6)
		return false;
	return strcmp(a->host, b->host) == 0 ||
	    strcmp(a->host, a6 ? "::" : "0.0.0.0") == 0 ||
	    strcmp(b->host, b6 ? "::" : "0.0.0.0") == 0;
}

static void
conf_check_listeners(const struct conf *c, const char *name,
    struct buf *errs)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct conf_listen_list *li;

		if (conf_keys[i].type != T_LISTEN)
			continue;
		li = (const void *)((const char *)c + conf_keys[i].offset);
		for (size_t j = i; j < NKEYS; j++) {
			const struct conf_listen_list *lj;

			if (conf_keys[j].type != T_LISTEN)
				continue;
			lj = (const void *)((const char *)c +
			    conf_keys[j].offset);
			for (int a = 0; a < li->n; a++)
				for (int b = i == j ? a + 1 : 0; b < lj->n; b++)
					if (listen_overlap(&li->l[a], &lj->l[b]))
						buf_printf(errs, "%s: %s and %s "
						    "both listen on %s port %d\n",
						    name, conf_keys[i].name,
						    conf_keys[j].name,
						    lj->l[b].host, lj->l[b].port);
		}
	}
}

int
conf_parse(struct conf *c, const char *name, const char *text, size_t len,
    char **error_r)
{
	struct buf errs;
	const char *p = text, *end = text + len;
	int lineno = 0;
	bool *seen = xcalloc(NKEYS, sizeof(*seen));

	buf_init(&errs, 64 * 1024);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = xstrndup(p, n), *s, *eq, *key, *val;
		const char *why = NULL;
		const struct conf_key *k = NULL;

		lineno++;
		p = nl ? nl + 1 : end;
		if (memchr(p - (nl ? n + 1 : n), '\0', n) != NULL)
			why = "NUL byte in line";
		s = trim(line);
		if (why == NULL && (*s == '\0' || *s == '#')) {
			free(line);
			continue;
		}
		eq = strchr(s, '=');
		if (why == NULL && eq == NULL)
			why = "expected key = value";
		if (why == NULL) {
			*eq = '\0';
			key = trim(s);
			val = trim(eq + 1);
			for (size_t i = 0; i < NKEYS; i++)
				if (strcmp(conf_keys[i].name, key) == 0)
					k = &conf_keys[i];
			if (k == NULL)
				buf_printf(&errs, "%s:%d: unknown key '%.64s'\n",
				    name, lineno, key);
			else if (seen[k - conf_keys])
				buf_printf(&errs, "%s:%d: %s set twice\n",
				    name, lineno, k->name);
			else if (conf_set(c, k, val, &why) < 0)
				buf_printf(&errs, "%s:%d: %s: %s\n", name,
				    lineno, k->name, why);
			if (k)
				seen[k - conf_keys] = true;
			why = NULL;
		}
		if (why)
			buf_printf(&errs, "%s:%d: %s\n", name, lineno, why);
		free(line);
	}
	free(seen);
	conf_check_listeners(c, name, &errs);
	if (errs.len > 0) {
		errs.data[--errs.len] = '\0';	/* drop the last newline */
		*error_r = buf_steal(&errs, NULL);
		return -1;
	}
	buf_free(&errs);
	return 0;
}

int
conf_load(const char *file, bool allow_missing, struct conf **conf_r,
    char **error_r)
{
	struct conf *c;
	FILE *f;
	struct buf text;
	char chunk[8192];
	size_t n;

	if (file == NULL)
		file = conf_default_path();
	c = conf_new_defaults(file);
	f = fopen(c->path, "r");
	if (f == NULL) {
		if (allow_missing && errno == ENOENT) {
			*conf_r = c;
			return 0;
		}
		*error_r = xasprintf("%s: %s", c->path, strerror(errno));
		conf_free(&c);
		return -1;
	}
	/* A config file over 1 MiB is a mistake, not a config. */
	buf_init(&text, 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&text, chunk, n) < 0) {
			fclose(f);
			buf_free(&text);
			*error_r = xasprintf("%s: larger than 1 MiB", c->path);
			conf_free(&c);
			return -1;
		}
	}
	fclose(f);
	if (conf_parse(c, c->path, buf_cstr(&text), text.len, error_r) < 0) {
		buf_free(&text);
		conf_free(&c);
		return -1;
	}
	buf_free(&text);
	*conf_r = c;
	return 0;
}

void
conf_free(struct conf **cp)
{
	struct conf *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		if (conf_keys[i].type == T_STR || conf_keys[i].type == T_PATH ||
		    conf_keys[i].type == T_LEVEL || conf_keys[i].type == T_HOST ||
		    conf_keys[i].type == T_ADDR || conf_keys[i].type == T_HOSTPORT ||
		    conf_keys[i].type == T_DNS || conf_keys[i].type == T_ACMECHAL)
			free(*(char **)((char *)c + conf_keys[i].offset));
		if (conf_keys[i].type == T_STRLIST ||
		    conf_keys[i].type == T_MILTERS ||
		    conf_keys[i].type == T_CIDRS) {
			struct conf_strlist *l = (void *)((char *)c +
			    conf_keys[i].offset);
			for (int j = 0; j < l->n; j++)
				free(l->v[j]);
		}
	}
	free(c->path);
	free(c->dir);
	free(c);
	*cp = NULL;
}
