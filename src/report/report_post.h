/*
 * report_post - the https: rua of a TLS report (RFC 8460 3): one POST
 * of the gzip'd report, Content-Type application/tlsrpt+gzip, on a
 * thread of its own (a POST may wait REPORT_POST_TIMEOUT on a slow web
 * server; neither a loop nor the shared workers should).
 *
 * The server is verified against the system's certificate authorities
 * plus tls_ca_file; https only, no redirect followed, any 2xx is
 * success. The host's addresses come from the report thread's resolver
 * (CURLOPT_RESOLVE), so tem's DNS is used and no thread waits on
 * getaddrinfo.
 */
#ifndef TEM_REPORT_POST_H
#define TEM_REPORT_POST_H

#include <stdbool.h>
#include <stddef.h>

struct loop;

#define REPORT_POST_TIMEOUT	60	/* seconds, the whole POST */
#define REPORT_POST_URL_MAX	2048

/*
 * The host and port of an https: URL: true with host_r (malloc'd,
 * brackets of an IPv6 literal removed) and *port_r; false when url is
 * not "https://HOST[:PORT]/...".
 */
bool report_url_host(const char *url, char **host_r, unsigned *port_r);

/*
 * POSTs body[0..len) (copied) to url, connecting to the addresses in
 * resolve ("HOST:PORT:ADDR,ADDR", libcurl's form); ca_file may be NULL.
 * done(arg, http status or 0, error text or NULL) runs later on loop l.
 */
void report_post(struct loop *l, const char *url, const char *resolve,
    const char *ca_file, const void *body, size_t len,
    void (*done)(void *arg, long status, const char *error), void *arg);

#endif
