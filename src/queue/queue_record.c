/*
 * queue_record - the byte format of queue files, I/O-free (queue_int.h).
 *
 * Trust: parses files that a crash, a full disk or an admin's editor may
 * have damaged; every length is checked against the bytes present and a
 * named limit before anything is allocated, and the fuzzer
 * (fuzz/fuzz-queue-record.c) drives every function here. Callers:
 * queue_store.c, the unit test and the fuzzer.
 *
 * A file is
 *   "TEMQ0001"                                        magic and version
 *   record 'E'  envelope                              written once
 *   record 'C'  content bytes                         written once
 *   record 'S'* recipient states                      appended, one per
 *                                                     report
 * and a record is type (1 byte), payload length (4, big-endian), payload,
 * CRC-32 of type+length+payload (4, big-endian): the type/length/end
 * marker framing of Postfix's rec_type.h, with a checksum so that a torn
 * append (power lost mid-write, or zeros where the file system extended
 * the size before the data) is told apart from a record. The head is
 * made durable before the file is renamed into msg/, so only 'S' records
 * can be torn; a torn one ends the log, and everything after it is
 * ignored (queue_store.c truncates it at start).
 *
 * Payload fields: u8, u32 and u64 big-endian; a string is u32 length +
 * bytes (no NUL inside); an optional string is u8 present + string.
 *   E: id, u64 arrival, sender, opt envid, u8 ret, u8 bits (1 SMTPUTF8,
 *      2 8BITMIME, 4 REQUIRETLS, 8 "TLS-Required: No"; the last two
 *      came later, files without them read as before), u32 nrcpt, then per recipient: address, opt orcpt,
 *      u32 notify
 *   S: u32 count, then per entry: u32 index, u8 state, u8 flags,
 *      u32 attempts, u64 next_try, opt text
 * An 'S' entry carries a recipient's whole state, so replaying the log in
 * order leaves the last one; DELIVERED and FAILED are final even if a
 * later entry says otherwise.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "queue/queue_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- CRC-32 -------------------------------------------------------- */

/* The IEEE CRC-32 (as in gzip and PNG), from zlib: its table-sliced code
 * is several times faster than a byte-at-a-time loop, and the content of
 * every queued message goes through it twice. */
uint32_t
queue_crc32(uint32_t crc, const void *p, size_t n)
{
	return (uint32_t)crc32_z(crc, p, n);
}

/* ---- framing ------------------------------------------------------- */

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
queue_rec_header(uint8_t hdr[QUEUE_REC_HDR], int type, uint32_t len)
{
	hdr[0] = (uint8_t)type;
	put_u32(hdr + 1, len);
}

uint32_t
queue_rec_crc(const uint8_t hdr[QUEUE_REC_HDR], const void *payload,
    size_t len)
{
	return queue_crc32(queue_crc32(0, hdr, QUEUE_REC_HDR), payload, len);
}

void
queue_rec_append(struct buf *b, int type, const void *payload, size_t len)
{
	uint8_t hdr[QUEUE_REC_HDR], crc[QUEUE_REC_TRAILER];

	TEM_ASSERT(len <= UINT32_MAX);
	queue_rec_header(hdr, type, (uint32_t)len);
	put_u32(crc, queue_rec_crc(hdr, payload, len));
	buf_append(b, hdr, sizeof(hdr));
	buf_append(b, payload, len);
	buf_append(b, crc, sizeof(crc));
}

/* ---- field writer ---------------------------------------------------- */

static void
w_u8(struct buf *b, unsigned v)
{
	buf_putc(b, (char)(uint8_t)v);
}

static void
w_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4];

	put_u32(p, v);
	buf_append(b, p, 4);
}

static void
w_u64(struct buf *b, uint64_t v)
{
	w_u32(b, (uint32_t)(v >> 32));
	w_u32(b, (uint32_t)v);
}

static void
w_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	w_u32(b, (uint32_t)n);
	buf_append(b, s, n);
}

static void
w_opt(struct buf *b, const char *s)
{
	w_u8(b, s != NULL);
	if (s)
		w_str(b, s);
}

/* ---- field reader ---------------------------------------------------- */

/* Reads fields from p[0..len); any overrun sets bad and yields zeros. */
struct rd {
	const uint8_t	*p;
	size_t		 len, off;
	bool		 bad;
};

