/*
 * smtp_server - accepts SMTP connections and starts sessions.
 *
 * Trust: the first code to see a client. Refuses at once (421) when the
 * client's address already holds max_sessions_per_ip sessions.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "smtp/smtp_session.h"
#include "server/state.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"

void
smtp_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc)
{
	struct smtp_session *s = xmalloc(sizeof(*s));

	if (len <= sizeof(s->peer))
		memcpy(&s->peer, sa, len);
	if (!server_session_add(t, &s->base, svc, sa)) {
		server_refuse(fd, svc,
		    "421 4.7.0 Error: too many connections from your address\r\n");
		free(s);
		return;
	}
	s->conf = s->base.run->conf;
	smtp_session_start(s, fd);
}
