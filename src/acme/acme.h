/*
 * acme - certificates by ACME (RFC 8555) for acme_names, kept under
 * data_dir/acme/ and renewed on a thread of their own.
 *
 * Files: data_dir/acme/account.key (the account's EC P-256 key, 0600);
 * one folder per issued certificate, data_dir/acme/cert-MICROSECONDS/ with
 * key.pem (0600) and fullchain.pem (leaf, then intermediates); and
 * data_dir/acme/current naming the folder in use. Each file is written
 * atomically and `current` last, so a crash leaves the old or the new
 * pair, never a mix. The folder in use and the one it replaced are kept;
 * older ones are removed after each order.
 *
 * Schedule: a check at start and every hour; a certificate is renewed
 * 30 days before it expires, or when a third of its lifetime is left if
 * it lives under 90 days; a failure is retried after 1 min, doubling up
 * to 6 h, one log line each. A new certificate becomes the TLS context
 * of every listener at once (tls_set_current), without a restart.
 *
 * Test knobs (environment, seconds): TEM_ACME_CHECK_SECONDS (the check
 * period), TEM_ACME_RETRY_SECONDS (the first back-off) and
 * TEM_ACME_RENEW_BEFORE_SECONDS (renew when less than this is left).
 */
#ifndef TEM_ACME_H
#define TEM_ACME_H

#include <stdbool.h>

struct conf;

/* At start, before loops run and before the privilege drop: registers
 * the http-01 route. Nothing when acme_names is empty. */
void acme_init(const struct conf *c);
/* After the privilege drop: starts the thread (files belong to run_as). */
void acme_start(const struct conf *c);
/* Checks now (SIGHUP: acme_names may have changed; a back-off wait ends). */
void acme_wake(void);
/* Stops and joins the thread (an order in flight is abandoned). */
void acme_stop(void);

/* When ACME is on and has a certificate: its paths (malloc'd) and true. */
bool acme_cert_paths(const struct conf *c, char **cert_r, char **key_r);

/* How long before expiry a certificate living lifetime seconds is
 * renewed: 30 days, or a third of its life under 90 days. */
long acme_renew_before(long lifetime);

#endif
