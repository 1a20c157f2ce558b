/*
 * cli_records - the service records of `tem dns-records` (cli_records.h).
 *
 * Trust: reads the administrator's config only.
 */
#include <strings.h>

#include "cli/cli_records.h"
#include "conf/conf.h"
#include "http/http_mta_sts.h"

/* RFC 6186 3: one SRV a service; "." with port 0 says it is not
 * offered (a client then does not try it). */
static void
srv(struct buf *out, const char *svc, const char *d,
    const struct conf_listen_list *l, const char *host)
{
	if (l->n == 0)
		buf_printf(out, "_%s._tcp.%s. IN SRV 0 0 0 .\n", svc, d);
	else
		buf_printf(out, "_%s._tcp.%s. IN SRV 0 1 %d %s.\n", svc, d,
		    l->l[0].port, host);
}

void
records_services(const struct conf *c, const char *d, struct buf *out)
{
	const char *h = c->hostname;
	char id[21];

	/* mail.DOMAIN: the name users type for servers (tem setup puts it
	 * in acme_names, so it must resolve for the order to succeed) */
	if (strncasecmp(h, "mail.", 5) != 0 || strcasecmp(h + 5, d) != 0)
		buf_printf(out, "mail.%s. IN CNAME %s.\n", d, h);
	srv(out, "submissions", d, &c->submissions_listen, h);
	srv(out, "submission", d, &c->submission_listen, h);
	srv(out, "imaps", d, &c->imaps_listen, h);
	srv(out, "imap", d, &c->imap_listen, h);
	srv(out, "pop3s", d, &c->pop3s_listen, h);
	srv(out, "pop3", d, &c->pop3_listen, h);
	if (c->http_listen.n == 0 && c->https_listen.n == 0) {
		buf_puts(out, "; autoconfig, autodiscover, MTA-STS: set "
		    "http_listen and https_listen to serve them\n");
	} else {
		/* the names the clients ask; ACME certifies them too */
		buf_printf(out, "autoconfig.%s. IN CNAME %s.\n", d, h);
		buf_printf(out, "autodiscover.%s. IN CNAME %s.\n", d, h);
		buf_printf(out, "mta-sts.%s. IN CNAME %s.\n", d, h);
	}
	if (c->https_listen.n > 0) {
		buf_printf(out, "_autodiscover._tcp.%s. IN SRV 0 1 %d %s.\n",
		    d, c->https_listen.l[0].port, h);
		/* RFC 8461 3.1: id changes whenever the policy does */
		mta_sts_policy_id(c, id);
		buf_printf(out, "_mta-sts.%s. IN TXT \"v=STSv1; id=%s\"\n", d,
		    id);
	} else
		buf_puts(out, "; MTA-STS: the policy is served over HTTPS "
		    "only: set https_listen\n");
	buf_printf(out, "_smtp._tls.%s. IN TXT \"v=TLSRPTv1; "
	    "rua=mailto:postmaster@%s\"\n", d, d);
}
