/*
 * mail_search - decoded text matching and SORT/THREAD keys (see
 * mail_search.h).
 *
 * Trust: untrusted messages. Each value or part is decoded into a
 * temporary buffer, folded and searched with memmem, then freed; the
 * scans are linear in the message size. Callers: IMAP SEARCH/SORT/THREAD.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/charset.h"
#include "mail/mail_keys.h"
#include "mail/mail_search.h"
#include "mail/mime_decode.h"
#include "mail/rfc5322.h"
#include "util/xmalloc.h"

char *
mail_search_fold(const char *key, size_t len, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	charset_fold(key, len, &b);
	return buf_steal(&b, len_r);
}

/* Folds the UTF-8 text t and looks for the key in it. */
static bool
folded_contains(const struct buf *t, const char *fkey, size_t fkey_len)
{
	struct buf f;
	bool hit;

	buf_init(&f, 0);
	charset_fold(t->data != NULL ? t->data : "", t->len, &f);
	hit = memmem(buf_cstr(&f), f.len, fkey, fkey_len) != NULL;
	buf_free(&f);
	return hit;
}

/* Appends the decoded header data[from..to) as "Name: value\n" lines;
   only fields called name when name is not NULL. Returns the count. */
static size_t
header_text(const struct mime_msg *m, size_t from, size_t to,
    const char *name, struct buf *out)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t n = 0;

	rfc5322_iter_init(&it, m->data + from, to - from);
	while (rfc5322_iter_next(&it, &f) == 1) {
		if (name != NULL && !rfc5322_field_is(&f, name))
			continue;
		if (name == NULL) {
			charset_utf8_fallback(f.name, f.name_len, out);
			buf_puts(out, ": ");
		}
		rfc5322_decode(f.value, f.value_len, out);
		buf_putc(out, '\n');
		n++;
	}
	return n;
}

bool
mail_search_value(const char *v, size_t len, bool addr, const char *fkey,
    size_t fkey_len)
{
	struct buf t;
	bool hit;

	if (fkey_len == 0)
		return true;
	buf_init(&t, 0);
	if (addr)
		mail_key_addr_text(v, len, &t);
	else
		rfc5322_decode(v, len, &t);
	hit = folded_contains(&t, fkey, fkey_len);
	buf_free(&t);
	return hit;
}

bool
mail_search_fields(const char *data, size_t len, const char *name,
    bool addr, const char *fkey, size_t fkey_len)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;

	rfc5322_iter_init(&it, data, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		if (rfc5322_field_is(&f, name) &&
		    mail_search_value(f.value, f.value_len, addr, fkey,
		    fkey_len))
			return true;
	return false;
}

static bool
field_search(const struct mime_msg *m, const char *name, bool addr,
    const char *fkey, size_t fkey_len)
{
	const struct mime_part *r = m->root;

	return mail_search_fields(m->data + r->hdr_off,
	    r->body_off - r->hdr_off, name, addr, fkey, fkey_len);
}

bool
mail_search_header(const struct mime_msg *m, const char *name,
    const char *fkey, size_t fkey_len)
{
	return field_search(m, name, false, fkey, fkey_len);
}

bool
mail_search_addr(const struct mime_msg *m, const char *name,
    const char *fkey, size_t fkey_len)
{
	return field_search(m, name, true, fkey, fkey_len);
}

/* Appends the UTF-8 text of leaf part p's body. */
static void
part_text(const struct mime_msg *m, const struct mime_part *p,
    struct buf *out)
{
	const char *body = m->data + p->body_off;
	size_t len = p->end - p->body_off;
	struct buf raw;

	buf_init(&raw, 0);
	if (p->cte == MIME_CTE_BASE64) {
		mime_decode_base64(body, len, &raw);
		body = buf_cstr(&raw);
		len = raw.len;
	} else if (p->cte == MIME_CTE_QP) {
		mime_decode_qp(body, len, &raw);
		body = buf_cstr(&raw);
		len = raw.len;
	}
	charset_to_utf8(mime_param_get(p->params, p->nparams, "charset"),
	    body, len, out);
	buf_free(&raw);
}

