/*
 * imap_msgstruct - ENVELOPE, BODY and BODYSTRUCTURE strings (see
 * imap_msgstruct.h).
 *
 * Trust: untrusted message content; every value passes through
 * imap_append_nstring() or imap_append_human(), which choose a quoted
 * string only for safe text. BODYSTRUCTURE recursion is bounded by
 * MIME_MAX_DEPTH (the parser never builds a deeper tree).
 * Callers: the IMAP FETCH command, tests, fuzz-mime.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/imap_msgstruct.h"
#include "mail/rfc5322.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define EMPTY_BODY	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") " \
			"NIL NIL \"7bit\" 0 0"
#define EMPTY_ENVELOPE	"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"

static void
append_literal(struct buf *out, const char *s, size_t len)
{
	buf_printf(out, "{%zu}\r\n", len);
	buf_append(out, s, len);
}

void
imap_append_nstring(struct buf *out, const char *s, bool nolf)
{
	size_t i, escapes = 0, len;
	bool literal = false;
	struct buf tmp;

	if (s == NULL) {
		buf_puts(out, "NIL");
		return;
	}
	buf_init(&tmp, 0);
	for (i = 0; s[i] != '\0'; i++)
		if (!nolf || (s[i] != '\r' && s[i] != '\n'))
			buf_putc(&tmp, s[i]);
	s = buf_cstr(&tmp);
	len = tmp.len;
	for (i = 0; i < len && !literal; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			literal = ++escapes > 4;
		else if (c == '\r' || c == '\n' || c >= 0x80)
			literal = true;
	}
	if (literal)
		append_literal(out, s, len);
	else {
		buf_putc(out, '"');
		for (i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, s[i]);
		}
		buf_putc(out, '"');
	}
	buf_free(&tmp);
}

void
imap_append_human(struct buf *out, const char *s, size_t len)
{
	bool modify = false, last_sp = true;
	struct buf t;
	size_t i;

	/* Dovecot's rule: any change at all (or a special) means literal. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t' || c == '\r' || c == '\n' || c == '"' ||
		    c == '\\' || c == '\0' || c >= 0x80 || (c == ' ' && last_sp))
			modify = true;
		last_sp = c == ' ' || c == '\t';
	}
	if (len > 0 && last_sp)
		modify = true;
	if (!modify) {
		buf_putc(out, '"');
		buf_append(out, s, len);
		buf_putc(out, '"');
		return;
	}
	buf_init(&t, 0);
	last_sp = true;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\r' || c == '\n' || c == '\0')
			continue;
		if (c == ' ' || c == '\t') {
			if (!last_sp)
				buf_putc(&t, ' ');
			last_sp = true;
			continue;
		}
		last_sp = false;
		buf_putc(&t, c);
	}
	if (t.len > 0 && t.data[t.len - 1] == ' ')
		t.len--;
	if (t.len == 0)
		buf_puts(out, "\"\"");
	else
		append_literal(out, t.data, t.len);
	buf_free(&t);
}

/* --- ENVELOPE ----------------------------------------------------------- */

enum { ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO,
	ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID, ENV_N };

static const char *const env_names[ENV_N] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID"
};

static bool
env_is_addr(int i)
{
	return i >= ENV_FROM && i <= ENV_BCC;
}

static void
append_addr(struct buf *out, const struct rfc5322_addr *a)
{
	buf_putc(out, '(');
	if (a->name != NULL)
		imap_append_human(out, a->name, strlen(a->name));
	else
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	imap_append_nstring(out, a->route, false);
	buf_putc(out, ' ');
	if (a->mailbox == NULL || a->host == NULL) {	/* group marker */
		imap_append_nstring(out, a->mailbox, false);
		buf_puts(out, " NIL)");
		return;
	}
	imap_append_nstring(out, a->mailbox[0] != '\0' ? a->mailbox :
	    "MISSING_MAILBOX", false);
	buf_putc(out, ' ');
	imap_append_nstring(out, a->host[0] != '\0' ? a->host :
	    "MISSING_DOMAIN", false);
	buf_putc(out, ')');
}

