/*
 * mime - one-pass MIME structure parser over a memory buffer (see mime.h).
 *
 * How it works: the parts from the root to the one being read form a
 * path (a fixed array of MIME_MAX_DEPTH + 1 frames, so no recursion).
 * Every line that starts with "--" is checked against the boundaries of
 * the open multiparts, innermost first, by prefix as Dovecot and mail
 * clients do. A match at frame k ends every part below k (the line end
 * before the boundary belongs to the boundary, RFC 2046 5.1.1); a
 * delimiter opens the next child of k, a close delimiter ends k's
 * children (what follows is k's epilogue). At the end of the data every
 * open part ends. Sizes are computed afterwards, per part.
 *
 * A multipart at MIME_MAX_DEPTH becomes a text/plain leaf, but its body
 * still holds boundaries of its own and of the multiparts inside it.
 * Those stay on the path as opaque frames (no part, their boundary
 * copied) up to MIME_SCAN_DEPTH, so that "--b32" inside a capped part is
 * not taken for a delimiter of an enclosing "b3": the leaf is the whole
 * capped part, ending where its parent's next boundary is, as a parser
 * without the cap sees it. Beyond MIME_SCAN_DEPTH (Dovecot's own limit)
 * boundaries are plain text.
 *
 * Trust: untrusted input; all scanning is bounded by len, memory by
 * MIME_MAX_PARTS. Callers: the IMAP server (FETCH, SEARCH), tests, fuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/mime_int.h"
#include "util/array.h"
#include "util/xmalloc.h"

/* Frames kept for boundaries inside a part capped at MIME_MAX_DEPTH. */
#define MIME_SCAN_DEPTH		100

struct frame {
	struct mime_part *part;		/* NULL: opaque (inside a capped part) */
	const char	 *boundary;	/* NULL: no (more) boundary here */
	size_t		  blen;
	struct mime_part *last;		/* last child so far */
	char		 *owned;	/* opaque: the boundary, copied */
	bool		  opaque;	/* its delimiters open no parts */
	bool		  digest;	/* opaque: a multipart/digest */
};

struct mparser {
	struct mime_msg	*m;
	const char	*d;
	size_t		 len;
	struct frame	 path[MIME_SCAN_DEPTH + 1];
	size_t		 depth;		/* frames in use */
	size_t		 consumed;	/* just past the last boundary line */
	size_t		 cap;		/* of m->parts */
};

/* Length of the line end just before line start pos (0 at the start). */
static size_t
eol_before(const char *d, size_t pos)
{
	if (pos >= 2 && d[pos - 1] == '\n' && d[pos - 2] == '\r')
		return 2;
	if (pos >= 1 && d[pos - 1] == '\n')
		return 1;
	return 0;
}

static size_t
next_line(const char *d, size_t len, size_t pos)
{
	const char *nl = memchr(d + pos, '\n', len - pos);

	return nl != NULL ? (size_t)(nl - d) + 1 : len;
}

/*
 * Is the line at pos a boundary of an open multipart? Returns its frame
 * index and sets *close_r, or -1.
 */
static int
boundary_match(const struct mparser *mp, size_t pos, bool *close_r)
{
	const char *d = mp->d;
	size_t rest = mp->len - pos;

	if (rest < 3 || d[pos] != '-' || d[pos + 1] != '-')
		return -1;
	for (size_t i = mp->depth; i-- > 0;) {
		const struct frame *f = &mp->path[i];

		if (f->boundary == NULL || rest - 2 < f->blen ||
		    memcmp(d + pos + 2, f->boundary, f->blen) != 0)
			continue;
		*close_r = rest - 2 - f->blen >= 2 &&
		    d[pos + 2 + f->blen] == '-' &&
		    d[pos + 3 + f->blen] == '-';
		return (int)i;
	}
	return -1;
}

static struct mime_part *
part_new(struct mparser *mp, struct mime_part *parent, size_t off)
{
	struct mime_msg *m = mp->m;
	struct mime_part *p;

	if (m->nparts >= MIME_MAX_PARTS) {
		m->capped = true;
		return NULL;
	}
	ARRAY_RESERVE(m->parts, m->nparts, mp->cap);
	p = xmalloc(sizeof(*p));
	p->parent = parent;
	p->depth = parent != NULL ? parent->depth + 1 : 0;
	p->hdr_off = p->body_off = p->end = off;
	m->parts[m->nparts++] = p;
	return p;
}

