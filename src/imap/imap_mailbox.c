/*
 * imap_mailbox - mailbox names as sent (UTF-8, or modified UTF-7 through
 * util/mutf7 for IMAP4rev1 clients) and the LIST wildcard matcher (see
 * imap_args.h).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args_int.h"
#include "util/buf.h"
#include "util/mutf7.h"
#include "util/utf8.h"

/* ------------------------------------------------------------------ */
/* Mailbox names                                                        */

/* No controls (C0, DEL, C1) and well-formed UTF-8. */
static bool
mailbox_utf8_valid(const char *s, size_t len)
{
	uint32_t cp;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0 ||
		    utf8_is_control(cp))
			return false;
	return true;
}

char *
imap_mailbox_decode(const char *name, size_t len, bool utf8_mode,
    const char **error_r)
{
	struct buf out;
	char *s;

	if (memchr(name, '\0', len) != NULL) {
		*error_r = "NUL in mailbox name";
		return NULL;
	}
	buf_init(&out, 0);
	if (utf8_mode) {
		if (!mailbox_utf8_valid(name, len)) {
			*error_r = "Mailbox name is not valid UTF-8";
			return NULL;
		}
		buf_append(&out, name, len);
	} else if (mutf7_decode(&out, name, len, NULL) < 0 ||
	    !mailbox_utf8_valid(out.data, out.len)) {
		/* the decoded text has no controls either */
		buf_free(&out);
		*error_r = "Mailbox name is not valid modified UTF-7";
		return NULL;
	}
	if (out.len > IMAP_MAILBOX_NAME_MAX) {
		buf_free(&out);
		*error_r = "Mailbox name too long";
		return NULL;
	}
	s = buf_steal(&out, NULL);
	if (strcasecmp(s, "INBOX") == 0)
		memcpy(s, "INBOX", 5);
	return s;
}

char *
imap_mailbox_encode_mutf7(const char *utf8)
{
	struct buf out;

	buf_init(&out, 0);
	if (mutf7_encode(&out, utf8, strlen(utf8), NULL) < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

/* ------------------------------------------------------------------ */
/* LIST wildcard matching                                               */

/*
 * A simulation of the pattern as an NFA: state j means "pattern[0..j)
 * matched so far". Wildcards may match nothing, so states are closed over
 * them before each step. Time O(m * n), memory O(m), no backtracking: a
 * hostile "*%*%*%...x" costs the same as any other pattern.
 */
static void
wild_closure(const char *pattern, size_t m, bool *st)
{
	size_t j;

	for (j = 0; j < m; j++)
		if (st[j] && (pattern[j] == '*' || pattern[j] == '%'))
			st[j + 1] = true;
}

bool
imap_list_match(const char *pattern, const char *name, char sep)
{
	size_t m = strlen(pattern), k, j;
	bool *cur = xcalloc(2 * (m + 1), sizeof(bool)), *nxt = cur + m + 1, *t;
	bool inbox, any, r;
	char c, pc;

	inbox = strncmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || (sep != '\0' && name[5] == sep));
	cur[0] = true;
	wild_closure(pattern, m, cur);
	for (k = 0; name[k] != '\0'; k++) {
		c = name[k];
		memset(nxt, 0, m + 1);
		any = false;
		for (j = 0; j < m; j++) {
			if (!cur[j])
				continue;
			pc = pattern[j];
			if (pc == '*' || (pc == '%' && c != sep))
				nxt[j] = any = true;
			else if (pc != '*' && pc != '%' && (pc == c ||
			    (inbox && k < 5 &&
			    toupper((unsigned char)pc) == c)))
				nxt[j + 1] = any = true;
		}
		if (!any) {
			free(cur < nxt ? cur : nxt);
			return false;
		}
		wild_closure(pattern, m, nxt);
		t = cur;
		cur = nxt;
		nxt = t;
	}
	r = cur[m];
	free(cur < nxt ? cur : nxt);
	return r;
}
