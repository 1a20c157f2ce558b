/*
 * fuzz-mailbox-name - folder names and Maildir file names on arbitrary
 * bytes: a name that validates encodes to a directory that decodes back
 * to it; a directory that decodes encodes back to itself; file name info
 * parses and rebuilds without crashing, keeping the base.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/mailbox_int.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *s)
{
	char *norm, *dir, *back, *again;

	if (mbox_name_resolve(s, false, &norm, &dir, NULL) < 0)
		return;
	if (dir[0]) {
		if (mbox_name_from_dir(dir, &back) < 0 ||
		    strcmp(back, norm) != 0)
			abort();
		free(back);
	}
	free(norm);
	free(dir);
	if (s[0] == '.' && mbox_name_from_dir(s, &back) == 0) {
		if (mbox_name_to_dir(back, &again, NULL) < 0 ||
		    strcmp(again, s) != 0)
			abort();
		free(again);
		free(back);
	}
}

static void
check_file(const char *s)
{
	unsigned flags, f2;
	uint32_t letters, l2;
	uint64_t v;
	size_t bl = mbox_base_len(s);
	char *built;

	mbox_info_parse(s, &flags, &letters);
	(void)mbox_base_field(s, bl, 'W', &v);
	built = mbox_info_build(s, bl, flags, letters, 0x3ffffff);
	if (strncmp(built, s, bl) != 0)
		abort();
	mbox_info_parse(built, &f2, &l2);
	if (f2 != flags || l2 != letters)
		abort();
	free(built);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);

	check_name(s);
	check_file(s);
	(void)mbox_keyword_valid(s);
	(void)mbox_wire_size((const char *)data, size);
	free(s);
	return 0;
}
