/*
 * cmd-metadata - GETMETADATA and SETMETADATA (RFC 5464 METADATA and
 * METADATA-SERVER), and what DELETE and RENAME tell the entries.
 *
 * Entries are the user's own (store/metadata.h): mailbox "" holds the
 * server entries, every other name must be an existing folder. The
 * server entry /shared/admin (RFC 5464 3.2.1.1) is the server's, read
 * only: "mailto:postmaster@" the first local domain. /private
 * and /shared are both kept; with no folder shared between users (no
 * ACL yet) /shared entries are seen by their owner only, and [METADATA
 * NOPRIVATE] is never needed (every mailbox takes private entries).
 *
 * Replies: a value over MDATA_VALUE_MAX (64 KiB) is NO [METADATA MAXSIZE
 * 65536] (the parser says so already for a longer literal, before it is
 * read); past the per-user limits NO [METADATA TOOMANY]; GETMETADATA
 * leaves out values over its MAXSIZE and says OK [METADATA LONGENTRIES
 * n] with the longest; an entry asked for that does not exist is NIL.
 *
 * Trust: runs for an authenticated, untrusted client on a worker thread
 * (SQLite); arguments are parsed by imap_metadata_args.c.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "imap/cmd-mailbox.h"
#include "imap/imap_metadata.h"
#include "server/state.h"
#include "store/mailbox.h"
#include "store/metadata.h"
#include "util/log.h"
#include "util/xmalloc.h"

_Static_assert(MDATA_VALUE_MAX == IMAP_LITERAL_MAX,
    "the parser's METADATA MAXSIZE reply assumes the literal limit");

/* The mailbox of a (GET|SET)METADATA: "" (server) as is, else decoded
 * and existing. NULL after the tagged reply. */
static char *
mailbox_arg(struct imap_cmd *cmd, const char *s, size_t len)
{
	char *name, *err = NULL;
	int r;

	if (len == 0)
		return xstrdup("");
	if ((name = cmd_mbox_lookup(cmd, s, len)) == NULL)
		return NULL;	/* NO [NONEXISTENT]: no such name can exist */
	if ((r = mbox_exists(cmd->c->mu, name, &err)) < 0) {
		free(name);
		cmd_mbox_fail(cmd, r, false, err);
		return NULL;
	}
	return name;
}

/* A store failure as the tagged NO (one log line for disk trouble). */
static void
mdata_fail(struct imap_cmd *cmd, int r, char *err)
{
	if (r == MDATA_ERR_TOOMANY)
		imap_cmd_no(cmd, "[METADATA TOOMANY] %s", err ? err :
		    "Too many entries");
	else {
		log_error("%s imap metadata-failed user=%s error=\"%s\"",
		    cmd->c->base.id, cmd->c->user, err ? err : "?");
		/* the database away (PostgreSQL) is temporary */
		imap_cmd_no(cmd, "[%s] Metadata cannot be read or written "
		    "now", r == MDATA_ERR_UNAVAILABLE ? "UNAVAILABLE" :
		    "SERVERBUG");
	}
	free(err);
}

#define ADMIN_ENTRY	"/shared/admin"

/* Adds the server's /shared/admin to list (kept sorted) when g asks for
 * it, itself or below /shared. */
static void
add_admin(const struct imap_getmetadata *g, struct mdata_entry **list,
    size_t *n)
{
	struct acct_snapshot *s;
	const char *dom;
	bool want = false;
	size_t at = 0;

	for (unsigned i = 0; i < g->n_entries; i++)
		want |= strcmp(g->entries[i], ADMIN_ENTRY) == 0 ||
		    (strcmp(g->entries[i], "/shared") == 0 && g->depth != 0);
	if (!want || (s = server_accounts()) == NULL)
		return;
	if ((dom = acct_first_domain(s)) != NULL) {
		while (at < *n && strcmp((*list)[at].entry, ADMIN_ENTRY) < 0)
			at++;
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		memmove(*list + at + 1, *list + at, (*n - at) * sizeof(**list));
		(*list)[at].entry = xstrdup(ADMIN_ENTRY);
		(*list)[at].value = xasprintf("mailto:postmaster@%s", dom);
		(*list)[at].len = strlen((*list)[at].value);
		(*n)++;
	}
	acct_snapshot_unref(&s);
}

static bool
has_entry(const struct mdata_entry *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].entry, name) == 0)
			return true;
	return false;
}

/* "* METADATA mailbox (entry value ...)": found entries within maxsize,
 * NIL for asked-for ones that do not exist; *longest_r the longest left
 * out (0: none). */
