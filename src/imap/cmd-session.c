/*
 * cmd-session - the commands that manage the session itself: CAPABILITY,
 * NOOP, LOGOUT, ID, ENABLE, STARTTLS, and the capability list.
 *
 * Trust: untrusted client; these run on the loop thread (no disk).
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "imap/imap_client.h"
#include "imap/imap_metadata.h"
#include "imap/imap_notify.h"
#include "imap/imap_quota.h"
#include "tls/tls.h"
#include "util/buf.h"

void
imap_client_capabilities(struct imap_client *c, struct buf *out)
{
	bool plain_ok = c->base.tls || c->conf->auth_allow_cleartext;

	buf_puts(out, "IMAP4rev1 IMAP4rev2");
	if (c->state == IMAP_STATE_NOAUTH) {
		buf_puts(out, " SASL-IR LITERAL+ ENABLE ID IDLE");
		if (!c->base.tls && tls_available())
			buf_puts(out, " STARTTLS");
		buf_puts(out, plain_ok ? " AUTH=PLAIN" : " LOGINDISABLED");
		return;
	}
	buf_printf(out, " SASL-IR LITERAL+ ENABLE ID IDLE NAMESPACE UIDPLUS "
	    "MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE "
	    "LIST-EXTENDED LIST-STATUS "
	    "ESEARCH SEARCHRES CONDSTORE QRESYNC STATUS=SIZE "
	    "APPENDLIMIT=%llu SORT SORT=DISPLAY WITHIN THREAD=REFERENCES "
	    "THREAD=ORDEREDSUBJECT BINARY UTF8=ACCEPT ACL RIGHTS=texk "
	    "LIST-MYRIGHTS OBJECTID SAVEDATE", (unsigned long long)
	    c->conf->message_size_limit);
	buf_puts(out, IMAP_QUOTA_CAPS);
	buf_puts(out, IMAP_METADATA_CAPS);
	buf_puts(out, " ESORT CONTEXT=SEARCH CONTEXT=SORT NOTIFY PREVIEW");
	buf_puts(out, " COMPRESS=DEFLATE MULTIAPPEND CATENATE");
}
enum imap_cmd_result
cmd_capability(struct imap_cmd *cmd)
{
	buf_puts(&cmd->out, "* CAPABILITY ");
	imap_client_capabilities(cmd->c, &cmd->out);
	buf_puts(&cmd->out, "\r\n");
	imap_cmd_ok(cmd, "CAPABILITY completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_noop(struct imap_cmd *cmd)
{
	/* NOOP is the poll (RFC 9051 6.1.2): on PostgreSQL other sessions'
	 * changes reach NOTIFY asynchronously, so wait until they have */
	imap_notify_catch_up(cmd->c);
	imap_cmd_ok(cmd, "NOOP completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_logout(struct imap_cmd *cmd)
{
	buf_puts(&cmd->out, "* BYE Logging out\r\n");
	cmd->c->state = IMAP_STATE_LOGOUT;
	cmd->no_updates = true;
	imap_cmd_ok(cmd, "LOGOUT completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_id(struct imap_cmd *cmd)
{
	buf_puts(&cmd->out, "* ID (\"name\" \"tem\")\r\n");
	imap_cmd_ok(cmd, "ID completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_enable(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct buf en;

	buf_init(&en, 0);
	for (unsigned i = 0; i < cmd->count; i++) {
		const char *s = cmd->args[i].str;
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			buf_free(&en);
			imap_cmd_bad(cmd, "Invalid ENABLE arguments");
			return IMAP_CMD_DONE;
		}
		if (strcasecmp(s, "IMAP4rev2") == 0 && !c->rev2) {
			c->rev2 = c->utf8 = true;
			buf_puts(&en, " IMAP4rev2");
		} else if (strcasecmp(s, "CONDSTORE") == 0 && !c->condstore) {
			c->condstore = true;
			buf_puts(&en, " CONDSTORE");
		} else if (strcasecmp(s, "QRESYNC") == 0 && !c->qresync) {
			c->qresync = c->condstore = true;
			buf_puts(&en, " QRESYNC");
		} else if (strcasecmp(s, "UTF8=ACCEPT") == 0 && !c->utf8) {
			c->utf8 = true;
			buf_puts(&en, " UTF8=ACCEPT");
		}
	}
	buf_printf(&cmd->out, "* ENABLED%s\r\n", buf_cstr(&en));
	buf_free(&en);
	imap_cmd_ok(cmd, "ENABLE completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (c->base.tls) {
		imap_cmd_bad(cmd, "TLS is already active");
		return IMAP_CMD_DONE;
	}
	if (!tls_available()) {
		imap_cmd_no(cmd, "TLS not available");
		return IMAP_CMD_DONE;
	}
	/* Anything pipelined after STARTTLS was sent in clear: dropped;
	 * the handshake starts once the OK drained. */
	session_starttls(&c->base);
	imap_cmd_ok(cmd, "Begin TLS negotiation now");
	return IMAP_CMD_DONE;
}
