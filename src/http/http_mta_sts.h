/*
 * http_mta_sts - the MTA-STS policy (RFC 8461) tem publishes for its
 * local domains: served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
 * and named by the _mta-sts TXT record's id (tem dns-records).
 */
#ifndef TEM_HTTP_MTA_STS_H
#define TEM_HTTP_MTA_STS_H

#include "util/buf.h"

struct conf;

/* The policy text (RFC 8461 3.2, CRLF lines): version, mode from
 * mta_sts_mode, mx hostname, max_age (1 day testing/none, 7 days
 * enforce). The same for every local domain: tem is each one's MX. */
void mta_sts_policy(const struct conf *c, struct buf *out);

/* The TXT record's id (RFC 8461 3.1, 1-32 alphanumerics): the first 20
 * hex digits of the policy's SHA-256, so it changes with the policy. */
void mta_sts_policy_id(const struct conf *c, char id[21]);

#endif
