/*
 * imap_compress - COMPRESS=DEFLATE (RFC 4978): the command, and the
 * per-command budget of inflated input. The deflate layer itself is
 * util/io.c's (io_start_deflate): it sits between TLS and the parser, so
 * IDLE, literals and APPEND streaming see plain bytes as before.
 *
 * Trust: untrusted client, logged in. Limit: a command may inflate to at
 * most IMAP_INFLATE_CMD_MAX bytes plus the sizes of the APPEND messages
 * it announces (each granted when its literal starts); beyond that the
 * session ends with one "compress-error reason=limit" log line (the
 * session core's). The parser's own limits (line, literal, command size)
 * still apply to what was inflated.
 */
#include <strings.h>

#include "imap/imap_client.h"
#include "util/io.h"
#include "util/log.h"

/*
 * A command's line and literals (the parser's command_max, 1 MiB) plus
 * what may be inflated ahead of the parser: up to IO_INPUT_MAX waiting,
 * once before a message literal's size is seen and once after.
 */
#define IMAP_INFLATE_CMD_MAX	(1024 * 1024 + 2 * IO_INPUT_MAX)

enum imap_cmd_result
cmd_compress(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (cmd->count != 1 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(cmd->args[0].str, "DEFLATE") != 0) {
		imap_cmd_bad(cmd, "Unknown compression mechanism");
		return IMAP_CMD_DONE;
	}
	if (io_deflating(c->base.io)) {
		imap_cmd_no(cmd, "[COMPRESSIONACTIVE] DEFLATE is already on");
		return IMAP_CMD_DONE;
	}
	c->deflate_on_end = true;	/* after the OK, which goes plain */
	imap_cmd_ok(cmd, "DEFLATE active");
	return IMAP_CMD_DONE;
}

static void
imap_compress_start(struct imap_client *c)
{
	c->deflate_on_end = false;
	io_start_deflate(c->base.io);
	io_inflate_budget(c->base.io, IMAP_INFLATE_CMD_MAX);
	log_info("%s imap compress deflate", c->base.id);
}

void
imap_compress_command_done(struct imap_client *c)
{
	if (c->deflate_on_end)
		imap_compress_start(c);
	else
		io_inflate_budget(c->base.io, IMAP_INFLATE_CMD_MAX);
}

void
imap_compress_literal(struct imap_client *c, const struct imap_literal *lit)
{
	if (lit->offset == 0)
		io_inflate_allow(c->base.io, lit->size);
}
