/*
 * pop3_server - accepts POP3 connections (pop3_listen, pop3s_listen).
 *
 * Trust: the first code to see a client. When its address already holds
 * max_sessions_per_ip sessions of the service, POP3 gets
 * "-ERR [SYS/TEMP] ..." and a close; POP3S just the close (there is no TLS
 * yet to say it in).
 */
#include <stdlib.h>
#include <unistd.h>

#include "pop3/pop3_session.h"
#include "server/state.h"
#include "util/log.h"
#include "util/xmalloc.h"

void
pop3_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc)
{
	struct pop3_session *c = xmalloc(sizeof(*c));

	(void)len;
	if (!server_session_add(t, &c->base, svc, sa)) {
		server_refuse(fd, svc,
		    "-ERR [SYS/TEMP] Too many connections from your address\r\n");
		free(c);
		return;
	}
	c->conf = c->base.run->conf;
	pop3_session_start(c, fd);
}
