/*
 * serve - `tem serve` (see serve.h).
 *
 * Trust: starts as root in production. Order matters: read the config,
 * bind every listener and load the TLS keys while privileged, then drop
 * to run_as before any client byte is read. The main thread then only
 * handles signals and reloads; loop threads serve clients.
 *
 * SIGTERM/SIGINT: stop accepting, sessions say 421 and close, exit 0
 * within 10 s. SIGHUP: reload the config, the certificates and the
 * accounts; new sessions use the new values, changed listeners need a
 * restart (said in the log). Account changes made with the admin
 * commands are live before the command returns: it asks over the control
 * socket (server/control.h) and waits for our answer; accounts.serial is
 * still polled every second for a command that could not ask.
 *
 * storage = postgresql (serve_pg.c): start waits for the database and
 * refuses a schema that is not this binary's; the accounts come from the
 * database and are reloaded on NOTIFY tem_accounts (any node's change),
 * after every re-LISTEN, and by the 1 s timer while a load failed.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme/acme.h"
#include "auth/accounts.h"
#include "auth/counters_shared.h"
#include "auth/resolve.h"
#include "conf/conf.h"
#include "msg/sieve_stage.h"
#include "mta/mta_engine.h"
#include "queue/queue.h"
#include "report/report_run.h"
#include "serve.h"
#include "serve_pg.h"
#include "sieve/sieve_store.h"
#include "version.h"
#include "server/control.h"
#include "server/sdnotify.h"
#include "server/server.h"
#include "server/state.h"
#include "imap/imap_client.h"
#include "http/http_session.h"
#include "http/http_metrics.h"
#include "managesieve/managesieve_session.h"
#include "pop3/pop3_session.h"
#include "smtp/smtp_session.h"
#include "spam/learn.h"
#include "msg/check.h"
#include "msg/deliver_pg.h"
#include "policy/check_auth.h"
#include "policy/dkim_keys.h"
#include "policy/psl.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "store/maildir.h"
#include "tls/tls.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"
#include "pg/pg_conn.h"

/* SIGTERM promises an exit within 10 s: sessions get 8. */
#define SHUTDOWN_GRACE_MS	8000

static struct loop *main_loop;
static uint64_t accounts_serial_seen;
static struct loop_timer *accounts_timer;
static struct control *control;
static char *conf_file;
/* storage = postgresql: the accounts come from the database, a change
 * is heard by NOTIFY (serve_pg.c); a load that failed there (database
 * away) is tried again by the 1 s timer until one succeeds. */
static bool on_pg, accounts_stale;

static enum log_level
level_of(const char *name)
{
	if (strcmp(name, "debug") == 0)
		return LOG_DEBUG;
	if (strcmp(name, "warning") == 0)
		return LOG_WARN;
	if (strcmp(name, "error") == 0)
		return LOG_ERROR;
	return LOG_INFO;
}

/* Loads the accounts and makes them current; one log line says which
 * serial and why (start, poll, control, hup). */
static int
load_accounts(const struct conf *c, const char *why)
{
	char *err = NULL;
	struct acct_snapshot *s = on_pg ? acct_snapshot_load_pg(&err) :
	    acct_snapshot_load(c->data_dir, &err);

	accounts_stale = s == NULL;
	if (s == NULL) {
		/* the same failure again (the 1 s poll while descriptors are
		 * exhausted, say) is said once a minute, not every second */
		static char *last_err;
		static time_t last_said;
		time_t now = time(NULL);
		const char *e = err ? err : "?";

		if (last_err == NULL || strcmp(last_err, e) != 0 ||
		    now - last_said >= 60) {
			log_error("- server accounts-load-failed error=\"%s\"",
			    e);
			free(last_err);
			last_err = xstrdup(e);
			last_said = now;
		}
		free(err);
		return -1;
	}
	accounts_serial_seen = acct_snapshot_serial(s);
	server_state_set_accounts(s);
	log_info("- server accounts-loaded serial=%llu by=%s",
	    (unsigned long long)accounts_serial_seen, why);
	return 0;
}

/* The control socket's "reload accounts WANT": a no-op when a snapshot
 * of that serial is already current (several commands in a row), else a
 * load; server_state_set_accounts() has returned before the answer goes out,
 * so every look-up on any thread from then on sees the change. */
