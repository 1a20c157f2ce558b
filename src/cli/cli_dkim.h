/*
 * cli_dkim - `tem dkim keygen` and `tem dns-records`: DKIM keys and the
 * DNS records an administrator publishes for a local domain.
 *
 *   tem dkim keygen DOMAIN [SELECTOR] [--type rsa|ed25519]
 *       makes a key (RSA 2048 by default) under data_dir/dkim/DOMAIN/ and
 *       prints its record on one line:
 *       SELECTOR._domainkey.DOMAIN. IN TXT "..." "..."
 *       (strings of at most 255 octets). SELECTOR defaults to
 *       tem-YYYYMM-TYPE (-2, -3... when taken). The running server signs
 *       with a domain's newest key of each type from its next start or
 *       reload (SIGHUP), so there is time to publish the record first.
 *   tem dns-records DOMAIN
 *       prints, one per line: MX, SPF, every DKIM key's TXT (newest
 *       first), DMARC, then the service records (cli_records.h: SRV,
 *       autoconfig names, MTA-STS, TLS-RPT).
 *
 * Each takes the loaded config (NULL for --help only) and its argv
 * (argv[0] "dkim" or "dns-records"). Returns the exit status: 0, 1 when
 * the operation failed, 2 on a usage error, each failure with exactly one
 * "tem: ..." line on stderr. DOMAIN must be a local domain.
 */
#ifndef TEM_CLI_DKIM_H
#define TEM_CLI_DKIM_H

struct conf;

int cli_dkim(const struct conf *c, int argc, char **argv);
int cli_dns_records(const struct conf *c, int argc, char **argv);

#endif
