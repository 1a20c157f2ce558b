/*
 * managesieve_cmds - the script commands of RFC 5804 (HAVESPACE,
 * PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT,
 * DELETESCRIPT, RENAMESCRIPT) on the logged-in user's store.
 *
 * Trust: names and scripts are untrusted; the store checks names
 * (RFC 5804 1.6) and compiles a script before it keeps it. Every store
 * call and compile blocks, so each command is one worker job (the
 * session busy meanwhile); the answer is written on the loop thread.
 * Response codes: NONEXISTENT, ACTIVE, ALREADYEXISTS, QUOTA/MAXSIZE,
 * QUOTA/MAXSCRIPTS, TRYLATER (a disk error, logged). A compile error is
 * NO "line N: message", as Pigeonhole words it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "managesieve/managesieve_session.h"
#include "msg/sieve_stage.h"
#include "server/state.h"
#include "sieve/sieve.h"
#include "sieve/sieve_store.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

struct ms_job {
	struct ms_session	*c;
	enum ms_verb		 verb;
	char			*data_dir;
	char			*user;
	struct ms_command	 cmd;		/* taken from the parser */

	int			 ret;		/* 0 or -1 with err */
	int			 err;
	struct sieve_error	 serr;		/* compile error */
	char			**names;	/* LISTSCRIPTS */
	size_t			 n;
	char			*active;
	char			*text;		/* GETSCRIPT */
	size_t			 len;
};

/* HAVESPACE: would a script of that name and size be taken? */
static void
job_havespace(struct ms_job *j)
{
	const char *name = j->cmd.args[0].s;
	bool exists = false;

	if (!sieve_store_name_ok(name)) {
		j->ret = -1;
		j->err = EINVAL;
		return;
	}
	if (j->cmd.args[1].num > SIEVE_STORE_SIZE_MAX) {
		j->ret = -1;
		j->err = EFBIG;
		return;
	}
	if ((j->ret = sieve_store_list(j->data_dir, j->user, &j->names,
	    &j->n, &j->active)) < 0) {
		j->err = errno;
		return;
	}
	for (size_t i = 0; i < j->n; i++)
		exists |= strcmp(j->names[i], name) == 0;
	if (!exists && j->n >= SIEVE_STORE_SCRIPTS_MAX) {
		j->ret = -1;
		j->err = EDQUOT;
	}
}

static void
job_checkscript(struct ms_job *j)
{
	struct sieve_script *sc = sieve_compile(j->cmd.args[0].s,
	    j->cmd.args[0].len, NULL, &j->serr);

	j->ret = sc == NULL ? -1 : 0;
	j->err = EINVAL;
	sieve_script_free(&sc);
}

static void
ms_job_work(void *arg)
{
	struct ms_job *j = arg;
	const struct ms_arg *a = j->cmd.args;

	j->ret = 0;
	switch (j->verb) {
	case MS_HAVESPACE:
		job_havespace(j);
		return;
	case MS_CHECKSCRIPT:
		job_checkscript(j);
		return;
	case MS_PUTSCRIPT:
		j->ret = sieve_store_put(j->data_dir, j->user, a[0].s, a[1].s,
		    a[1].len, &j->serr);
		break;
	case MS_LISTSCRIPTS:
		j->ret = sieve_store_list(j->data_dir, j->user, &j->names,
		    &j->n, &j->active);
		break;
	case MS_SETACTIVE:
		j->ret = sieve_store_activate(j->data_dir, j->user, a[0].s);
		break;
	case MS_GETSCRIPT:
		j->text = sieve_store_get(j->data_dir, j->user, a[0].s,
		    &j->len);
		j->ret = j->text == NULL ? -1 : 0;
		break;
	case MS_DELETESCRIPT:
		j->ret = sieve_store_delete(j->data_dir, j->user, a[0].s);
		break;
	case MS_RENAMESCRIPT:
		j->ret = sieve_store_rename(j->data_dir, j->user, a[0].s,
		    a[1].s);
		break;
	default:
		j->ret = -1;
		errno = ENOSYS;
		break;
	}
	j->err = j->ret < 0 ? errno : 0;
	/* delivery sees a changed script at once, not within the stage's
	 * SIEVE_STAGE_FRESH_MS (the compiled script it remembers) */
	if (j->ret == 0 && (j->verb == MS_PUTSCRIPT ||
	    j->verb == MS_SETACTIVE || j->verb == MS_DELETESCRIPT ||
	    j->verb == MS_RENAMESCRIPT))
		sieve_stage_forget(j->user);
}

