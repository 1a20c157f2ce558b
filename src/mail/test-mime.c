/*
 * test-mime - MIME parsing and the IMAP views against Dovecot: for every
 * tests/data/mime/NAME.eml the FETCH items recorded from Dovecot 2.3 in
 * NAME.ref (by tests/data/mime/make-refs.py) are computed with
 * mime_parse + imap_msgstruct + imap_section and compared byte for byte,
 * except the few differences listed in known_diffs[] (each with its
 * reason). Then structural checks on the capped and broken fixtures, LF
 * and CRLF copies giving the same answers, windows of the wire form, and
 * every prefix of every fixture parsed and rendered (ASan watches).
 *
 * Run from the repository root (tests/run.sh does).
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/imap_msgstruct.h"
#include "mail/imap_section.h"
#include "mail/mime.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define MIME_DIR	"tests/data/mime"

/* Where tem answers differently from Dovecot on purpose. */
static const struct {
	const char	*fixture;
	const char	*item;
	const char	*why;
} known_diffs[] = {
	{ "deep", "BODY", "nesting capped at MIME_MAX_DEPTH 32 (Dovecot: 100)" },
	{ "deep", "BODYSTRUCTURE", "the same cap" },
	{ "deep-rfc822", "BODY", "nesting capped at MIME_MAX_DEPTH 32" },
	{ "deep-rfc822", "BODYSTRUCTURE", "the same cap" },
	{ "rfc2231", "BODY", "Dovecot names filename*0*+*1 \"filename*1*\"" },
	{ "rfc2231", "BODYSTRUCTURE", "the same RFC 2231 naming" },
	{ "envelope", "ENVELOPE", "Dovecot drops addresses after a group" },
	{ "nested", "BINARY[1]", "Dovecot decodes inside multiparts" },
	{ "nested", "BINARY.SIZE[1]", "the same" },
	{ "nested-crlf", "BINARY[1]", "Dovecot decodes inside multiparts" },
	{ "nested-crlf", "BINARY.SIZE[1]", "the same" },
};

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b, len_r);
}

static bool
known_diff(const char *fixture, const char *item)
{
	for (size_t i = 0; i < sizeof(known_diffs) / sizeof(known_diffs[0]);
	    i++)
		if (strcmp(known_diffs[i].fixture, fixture) == 0 &&
		    (strcmp(known_diffs[i].item, "*") == 0 ||
		    strcmp(known_diffs[i].item, item) == 0))
			return true;
	return false;
}

/* "BODY[spec]<o.l>" -> spec, window. */
static int
item_section(const char *item, const char *prefix, struct imap_section *sec,
    size_t *off, size_t *len)
{
	const char *s = item + strlen(prefix), *e = strrchr(s, ']'), *err;

	*off = 0;
	*len = SIZE_MAX;
	if (e == NULL || imap_section_parse(s, (size_t)(e - s), sec, &err) < 0)
		return -1;
	if (e[1] == '<')
		sscanf(e + 2, "%zu.%zu", off, len);
	return 0;
}

static void
literal(struct buf *out, const struct buf *data)
{
	bool nul = data->len > 0 && memchr(data->data, '\0', data->len);

	buf_printf(out, "%s{%zu}\r\n", nul ? "~" : "", data->len);
	buf_append(out, data->data, data->len);
}

/* tem's value for one FETCH item; returns 0, or the BINARY error. */
static int
compute(const struct mime_msg *m, const char *item, struct buf *out)
{
	struct imap_section sec;
	struct buf data;
	size_t off, len, size = 0;
	int r = 0;

	if (strcmp(item, "RFC822.SIZE") == 0)
		buf_printf(out, "%zu", imap_rfc822_size(m));
	else if (strcmp(item, "ENVELOPE") == 0)
		imap_envelope(m, m->root, out);
	else if (strcmp(item, "BODY") == 0 || strcmp(item, "BODYSTRUCTURE") == 0)
		imap_bodystructure(m, m->root, item[4] != '\0', out);
	else {
		bool body = strncmp(item, "BODY[", 5) == 0;
		bool bsize = strncmp(item, "BINARY.SIZE[", 12) == 0;

		if (item_section(item, body ? "BODY[" : bsize ? "BINARY.SIZE[" :
		    "BINARY[", &sec, &off, &len) < 0)
			return -99;
		buf_init(&data, 0);
		if (body)
			imap_section_fetch(m, &sec, off, len, &data, NULL);
		else
			r = imap_binary_fetch(m, &sec, off, len, &data, &size);
		if (bsize)
			buf_printf(out, "%zu", size);
		else
			literal(out, &data);
		buf_free(&data);
		imap_section_free(&sec);
	}
	return r;
}

static int golden_items, golden_skipped;