static bool
rd_have(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static unsigned
rd_u8(struct rd *r)
{
	if (!rd_have(r, 1))
		return 0;
	return r->p[r->off++];
}

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v;

	if (!rd_have(r, 4))
		return 0;
	v = get_u32(r->p + r->off);
	r->off += 4;
	return v;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

/* A string of at most max bytes without NUL; copied when out is not
 * NULL (else only checked). */
static void
rd_str(struct rd *r, size_t max, char **out)
{
	uint32_t n = rd_u32(r);

	if (out)
		*out = NULL;
	if (n > max || !rd_have(r, n) ||
	    memchr(r->p + r->off, '\0', n) != NULL) {
		r->bad = true;
		return;
	}
	if (out)
		*out = xstrndup((const char *)r->p + r->off, n);
	r->off += n;
}

static void
rd_opt(struct rd *r, size_t max, char **out)
{
	unsigned present = rd_u8(r);

	if (out)
		*out = NULL;
	if (present > 1)
		r->bad = true;
	else if (present)
		rd_str(r, max, out);
}

/* A time stored as u64: must fit a non-negative int64. */
static time_t
rd_time(struct rd *r)
{
	uint64_t v = rd_u64(r);

	if (v > (uint64_t)INT64_MAX) {
		r->bad = true;
		return 0;
	}
	return (time_t)v;
}

/* ---- ids ------------------------------------------------------------- */

bool
queue_id_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[16] == '\0';
}

uint64_t
queue_id_key(const char *id)
{
	uint64_t k = 0;

	for (int i = 0; i < 16; i++)
		k = k << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' :
		    id[i] - 'a' + 10);
	return k;
}

void
queue_key_id(uint64_t key, char id[17])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, key >>= 4)
		id[i] = hex[key & 15];
	id[16] = '\0';
}

/* ---- envelope ---------------------------------------------------------- */

static bool
str_ok(const char *s, bool optional)
{
	return s == NULL ? optional : strlen(s) <= QUEUE_STRING_MAX;
}

int
queue_msg_check(const struct queue_msg *m, size_t content_len)
{
	uint64_t size = 64;

	if (!queue_id_valid(m->id) || m->nrcpt < 1 ||
	    m->nrcpt > QUEUE_RCPT_MAX || m->rcpts == NULL ||
	    m->arrival < 0 || m->ret < 0 || m->ret > QUEUE_RET_HDRS ||
	    content_len > QUEUE_CONTENT_MAX || !str_ok(m->sender, true) ||
	    !str_ok(m->envid, true))
		return -1;
	for (int i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];
		if (!str_ok(r->address, false) || !str_ok(r->orcpt, true) ||
		    r->notify > 15)
			return -1;
		size += 16 + strlen(r->address) +
		    (r->orcpt ? strlen(r->orcpt) : 0);
	}
	return size + 2 * QUEUE_STRING_MAX <= QUEUE_ENVELOPE_MAX ? 0 : -1;
}

void
queue_envelope_encode(struct buf *b, const struct queue_msg *m)
{
	struct buf p;

	buf_init(&p, 0);
	w_str(&p, m->id);
	w_u64(&p, (uint64_t)m->arrival);
	w_str(&p, m->sender ? m->sender : "");
	w_opt(&p, m->envid);
	w_u8(&p, (unsigned)m->ret);
	w_u8(&p, (m->smtputf8 ? 1u : 0u) | (m->eightbit ? 2u : 0u) |
	    (m->requiretls ? 4u : 0u) | (m->tls_optional ? 8u : 0u));
	w_u32(&p, (uint32_t)m->nrcpt);
	for (int i = 0; i < m->nrcpt; i++) {
		w_str(&p, m->rcpts[i].address);
		w_opt(&p, m->rcpts[i].orcpt);
		w_u32(&p, m->rcpts[i].notify);
	}
	queue_rec_append(b, QUEUE_REC_ENVELOPE, p.data, p.len);
	buf_free(&p);
}

/* Decodes an envelope payload into m (all recipients PENDING, due at
 * arrival). 0, or -1 with m left empty. */
static int
envelope_decode(const uint8_t *p, size_t len, struct queue_msg *m)
{
	struct rd r = { p, len, 0, false };
	char *id;
	unsigned bits;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	rd_str(&r, 16, &id);
	if (id == NULL || !queue_id_valid(id)) {
		free(id);
		return -1;
	}
	memcpy(m->id, id, 17);
	free(id);
	m->arrival = rd_time(&r);
	rd_str(&r, QUEUE_STRING_MAX, &m->sender);
	rd_opt(&r, QUEUE_STRING_MAX, &m->envid);
	m->ret = (int)rd_u8(&r);
	bits = rd_u8(&r);
	n = rd_u32(&r);
	if (r.bad || m->ret > QUEUE_RET_HDRS || bits > 15 || n < 1 ||
	    n > QUEUE_RCPT_MAX || n > (len - r.off) / 9)
		goto bad;	/* a recipient takes at least 9 bytes */
	m->smtputf8 = bits & 1;
	m->eightbit = (bits & 2) != 0;
	m->requiretls = (bits & 4) != 0;
	m->tls_optional = (bits & 8) != 0;
	m->rcpts = xcalloc(n, sizeof(*m->rcpts));
	m->nrcpt = (int)n;
	for (uint32_t i = 0; i < n && !r.bad; i++) {
		struct queue_rcpt *q = &m->rcpts[i];
		rd_str(&r, QUEUE_STRING_MAX, &q->address);
		rd_opt(&r, QUEUE_STRING_MAX, &q->orcpt);
		q->notify = rd_u32(&r);
		q->state = QUEUE_STATE_PENDING;
		q->next_try = m->arrival;
		if (q->notify > 15)
			r.bad = true;
	}
	if (r.bad || r.off != len)
		goto bad;
	return 0;
bad:
	queue_msg_clear(m);
	memset(m, 0, sizeof(*m));
	return -1;
}

