/*
 * imap_metadata_args - the grammars of GETMETADATA and SETMETADATA
 * (RFC 5464 section 5) and the entry-name rules (see imap_metadata.h).
 *
 * Trust: untrusted client input; I/O-free, no fixed buffers, everything
 * kept is copied, allocations bounded by the command the parser took
 * and by IMAP_METADATA_ARGS_MAX names.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args.h"
#include "imap/imap_metadata.h"
#include "store/metadata.h"
#include "util/xmalloc.h"

static bool
top_is(const char *s, size_t len, const char *top)
{
	size_t n = strlen(top);

	return len >= n && strncasecmp(s, top, n) == 0 &&
	    (len == n || s[n] == '/');
}

char *
imap_metadata_entry(const char *s, size_t len, bool set, const char **error_r)
{
	size_t top, levels = 0;
	char *out;

	if (len > MDATA_ENTRY_MAX) {
		*error_r = "Entry name too long";
		return NULL;
	}
	if (top_is(s, len, "/private"))
		top = 8;
	else if (top_is(s, len, "/shared"))
		top = 7;
	else {
		*error_r = "Entry name must start with /private or /shared";
		return NULL;
	}
	if (set && len == top) {
		*error_r = "Cannot set a top-level entry";
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '*' || c == '%') {
			*error_r = "Invalid character in entry name";
			return NULL;
		}
		if (c != '/')
			continue;
		if (i + 1 == len || s[i + 1] == '/') {
			*error_r = "Empty level in entry name";
			return NULL;
		}
		if (++levels > MDATA_DEPTH_MAX) {
			*error_r = "Entry name too deep";
			return NULL;
		}
	}
	out = xstrndup(s, len);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

/* ---- GETMETADATA ------------------------------------------------------ */

/* An options list: (MAXSIZE n DEPTH d ...). */
static int
get_options(const struct imap_arg *a, struct imap_getmetadata *g,
    const char **error_r)
{
	const struct imap_arg *o = a->list;
	const char *v;

	if (a->list_count == 0 || a->list_count % 2) {
		*error_r = "Invalid GETMETADATA options";
		return -1;
	}
	for (unsigned i = 0; i < a->list_count; i += 2) {
		if (!imap_arg_get_atom(&o[i + 1], &v)) {
			*error_r = "Invalid GETMETADATA option value";
			return -1;
		}
		if (imap_arg_atom_equals(&o[i], "MAXSIZE")) {
			if (g->has_maxsize ||
			    imap_parse_number32(v, false, &g->maxsize) < 0) {
				*error_r = "Invalid MAXSIZE";
				return -1;
			}
			g->has_maxsize = true;
		} else if (imap_arg_atom_equals(&o[i], "DEPTH")) {
			if (strcmp(v, "0") == 0)
				g->depth = 0;
			else if (strcmp(v, "1") == 0)
				g->depth = 1;
			else if (strcasecmp(v, "infinity") == 0)
				g->depth = -1;
			else {
				*error_r = "DEPTH is 0, 1 or infinity";
				return -1;
			}
		} else {
			*error_r = "Unknown GETMETADATA option";
			return -1;
		}
	}
	return 0;
}

/* Whether a is an options list rather than a list of entries. */
static bool
is_options(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_LIST && a->list_count > 0 &&
	    a->list[0].type == IMAP_ARG_ATOM && a->list[0].str[0] != '/';
}

static int
get_entries(const struct imap_arg *a, struct imap_getmetadata *g,
    const char **error_r)
{
	const struct imap_arg *e = a;
	unsigned n = 1;
	const char *s;
	size_t len;

	if (a->type == IMAP_ARG_LIST) {
		e = a->list;
		n = a->list_count;
	}
	if (n == 0 || n > IMAP_METADATA_ARGS_MAX) {
		*error_r = n ? "Too many entries" : "No entries";
		return -1;
	}
	g->entries = xcalloc(n, sizeof(*g->entries));
	for (unsigned i = 0; i < n; i++) {
		if (!imap_arg_get_astring(&e[i], &s, &len) ||
		    e[i].type == IMAP_ARG_NIL) {
			*error_r = "Invalid entry name";
			return -1;
		}
		if ((g->entries[i] = imap_metadata_entry(s, len, false,
		    error_r)) == NULL)
			return -1;
		g->n_entries++;
	}
	return 0;
}

