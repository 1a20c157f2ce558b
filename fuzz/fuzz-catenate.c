/*
 * fuzz-catenate - the CATENATE argument grammar (imap/imap_catenate.c:
 * the part list and RFC 5092 URLs) behind the IMAP parser, which streams
 * TEXT literals as it streams APPEND messages.
 *
 * The input is fed twice: after "t APPEND INBOX CATENATE (" as the rest
 * of a command (the parser answers literals and streams TEXT parts; every
 * command it completes goes through imap_args_parse_append), and whole
 * as one URL. Beyond "no crash, no leak, no UB" it checks the contracts:
 * streamed chunks are contiguous and end with last; a parsed message has
 * 1..IMAP_CATENATE_PARTS_MAX parts, TEXT parts name streamed literals in
 * order, URL parts are at most IMAP_URL_MAX octets; a parsed URL has a
 * UTF-8 mailbox without controls, a UID, a section mail/imap_section.c
 * accepts, a non-empty PARTIAL length; a failure sets an error and
 * leaves nothing allocated.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_catenate.h"
#include "imap/imap_parser.h"
#include "mail/imap_section.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_url(const char *s, size_t len)
{
	struct imap_url u;
	const char *error = NULL;

	if (imap_url_parse(s, len, &u, &error) == 0) {
		CHECK(u.mailbox != NULL && u.mailbox[0] != '\0');
		CHECK(utf8_valid(u.mailbox, strlen(u.mailbox)));
		for (const char *p = u.mailbox; *p; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
		CHECK(u.uid != 0);
		CHECK(!u.partial || u.length > 0);
		CHECK(u.user == NULL || u.user[0] != '\0');
		if (u.section != NULL) {
			struct imap_section sec;
			CHECK(imap_section_parse(u.section, strlen(u.section),
			    &sec, &error) == 0);
			imap_section_free(&sec);
		}
	} else
		CHECK(error != NULL && u.mailbox == NULL && u.user == NULL &&
		    u.section == NULL);
	imap_url_free(&u);
}

static void
check_append(const struct imap_command *c, unsigned streamed)
{
	struct imap_append a;
	const char *error = NULL;

	if (imap_args_parse_append(c->args, c->count, &a, &error) < 0) {
		CHECK(error != NULL && a.msgs == NULL && a.mailbox == NULL);
		return;
	}
	for (unsigned i = 0; i < a.count; i++) {
		const struct imap_append_msg *m = &a.msgs[i];
		int last = -1;

		if (m->parts == NULL)
			continue;
		CHECK(m->n_parts >= 1 && m->n_parts <= IMAP_CATENATE_PARTS_MAX);
		for (unsigned k = 0; k < m->n_parts; k++) {
			const struct imap_cat_part *p = &m->parts[k];
			if (p->url != NULL) {
				CHECK(strlen(p->url) <= IMAP_URL_MAX);
				check_url(p->url, strlen(p->url));
				continue;
			}
			CHECK((int)p->index > last && p->index < streamed);
			last = (int)p->index;
		}
	}
	imap_append_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "t APPEND INBOX CATENATE (";
	struct imap_parser_limits lim;
	struct imap_parser *p;
	char *in = malloc(sizeof(head) - 1 + size);
	size_t len = sizeof(head) - 1 + size, pos = 0, used;
	unsigned streamed = 0;
	uint64_t next_off = 0;

	memcpy(in, head, sizeof(head) - 1);
	if (size)
		memcpy(in + sizeof(head) - 1, data, size);
	imap_parser_limits_default(&lim);
	lim.append_max = 1 << 20;
	p = imap_parser_create(&lim);
	while (pos < len) {
		enum imap_parse_result r = imap_parser_feed(p, in + pos,
		    len - pos, &used);
		const struct imap_literal *l;

		CHECK(used <= len - pos);
		pos += used;
		switch (r) {
		case IMAP_PARSE_COMMAND:
			check_append(imap_parser_command(p), streamed);
			streamed = 0;
			break;
		case IMAP_PARSE_LITERAL_STREAM:
			l = imap_parser_literal(p);
			CHECK(l->stream && l->offset == next_off);
			/* the chunk lies in what was just consumed */
			CHECK(l->len == 0 || (l->data >= in + pos - used &&
			    l->data + l->len <= in + pos));
			next_off = l->offset + l->len;
			if (l->last) {
				CHECK(next_off == l->size);
				next_off = 0;
				streamed = l->index + 1;
			}
			break;
		case IMAP_PARSE_ERROR:
			streamed = 0;
			next_off = 0;
			break;
		case IMAP_PARSE_NEED_MORE:
			CHECK(pos == len);
			break;
		default:	/* LITERAL_WAIT: go on as if "+" was sent */
			break;
		}
		if (used == 0 && r == IMAP_PARSE_NEED_MORE)
			break;
	}
	imap_parser_destroy(&p);
	free(in);
	check_url((const char *)data, size);
	return 0;
}
