/*
 * fuzz-addr - the address-list parser (mail/rfc5322_addr.c) and the SORT
 * and SEARCH keys made from header values (mail/mail_keys.c, the RFC 5256
 * base subject) on arbitrary bytes, read as one field value. Beyond "no
 * crash, no UB, no leak" it checks what SORT and SEARCH rely on:
 *  - at most RFC5322_ADDR_MAX entries; a group end has no host; groups
 *    never nest and every start has its end;
 *  - every address's mailbox is in the SEARCH text of the value;
 *  - sort keys are valid UTF-8 without ASCII lowercase letters, and the
 *    key of a key is the key itself (collation is idempotent);
 *  - a base subject has no leading, trailing or doubled space.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail_keys.h"
#include "mail/mail_search.h"
#include "mail/rfc5322.h"
#include "util/buf.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_list(const char *v, size_t len)
{
	struct rfc5322_addr *list = rfc5322_addr_parse(v, len), *a;
	struct buf text;
	bool in_group = false;
	size_t n = 0;

	buf_init(&text, 0);
	mail_key_addr_text(v, len, &text);
	for (a = list; a != NULL; a = a->next, n++) {
		if (a->mailbox == NULL) {		/* group end */
			CHECK(a->host == NULL && in_group);
			in_group = false;
		} else if (a->host == NULL) {		/* group start */
			CHECK(!in_group);
			in_group = true;
		} else
			CHECK(memmem(buf_cstr(&text), text.len, a->mailbox,
			    strlen(a->mailbox)) != NULL);
	}
	CHECK(!in_group);
	CHECK(n <= RFC5322_ADDR_MAX);
	buf_free(&text);
	rfc5322_addr_free(&list);
}

static void
check_key(char *key)
{
	size_t len = strlen(key);
	struct buf again;

	CHECK(utf8_valid(key, len));
	for (size_t i = 0; i < len; i++)
		CHECK(key[i] < 'a' || key[i] > 'z');
	buf_init(&again, 0);
	mail_key_collate(key, len, &again);
	CHECK(again.len == len && memcmp(buf_cstr(&again), key, len) == 0);
	buf_free(&again);
	free(key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	char *base;
	size_t n;

	check_list(v, size);
	check_key(mail_key_addr_mailbox(v, size));
	check_key(mail_key_addr_display(v, size));
	check_key(mail_key_subject(v, size, NULL));
	base = mail_base_subject(v, size, NULL);
	n = strlen(base);
	CHECK(n == 0 || (base[0] != ' ' && base[n - 1] != ' '));
	CHECK(strstr(base, "  ") == NULL);
	free(base);
	return 0;
}
