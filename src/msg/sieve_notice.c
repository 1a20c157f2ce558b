/*
 * sieve_notice - the vacation reply, the reject MDN and the script-error
 * notice of a Sieve run, as complete messages (see sieve_notice.h).
 *
 * Trust: scripts and messages are untrusted; every header value goes
 * through mail/mime_encode.c (cleaned, encoded, folded), every address is
 * parsed and rebuilt from its parts (a value that is not exactly one
 * mailbox is refused or replaced by the user), every body text is
 * quoted-printable when it is not plain 7bit, and each boundary is
 * checked against the parts it separates. I/O-free.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime_encode.h"
#include "mail/rfc5322.h"
#include "msg/sieve_notice.h"
#include "sieve/sieve.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define ADDR_MAX	998	/* an address, rebuilt, in octets */

/* A local part that may go unquoted: dot-atom text (and UTF-8). */
static bool
notice_dot_atom(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x80 || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL)
			continue;
		if (c == '.' && s[1] != '.' && s[1] != '\0')
			continue;
		return false;
	}
	return true;
}

/* A domain: labels of letters, digits, '-', UTF-8, or a [literal]. */
static bool
notice_domain_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || strchr("<>()[]\\\",;:@", c))
			return false;
	}
	return true;
}

/* spec parsed as exactly one mailbox with a usable domain, or NULL. */
static struct rfc5322_addr *
notice_one_mailbox(const char *spec)
{
	struct rfc5322_addr *a;

	if (spec == NULL || strlen(spec) > ADDR_MAX)
		return NULL;
	/* a line break or other control: not an address we write */
	for (const char *p = spec; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	a = rfc5322_addr_parse(spec, strlen(spec));
	if (a != NULL && a->next == NULL && a->host != NULL &&
	    a->mailbox != NULL && a->mailbox[0] != '\0' &&
	    notice_domain_ok(a->host))
		return a;
	rfc5322_addr_free(&a);
	return NULL;
}

char *
sieve_notice_from_addr(const char *from)
{
	struct rfc5322_addr *a = notice_one_mailbox(from);
	char *out;

	if (a == NULL)
		return NULL;
	out = xasprintf("%s@%s", a->mailbox, a->host);
	rfc5322_addr_free(&a);
	return out;
}

/*
 * Appends "Name: [phrase ]<local@domain>\n" for spec, which must parse as
 * exactly one mailbox. With user set (a :from), its display name is kept
 * and its domain must be user's (ASCII case-insensitive). false, with
 * nothing appended, when it does not.
 */
static bool
notice_addr_field(struct buf *b, const char *name, const char *spec,
    const char *user)
{
	const char *at = user != NULL ? strrchr(user, '@') : NULL;
	struct rfc5322_addr *a = notice_one_mailbox(spec);
	struct buf addr;
	size_t col = strlen(name) + 2;

	if (a == NULL || (user != NULL && (at == NULL ||
	    strcasecmp(a->host, at + 1) != 0))) {
		rfc5322_addr_free(&a);
		return false;
	}
	buf_init(&addr, 0);
	if (notice_dot_atom(a->mailbox))
		buf_puts(&addr, a->mailbox);
	else {
		buf_putc(&addr, '"');
		for (const char *p = a->mailbox; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(&addr, '\\');
			buf_putc(&addr, *p);
		}
		buf_putc(&addr, '"');
	}
	buf_printf(&addr, "@%s", a->host);
	buf_printf(b, "%s: ", name);
	if (user != NULL && a->name != NULL && a->name[0] != '\0') {
		struct buf dn;
		/* the parser leaves encoded words as they are: decode them,
		 * so the name is encoded once, from its text */
		buf_init(&dn, 0);
		rfc5322_decode(a->name, strlen(a->name), &dn);
		mime_encode_phrase(b, dn.data, dn.len, &col);
		buf_free(&dn);
		if (col + 3 + addr.len > 78)
			buf_putc(b, '\n');
		buf_putc(b, ' ');
	}
	buf_printf(b, "<%s>\n", buf_cstr(&addr));
	buf_free(&addr);
	rfc5322_addr_free(&a);
	return true;
}

/* Appends a structured field (message ids) cleaned and folded; nothing
 * when value is NULL or empty. Whole ids only: those past IDS_MAX
 * octets are left out (RFC 5322 3.6.4 lets References be trimmed). */
#define IDS_MAX		(4 * ADDR_MAX)
static void
notice_ids_field(struct buf *b, const char *name, const char *value)
{
	struct buf v;
	size_t col = strlen(name) + 1, out = 0;

	if (value == NULL || *value == '\0')
		return;
	buf_init(&v, 0);
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		buf_putc(&v, c <= 0x20 || c >= 0x7f ? ' ' : (char)c);
	}
	buf_printf(b, "%s:", name);
	for (char *w = strtok(v.data, " "); w != NULL; w = strtok(NULL, " ")) {
		size_t n = strlen(w);
		if (out > 0 && out + n > IDS_MAX)
			break;
		if (col > strlen(name) + 1 && col + 1 + n > 78) {
			buf_putc(b, '\n');
			col = 0;
		}
		buf_printf(b, " %s", w);
		col += 1 + n;
		out += 1 + n;
	}
	buf_putc(b, '\n');
	buf_free(&v);
}