static void
append_addr_list(struct buf *out, const struct rfc5322_addr *list)
{
	if (list == NULL) {
		buf_puts(out, "NIL");
		return;
	}
	buf_putc(out, '(');
	for (; list != NULL; list = list->next)
		append_addr(out, list);
	buf_putc(out, ')');
}

/* Appends the addresses of field f to list *tail. */
static struct rfc5322_addr **
env_add_addrs(struct rfc5322_addr **tail, const struct rfc5322_field *f)
{
	struct rfc5322_addr *a = rfc5322_addr_parse(f->value, f->value_len);

	*tail = a;
	while (*tail != NULL)
		tail = &(*tail)->next;
	return tail;
}

static void
envelope(const struct mime_msg *m, const struct mime_part *msg,
    struct buf *out)
{
	struct rfc5322_addr *addrs[ENV_N], **tails[ENV_N];
	struct rfc5322_field last[ENV_N], f;
	bool have[ENV_N];
	struct rfc5322_iter it;
	int i;

	for (i = 0; i < ENV_N; i++) {
		addrs[i] = NULL;
		tails[i] = &addrs[i];
		have[i] = false;
	}
	rfc5322_iter_init(&it, m->data + msg->hdr_off,
	    msg->body_off - msg->hdr_off);
	while (rfc5322_iter_next(&it, &f) == 1) {
		for (i = 0; i < ENV_N; i++) {
			if (!rfc5322_field_is(&f, env_names[i]))
				continue;
			if (env_is_addr(i))
				tails[i] = env_add_addrs(tails[i], &f);
			last[i] = f;
			have[i] = true;
			break;
		}
	}
	buf_putc(out, '(');
	for (i = 0; i < ENV_N; i++) {
		struct buf v;

		if (i > 0)
			buf_putc(out, ' ');
		if (env_is_addr(i)) {
			const struct rfc5322_addr *l = addrs[i];

			if (l == NULL && (i == ENV_SENDER || i == ENV_REPLY_TO))
				l = addrs[ENV_FROM];
			append_addr_list(out, l);
			continue;
		}
		if (!have[i]) {
			buf_puts(out, "NIL");
			continue;
		}
		buf_init(&v, 0);
		if (i == ENV_SUBJECT) {
			const char *sv = last[i].value;
			size_t sn = last[i].value_len;

			/* As Dovecot: the value starts after the blanks. */
			while (sn > 0 && (*sv == ' ' || *sv == '\t')) {
				sv++;
				sn--;
			}
			imap_append_human(out, sv, sn);
		} else {
			rfc5322_unfold(last[i].value, last[i].value_len, &v);
			imap_append_nstring(out, buf_cstr(&v), true);
		}
		buf_free(&v);
	}
	buf_putc(out, ')');
	for (i = 0; i < ENV_N; i++)
		rfc5322_addr_free(&addrs[i]);
}

int
imap_envelope(const struct mime_msg *m, const struct mime_part *msg,
    struct buf *out)
{
	struct buf tmp;
	int r;

	/* Built aside so a max hit never leaves half an envelope. */
	buf_init(&tmp, 0);
	envelope(m, msg, &tmp);
	r = buf_append(out, tmp.data, tmp.len);
	buf_free(&tmp);
	return r;
}

/* --- BODY / BODYSTRUCTURE ----------------------------------------------- */

static void
append_params(struct buf *out, const struct mime_param *ps, size_t n)
{
	if (n == 0) {
		buf_puts(out, "NIL");
		return;
	}
	buf_putc(out, '(');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(out, ' ');
		imap_append_nstring(out, ps[i].name, false);
		buf_putc(out, ' ');
		imap_append_nstring(out, ps[i].value, false);
	}
	buf_putc(out, ')');
}

/* Content-Language "en, de" as ("en" "de"). */
static void
append_language(struct buf *out, const char *lang)
{
	const char *p = lang;
	bool first = true;

	if (lang == NULL) {
		buf_puts(out, "NIL");
		return;
	}
	buf_putc(out, '(');
	while (*p != '\0') {
		size_t n;
		char *tok;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		tok = xstrndup(p, n);
		if (!first)
			buf_putc(out, ' ');
		imap_append_nstring(out, tok, true);
		free(tok);
		first = false;
		p += n;
	}
	if (first)
		buf_puts(out, "\"\"");
	buf_putc(out, ')');
}

