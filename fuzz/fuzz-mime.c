/*
 * fuzz-mime - the MIME parser and every IMAP view of a message on
 * arbitrary input: BODYSTRUCTURE, BODY, ENVELOPE, sections (whole, HEADER,
 * TEXT, MIME, HEADER.FIELDS[.NOT], part numbers taken from the input),
 * BINARY, SEARCH matching, base subject and message ids. Checks the
 * invariants the IMAP server relies on: part ranges inside the buffer,
 * wire sizes matching the bytes a full section fetch writes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/imap_msgstruct.h"
#include "mail/imap_section.h"
#include "mail/mail_search.h"
#include "mail/mime.h"
#include "mail/rfc5322.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"", "HEADER", "TEXT", "1", "1.MIME", "2", "1.1", "1.2.MIME",
	"2.HEADER", "2.TEXT", "1.1.1", "3.1", "HEADER.FIELDS (From Subject)",
	"2.HEADER.FIELDS.NOT (Content-Type)",
};

static void
fetch(struct mime_msg *m, const char *spec, size_t off, size_t len)
{
	struct imap_section sec;
	const char *err;
	struct buf b;
	size_t full = 0;

	if (imap_section_parse(spec, strlen(spec), &sec, &err) < 0) {
		imap_section_free(&sec);
		return;
	}
	buf_init(&b, 0);
	imap_section_fetch(m, &sec, 0, SIZE_MAX, &b, &full);
	TEM_ASSERT(b.len == full);
	buf_reset(&b);
	imap_section_fetch(m, &sec, off, len, &b, NULL);
	TEM_ASSERT(b.len <= len);
	if (sec.kind == IMAP_SECTION_ALL) {
		buf_reset(&b);
		imap_binary_fetch(m, &sec, off, len, &b, &full);
		/* the same as stored exactly (a literal8 APPEND): the
		   whole is as long as its size says */
		m->exact = true;
		buf_reset(&b);
		if (imap_binary_fetch(m, &sec, 0, SIZE_MAX, &b, &full) ==
		    IMAP_BINARY_OK)
			TEM_ASSERT(b.len == full);
		m->exact = false;
	}
	buf_free(&b);
	imap_section_free(&sec);
}

static void
search(const struct mime_msg *m)
{
	static const char key[] = "caf\xc3\xa9 X";
	size_t flen;
	char *fkey = mail_search_fold(key, sizeof(key) - 1, &flen);
	char **ids, *id, *subj;
	size_t n;
	bool reply;
	time_t t, day;

	(void)mail_search_header(m, "Subject", fkey, flen);
	(void)mail_search_body(m, fkey, flen);
	(void)mail_search_text(m, fkey, flen);
	(void)mail_search_sent_date(m, &t, &day);
	subj = mail_search_base_subject(m, &reply);
	free(subj);
	id = mail_thread_message_id(m);
	free(id);
	n = mail_thread_references(m, &ids);
	rfc5322_msgids_free(&ids, n);
	free(fkey);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_msg *m = mime_parse((const char *)data, size);
	struct buf b;
	char spec[64];

	for (size_t i = 0; i < m->nparts; i++) {
		const struct mime_part *p = m->parts[i];

		TEM_ASSERT(p->hdr_off <= p->body_off && p->body_off <= p->end &&
		    p->end <= size);
		TEM_ASSERT(p->body_size == mime_wire_size((const char *)data,
		    p->body_off, p->end));
		TEM_ASSERT(p->hdr_size == mime_wire_size((const char *)data,
		    p->hdr_off, p->body_off));
	}
	TEM_ASSERT(imap_rfc822_size(m) >= size);
	buf_init(&b, 0);
	imap_bodystructure(m, m->root, true, &b);
	imap_bodystructure(m, m->root, false, &b);
	imap_envelope(m, m->root, &b);
	buf_free(&b);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		fetch(m, specs[i], size % 7, size % 13 + 1);
	/* A part path from the first bytes, e.g. "2.1.3". */
	if (size >= 3) {
		snprintf(spec, sizeof(spec), "%u.%u.%u", data[0] % 4 + 1,
		    data[1] % 4 + 1, data[2] % 3 + 1);
		fetch(m, spec, 0, SIZE_MAX);
	}
	search(m);
	mime_free(&m);
	return 0;
}
