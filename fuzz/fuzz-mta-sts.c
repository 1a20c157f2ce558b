/*
 * fuzz-mta-sts - the MTA-STS policy parser (RFC 8461 3.2), the
 * "_mta-sts" TXT record (3.1) and the TLS-RPT record (RFC 8460 3), all
 * three on each input, as bytes from a web server or DNS. Checks: a
 * parsed policy has a known mode, max_age within a year, 1..100 mx
 * patterns (0 only for mode none) each ["*."]domain in lower case that
 * matches a host built from it; a refused one holds nothing; an id is
 * 1..32 letters and digits; kept report URIs are mailto: or https:.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/mta_sts_policy.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_policy(const char *s, size_t size)
{
	struct mta_sts_policy p;
	const char *err = NULL;
	char host[300];

	if (mta_sts_policy_parse(s, size, &p, &err) < 0) {
		TEM_ASSERT(err != NULL && p.n_mx == 0 && p.mx[0] == NULL);
		return;
	}
	TEM_ASSERT(p.mode <= MTA_STS_ENFORCE);
	TEM_ASSERT(p.max_age <= MTA_STS_MAX_AGE_MAX);
	TEM_ASSERT(p.n_mx <= MTA_STS_MX_MAX);
	TEM_ASSERT(p.n_mx > 0 || p.mode == MTA_STS_NONE);
	for (size_t i = 0; i < p.n_mx; i++) {
		const char *mx = p.mx[i];

		for (const char *c = mx; *c != '\0'; c++)
			TEM_ASSERT(!(*c >= 'A' && *c <= 'Z'));
		if (mx[0] == '*')
			snprintf(host, sizeof(host), "x%s.", mx + 1);
		else
			snprintf(host, sizeof(host), "%s", mx);
		TEM_ASSERT(mta_sts_policy_mx_ok(&p, host));
		TEM_ASSERT(!mta_sts_mx_match(mx, "") &&
		    mx[0] != '.' && strstr(mx, "..") == NULL);
	}
	mta_sts_policy_clear(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *err = NULL;
	char id[MTA_STS_ID_MAX + 1];
	struct tlsrpt_record r;

	fuzz_policy(s, size);
	if (mta_sts_txt_parse(s, size, id, &err) == 0) {
		size_t n = strlen(id);

		TEM_ASSERT(n >= 1 && n <= MTA_STS_ID_MAX);
		TEM_ASSERT(strspn(id, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n);
	} else {
		TEM_ASSERT(err != NULL);
	}
	if (tlsrpt_record_parse(s, size, &r, &err) == 0) {
		TEM_ASSERT(r.n_rua >= 1 && r.n_rua <= TLSRPT_RUA_MAX);
		for (size_t i = 0; i < r.n_rua; i++)
			TEM_ASSERT(strncasecmp(r.rua[i], "mailto:", 7) == 0 ||
			    strncasecmp(r.rua[i], "https:", 6) == 0);
		tlsrpt_record_clear(&r);
	} else {
		TEM_ASSERT(r.n_rua == 0);
	}
	return 0;
}
