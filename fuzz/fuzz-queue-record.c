/*
 * fuzz-queue-record - libFuzzer target for the queue file parser
 * (src/queue/queue_record.c): a damaged file must be detected, never
 * crash, and never be half-read.
 *
 * Input: the bytes of a queue file. Each input is checked as it is and
 * again with every record's CRC recomputed (so that mutated payloads
 * reach the decoders rather than stop at the checksum). Checks:
 *   - queue_file_parse() returns 0 or -1 cleanly; on 0, valid_end lies
 *     within the input and the log is torn exactly when bytes follow it;
 *   - the head parsed the way queue_store.c reads it (a small first read,
 *     then exactly the bytes asked for) ends as the whole-buffer parse
 *     does, with the same offsets;
 *   - a parsed message re-encoded (envelope, the same content, one state
 *     record with every recipient) parses back to the same fields;
 *   - the input read as the state log of a fixed 3-recipient message
 *     never crashes and never leaves a final state for PENDING.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_int.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
same_msg(const struct queue_msg *a, const struct queue_msg *b)
{
	CHECK(strcmp(a->id, b->id) == 0 && a->arrival == b->arrival);
	CHECK(str_eq(a->sender, b->sender) && str_eq(a->envid, b->envid));
	CHECK(a->ret == b->ret && a->smtputf8 == b->smtputf8 &&
	    a->eightbit == b->eightbit && a->nrcpt == b->nrcpt);
	for (int i = 0; i < a->nrcpt; i++) {
		const struct queue_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
		CHECK(str_eq(x->address, y->address));
		CHECK(str_eq(x->orcpt, y->orcpt) && x->notify == y->notify);
		CHECK(x->state == y->state && x->flags == y->flags);
		CHECK(x->attempts == y->attempts && x->next_try == y->next_try);
		CHECK(str_eq(x->last_error, y->last_error));
	}
}

/* The head read as the loader does: first a few bytes, then what the
 * parser asks for, never past the end. Same result as all at once. */
static void
check_incremental_head(const uint8_t *data, size_t size)
{
	struct queue_file_info whole, inc;
	size_t need = 0, have = size < 16 ? size : 16;
	const char *why;
	int rw = queue_parse_head(data, size, NULL, &whole, &need, &why), r;

	while ((r = queue_parse_head(data, have, NULL, &inc, &need,
	    &why)) == 0 && need <= size) {
		CHECK(need > have);
		have = need;
	}
	CHECK(r == rw);
	if (r == 1)
		CHECK(inc.content_off == whole.content_off &&
		    inc.content_len == whole.content_len &&
		    inc.tail_off == whole.tail_off);
}

static void
check_roundtrip(const struct queue_msg *m, const uint8_t *content,
    size_t clen)
{
	struct queue_msg back;
	struct queue_file_info info;
	const char *why;
	struct buf b;
	int *idx;

	if (queue_msg_check(m, clen) < 0)
		return;
	idx = xcalloc((size_t)m->nrcpt, sizeof(*idx));
	for (int i = 0; i < m->nrcpt; i++)
		idx[i] = i;
	buf_init(&b, 0);
	buf_append(&b, QUEUE_MAGIC, QUEUE_MAGIC_LEN);
	queue_envelope_encode(&b, m);
	queue_rec_append(&b, QUEUE_REC_CONTENT, content, clen);
	queue_state_encode(&b, m, idx, m->nrcpt);
	CHECK(queue_file_parse((const uint8_t *)b.data, b.len, &back, &info,
	    &why) == 0);
	CHECK(!info.torn && info.nstate == 1 && info.valid_end == b.len);
	same_msg(m, &back);
	queue_msg_clear(&back);
	buf_free(&b);
	free(idx);
}

static void
check_tail_only(const uint8_t *data, size_t size)
{
	static const char *const addrs[] = { "a@x.test", "b@x.test",
	    "c@x.test" };
	struct queue_rcpt r[3];
	struct queue_msg m;
	struct queue_file_info info;

	memset(&m, 0, sizeof(m));
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++)
		r[i].address = xstrdup(addrs[i]);
	r[1].state = QUEUE_STATE_DELIVERED;
	m.rcpts = r;
	m.nrcpt = 3;
	memset(&info, 0, sizeof(info));
	info.tail_off = 100;
	queue_parse_tail(data, size, &m, &info);
	CHECK(info.valid_end >= 100 && info.valid_end <= 100 + size);
	CHECK(r[1].state == QUEUE_STATE_DELIVERED);	/* final stays final */
	for (int i = 0; i < 3; i++) {
		CHECK(r[i].state >= QUEUE_STATE_PENDING &&
		    r[i].state <= QUEUE_STATE_FAILED);
		free(r[i].address);
		free(r[i].last_error);
	}
}

/* Recomputes the CRC of every record that fits, so that mutations of
 * payloads reach the decoders instead of stopping at the checksum. */
static void
fix_crcs(uint8_t *p, size_t size)
{
	size_t off = QUEUE_MAGIC_LEN;

	while (size >= off + QUEUE_REC_HDR) {
		uint32_t len = (uint32_t)p[off + 1] << 24 |
		    (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 8 |
		    p[off + 4], crc;
		if (size - off - QUEUE_REC_HDR < (size_t)len + QUEUE_REC_TRAILER)
			break;
		crc = queue_rec_crc(p + off, p + off + QUEUE_REC_HDR, len);
		off += QUEUE_REC_HDR + len;
		p[off] = (uint8_t)(crc >> 24);
		p[off + 1] = (uint8_t)(crc >> 16);
		p[off + 2] = (uint8_t)(crc >> 8);
		p[off + 3] = (uint8_t)crc;
		off += QUEUE_REC_TRAILER;
	}
}

static void
check_file(const uint8_t *data, size_t size)
{
	struct queue_msg m;
	struct queue_file_info info;
	const char *why = NULL;

	if (queue_file_parse(data, size, &m, &info, &why) == 0) {
		CHECK(info.valid_end >= info.tail_off &&
		    info.valid_end <= size);
		CHECK(info.torn == (info.valid_end != size));
		CHECK(m.nrcpt >= 1 && m.nrcpt <= QUEUE_RCPT_MAX);
		check_roundtrip(&m, data + info.content_off,
		    (size_t)info.content_len);
		queue_msg_clear(&m);
	} else
		CHECK(why != NULL && m.nrcpt == 0 && m.rcpts == NULL);
	check_incremental_head(data, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = xmemdup(data, size ? size : 1);

	check_file(data, size);
	fix_crcs(fixed, size);
	check_file(fixed, size);
	check_tail_only(data, size);
	free(fixed);
	return 0;
}