/* ---- state records --------------------------------------------------- */

static char *
cut_text(const char *s)
{
	size_t n = strlen(s);

	return xstrndup(s, n > QUEUE_STRING_MAX ? QUEUE_STRING_MAX : n);
}

void
queue_state_encode(struct buf *b, const struct queue_msg *m, const int *idx,
    int n)
{
	struct buf p;

	buf_init(&p, 0);
	w_u32(&p, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		const struct queue_rcpt *r = &m->rcpts[idx[i]];
		char *text = r->last_error ? cut_text(r->last_error) : NULL;
		w_u32(&p, (uint32_t)idx[i]);
		w_u8(&p, (unsigned)r->state);
		w_u8(&p, r->flags);
		w_u32(&p, r->attempts);
		w_u64(&p, (uint64_t)(r->next_try < 0 ? 0 : r->next_try));
		w_opt(&p, text);
		free(text);
	}
	queue_rec_append(b, QUEUE_REC_STATE, p.data, p.len);
	buf_free(&p);
}

/* One entry of an 'S' record; text points into the record. */
struct state_entry {
	uint32_t	 idx, attempts;
	unsigned	 state, flags;
	time_t		 next;
	bool		 has_text;
	const uint8_t	*text;
	uint32_t	 text_len;
};

static void
read_entry(struct rd *r, struct state_entry *e)
{
	unsigned present;

	e->idx = rd_u32(r);
	e->state = rd_u8(r);
	e->flags = rd_u8(r);
	e->attempts = rd_u32(r);
	e->next = rd_time(r);
	present = rd_u8(r);
	e->has_text = present == 1;
	e->text = NULL;
	e->text_len = 0;
	if (present > 1)
		r->bad = true;
	if (e->has_text) {
		size_t at = r->off + 4;
		rd_str(r, QUEUE_STRING_MAX, NULL);
		e->text = r->p + at;
		e->text_len = r->bad ? 0 : (uint32_t)(r->off - at);
	}
	if (e->state > QUEUE_STATE_FAILED || e->flags > 7)
		r->bad = true;
}

static void
apply_entry(struct queue_msg *m, const struct state_entry *e)
{
	struct queue_rcpt *q = &m->rcpts[e->idx];

	if (q->state != QUEUE_STATE_PENDING && e->state != (unsigned)q->state)
		return;		/* final states are final */
	q->state = (int)e->state;
	q->flags = e->flags;
	q->attempts = e->attempts;
	q->next_try = e->next;
	free(q->last_error);
	q->last_error = e->has_text ?
	    xstrndup((const char *)e->text, e->text_len) : NULL;
}

/* Checks the whole record first, then applies it: all or nothing.
 * 0, or -1 when it does not make sense for m. */
static int
state_apply(const uint8_t *p, size_t len, struct queue_msg *m)
{
	struct rd r = { p, len, 0, false };
	struct state_entry e;
	uint32_t n = rd_u32(&r);

	if (r.bad || n > (uint32_t)m->nrcpt || n > len / 19)
		return -1;	/* an entry takes at least 19 bytes */
	for (uint32_t i = 0; i < n && !r.bad; i++) {
		read_entry(&r, &e);
		if (e.idx >= (uint32_t)m->nrcpt)
			r.bad = true;
	}
	if (r.bad || r.off != len)
		return -1;
	r.off = 4;
	for (uint32_t i = 0; i < n; i++) {
		read_entry(&r, &e);
		apply_entry(m, &e);
	}
	return 0;
}

/* ---- whole files ----------------------------------------------------- */

/* Frames the record at p[off..len): 1 whole (payload at *pl, length
 * *plen), 0 need *need_r bytes in all, -1 bad type/length/CRC. */
