/*
 * cli_records - the DNS records of `tem dns-records` that tell clients
 * and other MTAs where tem's services are: RFC 6186 SRV records, the
 * autoconfig/autodiscover/mta-sts names, the MTA-STS (RFC 8461) and
 * TLS-RPT (RFC 8460) TXT records.
 */
#ifndef TEM_CLI_RECORDS_H
#define TEM_CLI_RECORDS_H

#include "util/buf.h"

struct conf;

/* Appends the records for local domain d (zone lines, one per line). */
void records_services(const struct conf *c, const char *d, struct buf *out);

#endif
