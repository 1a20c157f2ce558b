/*
 * mail_keys - SORT keys and SEARCH address text of header field values
 * (see mail_keys.h).
 *
 * Trust: untrusted field values, parsed by rfc5322_addr_parse (bounded,
 * lenient) and decoded by rfc5322_decode; every output is bounded by a
 * small multiple of the input. Callers: IMAP SEARCH, SORT and THREAD.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/mail_keys.h"
#include "mail/mail_search.h"
#include "mail/rfc5322.h"
#include "util/xmalloc.h"

void
mail_key_collate(const char *s, size_t len, struct buf *out)
{
	size_t from = out->len;

	charset_fold(s, len, out);
	for (size_t i = from; i < out->len; i++)
		if (out->data[i] >= 'a' && out->data[i] <= 'z')
			out->data[i] = (char)(out->data[i] - 'a' + 'A');
}

static char *
collated(const char *s, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	mail_key_collate(s, len, &b);
	return buf_steal(&b, NULL);
}

char *
mail_key_addr_mailbox(const char *v, size_t len)
{
	struct rfc5322_addr *list = rfc5322_addr_parse(v, len);
	char *r;

	r = list != NULL && list->mailbox != NULL ?
	    collated(list->mailbox, strlen(list->mailbox)) : xstrdup("");
	rfc5322_addr_free(&list);
	return r;
}

/* Appends mailbox@host, or the mailbox alone when the host is missing. */
static void
addr_spec(const struct rfc5322_addr *a, struct buf *out)
{
	buf_puts(out, a->mailbox);
	if (a->host != NULL && a->host[0] != '\0') {
		buf_putc(out, '@');
		buf_puts(out, a->host);
	}
}

char *
mail_key_addr_display(const char *v, size_t len)
{
	struct rfc5322_addr *list = rfc5322_addr_parse(v, len), *a = list;
	struct buf t;
	char *r;

	buf_init(&t, 0);
	if (a != NULL && a->name != NULL)
		rfc5322_decode(a->name, strlen(a->name), &t);
	if (t.len == 0 && a != NULL && a->mailbox != NULL)
		addr_spec(a, &t);
	r = collated(buf_cstr(&t), t.len);
	buf_free(&t);
	rfc5322_addr_free(&list);
	return r;
}

char *
mail_key_subject(const char *v, size_t len, bool *is_reply_r)
{
	char *base = mail_base_subject(v, len, is_reply_r);
	char *r = collated(base, strlen(base));

	free(base);
	return r;
}

void
mail_key_addr_text(const char *v, size_t len, struct buf *out)
{
	struct rfc5322_addr *list = rfc5322_addr_parse(v, len), *a;
	bool sep = false;

	for (a = list; a != NULL; a = a->next) {
		if (a->mailbox == NULL) {		/* group end */
			buf_putc(out, ';');
			continue;
		}
		if (sep)
			buf_puts(out, ", ");
		if (a->host == NULL) {			/* group start */
			rfc5322_decode(a->mailbox, strlen(a->mailbox), out);
			buf_puts(out, ": ");
			sep = false;
			continue;
		}
		sep = true;
		if (a->name != NULL) {
			size_t before = out->len;

			rfc5322_decode(a->name, strlen(a->name), out);
			if (out->len > before) {
				buf_puts(out, " <");
				addr_spec(a, out);
				buf_putc(out, '>');
				continue;
			}
		}
		addr_spec(a, out);
	}
	rfc5322_addr_free(&list);
}
