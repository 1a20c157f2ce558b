/*
 * cli_setup - `tem setup DOMAIN`: a first configuration for a real host.
 *
 *   tem [-c FILE] setup DOMAIN [--hostname HOST] [--data-dir DIR]
 *                              [--run-as USER] [--force]
 *
 * Writes FILE (default /etc/tem/tem.conf; 0640, group run_as when root):
 * hostname (from the system unless --hostname), data_dir, run_as, every
 * listener on its standard port on all IPv4 and IPv6 addresses (25, 587,
 * 465, 143, 993, 110, 995, 4190; http 80 and https 443 with ACME for the
 * host and DOMAIN's mail., autoconfig. and mta-sts. names when this tem
 * knows those keys). Refuses to replace a config that has any setting
 * unless --force (the commented file the package installs has none).
 * Then adds DOMAIN, the account postmaster@DOMAIN with a generated
 * password printed once, an RSA DKIM key (what is already there is kept),
 * and prints the DNS records to publish (`tem dns-records DOMAIN`).
 * Returns the exit status: 0, 1 on failure, 2 on a usage error, each
 * failure one "tem: ..." line on stderr.
 */
#ifndef TEM_CLI_SETUP_H
#define TEM_CLI_SETUP_H

/* file: the -c argument or NULL (the default path). */
int cli_setup(const char *file, int argc, char **argv);

#endif
