/*
 * milter_proto - the milter protocol codec (see milter_proto.h).
 *
 * Trust: the decoder reads untrusted replies from a filter; every length
 * and string is checked against the packet before use. The encoders take
 * tem's own values. Called by the milter client and fuzz/fuzz-milter.c.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "milter/milter_proto.h"
#include "util/buf.h"

/* (stubs: the full codec follows) */
void
milter_put_optneg(struct buf *out, uint32_t version, uint32_t actions,
    uint32_t protocol)
{
	(void)out; (void)version; (void)actions; (void)protocol;
}

void
milter_put_macros(struct buf *out, char cmd, const char *const *kv, size_t n)
{
	(void)out; (void)cmd; (void)kv; (void)n;
}

void
milter_put_connect(struct buf *out, const char *host,
    const struct sockaddr *sa)
{
	(void)out; (void)host; (void)sa;
}

void
milter_put_helo(struct buf *out, const char *helo)
{
	(void)out; (void)helo;
}

void
milter_put_mail(struct buf *out, const char *const *args, size_t n)
{
	(void)out; (void)args; (void)n;
}

void
milter_put_rcpt(struct buf *out, const char *const *args, size_t n)
{
	(void)out; (void)args; (void)n;
}

void
milter_put_header(struct buf *out, const char *name, const char *value)
{
	(void)out; (void)name; (void)value;
}

void
milter_put_simple(struct buf *out, char cmd)
{
	(void)out; (void)cmd;
}

void
milter_put_body(struct buf *out, const char *p, size_t n)
{
	(void)out; (void)p; (void)n;
}

int
milter_get_reply(const char *p, size_t len, size_t *used,
    struct milter_reply *r, const char **err)
{
	(void)p; (void)len; (void)used;
	memset(r, 0, sizeof(*r));
	*err = "not implemented";
	return -1;
}

int
milter_replycode_parse(const char *text, int *code, struct buf *status,
    struct buf *msg)
{
	(void)text; (void)code; (void)status; (void)msg;
	return -1;
}

const char *
milter_reply_name(char code)
{
	(void)code;
	return "unknown";
}

const char *
milter_cmd_name(char cmd)
{
	(void)cmd;
	return "unknown";
}