static bool
body_contains(const struct mime_msg *m, const char *fkey, size_t fkey_len)
{
	bool hit = false;
	struct buf t;

	buf_init(&t, 0);
	for (size_t i = 0; i < m->nparts && !hit; i++) {
		const struct mime_part *p = m->parts[i];
		bool embedded = p->parent != NULL && p->parent->message == p;

		if (!embedded && !mime_part_is_text(p))
			continue;
		buf_reset(&t);
		if (embedded)
			header_text(m, p->hdr_off, p->body_off, NULL, &t);
		if (mime_part_is_text(p))
			part_text(m, p, &t);
		hit = folded_contains(&t, fkey, fkey_len);
	}
	buf_free(&t);
	return hit;
}

bool
mail_search_body(const struct mime_msg *m, const char *fkey,
    size_t fkey_len)
{
	return fkey_len == 0 || body_contains(m, fkey, fkey_len);
}

bool
mail_search_text(const struct mime_msg *m, const char *fkey,
    size_t fkey_len)
{
	struct buf t;
	bool hit;

	if (fkey_len == 0)
		return true;
	buf_init(&t, 0);
	header_text(m, m->root->hdr_off, m->root->body_off, NULL, &t);
	hit = folded_contains(&t, fkey, fkey_len);
	buf_free(&t);
	return hit || body_contains(m, fkey, fkey_len);
}

/* The last field called name in the top-level header (0: none). */
static int
last_field(const struct mime_msg *m, const char *name,
    struct rfc5322_field *f)
{
	const struct mime_part *r = m->root;
	struct rfc5322_iter it;
	struct rfc5322_field cur;
	int found = 0;

	rfc5322_iter_init(&it, m->data + r->hdr_off, r->body_off - r->hdr_off);
	while (rfc5322_iter_next(&it, &cur) == 1)
		if (rfc5322_field_is(&cur, name)) {
			*f = cur;
			found = 1;
		}
	return found;
}

int
mail_search_sent_date(const struct mime_msg *m, time_t *t_r, time_t *day_r)
{
	struct rfc5322_field f;
	time_t t;
	int tz;

	if (!last_field(m, "Date", &f) ||
	    rfc5322_date_parse(f.value, f.value_len, &t, &tz) < 0)
		return -1;
	if (t_r != NULL)
		*t_r = t;
	if (day_r != NULL) {
		time_t local = t + (time_t)tz * 60;
		time_t rem = local % 86400;

		*day_r = local - (rem < 0 ? rem + 86400 : rem);
	}
	return 0;
}

char *
mail_search_base_subject(const struct mime_msg *m, bool *is_reply_r)
{
	const struct mime_part *r = m->root;
	struct rfc5322_field f;

	if (!rfc5322_find(m->data + r->hdr_off, r->body_off - r->hdr_off,
	    "Subject", &f)) {
		if (is_reply_r != NULL)
			*is_reply_r = false;
		return xstrdup("");
	}
	return mail_base_subject(f.value, f.value_len, is_reply_r);
}

char *
mail_thread_message_id(const struct mime_msg *m)
{
	struct rfc5322_field f;
	char **ids, *id;
	size_t n;

	if (!last_field(m, "Message-ID", &f) ||
	    (n = rfc5322_msgids_parse(f.value, f.value_len, 1, &ids)) == 0)
		return NULL;
	id = ids[0];
	ids[0] = NULL;
	rfc5322_msgids_free(&ids, n);
	return id;
}

size_t
mail_thread_references(const struct mime_msg *m, char ***ids_r)
{
	struct rfc5322_field f;
	size_t n;

	*ids_r = NULL;
	if (last_field(m, "References", &f) &&
	    (n = rfc5322_msgids_parse(f.value, f.value_len,
	    RFC5322_MSGID_MAX, ids_r)) > 0)
		return n;
	if (last_field(m, "In-Reply-To", &f))
		return rfc5322_msgids_parse(f.value, f.value_len, 1, ids_r);
	return 0;
}