static int
control_reload(uint64_t want, uint64_t *live_r)
{
	struct server_state *st = server_state_get();
	int r = 0;

	/* on PostgreSQL only a serial above ours needs a load (the NOTIFY
	 * may be on its way); there is no accounts.serial to compare */
	if ((want > accounts_serial_seen || (!on_pg &&
	    accounts_serial_read(st->conf->data_dir) != accounts_serial_seen)) &&
	    load_accounts(st->conf, "control") < 0)
		r = -1;
	server_state_unref(&st);
	if (r < 0)
		return -1;
	*live_r = accounts_serial_seen;
	return 0;
}

static struct timespec dkim_mtime_seen;

/* Reads the DKIM signing keys when data_dir/dkim changed (keygen while
 * the server runs takes effect within a second, like account changes). */
static void
load_dkim_keys(const struct conf *c, bool force)
{
	char *dir = xasprintf("%s/dkim", c->data_dir), *err = NULL;
	struct dkim_keystore *ks;
	struct stat st;
	struct timespec m = { 0, 0 };

	if (stat(dir, &st) == 0)
		m = st.st_mtim;
	free(dir);
	if (!force && m.tv_sec == dkim_mtime_seen.tv_sec &&
	    m.tv_nsec == dkim_mtime_seen.tv_nsec)
		return;
	dkim_mtime_seen = m;
	if (dkim_keystore_load(c->data_dir, &ks, &err) < 0) {
		log_error("- server dkim-keys-failed error=\"%s\"", err);
		free(err);
		return;
	}
	log_info("- server dkim-keys domains=%zu", dkim_keystore_count(ks));
	server_state_set_dkim(ks);
}

static void
accounts_poll(void *arg)
{
	struct server_state *st = server_state_get();
	struct conf *c = st->conf;

	(void)arg;
	load_dkim_keys(c, false);
	if (on_pg ? accounts_stale :
	    accounts_serial_read(c->data_dir) != accounts_serial_seen)
		load_accounts(c, "poll");
	server_state_unref(&st);
	loop_timer_add(accounts_timer, 1000);
}

/* NOTIFY tem_accounts (serial > 0) or a (re)LISTEN (0: anything may
 * have changed meanwhile), on the main loop. The load blocks this
 * thread for one read-only transaction, as the embedded store's SQLite
 * read does; no session lives on this loop. */
static void
accounts_notified(uint64_t serial)
{
	struct server_state *st;

	if (serial != 0 && serial <= accounts_serial_seen && !accounts_stale)
		return;
	st = server_state_get();
	load_accounts(st->conf, serial ? "notify" : "resync");
	server_state_unref(&st);
}

static bool
listeners_equal(const struct conf *a, const struct conf *b)
{
	const struct conf_listen_list *la[] = { &a->smtp_listen,
	    &a->submission_listen, &a->submissions_listen, &a->imap_listen,
	    &a->imaps_listen, &a->pop3_listen, &a->pop3s_listen,
	    &a->managesieve_listen, &a->http_listen, &a->https_listen };
	const struct conf_listen_list *lb[] = { &b->smtp_listen,
	    &b->submission_listen, &b->submissions_listen, &b->imap_listen,
	    &b->imaps_listen, &b->pop3_listen, &b->pop3s_listen,
	    &b->managesieve_listen, &b->http_listen, &b->https_listen };

	for (size_t i = 0; i < sizeof(la) / sizeof(la[0]); i++)
		if (memcmp(la[i], lb[i], sizeof(*la[i])) != 0)
			return false;
	return true;
}

static void
on_hup(int signo, void *arg)
{
	struct server_state *old = server_state_get();
	struct conf *c = NULL;
	struct tls_server *tls;
	char *err = NULL;

	(void)signo;
	(void)arg;
	sdnotify_reloading();
	if (conf_load(conf_file, false, &c, &err) < 0 ||
	    sieve_stage_configure(c->sieve_before, &err) < 0) {
		log_error("- server reload-failed error=\"%s\"", err);
		free(err);
		conf_free(&c);
		server_state_unref(&old);
		sdnotify_ready();	/* still serving, with the old config */
		return;
	}
	if (!listeners_equal(old->conf, c) ||
	    strcmp(old->conf->data_dir, c->data_dir))
		log_warn("- server reload listeners or data_dir changed: "
		    "restart tem to apply");
	server_state_unref(&old);	/* sessions may still hold it */
	log_set_level(level_of(c->log_level));
	tls = tls_server_new(c, &err);
	if (tls == NULL) {
		log_error("- server tls-reload-failed error=\"%s\"", err);
		free(err);
	} else
		tls_set_current(tls);
	server_state_set_conf(c);	/* c lives while a bundle has it */
	acme_wake();		/* the new acme_names, checked now */
	queue_configure(c->queue_retry_base, c->queue_lifetime);
	load_accounts(c, "hup");
	load_dkim_keys(c, true);
	server_state_set_psl(psl_load(NULL));
	log_info("- server reloaded config=%s", c->path);
	sdnotify_ready();
}

