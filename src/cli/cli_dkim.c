/*
 * cli_dkim - `tem dkim keygen` and `tem dns-records` (see cli_dkim.h).
 *
 * Trust: run by the administrator (usually root) from a shell. The domain
 * is checked against the accounts (it must be local) and as a DNS name;
 * key files are made by dkim_keys.c (0600, owned by run_as). Private keys
 * are never printed, only the public half as a DNS record.
 * Callers: main.c's command dispatch.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/accounts.h"
#include "cli/cli_commands.h"
#include "cli/cli_dkim.h"
#include "cli/cli_records.h"
#include "conf/conf.h"
#include "policy/dkim.h"
#include "policy/dkim_keys.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define EXIT_USAGE 2

/* The canonical (lowercase) name of DOMAIN if it is one of ours, else
 * NULL after printing the error; *status_r is the exit status then. */
static char *
local_domain(const struct conf *c, const char *domain, int *status_r)
{
	struct accounts *a = NULL;
	char *err = NULL, *d;
	int r;

	if ((d = accounts_domain_canon(domain, &err)) == NULL) {
		*status_r = cli_fail(1, err);
		return NULL;
	}
	if (accounts_open_conf(c, &a, &err) < 0) {
		free(d);
		*status_r = cli_fail(1, err);
		return NULL;
	}
	r = accounts_domain_exists(a, d, &err);
	accounts_close(&a);
	if (r > 0)
		return d;
	*status_r = r < 0 ? cli_fail(1, err) : cli_fail(1, xasprintf("domain %s is "
	    "not local (add it with: tem domain add %s)", d, d));
	free(d);
	return NULL;
}

/* ---- dkim keygen ------------------------------------------------------ */

struct keygen_args {
	const char		*domain;
	const char		*selector;
	enum dkim_key_type	 type;
};

/* argv[2..]: DOMAIN [SELECTOR] with --type X / --type=X anywhere. */
static int
keygen_parse(int argc, char **argv, struct keygen_args *ka)
{
	const char *pos[2] = { NULL, NULL };
	int npos = 0;

	ka->type = DKIM_KEY_RSA;
	for (int i = 2; i < argc; i++) {
		const char *t = NULL;

		if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
			t = argv[++i];
		else if (strncmp(argv[i], "--type=", 7) == 0)
			t = argv[i] + 7;
		else if (argv[i][0] == '-' || npos == 2)
			return cli_fail(EXIT_USAGE, xasprintf("usage: tem dkim keygen "
			    "DOMAIN [SELECTOR] [--type rsa|ed25519]"));
		else
			pos[npos++] = argv[i];
		if (t != NULL && dkim_key_type_parse(t, &ka->type) < 0)
			return cli_fail(EXIT_USAGE, xasprintf("unknown key type '%s' "
			    "(rsa or ed25519)", t));
	}
	if (npos == 0)
		return cli_fail(EXIT_USAGE, xasprintf("usage: tem dkim keygen DOMAIN "
		    "[SELECTOR] [--type rsa|ed25519]"));
	ka->domain = pos[0];
	ka->selector = pos[1];
	return 0;
}

static int
keygen(const struct conf *c, int argc, char **argv)
{
	struct keygen_args ka;
	struct dkim_key *k = NULL;
	struct buf line;
	char *d, *sel, *err = NULL;
	int r;

	if ((r = keygen_parse(argc, argv, &ka)) != 0)
		return r;
	if ((d = local_domain(c, ka.domain, &r)) == NULL)
		return r;
	sel = ka.selector != NULL ? xstrdup(ka.selector) :
	    dkim_keys_default_selector(c->data_dir, d, ka.type, time(NULL));
	r = dkim_keys_create(c->data_dir, c->run_as, d, sel, ka.type, &k, &err);
	free(sel);
	free(d);
	if (r < 0)
		return cli_fail(1, err);
	buf_init(&line, 0);
	r = dkim_key_zone_line(k, &line);
	dkim_key_free(&k);
	if (r == 0)
		printf("%s\n", buf_cstr(&line));
	buf_free(&line);
	if (r < 0 || fflush(stdout) != 0)
		return cli_fail(1, xstrdup("cannot print the record"));
	return 0;
}

