/*
 * fuzz-imap-parser - libFuzzer target for imap_parser and imap_args.
 *
 * The first two input bytes choose the chunking seed and the limits (the
 * defaults, or small ones so that every limit is reachable); the rest is
 * the client's byte stream. It is fed twice: as one buffer, and in random
 * chunk sizes. Beyond "no crash, no leak, no UB" it checks contracts:
 *  - both replays give the same transcript of events (chunking invariance);
 *  - used never exceeds the input, NEED_MORE consumes everything, the
 *    parser always makes progress;
 *  - streamed APPEND chunks are contiguous, point into the fed buffer and
 *    end with last set;
 *  - error replies are "BAD ..." or "NO ..." without CR/LF;
 *  - every command's arguments go through every imap_args parser, and the
 *    results are checked (resolved sequence sets sorted and disjoint,
 *    failures leave nothing allocated, mailbox names round-trip through
 *    modified UTF-7);
 *  - every FETCH section imap_args accepts is accepted by
 *    mail/imap_section.c too, with the same parts, kind and fields (the
 *    session hands it the section text).
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_parser.h"
#include "mail/imap_section.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_seqset(struct imap_seqset *set, uint32_t star)
{
	unsigned i;

	imap_seqset_resolve(set, star);
	for (i = 0; i < set->count; i++) {
		CHECK(set->ranges[i].lo <= set->ranges[i].hi);
		if (i > 0)	/* sorted, disjoint, not adjacent */
			CHECK(set->ranges[i - 1].hi < set->ranges[i].lo - 1);
	}
	if (set->count > 0) {
		CHECK(imap_seqset_contains(set, set->ranges[0].lo));
		CHECK(imap_seqset_contains(set, imap_seqset_max(set)));
	}
	imap_seqset_clamp(set, star / 2);
	CHECK(imap_seqset_max(set) <= star / 2);
	CHECK(imap_seqset_count(set) <= star / 2 + 1ull);
}

static void
check_mailbox(const char *s, size_t len)
{
	const char *error = NULL;
	char *dec, *enc, *again;

	dec = imap_mailbox_decode(s, len, false, &error);
	if (dec == NULL) {
		CHECK(error != NULL);
	} else {
		enc = imap_mailbox_encode_mutf7(dec);
		CHECK(enc != NULL);
		again = imap_mailbox_decode(enc, strlen(enc), false, &error);
		CHECK(again != NULL && strcmp(again, dec) == 0);
		free(again);
		free(enc);
		free(dec);
	}
	dec = imap_mailbox_decode(s, len, true, &error);
	if (dec != NULL) {
		enc = imap_mailbox_encode_mutf7(dec);
		CHECK(enc != NULL);
		again = imap_mailbox_decode(enc, strlen(enc), false, &error);
		CHECK(again != NULL && strcmp(again, dec) == 0);
		free(again);
		free(enc);
		free(dec);
	}
}

static void
fuzz_search(const struct imap_command *c)
{
	struct imap_search s;
	const char *error = NULL;

	if (imap_args_parse_search(c->args, c->count, &s, &error) == 0) {
		CHECK(s.root != NULL && s.root->type == IMAP_SK_AND &&
		    s.root->child != NULL);
		CHECK(!s.ret_given || s.ret != 0);
	} else
		CHECK(error != NULL && s.root == NULL && s.charset == NULL);
	imap_search_free(&s);
}

/* The two section parsers must agree on what imap_args accepted. */
static void
check_section(const struct imap_fetch_body *b)
{
	struct imap_section sec;
	const char *error = NULL;
	unsigned i;

	CHECK(imap_section_parse(b->section, strlen(b->section), &sec,
	    &error) == 0);
	CHECK(sec.nparts == b->part_count);
	for (i = 0; i < b->part_count; i++)
		CHECK(sec.parts[i] == b->part[i]);
	CHECK((int)sec.kind == (int)b->text);
	CHECK(sec.nfields == b->field_count);
	for (i = 0; i < b->field_count; i++)
		CHECK(strcmp(sec.fields[i], b->fields[i]) == 0);
	imap_section_free(&sec);
}

static void
fuzz_fetch(const struct imap_command *c)
{
	struct imap_fetch f;
	const char *error = NULL;
	unsigned i;

	if (imap_args_parse_fetch(c->args, c->count, c->uid, &f,
	    &error) == 0) {
		for (i = 0; i < f.body_count; i++) {
			CHECK(f.bodies[i].label != NULL);
			CHECK(strpbrk(f.bodies[i].label, "\r\n") == NULL);
			CHECK(!f.bodies[i].partial || f.bodies[i].length > 0);
			check_section(&f.bodies[i]);
		}
		CHECK(!f.vanished || (c->uid && f.changedsince_given));
		check_seqset(&f.set, 1000);
	} else
		CHECK(error != NULL && f.bodies == NULL &&
		    f.set.ranges == NULL);
	imap_fetch_free(&f);
}