static void
on_term(int signo, void *arg)
{
	(void)arg;
	log_info("- server stopping signal=%s", strsignal(signo));
	sdnotify_stopping();
	loop_break(main_loop);
}

static int
bind_all(const struct conf *c)
{
	const struct { enum service svc; const struct conf_listen_list *l; }
	    ls[] = {
		{ SVC_SMTP, &c->smtp_listen },
		{ SVC_SUBMISSION, &c->submission_listen },
		{ SVC_SUBMISSIONS, &c->submissions_listen },
		{ SVC_IMAP, &c->imap_listen },
		{ SVC_IMAPS, &c->imaps_listen },
		{ SVC_POP3, &c->pop3_listen },
		{ SVC_POP3S, &c->pop3s_listen },
		{ SVC_MANAGESIEVE, &c->managesieve_listen },
		{ SVC_HTTP, &c->http_listen },
		{ SVC_HTTPS, &c->https_listen },
	};
	char *err = NULL;
	int n = 0;

	for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
		for (int j = 0; j < ls[i].l->n; j++) {
			if (server_bind(ls[i].svc, ls[i].l->l[j].host,
			    ls[i].l->l[j].port, &err) < 0) {
				log_error("- server %s", err);
				free(err);
				return -1;
			}
			log_info("- server listen service=%s addr=%s port=%d",
			    service_name(ls[i].svc), ls[i].l->l[j].host,
			    ls[i].l->l[j].port);
			n++;
		}
	if (n == 0)
		log_warn("- server no listeners configured");
	return 0;
}

static void
chown_tree(const char *path, uid_t uid, gid_t gid)
{
	/* Only the top folders we make; deeper files are made by the
	 * server itself after the drop, or by the admin commands, which
	 * chown what they create. */
	if (chown(path, uid, gid) < 0 && errno != ENOENT)
		log_warn("- server chown path=%s error=\"%s\"", path,
		    strerror(errno));
}

static int
drop_privileges(const struct conf *c)
{
	struct passwd *pw;
	char *p;

	if (getuid() != 0 || c->run_as == NULL || c->run_as[0] == '\0')
		return 0;
	pw = getpwnam(c->run_as);
	if (pw == NULL) {
		log_error("- server run_as user '%s' does not exist", c->run_as);
		return -1;
	}
	chown_tree(c->data_dir, pw->pw_uid, pw->pw_gid);
	p = xasprintf("%s/tls", c->data_dir);
	chown_tree(p, pw->pw_uid, pw->pw_gid);
	free(p);
	p = xasprintf("%s/mail", c->data_dir);
	chown_tree(p, pw->pw_uid, pw->pw_gid);
	free(p);
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_error("- server cannot switch to user %s: %s", c->run_as,
		    strerror(errno));
		return -1;
	}
	log_info("- server running as user=%s uid=%d", c->run_as,
	    (int)pw->pw_uid);
	return 0;
}