int
cli_dkim(const struct conf *c, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, "dkim");
		return 0;
	}
	if (argc < 2)
		return cli_fail(EXIT_USAGE, xstrdup("missing dkim command (see tem "
		    "dkim --help)"));
	if (strcmp(argv[1], "keygen") != 0)
		return cli_fail(EXIT_USAGE, xasprintf("unknown dkim command '%s' "
		    "(see tem dkim --help)", argv[1]));
	return keygen(c, argc, argv);
}

/* ---- dns-records ------------------------------------------------------ */

/* " ip4:A", " ip6:A" for an address literal, else " a:HOST". */
static void
spf_host(struct buf *b, const char *host, size_t len)
{
	unsigned char tmp[16];
	char *h = xstrndup(host, len);

	if (inet_pton(AF_INET, h, tmp) == 1)
		buf_printf(b, " ip4:%s", h);
	else if (inet_pton(AF_INET6, h, tmp) == 1)
		buf_printf(b, " ip6:%s", h);
	else if (len > 0)
		buf_printf(b, " a:%s", h);
	free(h);
}

/* The host of relay_host ("host", "host:port", "[host]:port"). */
static void
spf_relay(struct buf *b, const char *spec)
{
	const char *colon = strrchr(spec, ':');

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close != NULL)
			spf_host(b, spec + 1, (size_t)(close - spec - 1));
	} else if (colon != NULL && strchr(spec, ':') == colon) {
		spf_host(b, spec, (size_t)(colon - spec));
	} else {
		spf_host(b, spec, strlen(spec));
	}
}

/* v=spf1 mx, plus where mail leaves from when that is not the MX. */
static void
put_spf(const struct conf *c, const char *d, struct buf *out)
{
	buf_printf(out, "%s. IN TXT \"v=spf1 mx", d);
	if (c->outbound_bind_address != NULL && c->outbound_bind_address[0])
		spf_host(out, c->outbound_bind_address,
		    strlen(c->outbound_bind_address));
	if (c->relay_host != NULL && c->relay_host[0] != '\0')
		spf_relay(out, c->relay_host);
	buf_puts(out, " -all\"\n");
}

/* Every key's record, newest first; a key file that cannot be used
 * fails the command (the administrator must see it). */
static int
put_dkim(const struct conf *c, const char *d, struct buf *out)
{
	struct dkim_keylist l;
	struct buf bad;
	char *err = NULL;
	int r = 0;

	buf_init(&bad, 0);
	if (dkim_keys_list(c->data_dir, d, &l, &bad, &err) < 0) {
		buf_free(&bad);
		return cli_fail(1, err);
	}
	if (bad.len > 0) {
		for (size_t i = 0; i + 1 < bad.len; i++)
			if (bad.data[i] == '\n')
				bad.data[i] = ' ';
		bad.data[bad.len - 1] = '\0';
		r = cli_fail(1, xasprintf("unusable DKIM key file: %s", bad.data));
	}
	for (size_t i = 0; i < l.n && r == 0; i++) {
		if (dkim_key_zone_line(l.key[i], out) < 0)
			r = cli_fail(1, xstrdup("cannot encode a public key"));
		buf_putc(out, '\n');
	}
	if (l.n == 0 && r == 0)
		buf_printf(out, "; no DKIM key yet: tem dkim keygen %s\n", d);
	buf_free(&bad);
	dkim_keylist_free(&l);
	return r;
}

int
cli_dns_records(const struct conf *c, int argc, char **argv)
{
	struct buf out;
	char *d;
	int r = 0;

	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, "dns-records");
		return 0;
	}
	if (argc != 2)
		return cli_fail(EXIT_USAGE, xstrdup("usage: tem dns-records DOMAIN"));
	if ((d = local_domain(c, argv[1], &r)) == NULL)
		return r;
	buf_init(&out, 0);
	buf_printf(&out, "%s. IN MX 10 %s.\n", d, c->hostname);
	put_spf(c, d, &out);
	r = put_dkim(c, d, &out);
	buf_printf(&out, "_dmarc.%s. IN TXT \"v=DMARC1; p=quarantine; "
	    "adkim=s; aspf=s\"\n", d);
	records_services(c, d, &out);
	if (r == 0 && (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0))
		r = cli_fail(1, xstrdup("cannot print the records"));
	buf_free(&out);
	free(d);
	return r;
}