/* Appends child c to the multipart of frame f. */
static void
child_link(struct frame *f, struct mime_part *c)
{
	if (f->last == NULL)
		f->part->children = c;
	else
		f->last->next = c;
	f->last = c;
	f->part->nchildren++;
}

/*
 * Finds the end of the header starting at p->hdr_off: the empty line, a
 * boundary line of an open multipart, or the end of the data. Sets
 * p->body_off and returns where scanning for boundaries goes on.
 */
static size_t
header_end(struct mparser *mp, struct mime_part *p)
{
	size_t pos = p->hdr_off, cut;
	bool close;

	while (pos < mp->len) {
		if (mp->d[pos] == '\n' || (mp->d[pos] == '\r' &&
		    pos + 1 < mp->len && mp->d[pos + 1] == '\n')) {
			p->body_off = next_line(mp->d, mp->len, pos);
			return p->body_off;
		}
		if (boundary_match(mp, pos, &close) >= 0) {
			cut = pos - eol_before(mp->d, pos);
			p->body_off = cut > p->hdr_off ? cut : p->hdr_off;
			return pos;
		}
		pos = next_line(mp->d, mp->len, pos);
	}
	p->body_off = mp->len;
	return mp->len;
}


/* The boundary of multipart p, or NULL when it has no usable one. */
static const char *
part_boundary(const struct mime_part *p)
{
	const char *b;

	if (strcmp(p->type, "multipart") != 0)
		return NULL;
	b = mime_param_get(p->params, p->nparams, "boundary");
	return b != NULL && b[0] != '\0' && strlen(b) <= MIME_MAX_BOUNDARY ?
	    b : NULL;
}

/* Does message part p (header scanned up to scan) embed a message? */
static bool
message_parsable(const struct mime_part *p, size_t scan)
{
	return mime_part_is_message(p) && p->cte != MIME_CTE_QP &&
	    p->cte != MIME_CTE_BASE64 && p->cte != MIME_CTE_UNKNOWN &&
	    scan == p->body_off;
}

static bool
is_digest(const struct mime_part *p)
{
	return strcmp(p->type, "multipart") == 0 &&
	    strcmp(p->subtype, "digest") == 0;
}

static bool
parent_is_digest(const struct mime_part *p)
{
	return p->parent != NULL && p->parent->message != p &&
	    is_digest(p->parent);
}

/* Makes f an opaque frame holding a copy of boundary b (may be NULL). */
static void
frame_opaque(struct frame *f, const struct mime_part *p, const char *b)
{
	f->opaque = true;
	f->digest = is_digest(p);
	if (b != NULL) {
		f->owned = xstrdup(b);
		f->boundary = f->owned;
		f->blen = strlen(b);
	}
}

/*
 * Reads the header of a part inside a capped part (at off, its parent a
 * digest or not) without making a part: a multipart pushes an opaque
 * frame while the path has room, a message/rfc822 goes on with the
 * embedded header. Returns where the boundary scan goes on.
 */
static size_t
opaque_open(struct mparser *mp, size_t off, bool in_digest)
{
	for (;;) {
		struct mime_part t;
		size_t scan, next = 0;
		const char *b;

		memset(&t, 0, sizeof(t));
		t.hdr_off = off;
		scan = header_end(mp, &t);
		mime_fields_parse(&t, mp->d + off, t.body_off - off, in_digest);
		b = part_boundary(&t);
		if (b != NULL && mp->depth <= MIME_SCAN_DEPTH) {
			struct frame *f = &mp->path[mp->depth++];

			memset(f, 0, sizeof(*f));
			frame_opaque(f, &t, b);
		}
		if (message_parsable(&t, scan))
			next = t.body_off;
		mime_fields_free(&t);
		if (next <= off)
			return scan;
		off = next;
		in_digest = false;
	}
}

/*
 * Part p of frame f is a multipart or message at MIME_MAX_DEPTH: it
 * becomes a text/plain leaf, its own boundary and those inside it kept
 * in opaque frames so that the leaf ends where p really ends.
 */