/* Takes c: it becomes the running state's config (server/state.h). */
int
serve_main(struct conf *c)
{
	struct tls_server *tls;
	struct loop_signal *sterm, *sint, *shup;
	char *err = NULL, *mail;

	xmalloc_init();		/* before any thread */
	log_init(level_of(c->log_level));
	conf_file = xstrdup(c->path);
	signal(SIGPIPE, SIG_IGN);
	on_pg = c->storage == CONF_STORAGE_POSTGRESQL;
	/* waits while the database is away; refuses a wrong schema */
	if (on_pg && serve_pg_open(c) < 0)
		return 1;
	sieve_store_setup(c);	/* before threads */
	deliver_pg_setup(c);
	if (mkdir(c->data_dir, 0750) < 0 && errno != EEXIST)
		log_fatal("cannot create data_dir %s: %s", c->data_dir,
		    strerror(errno));
	mail = xasprintf("%s/mail", c->data_dir);
	if (mkdir(mail, 0750) < 0 && errno != EEXIST)
		log_fatal("cannot create %s: %s", mail, strerror(errno));
	free(mail);
	mbox_setup(c);		/* the mail store's backend, before threads */
	loop_global_init();
	server_init(c, c->worker_threads);
	server_set_accept(SVC_SMTP, smtp_accept);
	server_set_accept(SVC_SUBMISSION, smtp_accept);
	server_set_accept(SVC_SUBMISSIONS, smtp_accept);
	server_set_accept(SVC_IMAP, imap_accept);
	server_set_accept(SVC_IMAPS, imap_accept);
	server_set_accept(SVC_POP3, pop3_accept);
	server_set_accept(SVC_POP3S, pop3_accept);
	server_set_accept(SVC_MANAGESIEVE, ms_accept);
	server_set_accept(SVC_HTTP, http_accept);
	server_set_accept(SVC_HTTPS, http_accept);
	http_routes_builtin();
	http_metrics_init();	/* before the committers time anything */
	/* the checks stage, in this order (msg/check.h) */
	msg_check_register(&policy_check_auth);
	msg_check_register(&policy_check_sign);
	sieve_stage_set_sealer(policy_arc_seal_redirect);
	if (sieve_stage_configure(c->sieve_before, &err) < 0)
		log_fatal("sieve_before: %s", err);
	acme_init(c);		/* its http-01 route, before loops run */
	if (bind_all(c) < 0)
		return 1;
	tls = tls_server_new(c, &err);
	if (tls == NULL)
		log_fatal("tls: %s", err);
	tls_set_current(tls);
	while (load_accounts(c, "start") < 0) {
		if (!on_pg)
			return 1;
		usleep(SERVE_PG_RETRY_MS * 1000);	/* away again */
	}
	server_state_set_psl(psl_load(NULL));
	if (drop_privileges(c) < 0)
		return 1;

	load_dkim_keys(c, true);	/* after the drop: files belong to run_as */
	/* Workers mostly wait on the disk (fsync, SQLite, file reads):
	 * more of them than cores keeps both cores busy (bench/imap found
	 * two workers to be the limit under a mixed IMAP load). */
	worker_pool_start(8);
	if (on_pg)
		counters_shared_start();
	maildir_committer_start(c->hostname);
	if (queue_open(c, &err) < 0)	/* files, or the database's */
		log_fatal("queue: %s", err);
	if (mta_engine_start(&err) < 0)
		log_fatal("delivery: %s", err);
	if (report_start(c, &err) < 0) {	/* mail goes on without them */
		log_error("- report start-failed error=\"%s\"", err);
		free(err);
		err = NULL;
	}
	main_loop = loop_new();
	sterm = loop_signal_new(main_loop, SIGTERM, on_term, NULL);
	sint = loop_signal_new(main_loop, SIGINT, on_term, NULL);
	shup = loop_signal_new(main_loop, SIGHUP, on_hup, NULL);
	accounts_timer = loop_timer_new(main_loop, accounts_poll, NULL);
	loop_timer_add(accounts_timer, 1000);
	if (on_pg && serve_pg_listen(c, main_loop, accounts_notified) < 0)
		return 1;
	/* after queue_init: its lock says no other server uses data_dir */
	control = control_start(main_loop, c->data_dir, control_reload);
	control_set_report(control, report_run_now);
	server_start();
	acme_start(c);
	log_info("- server started version=%s hostname=%s pid=%d", TEM_VERSION,
	    c->hostname, (int)getpid());
	sdnotify_watchdog_start(main_loop);
	sdnotify_ready();	/* bound, dropped, accepting */

	loop_run(main_loop);

	sdnotify_watchdog_stop();
	control_stop(&control);
	serve_pg_stop();
	acme_stop();
	server_stop(SHUTDOWN_GRACE_MS);
	report_stop();		/* before the queue: a run may still submit */
	mta_engine_stop();
	queue_shutdown();
	maildir_committer_stop();
	worker_pool_stop();	/* sessions' last jobs (closing views) */
	counters_shared_stop();
	sieve_stage_shutdown();
	spam_learn_stop();	/* after the last IMAP command */
	mbox_shutdown();
	mbox_acl_shutdown();
	http_metrics_free();
	loop_timer_free(&accounts_timer);
	loop_signal_free(&sterm);
	loop_signal_free(&sint);
	loop_signal_free(&shup);
	loop_free(&main_loop);
	tls_set_current(NULL);
	server_state_clear();	/* c with it, unless something still holds it */
	free(conf_file);
	if (on_pg)
		pg_conn_cleanup();	/* the main thread's connection */
	log_info("- server stopped");
	return 0;
}
