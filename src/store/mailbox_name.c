/*
 * mailbox_name - folder names: validation, and the on-disk encoding of a
 * name as a Maildir++ directory (see mailbox.h).
 *
 * Trust: names come from authenticated clients (CREATE, SELECT, ...) and
 * from directory entries another tool may have made; both are checked
 * here before any path is built from them. Everything is bounded by
 * MBOX_NAME_MAX on input and NAME_MAX on output.
 *
 * Each level is modified UTF-7 (RFC 3501 5.1.3, util/mutf7.c) with "."
 * shifted too, so "." only separates levels on disk. Decoding accepts only
 * what encoding produces (the result is re-encoded and compared), so one
 * directory has one name and one name one directory.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/mailbox_int.h"
#include "util/buf.h"
#include "util/mutf7.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* Characters shifted on disk beside the non-ASCII ones. */
#define DISK_SHIFTED	"."

int
mbox_name_check(const char *name, bool strict, char **norm_r, char **error_r)
{
	size_t len = strlen(name);
	unsigned depth = 1;
	uint32_t cp;

	if (len == 0 || len > MBOX_NAME_MAX) {
		mbox_error(error_r, len ? "Folder name too long" :
		    "Empty folder name");
		return MBOX_ERR_BADNAME;
	}
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//")) {
		mbox_error(error_r, "Folder name with an empty level");
		return MBOX_ERR_BADNAME;
	}
	for (size_t i = 0; i < len;) {
		size_t l = utf8_decode(name + i, len - i, &cp);
		if (l == 0 || utf8_is_control(cp)) {
			mbox_error(error_r, l ? "Control character in folder "
			    "name" : "Folder name is not UTF-8");
			return MBOX_ERR_BADNAME;
		}
		if (cp == '/')
			depth++;
		if (strict && (cp == '*' || cp == '%')) {
			mbox_error(error_r, "Wildcard in folder name");
			return MBOX_ERR_BADNAME;
		}
		i += l;
	}
	if (depth > MBOX_DEPTH_MAX) {
		mbox_error(error_r, "Folder hierarchy too deep");
		return MBOX_ERR_BADNAME;
	}
	*norm_r = xstrdup(name);
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		memcpy(*norm_r, "INBOX", 5);
	return 0;
}

int
mbox_name_to_dir(const char *norm, char **dir_r, char **error_r)
{
	struct buf b;
	const char *s = norm, *slash;

	if (strcmp(norm, "INBOX") == 0) {
		*dir_r = xstrdup("");
		return 0;
	}
	buf_init(&b, 0);
	do {
		slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		buf_putc(&b, '.');
		(void)mutf7_encode(&b, s, n, DISK_SHIFTED); /* checked UTF-8 */
		if (slash)
			s = slash + 1;
	} while (slash);
	if (b.len > NAME_MAX) {
		buf_free(&b);
		mbox_error(error_r, "Folder name too long");
		return MBOX_ERR_BADNAME;
	}
	*dir_r = buf_steal(&b, NULL);
	return 0;
}

int
mbox_name_from_dir(const char *dir, char **name_r)
{
	struct buf out;
	const char *s, *dot;
	char *norm = NULL, *again = NULL;
	int ret = -1;

	if (dir[0] != '.' || strlen(dir) > NAME_MAX)
		return -1;
	buf_init(&out, 0);
	for (s = dir + 1;; s = dot + 1) {
		dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || mutf7_decode(&out, s, n, DISK_SHIFTED) < 0)
			goto done;
		if (dot == NULL)
			break;
		buf_putc(&out, '/');
	}
	/* "/" decoded from base64 would invent a level; also canonical? */
	if (memchr(out.data, '\0', out.len) ||
	    mbox_name_check(buf_cstr(&out), false, &norm, NULL) < 0 ||
	    strcmp(norm, buf_cstr(&out)) != 0 || strcmp(norm, "INBOX") == 0 ||
	    mbox_name_to_dir(norm, &again, NULL) < 0 ||
	    strcmp(again, dir) != 0)
		goto done;
	*name_r = norm;
	norm = NULL;
	ret = 0;
done:
	free(norm);
	free(again);
	buf_free(&out);
	return ret;
}

int
mbox_name_resolve(const char *name, bool strict, char **norm_r, char **dir_r,
    char **error_r)
{
	int r = mbox_name_check(name, strict, norm_r, error_r);

	if (r < 0)
		return r;
	r = mbox_name_to_dir(*norm_r, dir_r, error_r);
	if (r < 0)
		XFREE(norm_r);
	return r;
}