static void
fuzz_others(const struct imap_command *c)
{
	struct imap_store st;
	struct imap_status stat;
	struct imap_list l;
	struct imap_select sel;
	struct imap_append a;
	struct imap_flags fl;
	const char *error = NULL;
	unsigned i;

	if (imap_args_parse_store(c->args, c->count, &st, &error) == 0)
		check_seqset(&st.set, 77);
	else
		CHECK(error != NULL && st.set.ranges == NULL);
	imap_store_free(&st);
	if (imap_args_parse_status(c->args, c->count, &stat, &error) == 0)
		CHECK(stat.items != 0 && stat.mailbox != NULL);
	imap_status_free(&stat);
	if (imap_args_parse_list(c->args, c->count, &l, &error) == 0) {
		CHECK(l.reference != NULL && l.pattern_count > 0);
		for (i = 0; i < l.pattern_count; i++)
			(void)imap_list_match(l.patterns[i], l.reference,
			    '/');
	} else
		CHECK(l.patterns == NULL);
	imap_list_free(&l);
	if (imap_args_parse_select(c->args, c->count, &sel, &error) == 0) {
		CHECK(sel.mailbox != NULL);
		CHECK(!sel.qresync || sel.uidvalidity > 0);
	} else
		CHECK(sel.mailbox == NULL);
	imap_select_free(&sel);
	if (imap_args_parse_append(c->args, c->count, &a, &error) == 0)
		CHECK(a.count > 0 && a.mailbox != NULL);
	else
		CHECK(a.mailbox == NULL && a.msgs == NULL);
	imap_append_free(&a);
	if (imap_args_parse_flags(c->args, c->count, &fl, &error) == 0)
		for (i = 0; i < fl.keyword_count; i++)
			CHECK(imap_keyword_valid(fl.keywords[i]));
	imap_flags_free(&fl);
}

/* Shapes that take plain strings: dates, sets, names, matching. */
static void
fuzz_strings(const struct imap_command *c)
{
	struct imap_seqset set;
	struct imap_date d;
	const char *s, *error;
	size_t len;
	time_t t;
	int tz;
	unsigned i;

	for (i = 0; i < c->count; i++) {
		if (!imap_arg_get_astring(&c->args[i], &s, &len))
			continue;
		check_mailbox(s, len);
		if (imap_parse_date(s, &d) == 0)
			CHECK(d.month >= 1 && d.month <= 12 && d.day >= 1);
		(void)imap_parse_datetime(s, &t, &tz);
		if (imap_seqset_parse(s, true, &set, &error) == 0)
			check_seqset(&set, (uint32_t)len * 1000u);
		else
			CHECK(set.ranges == NULL);
		imap_seqset_free(&set);
		if (i > 0 && memchr(s, '\0', len) == NULL)
			(void)imap_list_match(s, c->args[0].str != NULL ?
			    c->args[0].str : "", i % 2 ? '/' : '\0');
	}
}

static void
fuzz_command(const struct imap_command *c)
{
	CHECK(c->tag != NULL && c->tag[0] != '\0');
	CHECK(c->name != NULL && c->name[0] != '\0');
	fuzz_search(c);
	fuzz_fetch(c);
	fuzz_others(c);
	fuzz_strings(c);
}

static void
dump_args(struct buf *out, const struct imap_arg *args, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		buf_printf(out, " %d:", (int)args[i].type);
		if (args[i].type == IMAP_ARG_LIST) {
			buf_putc(out, '(');
			dump_args(out, args[i].list, args[i].list_count);
			buf_putc(out, ')');
		} else if (args[i].type == IMAP_ARG_STREAM)
			buf_printf(out, "%u/%llu", args[i].index,
			    (unsigned long long)args[i].size);
		else {
			CHECK(args[i].str[args[i].len] == '\0');
			buf_append(out, args[i].str, args[i].len);
		}
	}
}

struct replay {
	struct buf	 log;
	struct buf	 msg;		/* streamed message so far */
	unsigned	 waits;
	unsigned	 seed;
};

