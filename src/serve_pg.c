/*
 * serve_pg - `tem serve` on PostgreSQL (see serve_pg.h): the start-up
 * wait for the database and its schema check, and the tem_accounts
 * listener.
 *
 * Trust: the DSN is the administrator's; notification payloads come from
 * the database, which any of its clients may NOTIFY: parsed as untrusted
 * (a bad one only causes a reload).
 *
 * Why wait at start instead of exiting: the nodes of a cluster and their
 * database are often started together (a reboot, a compose file); a node
 * that exited would need its supervisor to retry. Waiting also keeps
 * the listening sockets bound, so clients queue in the backlog and are
 * served as soon as the database answers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "pg/pg_admin.h"
#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "serve_pg.h"
#include "util/log.h"
#include "util/xmalloc.h"

static struct pg_listen *listener;
static void (*accounts_changed)(uint64_t serial);

int
serve_pg_open(const struct conf *c)
{
	struct pg_admin_status st;
	time_t said = 0;
	char *err = NULL;
	int tries = 0;

	pg_conn_setup(c->postgresql_dsn);
	while (pg_admin_status(c->postgresql_dsn, &st, &err) < 0) {
		time_t now = time(NULL);

		/* a DSN that is wrong for good is said once a minute too:
		 * the log shows why the node does not serve */
		if (tries++ == 0 || now - said >= 60) {
			log_error("- server database-unavailable tries=%d "
			    "error=\"%s\"", tries, err);
			said = now;
		}
		XFREE(&err);
		usleep(SERVE_PG_RETRY_MS * 1000);
	}
	if (tries > 0)
		log_info("- server database-available tries=%d", tries);
	free(st.server);
	if (st.version == st.latest)
		return 0;
	if (st.version == 0)
		log_error("- server database-refused reason=\"not initialised: "
		    "run tem db init\"");
	else if (st.version > st.latest)
		log_error("- server database-refused reason=\"schema version "
		    "%d is newer than this tem knows (%d)\"", st.version,
		    st.latest);
	else
		log_error("- server database-refused reason=\"schema version "
		    "%d is older than this tem's (%d): run tem db upgrade\"",
		    st.version, st.latest);
	return -1;
}

static void
on_notify(void *arg, const char *channel, const char *payload)
{
	char *end;
	unsigned long long v;

	(void)arg;
	(void)channel;
	errno = 0;
	v = strtoull(payload, &end, 10);
	if (errno != 0 || end == payload || *end != '\0')
		v = 0;
	accounts_changed(v);
}

static void
on_resync(void *arg, const char *channel)
{
	(void)arg;
	(void)channel;
	accounts_changed(0);
}

int
serve_pg_listen(const struct conf *c, struct loop *loop,
    void (*changed)(uint64_t serial))
{
	char *err = NULL;

	accounts_changed = changed;
	listener = pg_listen_start(c->postgresql_dsn, &err);
	if (listener == NULL ||
	    pg_listen_add(listener, "tem_accounts", loop, on_notify,
	    on_resync, NULL, &err) < 0) {
		log_error("- server listen-failed error=\"%s\"", err);
		free(err);
		pg_listen_free(&listener);
		return -1;
	}
	return 0;
}

void
serve_pg_stop(void)
{
	if (listener != NULL)
		pg_listen_free(&listener);
}