static void
metadata_line(struct imap_cmd *cmd, const char *mailbox,
    const struct imap_getmetadata *g, const struct mdata_entry *list,
    size_t n, size_t *longest_r)
{
	struct buf *out = &cmd->out;
	const char *sp = "";

	*longest_r = 0;
	buf_puts(out, "* METADATA ");
	if (mailbox[0] == '\0')
		buf_puts(out, "\"\"");
	else
		imap_out_mailbox(out, mailbox, cmd->c->utf8);
	buf_puts(out, " (");
	for (size_t i = 0; i < n; i++) {
		if (g->has_maxsize && list[i].len > g->maxsize) {
			if (list[i].len > *longest_r)
				*longest_r = list[i].len;
			continue;
		}
		buf_printf(out, "%s%s ", sp, list[i].entry);
		if (memchr(list[i].value, '\0', list[i].len) != NULL)
			imap_out_literal(out, list[i].value, list[i].len, true);
		else
			imap_out_string(out, list[i].value, list[i].len,
			    cmd->c->utf8);
		sp = " ";
	}
	for (unsigned i = 0; i < g->n_entries; i++) {
		const char *e = g->entries[i];
		if (strcmp(e, "/private") == 0 || strcmp(e, "/shared") == 0 ||
		    has_entry(list, n, e))
			continue;
		/* once, even when asked for twice */
		bool dup = false;
		for (unsigned k = 0; k < i && !dup; k++)
			dup = strcmp(g->entries[k], e) == 0;
		if (!dup) {
			buf_printf(out, "%s%s NIL", sp, e);
			sp = " ";
		}
	}
	buf_puts(out, ")\r\n");
}

enum imap_cmd_result
cmd_getmetadata(struct imap_cmd *cmd)
{
	struct imap_getmetadata g;
	struct mdata *m = NULL;
	struct mdata_entry *list = NULL;
	const char *error;
	char *mailbox, *err = NULL;
	size_t n = 0, longest;
	int r;

	if (imap_args_parse_getmetadata(cmd->args, cmd->count, &g,
	    &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return IMAP_CMD_DONE;
	}
	if ((mailbox = mailbox_arg(cmd, g.mailbox, g.mailbox_len)) == NULL) {
		imap_getmetadata_free(&g);
		return IMAP_CMD_DONE;
	}
	r = mdata_open_user(cmd->c->mu, false, &m, &err);
	if (r == 0 && m != NULL)
		r = mdata_get(m, mailbox, (const char *const *)g.entries,
		    g.n_entries, g.depth, &list, &n, &err);
	mdata_close(&m);
	if (r == 0 && mailbox[0] == '\0')
		add_admin(&g, &list, &n);
	if (r < 0)
		mdata_fail(cmd, r, err);
	else {
		metadata_line(cmd, mailbox, &g, list, n, &longest);
		if (longest > 0)
			imap_cmd_ok(cmd, "[METADATA LONGENTRIES %zu] "
			    "GETMETADATA completed", longest);
		else
			imap_cmd_ok(cmd, "GETMETADATA completed");
	}
	mdata_entries_free(list, n);
	free(mailbox);
	imap_getmetadata_free(&g);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_setmetadata(struct imap_cmd *cmd)
{
	struct imap_setmetadata sm;
	struct mdata_change *ch;
	struct mdata *m = NULL;
	const char *error;
	char *mailbox, *err = NULL;
	int r;

	if (imap_args_parse_setmetadata(cmd->args, cmd->count, &sm,
	    &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return IMAP_CMD_DONE;
	}
	if (sm.longest > MDATA_VALUE_MAX) {
		imap_cmd_no(cmd, "[METADATA MAXSIZE %d] Value too long",
		    MDATA_VALUE_MAX);
		imap_setmetadata_free(&sm);
		return IMAP_CMD_DONE;
	}
	if ((mailbox = mailbox_arg(cmd, sm.mailbox, sm.mailbox_len)) == NULL) {
		imap_setmetadata_free(&sm);
		return IMAP_CMD_DONE;
	}
	for (unsigned i = 0; mailbox[0] == '\0' && i < sm.n_values; i++)
		if (strcmp(sm.values[i].entry, ADMIN_ENTRY) == 0) {
			imap_cmd_no(cmd, "[NOPERM] " ADMIN_ENTRY " is the "
			    "server's");
			free(mailbox);
			imap_setmetadata_free(&sm);
			return IMAP_CMD_DONE;
		}
	ch = xcalloc(sm.n_values, sizeof(*ch));
	for (unsigned i = 0; i < sm.n_values; i++) {
		ch[i].entry = sm.values[i].entry;
		ch[i].value = sm.values[i].value;
		ch[i].len = sm.values[i].len;
	}
	r = mdata_open_user(cmd->c->mu, true, &m, &err);
	if (r == 0)
		r = mdata_set(m, mailbox, ch, sm.n_values, &err);
	mdata_close(&m);
	if (r < 0) {
		mdata_fail(cmd, r, err);
	} else {
		for (unsigned i = 0; i < sm.n_values; i++)	/* NOTIFY */
			mbox_user_metadata_changed(cmd->c->mu, mailbox,
			    sm.values[i].entry);
		imap_cmd_ok(cmd, "SETMETADATA completed");
	}
	free(ch);
	free(mailbox);
	imap_setmetadata_free(&sm);
	return IMAP_CMD_DONE;
}

void
imap_metadata_mailbox_gone(struct imap_cmd *cmd, const char *name,
    const char *renamed_to)
{
	char *err = NULL;
	int r = renamed_to != NULL ?
	    mdata_user_mailbox_renamed(cmd->c->mu, name, renamed_to, &err) :
	    mdata_user_mailbox_deleted(cmd->c->mu, name, &err);

	if (r < 0) {
		log_error("%s imap metadata-failed user=%s cmd=%s "
		    "error=\"%s\"", cmd->c->base.id, cmd->c->user, cmd->name,
		    err ? err : "?");
		free(err);
	}
}