/* The NO for a failed job: its response code and text. */
static void
ms_job_failed(struct ms_session *c, struct ms_job *j)
{
	char text[300];

	if (j->err == EINVAL && (j->verb == MS_PUTSCRIPT ||
	    j->verb == MS_CHECKSCRIPT) && j->serr.msg[0] != '\0') {
		snprintf(text, sizeof(text), "line %d: %s", j->serr.line,
		    j->serr.msg);
		ms_reply(c, "NO", NULL, text);
		return;
	}
	switch (j->err) {
	case EINVAL:
	case ENAMETOOLONG:
		ms_reply(c, "NO", NULL, "Invalid script name.");
		return;
	case ENOENT:
		ms_reply(c, "NO", "NONEXISTENT", "There is no script by that "
		    "name.");
		return;
	case EBUSY:
		ms_reply(c, "NO", "ACTIVE", "The script is active: deactivate "
		    "it first.");
		return;
	case EEXIST:
		ms_reply(c, "NO", "ALREADYEXISTS", "A script by that name "
		    "exists already.");
		return;
	case EFBIG:
		snprintf(text, sizeof(text), "Script too big (max %d octets).",
		    SIEVE_STORE_SIZE_MAX);
		ms_reply(c, "NO", "QUOTA/MAXSIZE", text);
		return;
	case EDQUOT:
		snprintf(text, sizeof(text), "Too many scripts (max %d).",
		    SIEVE_STORE_SCRIPTS_MAX);
		ms_reply(c, "NO", "QUOTA/MAXSCRIPTS", text);
		return;
	default:
		log_error("%s managesieve %s-failed user=%s error=\"%s\"",
		    c->base.id, ms_verb_name(j->verb), c->user,
		    strerror(j->err));
		ms_reply(c, "NO", "TRYLATER", "Script storage unavailable, "
		    "try later.");
		return;
	}
}

static void
ms_listscripts(struct ms_session *c, struct ms_job *j)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < j->n; i++) {
		ms_put_string(&b, j->names[i], strlen(j->names[i]));
		if (j->active != NULL && strcmp(j->active, j->names[i]) == 0)
			buf_puts(&b, " ACTIVE");
		buf_puts(&b, "\r\n");
	}
	ms_send_buf(c, &b);
	buf_free(&b);
	ms_reply(c, "OK", NULL, "Listscripts completed.");
}

static void
ms_getscript(struct ms_session *c, struct ms_job *j)
{
	struct buf b;

	/* always a literal: a script has line ends */
	buf_init(&b, 0);
	buf_printf(&b, "{%zu}\r\n", j->len);
	buf_append(&b, j->text, j->len);
	buf_puts(&b, "\r\n");
	ms_send_buf(c, &b);
	buf_free(&b);
	ms_reply(c, "OK", NULL, "Getscript completed.");
}

/* The changes are logged, one line each. */
static void
ms_job_log(struct ms_session *c, struct ms_job *j)
{
	const struct ms_arg *a = j->cmd.args;

	switch (j->verb) {
	case MS_PUTSCRIPT:
		log_info("%s managesieve putscript user=%s name=\"%.128s\" "
		    "size=%zu", c->base.id, c->user, a[0].s, a[1].len);
		break;
	case MS_SETACTIVE:
		log_info("%s managesieve setactive user=%s name=\"%.128s\"",
		    c->base.id, c->user, a[0].s);
		break;
	case MS_DELETESCRIPT:
		log_info("%s managesieve deletescript user=%s name=\"%.128s\"",
		    c->base.id, c->user, a[0].s);
		break;
	case MS_RENAMESCRIPT:
		log_info("%s managesieve renamescript user=%s name=\"%.128s\" "
		    "new=\"%.128s\"", c->base.id, c->user, a[0].s, a[1].s);
		break;
	default:
		break;
	}
}

static void
ms_job_done(void *arg)
{
	struct ms_job *j = arg;
	struct ms_session *c = j->c;

	if (!ms_job_end(c))
		goto out;
	if (j->ret < 0)
		ms_job_failed(c, j);
	else if (j->verb == MS_LISTSCRIPTS)
		ms_listscripts(c, j);
	else if (j->verb == MS_GETSCRIPT)
		ms_getscript(c, j);
	else {
		ms_job_log(c, j);
		ms_reply(c, "OK", NULL, j->verb == MS_CHECKSCRIPT ?
		    "Script is valid." : j->verb == MS_HAVESPACE ?
		    "Putscript would succeed." : "Done.");
	}
	ms_done(c);
out:
	ms_command_free(&j->cmd);
	sieve_store_names_free(&j->names, j->n);
	free(j->active);
	free(j->text);
	free(j->data_dir);
	free(j->user);
	free(j);
}

void
ms_cmd_script(struct ms_session *c, struct ms_command *cmd)
{
	struct ms_job *j = xmalloc(sizeof(*j));

	j->c = c;
	j->verb = cmd->verb;
	j->data_dir = xstrdup(c->conf->data_dir);
	j->user = xstrdup(c->user);
	j->cmd = *cmd;			/* the job owns the strings now */
	memset(cmd, 0, sizeof(*cmd));
	ms_job_start(c);
	worker_submit(server_thread_loop(c->base.thread), ms_job_work,
	    ms_job_done, j);
}