static size_t
part_cap(struct mparser *mp, struct frame *f, size_t scan)
{
	struct mime_part *p = f->part;
	bool embeds = message_parsable(p, scan);

	frame_opaque(f, p, part_boundary(p));
	mime_fields_force_text(p);
	mp->m->capped = true;
	return embeds ? opaque_open(mp, p->body_off, false) : scan;
}

/*
 * Opens part p (its header starts at p->hdr_off): parses its header,
 * pushes it on the path and, for a message/rfc822 body, the embedded
 * message too (a loop, bounded by MIME_MAX_DEPTH). Returns where the
 * boundary scan goes on.
 */
static size_t
part_open(struct mparser *mp, struct mime_part *p)
{
	for (;;) {
		size_t scan = header_end(mp, p);
		struct frame *f = &mp->path[mp->depth++];
		const char *b;
		struct mime_part *e;

		mime_fields_parse(p, mp->d + p->hdr_off,
		    p->body_off - p->hdr_off, parent_is_digest(p));
		memset(f, 0, sizeof(*f));
		f->part = p;
		if ((mime_part_is_multipart(p) || mime_part_is_message(p)) &&
		    p->depth >= MIME_MAX_DEPTH)
			return part_cap(mp, f, scan);
		if ((b = part_boundary(p)) != NULL) {
			f->boundary = b;
			f->blen = strlen(b);
		}
		if (mime_part_is_multipart(p) || !message_parsable(p, scan) ||
		    (e = part_new(mp, p, p->body_off)) == NULL)
			return scan;
		p->message = e;
		p = e;
	}
}

/* Ends the parts on the path from frame `keep` down at cut. */
static void
path_close(struct mparser *mp, size_t keep, size_t cut)
{
	while (mp->depth > keep) {
		struct frame *f = &mp->path[--mp->depth];

		if (f->part != NULL)
			f->part->end = cut > f->part->body_off ? cut :
			    f->part->body_off;
		free(f->owned);
		f->owned = NULL;
	}
}

static void
parse_body(struct mparser *mp, size_t pos)
{
	bool close;
	int k;

	while (pos < mp->len) {
		size_t next, cut;
		struct mime_part *c;
		struct frame *f;

		if ((k = boundary_match(mp, pos, &close)) < 0) {
			pos = next_line(mp->d, mp->len, pos);
			continue;
		}
		f = &mp->path[k];
		/* The line end before a boundary is the boundary's, unless
		   it ended the previous boundary line (as Dovecot counts). */
		cut = pos - eol_before(mp->d, pos);
		if (cut < mp->consumed)
			cut = pos;
		next = next_line(mp->d, mp->len, pos);
		mp->consumed = next;
		path_close(mp, (size_t)k + 1, cut);
		if (close) {
			f->boundary = NULL;	/* the epilogue follows */
			pos = next;
			continue;
		}
		if (f->opaque) {
			pos = opaque_open(mp, next, f->digest);
			continue;
		}
		if ((c = part_new(mp, f->part, next)) == NULL) {
			pos = next;		/* too many parts */
			continue;
		}
		child_link(f, c);
		pos = part_open(mp, c);
	}
	path_close(mp, 0, mp->len);
}

/*
 * Sizes of all parts in one sweep over the data: every part boundary
 * offset is sorted, then the running counts of LFs and of bare LFs at
 * each offset give wire sizes and line counts by subtraction, so nested
 * parts cost nothing extra (a hostile 32-deep nest would otherwise be
 * scanned 32 times).
 */
struct mark {
	size_t		 off;
	size_t		*lf;		/* where to store the counts */
	size_t		*bare;
};