/* Date and Message-ID (random, @hostname). */
static void
notice_date_id(struct buf *b, const char *hostname, time_t now,
    const char *kind)
{
	char date[RFC5322_DATE_MAX], id[17];

	rfc5322_date_format(now, date);
	log_new_id(id);
	buf_printf(b, "Date: %s\n", date);
	buf_printf(b, "Message-ID: <%s.%s@%s>\n", id, kind, hostname);
}

/* Appends s[0..n) with LF line ends, a bare CR or a NUL as a space (the
 * 7bit/8bit text a part's header promises). */
static void
notice_copy_text(struct buf *out, const char *s, size_t n)
{
	size_t from = out->len;

	mime_copy_lf(out, s, n);
	for (size_t i = from; i < out->len; i++)
		if (out->data[i] == '\r' || out->data[i] == '\0')
			out->data[i] = ' ';
}

/* A text cut to SIEVE_NOTICE_TEXT_MAX at a UTF-8 character start. */
static size_t
notice_cut(const char *text, size_t len)
{
	if (len <= SIEVE_NOTICE_TEXT_MAX)
		return len;
	len = SIEVE_NOTICE_TEXT_MAX;
	while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Content-Type/-Transfer-Encoding of a UTF-8 text part, the empty line
 * and text as its body. */
static void
notice_text_part(struct buf *b, const char *text, size_t len)
{
	bool qp;

	len = notice_cut(text, len);
	qp = mime_needs_qp(text, len);
	buf_puts(b, "Content-Type: text/plain; charset=utf-8\n");
	buf_printf(b, "Content-Transfer-Encoding: %s\n\n", qp ?
	    "quoted-printable" : "7bit");
	if (qp)
		mime_encode_qp(b, text, len);
	else
		mime_copy_lf(b, text, len);
}

/* A hostname fit for a header (cleaned copy). */
static char *
notice_host(const char *hostname)
{
	char *h;

	if (hostname == NULL || *hostname == '\0')
		hostname = "localhost";
	h = xstrdup(hostname);
	for (char *p = h; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == '@')
			*p = '-';
	return h;
}

/*
 * The :mime entity: its Content-* fields, then its body. false when the
 * text has no header section with a Content-Type.
 */
static bool
notice_mime_entity(struct buf *b, const char *text, size_t len)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	struct buf head;
	bool ctype = false;

	len = notice_cut(text, len);
	buf_init(&head, 0);
	rfc5322_iter_init(&it, text, len);
	while (rfc5322_iter_next(&it, &f) == 1) {
		if (f.name_len < 8 || strncasecmp(f.name, "Content-", 8) != 0)
			continue;
		ctype |= rfc5322_field_is(&f, "Content-Type");
		struct buf v;
		buf_init(&v, 0);
		rfc5322_unfold(f.value, f.value_len, &v);
		/* structured: cleaned, not encoded (parameters stay valid) */
		for (size_t i = 0; i < v.len; i++)
			if ((unsigned char)v.data[i] < 0x20 || v.data[i] == 0x7f)
				v.data[i] = ' ';
		buf_printf(&head, "%.*s: %s\n", (int)f.name_len, f.name,
		    buf_cstr(&v));
		buf_free(&v);
	}
	if (!ctype || it.body_off == 0) {
		buf_free(&head);
		return false;
	}
	buf_append(b, head.data, head.len);
	buf_putc(b, '\n');
	notice_copy_text(b, text + it.body_off, len - it.body_off);
	buf_free(&head);
	return true;
}