/* Dovecot's record (lenword "NO" or a length, value v) against tem's. */
static bool
same_value(const char *lenword, const char *v, size_t vlen,
    const struct buf *mine, int r)
{
	if (strcmp(lenword, "NO") == 0)
		return r != 0;
	if (r != 0)
		return false;
	/* literal8 ~{n} (Dovecot's BINARY) or literal: the same octets */
	if (vlen > 0 && v[0] == '~' && mine->len > 0 && mine->data[0] == '{') {
		v++;
		vlen--;
	}
	return mine->len == vlen && memcmp(mine->data, v, vlen) == 0;
}

/* Compares every record of NAME.ref; returns the mismatches. */
static int
golden_one(const char *name)
{
	char path[512];
	char *eml, *ref, *p, *end;
	size_t elen, rlen;
	struct mime_msg *m;
	int bad = 0;

	snprintf(path, sizeof(path), MIME_DIR "/%s.eml", name);
	eml = read_file(path, &elen);
	snprintf(path, sizeof(path), MIME_DIR "/%s.ref", name);
	ref = read_file(path, &rlen);
	if (eml == NULL || ref == NULL) {
		free(eml);
		free(ref);
		return 1;
	}
	m = mime_parse(eml, elen);
	for (p = ref, end = ref + rlen; p < end;) {
		char item[256], lenword[32];
		char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		size_t vlen;
		struct buf mine;
		int r;

		if (nl == NULL || (sp = memrchr(p, ' ', (size_t)(nl - p))) == NULL)
			break;
		snprintf(item, sizeof(item), "%.*s", (int)(sp - p), p);
		snprintf(lenword, sizeof(lenword), "%.*s", (int)(nl - sp - 1),
		    sp + 1);
		p = nl + 1;
		if (strcmp(lenword, "NO") == 0) {
			nl = memchr(p, '\n', (size_t)(end - p));
			vlen = nl != NULL ? (size_t)(nl - p) : 0;
		} else
			vlen = strtoul(lenword, NULL, 10);
		buf_init(&mine, 0);
		r = compute(m, item, &mine);
		golden_items++;
		if (known_diff(name, item))
			golden_skipped++;
		else if (!same_value(lenword, p, vlen, &mine, r)) {
			fprintf(stderr, "  %s %s:\n    dovecot: %.*s\n    tem:     "
			    "%s (r=%d)\n", name, item, (int)vlen, p,
			    buf_cstr(&mine), r);
			bad++;
		}
		buf_free(&mine);
		p += vlen + 1;
	}
	mime_free(&m);
	free(eml);
	free(ref);
	return bad;
}

static void
test_golden(void)
{
	DIR *d = opendir(MIME_DIR);
	struct dirent *de;
	int bad = 0, files = 0;

	TEST_ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char name[256];

		if (n < 5 || strcmp(de->d_name + n - 4, ".ref") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), de->d_name);
		bad += golden_one(name);
		files++;
	}
	closedir(d);
	fprintf(stderr, "  golden: %d fixtures, %d items, %d known "
	    "differences skipped\n", files, golden_items, golden_skipped);
	TEST_ASSERT(files >= 10);
	TEST_ASSERT(bad == 0);
}

static struct mime_msg *
load(const char *name, char **data_r)
{
	char path[512];
	size_t len;

	snprintf(path, sizeof(path), MIME_DIR "/%s.eml", name);
	*data_r = read_file(path, &len);
	return *data_r != NULL ? mime_parse(*data_r, len) : NULL;
}

/* 40 nested multiparts: capped at depth 32, the deepest is text/plain. */
static void
test_deep(void)
{
	char *d;
	struct mime_msg *m = load("deep", &d);
	const struct mime_part *p;
	unsigned depth = 0;

	TEST_ASSERT(m != NULL);
	TEST_ASSERT(m->capped);
	for (p = m->root; p->children != NULL; p = p->children)
		depth++;
	TEST_ASSERT(depth == MIME_MAX_DEPTH);
	TEST_ASSERT(strcmp(p->type, "text") == 0);
	TEST_ASSERT(p->end == m->len || p->end < m->len);
	mime_free(&m);
	free(d);

	m = load("deep-rfc822", &d);
	TEST_ASSERT(m != NULL);
	for (depth = 0, p = m->root; p->message != NULL; p = p->message)
		depth++;
	TEST_ASSERT(depth == MIME_MAX_DEPTH);
	TEST_ASSERT(strcmp(p->type, "text") == 0);
	mime_free(&m);
	free(d);
}

/*
 * The leaf at the cap is the whole capped multipart: "--b32" inside it
 * is not a delimiter of the enclosing "b3" (boundaries match by prefix),
 * so every part, the leaf too, ends with its own close delimiter
 * (the line end before the parent's belongs to that line).
 */