static int
mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void
parts_sizes(struct mime_msg *m)
{
	size_t n = m->nparts * 3, i, pos = 0, lf = 0, bare = 0;
	struct mark *mk = xcalloc(n, sizeof(*mk));
	size_t *cnt = xcalloc(n * 2, sizeof(*cnt));

	for (i = 0; i < m->nparts; i++) {
		const struct mime_part *p = m->parts[i];

		mk[3 * i].off = p->hdr_off;
		mk[3 * i + 1].off = p->body_off;
		mk[3 * i + 2].off = p->end;
	}
	for (i = 0; i < n; i++) {
		mk[i].lf = &cnt[2 * i];
		mk[i].bare = &cnt[2 * i + 1];
	}
	/* cnt[] is indexed by the unsorted position: sort copies. */
	qsort(mk, n, sizeof(*mk), mark_cmp);
	for (i = 0; i < n; i++) {
		const char *nl;

		while (pos < mk[i].off && (nl = memchr(m->data + pos, '\n',
		    mk[i].off - pos)) != NULL) {
			size_t at = (size_t)(nl - m->data);

			lf++;
			if (at == 0 || m->data[at - 1] != '\r')
				bare++;
			pos = at + 1;
		}
		pos = mk[i].off > pos ? mk[i].off : pos;
		*mk[i].lf = lf;
		*mk[i].bare = bare;
	}
	for (i = 0; i < m->nparts; i++) {
		struct mime_part *p = m->parts[i];
		const size_t *h = &cnt[6 * i], *b = &cnt[6 * i + 2],
		    *e = &cnt[6 * i + 4];

		p->hdr_size = p->body_off - p->hdr_off + b[1] - h[1];
		p->body_size = p->end - p->body_off + e[1] - b[1];
		p->body_lines = e[0] - b[0];
	}
	free(mk);
	free(cnt);
}

struct mime_msg *
mime_parse(const char *data, size_t len)
{
	struct mparser mp;
	struct mime_msg *m = xmalloc(sizeof(*m));

	m->data = data;
	m->len = len;
	m->exact = false;
	memset(&mp, 0, sizeof(mp));
	mp.m = m;
	mp.d = data;
	mp.len = len;
	m->root = part_new(&mp, NULL, 0);
	parse_body(&mp, part_open(&mp, m->root));
	parts_sizes(m);
	return m;
}

void
mime_free(struct mime_msg **mp)
{
	struct mime_msg *m = *mp;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nparts; i++) {
		mime_fields_free(m->parts[i]);
		free(m->parts[i]);
	}
	free(m->parts);
	XFREE(mp);
}

bool
mime_part_is_multipart(const struct mime_part *p)
{
	return strcmp(p->type, "multipart") == 0;
}

bool
mime_part_is_message(const struct mime_part *p)
{
	return strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 ||
	    strcmp(p->subtype, "global") == 0);
}

bool
mime_part_is_text(const struct mime_part *p)
{
	return strcmp(p->type, "text") == 0;
}

struct mime_part *
mime_part_child(const struct mime_part *p, size_t n)
{
	struct mime_part *c = p->children;

	if (n == 0)
		return NULL;
	while (c != NULL && --n > 0)
		c = c->next;
	return c;
}

const char *
mime_param_get(const struct mime_param *params, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	return NULL;
}

size_t
mime_wire_size(const char *data, size_t from, size_t to)
{
	size_t n = to - from, pos = from;
	const char *nl;

	while (pos < to && (nl = memchr(data + pos, '\n', to - pos)) != NULL) {
		size_t i = (size_t)(nl - data);

		if (i == 0 || data[i - 1] != '\r')
			n++;
		pos = i + 1;
	}
	return n;
}

int
mime_append_wire(const char *data, size_t from, size_t to, size_t skip,
    size_t max, struct buf *out)
{
	size_t wpos = 0, pos = from;	/* wire offset of data[pos] */

	while (pos < to && max > 0) {
		const char *nl = memchr(data + pos, '\n', to - pos);
		size_t seg_end = nl != NULL ? (size_t)(nl - data) : to;
		size_t seg = seg_end - pos, take;
		bool bare = nl != NULL &&
		    (seg_end == 0 || data[seg_end - 1] != '\r');

		/* The run of bytes before the LF, copied as is. */
		if (skip < wpos + seg) {
			size_t a = skip > wpos ? skip - wpos : 0;

			take = seg - a < max ? seg - a : max;
			if (buf_append(out, data + pos + a, take) < 0)
				return -1;
			max -= take;
		}
		wpos += seg;
		pos = seg_end;
		if (nl == NULL || max == 0)
			break;
		/* The line end: "\r\n" for a bare LF, else "\n". */
		{
			const char *le = bare ? "\r\n" : "\n";
			size_t ln = bare ? 2 : 1;

			for (size_t j = 0; j < ln && max > 0; j++, wpos++)
				if (wpos >= skip) {
					if (buf_putc(out, le[j]) < 0)
						return -1;
					max--;
				}
		}
		pos++;
	}
	return 0;
}