static void
append_ext_common(struct buf *out, const struct mime_part *p)
{
	buf_putc(out, ' ');
	if (p->disposition == NULL)
		buf_puts(out, "NIL");
	else {
		buf_putc(out, '(');
		imap_append_nstring(out, p->disposition, true);
		buf_putc(out, ' ');
		append_params(out, p->disp_params, p->ndisp_params);
		buf_putc(out, ')');
	}
	buf_putc(out, ' ');
	append_language(out, p->language);
	buf_putc(out, ' ');
	imap_append_nstring(out, p->location, true);
}

static void
append_empty_body(struct buf *out, bool extended)
{
	buf_puts(out, EMPTY_BODY);
	buf_puts(out, extended ? " NIL NIL NIL NIL)" : ")");
}

static void bodystructure(const struct mime_msg *m,
    const struct mime_part *p, bool ext, struct buf *out);

static void
bs_multipart(const struct mime_msg *m, const struct mime_part *p, bool ext,
    struct buf *out)
{
	const struct mime_part *c;

	buf_putc(out, '(');
	if (p->children == NULL)
		append_empty_body(out, ext);
	for (c = p->children; c != NULL; c = c->next)
		bodystructure(m, c, ext, out);
	buf_putc(out, ' ');
	imap_append_nstring(out, p->subtype_raw, true);
	if (ext) {
		buf_putc(out, ' ');
		append_params(out, p->params, p->nparams);
		append_ext_common(out, p);
	}
	buf_putc(out, ')');
}

static void
bs_leaf(const struct mime_msg *m, const struct mime_part *p, bool ext,
    struct buf *out)
{
	buf_putc(out, '(');
	imap_append_nstring(out, p->type_raw, true);
	buf_putc(out, ' ');
	imap_append_nstring(out, p->subtype_raw, true);
	buf_putc(out, ' ');
	append_params(out, p->params, p->nparams);
	buf_putc(out, ' ');
	imap_append_nstring(out, p->id, true);
	buf_putc(out, ' ');
	imap_append_nstring(out, p->description, true);
	buf_putc(out, ' ');
	imap_append_nstring(out, p->cte_raw != NULL ? p->cte_raw : "7bit",
	    true);
	buf_printf(out, " %zu", p->body_size);
	if (mime_part_is_text(p))
		buf_printf(out, " %zu", p->body_lines);
	else if (mime_part_is_message(p)) {
		buf_putc(out, ' ');
		if (p->message != NULL) {
			envelope(m, p->message, out);
			buf_putc(out, ' ');
			bodystructure(m, p->message, ext, out);
		} else {
			buf_puts(out, EMPTY_ENVELOPE " ");
			append_empty_body(out, ext);
		}
		buf_printf(out, " %zu", p->body_lines);
	}
	if (ext) {
		buf_putc(out, ' ');
		imap_append_nstring(out, p->md5, true);
		append_ext_common(out, p);
	}
	buf_putc(out, ')');
}

static void
bodystructure(const struct mime_msg *m, const struct mime_part *p, bool ext,
    struct buf *out)
{
	TEM_ASSERT(p->depth <= MIME_MAX_DEPTH);
	if (mime_part_is_multipart(p))
		bs_multipart(m, p, ext, out);
	else
		bs_leaf(m, p, ext, out);
}

int
imap_bodystructure(const struct mime_msg *m, const struct mime_part *p,
    bool extended, struct buf *out)
{
	struct buf tmp;
	int r;

	/* Built aside so a max hit never leaves half a structure. */
	buf_init(&tmp, 0);
	bodystructure(m, p, extended, &tmp);
	r = buf_append(out, tmp.data, tmp.len);
	buf_free(&tmp);
	return r;
}

size_t
imap_rfc822_size(const struct mime_msg *m)
{
	return mime_wire_size(m->data, 0, m->len);
}