static void
test_capped_part_whole(void)
{
	char *d;
	struct mime_msg *m = load("deep", &d);
	const struct mime_part *p;
	char want[32];
	size_t n;

	TEST_ASSERT(m != NULL);
	for (p = m->root; p->children != NULL; p = p->children) {
		TEST_ASSERT(p->nchildren == 1);
		n = (size_t)snprintf(want, sizeof(want), "--b%u--\n",
		    p->depth + 1);
		TEST_ASSERT(p->children->end >= n &&
		    memcmp(d + p->children->end - n, want, n) == 0);
	}
	TEST_ASSERT(p->depth == MIME_MAX_DEPTH);
	TEST_ASSERT(m->nparts == MIME_MAX_DEPTH + 1);
	mime_free(&m);
	free(d);
}

static void
test_broken(void)
{
	char *d;
	struct mime_msg *m = load("missing-final", &d);
	const struct mime_part *c;

	TEST_ASSERT(m != NULL && m->root->nchildren == 2);
	c = mime_part_child(m->root, 2);
	TEST_ASSERT(c->end == m->len);		/* runs to the end */
	TEST_ASSERT(c->body_lines == 2);
	mime_free(&m);
	free(d);

	m = load("no-boundary", &d);
	TEST_ASSERT(m != NULL && m->root->nchildren == 0);
	mime_free(&m);
	free(d);
}

/* The LF and CRLF copies of one message answer the same. */
static void
test_crlf_same(void)
{
	static const char *const items[] = {
		"RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY[]",
		"BODY[1.1]", "BODY[1.2.MIME]", "BODY[TEXT]<7.50>",
		"BODY[HEADER.FIELDS (Subject Cc)]", "BINARY[1.1]", "BINARY[2]",
		"BINARY.SIZE[2]",
	};
	char *d1, *d2;
	struct mime_msg *a = load("nested", &d1), *b = load("nested-crlf",
	    &d2);

	TEST_ASSERT(a != NULL && b != NULL);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		struct buf x, y;
		bool same;

		buf_init(&x, 0);
		buf_init(&y, 0);
		compute(a, items[i], &x);
		compute(b, items[i], &y);
		same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
		if (!same)
			fprintf(stderr, "  %s differs\n", items[i]);
		buf_free(&x);
		buf_free(&y);
		TEST_ASSERT(same);
	}
	mime_free(&a);
	mime_free(&b);
	free(d1);
	free(d2);
}

/* Every window of the wire form equals the slice of the whole. */
static void
test_wire_windows(void)
{
	static const char msg[] = "a\nbb\r\n\nc\rd\n\n";
	struct buf all, w;

	buf_init(&all, 0);
	buf_init(&w, 0);
	mime_append_wire(msg, 0, sizeof(msg) - 1, 0, SIZE_MAX, &all);
	TEST_ASSERT_STREQ(buf_cstr(&all), "a\r\nbb\r\n\r\nc\rd\r\n\r\n");
	TEST_ASSERT(mime_wire_size(msg, 0, sizeof(msg) - 1) == all.len);
	for (size_t off = 0; off <= all.len + 1; off++)
		for (size_t len = 0; len <= all.len + 1; len++) {
			size_t exp = off >= all.len ? 0 :
			    (all.len - off < len ? all.len - off : len);

			buf_reset(&w);
			mime_append_wire(msg, 0, sizeof(msg) - 1, off, len, &w);
			TEST_ASSERT(w.len == exp);
			TEST_ASSERT(exp == 0 ||
			    memcmp(w.data, all.data + off, exp) == 0);
		}
	buf_free(&all);
	buf_free(&w);
}

/* A message stored as received (m->exact): BINARY gives a binary part's
 * octets as they are, NUL and bare LFs kept, and their true size; the
 * same bytes not marked exact are text (each bare LF a CRLF). */
static void
test_binary_exact(void)
{
	static const char msg[] = "Content-Type: multipart/mixed; "
	    "boundary=XX\r\n\r\n--XX\r\nContent-Transfer-Encoding: binary"
	    "\r\n\r\na\0b\nc\nd\r\n--XX--\r\n";
	static const char part[] = "a\0b\nc\nd";
	struct imap_section sec;
	const char *err = NULL;
	struct mime_msg *m;
	struct buf out;
	size_t size = 0;

	buf_init(&out, 0);
	TEST_ASSERT(imap_section_parse("1", 1, &sec, &err) == 0);
	m = mime_parse(msg, sizeof(msg) - 1);
	m->exact = true;
	TEST_ASSERT(imap_binary_fetch(m, &sec, 0, SIZE_MAX, &out, &size) ==
	    IMAP_BINARY_OK);
	TEST_ASSERT(size == 7 && out.len == 7 && memcmp(out.data, part, 7) == 0);
	buf_reset(&out);
	TEST_ASSERT(imap_binary_fetch(m, &sec, 2, 3, &out, NULL) ==
	    IMAP_BINARY_OK);
	TEST_ASSERT(out.len == 3 && memcmp(out.data, "b\nc", 3) == 0);
	buf_reset(&out);
	m->exact = false;
	TEST_ASSERT(imap_binary_fetch(m, &sec, 0, SIZE_MAX, &out, &size) ==
	    IMAP_BINARY_OK);
	TEST_ASSERT(size == 9 && out.len == 9);
	mime_free(&m);
	imap_section_free(&sec);
	buf_free(&out);
}