static int
frame(const uint8_t *p, size_t len, size_t off, int type, uint32_t max,
    bool check_crc, const uint8_t **pl, uint32_t *plen, size_t *need_r)
{
	uint32_t n;

	if (len - off < QUEUE_REC_HDR) {
		*need_r = off + QUEUE_REC_HDR;
		return 0;
	}
	n = get_u32(p + off + 1);
	if (p[off] != type || n > max)
		return -1;
	*plen = n;
	*pl = p + off + QUEUE_REC_HDR;
	if (!check_crc)
		return 1;
	if (len - off - QUEUE_REC_HDR < (size_t)n + QUEUE_REC_TRAILER) {
		*need_r = off + QUEUE_REC_HDR + (size_t)n + QUEUE_REC_TRAILER;
		return 0;
	}
	if (get_u32(*pl + n) != queue_rec_crc(p + off, *pl, n))
		return -1;
	return 1;
}

int
queue_parse_head(const uint8_t *p, size_t len, struct queue_msg *m,
    struct queue_file_info *info, size_t *need_r, const char **error_r)
{
	const uint8_t *pl;
	uint32_t plen;
	size_t off;
	int r;

	memset(info, 0, sizeof(*info));
	if (m)
		memset(m, 0, sizeof(*m));
	if (len < QUEUE_MAGIC_LEN) {
		*need_r = QUEUE_MAGIC_LEN;
		return 0;
	}
	if (memcmp(p, QUEUE_MAGIC, QUEUE_MAGIC_LEN) != 0) {
		*error_r = "not a queue file (bad magic)";
		return -1;
	}
	r = frame(p, len, QUEUE_MAGIC_LEN, QUEUE_REC_ENVELOPE,
	    QUEUE_ENVELOPE_MAX, true, &pl, &plen, need_r);
	if (r <= 0) {
		*error_r = "damaged envelope record";
		return r;
	}
	off = QUEUE_MAGIC_LEN + QUEUE_REC_HDR + plen + QUEUE_REC_TRAILER;
	r = frame(p, len, off, QUEUE_REC_CONTENT, UINT32_MAX, false, &pl,
	    &plen, need_r);
	if (r <= 0) {
		*error_r = "damaged content record";
		return r;
	}
	if (m && envelope_decode(p + QUEUE_MAGIC_LEN + QUEUE_REC_HDR,
	    off - QUEUE_MAGIC_LEN - QUEUE_REC_HDR - QUEUE_REC_TRAILER,
	    m) < 0) {
		*error_r = "invalid envelope";
		return -1;
	}
	info->content_off = off + QUEUE_REC_HDR;
	info->content_len = plen;
	info->tail_off = info->content_off + plen + QUEUE_REC_TRAILER;
	info->valid_end = info->tail_off;
	return 1;
}

void
queue_parse_tail(const uint8_t *p, size_t len, struct queue_msg *m,
    struct queue_file_info *info)
{
	const uint8_t *pl;
	uint32_t plen;
	size_t off = 0, need;

	info->torn = false;
	info->nstate = 0;
	while (off < len) {
		if (frame(p, len, off, QUEUE_REC_STATE, QUEUE_STATE_REC_MAX,
		    true, &pl, &plen, &need) != 1) {
			info->torn = true;
			break;
		}
		if (state_apply(pl, plen, m) == 0)
			info->nstate++;
		off += QUEUE_REC_HDR + (size_t)plen + QUEUE_REC_TRAILER;
	}
	info->valid_end = info->tail_off + off;
}

int
queue_file_parse(const uint8_t *p, size_t len, struct queue_msg *m,
    struct queue_file_info *info, const char **error_r)
{
	size_t need = 0, c;
	uint8_t hdr[QUEUE_REC_HDR];
	int r = queue_parse_head(p, len, m, info, &need, error_r);

	if (r == 0)
		*error_r = "file truncated";
	if (r <= 0)
		return -1;
	if (info->tail_off > len) {
		*error_r = "content truncated";
		goto bad;
	}
	c = (size_t)info->content_off;
	memcpy(hdr, p + c - QUEUE_REC_HDR, QUEUE_REC_HDR);
	if (get_u32(p + c + info->content_len) !=
	    queue_rec_crc(hdr, p + c, (size_t)info->content_len)) {
		*error_r = "content checksum mismatch";
		goto bad;
	}
	queue_parse_tail(p + info->tail_off, len - (size_t)info->tail_off, m,
	    info);
	return 0;
bad:
	queue_msg_clear(m);
	memset(m, 0, sizeof(*m));
	return -1;
}

void
queue_msg_clear(struct queue_msg *m)
{
	for (int i = 0; i < m->nrcpt; i++) {
		free(m->rcpts[i].address);
		free(m->rcpts[i].orcpt);
		free(m->rcpts[i].last_error);
	}
	free(m->rcpts);
	m->rcpts = NULL;
	m->nrcpt = 0;
	XFREE(&m->sender);
	XFREE(&m->envid);
}