char *
sieve_notice_vacation(const struct sieve_action *a, const char *user,
    const char *hostname, time_t now, size_t *len)
{
	struct buf b, body;
	char *host;
	const char *text;

	*len = 0;
	if (a == NULL || a->type != SIEVE_VACATION || user == NULL)
		return NULL;
	text = a->text != NULL ? a->text : "";
	buf_init(&b, 0);
	if (!(a->from != NULL && notice_addr_field(&b, "From", a->from,
	    user)) && !notice_addr_field(&b, "From", user, NULL)) {
		buf_free(&b);
		return NULL;
	}
	if (!notice_addr_field(&b, "To", a->address, NULL)) {
		buf_free(&b);
		return NULL;
	}
	host = notice_host(hostname);
	mime_encode_field(&b, "Subject", a->subject ? a->subject : "",
	    a->subject ? strlen(a->subject) : 0);
	notice_ids_field(&b, "In-Reply-To", a->in_reply_to);
	notice_ids_field(&b, "References", a->references);
	notice_date_id(&b, host, now, "vacation");
	buf_puts(&b, "Auto-Submitted: auto-replied\n");
	buf_puts(&b, "MIME-Version: 1.0\n");
	buf_init(&body, 0);
	/* a :mime text that is no entity goes as plain text */
	if (!a->mime || !notice_mime_entity(&body, text, strlen(text)))
		notice_text_part(&body, text, strlen(text));
	buf_append(&b, body.data, body.len);
	buf_free(&body);
	free(host);
	return buf_steal(&b, len);
}

/* The original header section, LF line ends, without its empty line,
 * cut to SIEVE_NOTICE_HEAD_MAX at a line end; a bare CR or a NUL (not
 * text, and not what the part's type promises) becomes a space. */
static void
notice_orig_head(struct buf *out, const char *head, size_t hlen)
{
	size_t n = rfc5322_body_offset(head, hlen);

	if (n > SIEVE_NOTICE_HEAD_MAX) {
		n = SIEVE_NOTICE_HEAD_MAX;
		while (n > 0 && head[n - 1] != '\n')
			n--;
	}
	notice_copy_text(out, head, n);
	while (out->len >= 2 && out->data[out->len - 1] == '\n' &&
	    out->data[out->len - 2] == '\n')
		out->len--;
}

/* A boundary that occurs in none of the parts. */
static void
notice_boundary(char out[40], const struct buf *parts, int n)
{
	char id[17];
	bool clash;

	do {
		log_new_id(id);
		snprintf(out, 40, "=_tem_sieve_%s", id);
		clash = false;
		for (int i = 0; i < n; i++)
			if (parts[i].len > 0 && memmem(parts[i].data,
			    parts[i].len, out, strlen(out)) != NULL)
				clash = true;
	} while (clash);
}

/* Appends the value of field name of head decoded to UTF-8 (or nothing). */
static bool
notice_orig_field(struct buf *out, const char *head, size_t hlen,
    const char *name, bool decode)
{
	struct rfc5322_field f;

	if (rfc5322_find(head, hlen, name, &f) != 1)
		return false;
	if (decode)
		rfc5322_decode(f.value, f.value_len, out);
	else
		rfc5322_unfold(f.value, f.value_len, out);
	return true;
}

/* The three parts of the reject MDN (RFC 5429 2.1.1). */
static void
notice_reject_parts(struct buf part[3], const struct sieve_action *a,
    const char *user, const char *head, size_t hlen, const char *host)
{
	struct buf t, mid;
	const char *reason = a->text != NULL ? a->text : "";

	buf_init(&t, 0);
	buf_puts(&t, "Your message was automatically rejected by Sieve, a "
	    "mail\nfiltering language.\n\nThe following reason was given:\n");
	buf_append(&t, reason, notice_cut(reason, strlen(reason)));
	buf_putc(&t, '\n');
	notice_text_part(&part[0], t.data, t.len);
	buf_free(&t);

	buf_puts(&part[1], "Content-Type: message/disposition-notification\n"
	    "\n");
	buf_printf(&part[1], "Reporting-UA: %s; tem\n", host);
	buf_init(&t, 0);
	buf_puts(&t, "rfc822; ");
	buf_puts(&t, user);
	notice_ids_field(&part[1], "Final-Recipient", t.data);
	buf_free(&t);
	buf_init(&mid, 0);
	if (notice_orig_field(&mid, head, hlen, "Message-ID", false))
		notice_ids_field(&part[1], "Original-Message-ID",
		    buf_cstr(&mid));
	buf_free(&mid);
	buf_puts(&part[1], "Disposition: automatic-action/"
	    "MDN-sent-automatically; deleted\n");

	buf_init(&t, 0);
	notice_orig_head(&t, head, hlen);
	buf_puts(&part[2], "Content-Type: text/rfc822-headers\n");
	if (mime_has_8bit(t.data, t.len))
		buf_puts(&part[2], "Content-Transfer-Encoding: 8bit\n");
	buf_putc(&part[2], '\n');
	buf_append(&part[2], t.data, t.len);
	buf_free(&t);
}