static void
on_event(struct replay *r, struct imap_parser *p, enum imap_parse_result res,
    const char *in, size_t len)
{
	const struct imap_command *c;
	const struct imap_parse_error *e;
	const struct imap_literal *l;
	const char *line;
	size_t n;

	switch (res) {
	case IMAP_PARSE_NEED_MORE:
		return;
	case IMAP_PARSE_COMMAND:
		c = imap_parser_command(p);
		buf_printf(&r->log, "C %s %s %d", c->tag, c->name, c->uid);
		dump_args(&r->log, c->args, c->count);
		buf_putc(&r->log, '\n');
		fuzz_command(c);
		if (strcmp(c->name, "AUTHENTICATE") == 0 ||
		    strcmp(c->name, "IDLE") == 0)
			imap_parser_read_line(p);
		return;
	case IMAP_PARSE_ERROR:
		e = imap_parser_error(p);
		CHECK(e->reply != NULL);
		CHECK(strncmp(e->reply, "BAD ", 4) == 0 ||
		    strncmp(e->reply, "NO ", 3) == 0);
		CHECK(strpbrk(e->reply, "\r\n") == NULL);
		buf_printf(&r->log, "E %d %s %s %d %d\n", (int)e->code,
		    e->tag ? e->tag : "*", e->reply, e->skipping, e->close);
		buf_reset(&r->msg);
		return;
	case IMAP_PARSE_LITERAL_WAIT:
		l = imap_parser_literal(p);
		buf_printf(&r->log, "W %llu %d %d\n",
		    (unsigned long long)l->size, l->literal8, l->stream);
		c = imap_parser_current(p);
		CHECK(c != NULL);
		if ((r->waits++ + r->seed) % 5 == 0) {
			imap_parser_literal_refuse(p);
			buf_puts(&r->log, "refused\n");
		}
		return;
	case IMAP_PARSE_LITERAL_STREAM:
		l = imap_parser_literal(p);
		CHECK(l->stream && l->offset == r->msg.len);
		CHECK(l->offset + l->len <= l->size);
		CHECK(l->last == (l->offset + l->len == l->size));
		CHECK(l->data >= in && l->data + l->len <= in + len);
		buf_append(&r->msg, l->data, l->len);
		if (l->last) {
			buf_printf(&r->log, "S %u %zu ", l->index, r->msg.len);
			buf_append(&r->log, r->msg.data, r->msg.len);
			buf_putc(&r->log, '\n');
			buf_reset(&r->msg);
		}
		return;
	case IMAP_PARSE_LINE:
		line = imap_parser_line(p, &n);
		CHECK(line[n] == '\0');
		buf_puts(&r->log, "L ");
		buf_append(&r->log, line, n);
		buf_putc(&r->log, '\n');
		return;
	}
	abort();
}

/* Feeds data in chunks (whole when seed is 0); refuse_seed picks which
   literals are refused. Returns the log, *len_r its length. */
static char *
replay(const struct imap_parser_limits *lim, const char *data, size_t size,
    unsigned seed, unsigned refuse_seed, size_t *len_r)
{
	struct imap_parser *p = imap_parser_create(lim);
	struct replay r;
	enum imap_parse_result res;
	size_t off = 0, chunk, pos, used;
	uint32_t state = seed;
	unsigned stalls;
	char *copy;

	memset(&r, 0, sizeof(r));
	buf_init(&r.log, 0);
	buf_init(&r.msg, 0);
	r.seed = refuse_seed;
	while (off < size) {
		state = state * 1103515245u + 12345u;
		chunk = seed == 0 ? size : 1 + (state >> 16) % 64;
		if (chunk > size - off)
			chunk = size - off;
		copy = xmemdup(data + off, chunk);
		pos = 0;
		stalls = 0;
		do {
			res = imap_parser_feed(p, copy + pos, chunk - pos,
			    &used);
			CHECK(used <= chunk - pos);
			CHECK(res != IMAP_PARSE_NEED_MORE ||
			    used == chunk - pos);
			stalls = used == 0 ? stalls + 1 : 0;
			CHECK(stalls < 3);
			on_event(&r, p, res, copy + pos, used);
			pos += used;
		} while (res != IMAP_PARSE_NEED_MORE);
		free(copy);
		off += chunk;
	}
	imap_parser_destroy(&p);
	buf_free(&r.msg);
	buf_putc(&r.log, '.');
	return buf_steal(&r.log, len_r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits lim;
	char *whole, *chunked;
	size_t wlen, clen;
	unsigned seed, refuse_seed;

	if (size < 2)
		return 0;
	imap_parser_limits_default(&lim);
	if (data[0] & 1) {
		lim.line_max = 64 + data[1];
		lim.literal_max = data[1];
		lim.append_max = 300;
		lim.command_max = 256 + 4u * data[1];
		lim.nonsync_max = data[0] & 2 ? IMAP_LITERAL_MINUS_MAX / 64 :
		    UINT64_MAX;
		lim.depth_max = 1 + data[1] % 8;
		lim.args_max = 1 + data[1] % 64;
	}
	seed = 1 + ((unsigned)data[0] << 8 | data[1]);
	refuse_seed = data[1];
	data += 2;
	size -= 2;
	whole = replay(&lim, (const char *)data, size, 0, refuse_seed, &wlen);
	chunked = replay(&lim, (const char *)data, size, seed, refuse_seed,
	    &clen);
	/* refusals depend on the WAIT count, the same in both runs */
	CHECK(wlen == clen && memcmp(whole, chunked, wlen) == 0);
	free(whole);
	free(chunked);
	return 0;
}