int
imap_args_parse_getmetadata(const struct imap_arg *args, unsigned count,
    struct imap_getmetadata *g, const char **error_r)
{
	const struct imap_arg *mbox;
	const char *s;
	unsigned i = 0;
	size_t len;

	memset(g, 0, sizeof(*g));
	if (count == 3 && is_options(&args[0])) {
		if (get_options(&args[0], g, error_r) < 0)
			goto fail;
		i = 1;
	} else if (count == 3 && is_options(&args[1])) {
		if (get_options(&args[1], g, error_r) < 0)
			goto fail;
	} else if (count != 2) {
		*error_r = "GETMETADATA needs [options] mailbox entries";
		return -1;
	}
	mbox = &args[i];
	if (!imap_arg_get_astring(mbox, &s, &len)) {
		*error_r = "Invalid mailbox name";
		goto fail;
	}
	g->mailbox = xstrndup(s, len);
	g->mailbox_len = len;
	if (get_entries(&args[count - 1], g, error_r) < 0)
		goto fail;
	return 0;
fail:
	imap_getmetadata_free(g);
	return -1;
}

void
imap_getmetadata_free(struct imap_getmetadata *g)
{
	for (unsigned i = 0; i < g->n_entries; i++)
		free(g->entries[i]);
	free(g->entries);
	free(g->mailbox);
	memset(g, 0, sizeof(*g));
}

/* ---- SETMETADATA ------------------------------------------------------ */

int
imap_args_parse_setmetadata(const struct imap_arg *args, unsigned count,
    struct imap_setmetadata *sm, const char **error_r)
{
	const struct imap_arg *l;
	const char *s;
	size_t len;
	unsigned n;

	memset(sm, 0, sizeof(*sm));
	if (count != 2 || !imap_arg_get_astring(&args[0], &s, &len) ||
	    !imap_arg_get_list(&args[1], &l, &n) || n == 0 || n % 2) {
		*error_r = "SETMETADATA needs a mailbox and (entry value ...)";
		return -1;
	}
	if (n / 2 > IMAP_METADATA_ARGS_MAX) {
		*error_r = "Too many entries";
		return -1;
	}
	sm->mailbox = xstrndup(s, len);
	sm->mailbox_len = len;
	sm->values = xcalloc(n / 2, sizeof(*sm->values));
	for (unsigned i = 0; i < n; i += 2) {
		struct imap_metadata_value *v = &sm->values[sm->n_values];

		if (!imap_arg_get_astring(&l[i], &s, &len) ||
		    l[i].type == IMAP_ARG_NIL) {
			*error_r = "Invalid entry name";
			goto fail;
		}
		if ((v->entry = imap_metadata_entry(s, len, true,
		    error_r)) == NULL)
			goto fail;
		sm->n_values++;
		if (!imap_arg_get_nstring(&l[i + 1], &s, &len)) {
			*error_r = "Invalid value (a string, literal or NIL)";
			goto fail;
		}
		if (s != NULL) {
			v->value = xmalloc(len + 1);
			memcpy(v->value, s, len);
			v->value[len] = '\0';
			v->len = len;
			if (len > sm->longest)
				sm->longest = len;
		}
	}
	return 0;
fail:
	imap_setmetadata_free(sm);
	return -1;
}

void
imap_setmetadata_free(struct imap_setmetadata *sm)
{
	for (unsigned i = 0; i < sm->n_values; i++) {
		free(sm->values[i].entry);
		free(sm->values[i].value);
	}
	free(sm->values);
	free(sm->mailbox);
	memset(sm, 0, sizeof(*sm));
}