char *
sieve_notice_reject(const struct sieve_action *a, const char *user,
    const char *orig_head, size_t hlen, const char *env_from,
    const char *hostname, time_t now, size_t *len)
{
	struct buf b, part[3], subj;
	char boundary[40], *host;
	bool eight;

	*len = 0;
	if (a == NULL || a->type != SIEVE_REJECT || user == NULL ||
	    env_from == NULL || *env_from == '\0' || orig_head == NULL)
		return NULL;
	buf_init(&b, 0);
	if (!notice_addr_field(&b, "To", env_from, NULL)) {
		buf_free(&b);
		return NULL;
	}
	host = notice_host(hostname);
	buf_reset(&b);
	buf_printf(&b, "From: \"Mail Delivery Subsystem\" "
	    "<MAILER-DAEMON@%s>\n", host);
	(void)notice_addr_field(&b, "To", env_from, NULL);
	buf_init(&subj, 0);
	buf_puts(&subj, "Rejected: ");
	if (!notice_orig_field(&subj, orig_head, hlen, "Subject", true))
		buf_puts(&subj, "(no subject)");
	mime_encode_field(&b, "Subject", subj.data, subj.len);
	buf_free(&subj);
	notice_date_id(&b, host, now, "reject");
	buf_puts(&b, "Auto-Submitted: auto-replied (rejected)\n");
	buf_puts(&b, "MIME-Version: 1.0\n");
	for (int i = 0; i < 3; i++)
		buf_init(&part[i], 0);
	notice_reject_parts(part, a, user, orig_head, hlen, host);
	eight = mime_has_8bit(part[2].data, part[2].len);
	notice_boundary(boundary, part, 3);
	buf_printf(&b, "Content-Type: multipart/report; "
	    "report-type=disposition-notification;\n\tboundary=\"%s\"\n",
	    boundary);
	if (eight)
		buf_puts(&b, "Content-Transfer-Encoding: 8bit\n");
	buf_puts(&b, "\nThis is a MIME-encapsulated message.\n\n");
	for (int i = 0; i < 3; i++) {
		buf_printf(&b, "--%s\n", boundary);
		buf_append(&b, part[i].data, part[i].len);
		buf_putc(&b, '\n');
		buf_free(&part[i]);
	}
	buf_printf(&b, "--%s--\n", boundary);
	free(host);
	return buf_steal(&b, len);
}

char *
sieve_notice_error(const char *user, const char *script, const char *error,
    const char *hostname, time_t now, size_t *len)
{
	struct buf b, t, subj;
	char *host;

	*len = 0;
	if (user == NULL || error == NULL)
		return NULL;
	buf_init(&b, 0);
	host = notice_host(hostname);
	buf_printf(&b, "From: \"Sieve\" <MAILER-DAEMON@%s>\n", host);
	if (!notice_addr_field(&b, "To", user, NULL)) {
		free(host);
		buf_free(&b);
		return NULL;
	}
	buf_init(&subj, 0);
	buf_printf(&subj, "Sieve script failed: %s", script != NULL ?
	    script : "the active script");
	mime_encode_field(&b, "Subject", subj.data, subj.len);
	buf_free(&subj);
	notice_date_id(&b, host, now, "sieve");
	buf_puts(&b, "Auto-Submitted: auto-generated\n");
	buf_puts(&b, "MIME-Version: 1.0\n");
	buf_init(&t, 0);
	if (script != NULL)
		buf_printf(&t, "Your Sieve script \"%s\" failed", script);
	else
		buf_puts(&t, "Your active Sieve script failed");
	buf_puts(&t, " while filtering a message\nfor you:\n\n  ");
	buf_append(&t, error, notice_cut(error, strlen(error)));
	buf_puts(&t, "\n\nThe message was not lost: it was kept, that is, "
	    "delivered to your\nINBOX as if you had no script. Please fix "
	    "the script (your mail\nprogram's filter settings, or "
	    "ManageSieve).\n");
	notice_text_part(&b, t.data, t.len);
	buf_free(&t);
	free(host);
	return buf_steal(&b, len);
}
