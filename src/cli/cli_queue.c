/*
 * cli_queue - `tem queue list|flush|del` (see cli_queue.h).
 *
 * Trust: run by the administrator from a shell, while the server may be
 * running. Reply texts in the queue come from remote servers, so every
 * string printed is escaped: a hostile reply cannot send escape sequences
 * to the admin's terminal. Callers: main.c's command dispatch.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_commands.h"
#include "cli/cli_queue.h"
#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "queue/queue.h"
#include "queue/queue_pg.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define EXIT_USAGE 2

/* ---- output ------------------------------------------------------------ */

/* Appends s with controls, non-UTF-8 bytes and (quoted) '"' and '\'
 * escaped. */
static void
put_escaped(struct buf *b, const char *s, bool quoted)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), l;
	uint32_t cp;

	for (size_t i = 0; i < n; i += l) {
		l = 1;
		if (p[i] >= 0x80 && (l = utf8_decode(s + i, n - i, &cp)) > 0 &&
		    !utf8_is_control(cp))
			buf_append(b, p + i, l);
		else if (p[i] < 0x20 || p[i] >= 0x7f) {
			buf_printf(b, "\\x%02x", p[i]);
			l = 1;
		} else {
			if (quoted && (p[i] == '"' || p[i] == '\\'))
				buf_putc(b, '\\');
			buf_putc(b, (char)p[i]);
		}
	}
}

/* "45s", "12m", "3h05m", "2d04h". */
static void
put_duration(struct buf *b, time_t d)
{
	if (d < 0)
		d = 0;
	if (d < 60)
		buf_printf(b, "%llds", (long long)d);
	else if (d < 3600)
		buf_printf(b, "%lldm", (long long)(d / 60));
	else if (d < 86400)
		buf_printf(b, "%lldh%02lldm", (long long)(d / 3600),
		    (long long)(d % 3600 / 60));
	else
		buf_printf(b, "%lldd%02lldh", (long long)(d / 86400),
		    (long long)(d % 86400 / 3600));
}

static void
format_msg(struct buf *b, const struct queue_msg *m, time_t now)
{
	const char *error = NULL;
	time_t next = 0;
	bool first = true;

	buf_printf(b, "%s age=", m->id);
	put_duration(b, now - m->arrival);
	buf_puts(b, " from=<");
	put_escaped(b, m->sender ? m->sender : "", false);
	buf_puts(b, "> to=");
	for (int i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];
		if (r->state != QUEUE_STATE_PENDING)
			continue;
		buf_puts(b, first ? "<" : ",<");
		put_escaped(b, r->address, false);
		buf_putc(b, '>');
		first = false;
		if (next == 0 || r->next_try < next)
			next = r->next_try;
		if (error == NULL)
			error = r->last_error;
	}
	buf_puts(b, " next=");
	if (first)
		buf_putc(b, '-');
	else if (next <= now)
		buf_puts(b, "now");
	else {
		buf_putc(b, '+');
		put_duration(b, next - now);
	}
	if (m->requiretls)		/* RFC 8689 */
		buf_puts(b, " requiretls");
	if (m->tls_optional)
		buf_puts(b, " tls-required=no");
	if (error) {
		buf_puts(b, " error=\"");
		put_escaped(b, error, true);
		buf_putc(b, '"');
	}
	buf_putc(b, '\n');
}

/* ---- commands ------------------------------------------------------------ */

/* The backend's admin operations: the queue files, or the database with
 * storage = postgresql (one connection, closed when done). */
static bool
on_pg(const struct conf *c)
{
	if (c->storage != CONF_STORAGE_POSTGRESQL)
		return false;
	pg_conn_setup(c->postgresql_dsn);
	return true;
}

static int
admin_list(const struct conf *c, struct queue_listing **list, size_t *n,
    char **err)
{
	int r;

	if (!on_pg(c))
		return queue_admin_list(c->data_dir, list, n, err);
	r = queue_pg_admin_list(list, n, err);
	pg_conn_cleanup();
	return r;
}

static int
admin_change(const struct conf *c, const char *del_id, char **err)
{
	int r;

	if (!on_pg(c))
		return del_id ? queue_admin_del(c->data_dir, del_id, err) :
		    queue_admin_flush(c->data_dir, err);
	r = del_id ? queue_pg_admin_del(del_id, err) :
	    queue_pg_admin_flush(err);
	pg_conn_cleanup();
	return r;
}

static int
queue_list(const struct conf *c)
{
	struct queue_listing *list;
	struct buf b;
	size_t n;
	char *err = NULL;
	time_t now = time(NULL);

	if (admin_list(c, &list, &n, &err) < 0)
		return cli_fail(1, err);
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (list[i].damaged) {
			buf_printf(&b, "%s damaged=\"", list[i].msg.id);
			put_escaped(&b, list[i].damaged, true);
			buf_puts(&b, "\"\n");
		} else
			format_msg(&b, &list[i].msg, now);
	}
	queue_listing_free(list, n);
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	buf_free(&b);
	return fflush(stdout) == 0 ? 0 : cli_fail(1, xasprintf("cannot write "
	    "the list: %s", strerror(errno)));
}

/* The exit status of a usage error for subcommand sub, or -1 when the
 * argument count fits. */
static int
check_args(int argc, char **argv)
{
	const char *sub = argv[1];

	if (strcmp(sub, "list") == 0 || strcmp(sub, "flush") == 0)
		return argc == 2 ? -1 : cli_fail(EXIT_USAGE,
		    xasprintf("usage: tem queue %s", sub));
	if (strcmp(sub, "del") == 0)
		return argc == 3 ? -1 : cli_fail(EXIT_USAGE,
		    xstrdup("usage: tem queue del ID"));
	return cli_fail(EXIT_USAGE, xasprintf("unknown queue command '%s' (see "
	    "tem queue --help)", sub));
}

int
cli_queue(const struct conf *c, int argc, char **argv)
{
	char *err = NULL;
	int r;

	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, "queue");
		return 0;
	}
	if (argc < 2)
		return cli_fail(EXIT_USAGE, xstrdup("missing queue command (see "
		    "tem queue --help)"));
	if ((r = check_args(argc, argv)) >= 0)
		return r;
	if (c == NULL)
		return cli_fail(1, xstrdup("no configuration loaded"));
	if (strcmp(argv[1], "list") == 0)
		return queue_list(c);
	r = admin_change(c, strcmp(argv[1], "flush") == 0 ? NULL : argv[2],
	    &err);
	return r == 0 ? 0 : cli_fail(1, err);
}