static void
test_section_parse(void)
{
	static const struct {
		const char	*spec;
		int		 ok;
		size_t		 nparts;
		enum imap_section_kind kind;
		size_t		 nfields;
	} cases[] = {
		{ "", 1, 0, IMAP_SECTION_ALL, 0 },
		{ "1", 1, 1, IMAP_SECTION_ALL, 0 },
		{ "1.2.3", 1, 3, IMAP_SECTION_ALL, 0 },
		{ "header", 1, 0, IMAP_SECTION_HEADER, 0 },
		{ "TEXT", 1, 0, IMAP_SECTION_TEXT, 0 },
		{ "2.MIME", 1, 1, IMAP_SECTION_MIME, 0 },
		{ "2.HEADER", 1, 1, IMAP_SECTION_HEADER, 0 },
		{ "HEADER.FIELDS (From To)", 1, 0,
		  IMAP_SECTION_HEADER_FIELDS, 2 },
		{ "1.HEADER.FIELDS.NOT (\"X-A\" b)", 1, 1,
		  IMAP_SECTION_HEADER_FIELDS_NOT, 2 },
		{ "MIME", 0, 0, 0, 0 },
		{ "0", 0, 0, 0, 0 },
		{ "1.", 0, 0, 0, 0 },
		{ ".1", 0, 0, 0, 0 },
		{ "1..2", 0, 0, 0, 0 },
		{ "99999999999", 0, 0, 0, 0 },
		{ "HEADER.FIELDS ()", 0, 0, 0, 0 },
		{ "HEADER.FIELDS", 0, 0, 0, 0 },
		{ "HEADER.FIELDS (a", 0, 0, 0, 0 },
		{ "HEADER.FIELDS (a) x", 0, 0, 0, 0 },
		{ "HEADER x", 0, 0, 0, 0 },
		{ "TEXTX", 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_section s;
		const char *err;
		int r = imap_section_parse(cases[i].spec,
		    strlen(cases[i].spec), &s, &err);

		if ((r == 0) != cases[i].ok)
			fprintf(stderr, "  section \"%s\"\n", cases[i].spec);
		TEST_ASSERT((r == 0) == cases[i].ok);
		if (r == 0) {
			TEST_ASSERT(s.nparts == cases[i].nparts);
			TEST_ASSERT(s.kind == cases[i].kind);
			TEST_ASSERT(s.nfields == cases[i].nfields);
		}
		imap_section_free(&s);
	}
}

/* Every prefix of every fixture parses and renders cleanly. */
static void
test_prefixes(void)
{
	static const char *const names[] = {
		"nested", "rfc822", "missing-final", "bad-base64",
		"envelope", "digest", "rfc2231", "8bit-headers", "deep",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *d;
		struct mime_msg *full = load(names[i], &d);

		TEST_ASSERT(full != NULL);
		for (size_t n = 0; n <= full->len; n++) {
			struct mime_msg *m = mime_parse(d, n);
			struct buf b;

			buf_init(&b, 0);
			imap_bodystructure(m, m->root, true, &b);
			imap_envelope(m, m->root, &b);
			compute(m, "BODY[1.1]", &b);
			compute(m, "BINARY[1]", &b);
			TEST_ASSERT(imap_rfc822_size(m) >= n);
			for (size_t k = 0; k < m->nparts; k++)
				TEST_ASSERT(m->parts[k]->end <= n &&
				    m->parts[k]->body_off <= m->parts[k]->end &&
				    m->parts[k]->hdr_off <=
				    m->parts[k]->body_off);
			buf_free(&b);
			mime_free(&m);
		}
		mime_free(&full);
		free(d);
	}
}

int
main(void)
{
	TEST_RUN(test_golden);
	TEST_RUN(test_deep);
	TEST_RUN(test_capped_part_whole);
	TEST_RUN(test_broken);
	TEST_RUN(test_crlf_same);
	TEST_RUN(test_wire_windows);
	TEST_RUN(test_binary_exact);
	TEST_RUN(test_section_parse);
	TEST_RUN(test_prefixes);
	return test_done("test-mime");
}
