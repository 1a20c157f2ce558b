/*
 * imap_args_int - helpers shared by the parts of imap_args (imap_args.c,
 * imap_date.c, imap_seqset.c, imap_search_args.c, imap_fetch_args.c,
 * imap_mailbox.c); not for other callers, whose contract is imap_args.h.
 */
#ifndef TEM_IMAP_ARGS_INT_H
#define TEM_IMAP_ARGS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args.h"
#include "util/xmalloc.h"

static inline int
err(const char **error_r, const char *msg)
{
	*error_r = msg;
	return -1;
}

/* astring bytes usable as a C string: no NUL inside (a literal8 could). */
static inline bool
get_astr(const struct imap_arg *arg, const char **s_r, size_t *len_r)
{
	size_t len;

	if (!imap_arg_get_astring(arg, s_r, &len))
		return false;
	if (memchr(*s_r, '\0', len) != NULL)
		return false;
	if (len_r != NULL)
		*len_r = len;
	return true;
}

static inline char *
dup_astr(const struct imap_arg *arg)
{
	const char *s;
	size_t len;

	if (!get_astr(arg, &s, &len))
		return NULL;
	return xstrndup(s, len);
}

/* The atom text of arg (ATOM or NIL), or NULL. */
static inline const char *
atom_of(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return NULL;
	return arg->str;
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ATOM-CHAR of RFC 9051: CHAR except atom-specials. */
static inline bool
is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* Finds word in a NULL-terminated table of names, ignoring case. */
static inline int
lookup(const char *const *names, const char *word)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(names[i], word) == 0)
			return i;
	return -1;
}

/* ---- imap_seqset.c ------------------------------------------------ */
/* Sequence set from an atom argument. */
int imap_seqset_from_arg(const struct imap_arg *arg, bool dollar_ok,
    struct imap_seqset *set, const char **error_r);
/* Numbers in an unresolved set without "*" (ranges may be reversed). */
uint64_t imap_seqset_raw_count(const struct imap_seqset *set);

#endif