/* --- RFC 5256 base subject ----------------------------------------------- */

struct subj {
	char	*s;	/* NUL-terminated working copy */
	size_t	 a;	/* start */
	size_t	 b;	/* end */
};

static bool
subj_wsp(char c)
{
	return c == ' ';
}

/* At i: "[" *BLOBCHAR "]" *WSP; returns the end, or 0 when none. */
static size_t
subj_blob(const struct subj *x, size_t i)
{
	if (i >= x->b || x->s[i] != '[')
		return 0;
	for (i++; i < x->b && x->s[i] != ']'; i++)
		if (x->s[i] == '[')
			return 0;
	if (i >= x->b)
		return 0;
	for (i++; i < x->b && subj_wsp(x->s[i]); i++)
		;
	return i;
}

/* Step 2: trailing "(fwd)" and white space. */
static bool
subj_trailer(struct subj *x)
{
	bool any = false;

	for (;;) {
		if (x->b > x->a && subj_wsp(x->s[x->b - 1]))
			x->b--;
		else if (x->b - x->a >= 5 &&
		    strncasecmp(x->s + x->b - 5, "(fwd)", 5) == 0) {
			x->b -= 5;
			any = true;
		} else
			return any;
	}
}

/* Step 3: one subj-leader (blobs then re/fw/fwd [blob] ":") or WSP. */
static int
subj_leader(struct subj *x)
{
	size_t i = x->a, e;

	if (i < x->b && subj_wsp(x->s[i])) {
		x->a++;
		return 1;
	}
	while ((e = subj_blob(x, i)) != 0)
		i = e;
	if (x->b - i >= 3 && strncasecmp(x->s + i, "fwd", 3) == 0)
		i += 3;
	else if (x->b - i >= 2 && (strncasecmp(x->s + i, "re", 2) == 0 ||
	    strncasecmp(x->s + i, "fw", 2) == 0))
		i += 2;
	else
		return 0;
	while (i < x->b && subj_wsp(x->s[i]))
		i++;
	if ((e = subj_blob(x, i)) != 0)
		i = e;
	if (i >= x->b || x->s[i] != ':')
		return 0;
	x->a = i + 1;
	return 2;
}

/* Steps 3-5; true when a re/fwd leader went. */
static bool
subj_leaders(struct subj *x)
{
	bool reply = false, again = true;
	size_t e;
	int r;

	while (again) {
		again = false;
		while ((r = subj_leader(x)) != 0) {
			reply |= r == 2;
			again = true;
		}
		if ((e = subj_blob(x, x->a)) != 0 && e < x->b) {
			x->a = e;
			again = true;
		}
	}
	return reply;
}

char *
mail_base_subject(const char *raw, size_t len, bool *is_reply_r)
{
	struct buf d, c;
	struct subj x;
	bool reply = false;
	size_t i;

	/* Step 1: decoded, white space runs as one space, no NUL. */
	buf_init(&d, 0);
	buf_init(&c, 0);
	rfc5322_decode(raw, len, &d);
	for (i = 0; i < d.len; i++) {
		char ch = d.data[i] == '\t' ? ' ' : d.data[i];

		if ((ch == ' ' && c.len > 0 && c.data[c.len - 1] == ' ') ||
		    ch == '\0')	/* a decoded =00: the result is a string */
			continue;
		buf_putc(&c, ch);
	}
	buf_free(&d);
	x.s = buf_steal(&c, &x.b);
	x.a = 0;
	for (;;) {
		reply |= subj_trailer(&x);
		reply |= subj_leaders(&x);
		/* Step 6: "[fwd:" ... "]". */
		if (x.b - x.a >= 6 && strncasecmp(x.s + x.a, "[fwd:", 5) == 0 &&
		    x.s[x.b - 1] == ']') {
			x.a += 5;
			x.b--;
			reply = true;
			continue;
		}
		break;
	}
	if (is_reply_r != NULL)
		*is_reply_r = reply;
	memmove(x.s, x.s + x.a, x.b - x.a);
	x.s[x.b - x.a] = '\0';
	return x.s;
}
