/*
 * fuzz-milter - libFuzzer target for what the milter client reads from a
 * filter process:
 *   - the input as the byte stream a filter sends, decoded reply after
 *     reply by milter_get_reply() as the client does: once with all of it
 *     at hand, once arriving in pieces of sizes taken from the input into
 *     a buffer the decoded packets are consumed from; both must see the
 *     same replies and stop at the same error;
 *   - every SMFIR_REPLYCODE text, and the input itself, through
 *     milter_replycode_parse();
 *   - OPTNEG replies' macro lists through milter_optneg_symlist().
 *
 * Contracts checked beyond "no crash, no leak, no UB": a decoded reply
 * takes 5..MILTER_PKT_MAX+4 octets, its strings end inside its packet,
 * fields a code does not use stay empty, an error leaves a reason and
 * consumes nothing; a parsed reply code is 400..599, its status is of the
 * code's class and its text holds no control character but TAB and CRLF
 * between lines; its canonical form (milter_replycode_format) parses
 * again to the same code, status and text (when no '%' is in it).
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter/milter_proto.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define MAX_REPLIES	4096

/* s is a NUL-terminated string inside [pkt, end). */
static void
check_str(const char *s, const char *pkt, const char *end)
{
	CHECK(s >= pkt && s < end);
	CHECK(memchr(s, '\0', (size_t)(end - s)) != NULL);
}

/* The canonical form of a parsed reply parses again to the same parts
   (unless its text holds a '%', which a parse would read as an escape). */
static void
check_format(int code, const struct buf *st, const struct buf *msg)
{
	struct buf out, st2, msg2;
	int code2 = -1;

	buf_init(&out, 0);
	buf_init(&st2, 0);
	buf_init(&msg2, 0);
	milter_replycode_format(code, buf_cstr(st), buf_cstr(msg), &out);
	CHECK(strlen(buf_cstr(&out)) == out.len);
	CHECK(out.len >= 4 && out.data[0] == '0' + code / 100);
	if (memchr(buf_cstr(msg), '%', msg->len) == NULL) {
		CHECK(milter_replycode_parse(buf_cstr(&out), &code2, &st2,
		    &msg2) == 0);
		CHECK(code2 == code && strcmp(buf_cstr(&st2), buf_cstr(st))
		    == 0 && strcmp(buf_cstr(&msg2), buf_cstr(msg)) == 0);
	}
	buf_free(&out);
	buf_free(&st2);
	buf_free(&msg2);
}

static void
check_replycode(const char *text)
{
	struct buf st, msg;
	int code = -1;

	buf_init(&st, 0);
	buf_init(&msg, 0);
	if (milter_replycode_parse(text, &code, &st, &msg) == 0) {
		CHECK(code >= 400 && code <= 599);
		CHECK(st.len == 0 || (st.len >= 5 && st.len <= 9 &&
		    st.data[0] == '0' + code / 100 && st.data[1] == '.'));
		for (size_t i = 0; i < msg.len; i++) {
			unsigned char c = (unsigned char)msg.data[i];

			if (c == '\r') {
				CHECK(i + 1 < msg.len && msg.data[i + 1] == '\n');
				i++;
				continue;
			}
			CHECK(c >= 0x20 || c == '\t');
			CHECK(c != 0x7f);
		}
		check_format(code, &st, &msg);
	} else {
		CHECK(code == 0 && st.len == 0 && msg.len == 0);
	}
	buf_free(&st);
	buf_free(&msg);
}

static void
check_reply(const struct milter_reply *r, const char *pkt, size_t used)
{
	const char *end = pkt + used;
	const char *p, *list;
	size_t len;
	uint32_t stage;
	int rc;

	CHECK(used >= 5 && used <= (size_t)MILTER_PKT_MAX + 4);
	CHECK(r->code == pkt[4]);
	CHECK(milter_reply_name(r->code)[0] != '?');
	if (r->str1 != NULL)
		check_str(r->str1, pkt + 5, end);
	if (r->str2 != NULL)
		check_str(r->str2, r->str1, end);
	if (r->data != NULL)
		CHECK(r->data >= pkt + 5 && r->data + r->len == end);
	switch (r->code) {
	case SMFIR_REPLYCODE:
		CHECK(r->str1 != NULL);
		check_replycode(r->str1);
		break;
	case SMFIR_OPTNEG:
		p = r->data;
		len = r->len;
		while ((rc = milter_optneg_symlist(&p, &len, &stage, &list))
		    == 1)
			check_str(list, r->data, end);
		CHECK(rc == 0 && len == 0);
		break;
	case SMFIR_ADDHEADER: case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
		CHECK(r->str1 != NULL && r->str1[0] != '\0' && r->str2 != NULL);
		break;
	case SMFIR_ACCEPT: case SMFIR_CONTINUE: case SMFIR_REJECT:
		CHECK(used == 5 && r->str1 == NULL && r->data == NULL);
		break;
	default:
		break;
	}
}

/* One decoded reply or the error, as both passes record it. */
struct seen {
	char	 code;
	size_t	 used;
};

/* All input at hand: the replies until an error or the end. */
static size_t
pass_whole(const char *s, size_t len, struct seen *out, int *last)
{
	struct milter_reply r;
	const char *err;
	size_t off = 0, n = 0, used;
	int rc;

	while (n < MAX_REPLIES) {
		used = 0;
		rc = milter_get_reply(s + off, len - off, &used, &r, &err);
		*last = rc;
		if (rc != 1) {
			CHECK(used == 0 && r.code == 0 && r.str1 == NULL);
			CHECK(rc == 0 ? err == NULL : err != NULL);
			break;
		}
		CHECK(err == NULL && used <= len - off);
		check_reply(&r, s + off, used);
		out[n].code = r.code;
		out[n++].used = used;
		off += used;
	}
	return n;
}

/* The same stream in pieces, as the client's input buffer sees it. */
static void
pass_pieces(const char *s, size_t len, const struct seen *want, size_t nwant,
    int last)
{
	struct buf in;
	struct milter_reply r;
	const char *err;
	size_t off = 0, n = 0, k = 0, piece, used;
	int rc = 0;

	buf_init(&in, 0);
	while (n < MAX_REPLIES) {
		used = 0;
		rc = milter_get_reply(in.data, in.len, &used, &r, &err);
		if (rc == 1) {
			CHECK(n < nwant && want[n].code == r.code &&
			    want[n].used == used);
			n++;
			buf_consume(&in, used);
			continue;
		}
		if (rc == -1 || off == len)
			break;
		piece = 1 + (unsigned char)s[k++ % len] % 64;
		if (piece > len - off)
			piece = len - off;
		buf_append(&in, s + off, piece);
		off += piece;
	}
	/* an error may show earlier in pieces (a bad code before its
	   packet's end), never later, and never a different reply */
	CHECK(n == nwant || n == MAX_REPLIES);
	if (n < MAX_REPLIES)
		CHECK(rc == last);
	buf_free(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen seen[MAX_REPLIES];
	const char *s = (const char *)data;
	char *text;
	size_t n;
	int last = 0;

	n = pass_whole(s, size, seen, &last);
	if (size > 0)
		pass_pieces(s, size, seen, n, last);
	text = xstrndup(s, size);
	check_replycode(text);
	free(text);
	return 0;
}
