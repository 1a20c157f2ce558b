/*
 * http_mta_sts - the MTA-STS policy (RFC 8461) and its route.
 *
 * Trust: the request is untrusted (its Host picks the domain, which
 * must be local); the policy comes from the running config.
 * RFC 8461 3.3: the policy is fetched over HTTPS only, so over plain
 * HTTP the path does not exist (404); likewise for a Host that is not
 * mta-sts.DOMAIN of a local domain.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "http/http_int.h"
#include "http/http_mta_sts.h"
#include "server/state.h"

void
mta_sts_policy(const struct conf *c, struct buf *out)
{
	static const char *const modes[] = { "none", "testing", "enforce" };
	unsigned m = c->mta_sts_mode <= CONF_MTA_STS_ENFORCE ?
	    c->mta_sts_mode : CONF_MTA_STS_TESTING;

	buf_printf(out, "version: STSv1\r\nmode: %s\r\nmx: %s\r\n"
	    "max_age: %u\r\n", modes[m], c->hostname,
	    m == CONF_MTA_STS_ENFORCE ? 604800u : 86400u);
}

void
mta_sts_policy_id(const struct conf *c, char id[21])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct buf b;

	buf_init(&b, 0);
	mta_sts_policy(c, &b);
	SHA256((const unsigned char *)b.data, b.len, md);
	buf_free(&b);
	for (int i = 0; i < 10; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
}

static void
mta_sts(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	struct server_state *st;
	const char *domain;

	(void)arg;
	if (!req->tls || strncmp(req->host, "mta-sts.", 8) != 0) {
		http_error_body(resp, 404);
		return;
	}
	domain = req->host + 8;
	st = server_state_get();
	if (st->accounts == NULL ||
	    !acct_is_local_domain(st->accounts, domain))
		http_error_body(resp, 404);
	else
		mta_sts_policy(st->conf, &resp->body);
	server_state_unref(&st);
}

void
http_mta_sts_routes(void)
{
	http_route("/.well-known/mta-sts.txt", HTTP_GET, mta_sts, NULL);
}
