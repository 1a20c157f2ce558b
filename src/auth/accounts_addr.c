/*
 * accounts_addr - syntax and canonical form of account addresses and
 * domain names (see accounts_addr.h).
 *
 * Trust: input is the administrator's command line, but the results become
 * directory names under data_dir/mail, so the checks are strict: LDH
 * domains, dot-atom local parts of ASCII atext or valid UTF-8, no '/',
 * RFC 5321 lengths. Callers: accounts.c, cli_accounts.c.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts_addr.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A dot-atom of atext and UTF-8 (RFC 6531 atext); NULL or the problem. */
static const char *
localpart_problem(const char *lp, bool local, bool *ascii_r)
{
	const unsigned char *p = (const unsigned char *)lp;
	size_t len = strlen(lp);

	*ascii_r = true;
	if (len == 0)
		return "empty local part";
	if (len > ACCOUNTS_LOCALPART_MAX)
		return "local part longer than 64 octets";
	if (lp[0] == '.' || lp[len - 1] == '.' || strstr(lp, "..") != NULL)
		return "misplaced '.' in local part";
	while (*p != '\0') {
		size_t n = 1;

		if (*p >= 0x80) {
			uint32_t cp;

			n = utf8_decode((const char *)p, len - (size_t)(p -
			    (const unsigned char *)lp), &cp);
			if (n == 0)
				return "local part is not valid UTF-8";
			*ascii_r = false;
		} else if (*p != '.' && !is_atext(*p)) {
			return "unsupported character in local part";
		} else if (local && *p == '/') {
			return "'/' not allowed in a local address";
		}
		p += n;
	}
	return NULL;
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

void
accounts_localpart_fold(char *lp)
{
	for (const char *p = lp; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return;		/* UTF-8: stored as given */
	ascii_lower(lp);
}

char *
accounts_domain_canon(const char *domain, char **error_r)
{
	char *d = xstrdup(domain);
	size_t len = strlen(d), label = 0;

	if (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	ascii_lower(d);
	if (len == 0 || len > ACCOUNTS_DOMAIN_MAX)
		goto bad;
	for (size_t i = 0; i <= len; i++) {
		char c = d[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				goto bad;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && label > 0)) {
			label++;
		} else {
			goto bad;
		}
	}
	return d;
bad:
	free(d);
	*error_r = xasprintf("invalid domain name '%s'", domain);
	return NULL;
}

int
accounts_address_parse(const char *address, bool local, char **localpart_r,
    char **domain_r, char **error_r)
{
	const char *at = strrchr(address, '@');
	const char *problem;
	char *lp, *dom, *err = NULL;
	bool ascii;

	/* + 1: the domain may end in a dot, dropped below. */
	if (at == NULL || strlen(address) > ACCOUNTS_ADDRESS_MAX + 1) {
		*error_r = xasprintf("invalid address '%s': expected "
		    "localpart@domain", address);
		return -1;
	}
	lp = xstrndup(address, (size_t)(at - address));
	problem = localpart_problem(lp, local, &ascii);
	if (problem != NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address,
		    problem);
		free(lp);
		return -1;
	}
	if ((dom = accounts_domain_canon(at + 1, &err)) == NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address, err);
		free(err);
		free(lp);
		return -1;
	}
	if (local && ascii)
		ascii_lower(lp);	/* == accounts_localpart_fold */
	*localpart_r = lp;
	*domain_r = dom;
	return 0;
}

char *
accounts_mailbox_path(const char *data_dir, const char *domain,
    const char *localpart)
{
	return xasprintf("%s/mail/%s/%s", data_dir, domain, localpart);
}
