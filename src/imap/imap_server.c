/*
 * imap_server - accepts IMAP connections (imap_listen, imaps_listen).
 *
 * Trust: the first code to see a client; refuses with "* BYE" when its
 * address already holds max_sessions_per_ip IMAP sessions.
 */
#include <stdlib.h>
#include <unistd.h>

#include "imap/imap_client.h"
#include "server/state.h"
#include "util/log.h"
#include "util/xmalloc.h"

void
imap_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc)
{
	struct imap_client *c = xmalloc(sizeof(*c));

	(void)len;
	if (!server_session_add(t, &c->base, svc, sa)) {
		server_refuse(fd, svc,
		    "* BYE Too many connections from your address\r\n");
		free(c);
		return;
	}
	c->conf = c->base.run->conf;
	imap_client_start(c, fd);
}
