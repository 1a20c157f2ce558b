/*
 * imap_metadata - METADATA and METADATA-SERVER (RFC 5464): the argument
 * grammars of GETMETADATA and SETMETADATA and the entry-name rules
 * (imap_metadata_args.c, I/O-free and fuzzed: fuzz/fuzz-metadata.c), and
 * the commands (cmd-metadata.c) over the store's per-user entries
 * (store/metadata.h).
 *
 * Trust: the arguments come from an untrusted, authenticated client;
 * parsers follow imap_args.h's conventions (0, or -1 with a static BAD
 * text and nothing left to free) and copy what they keep.
 */
#ifndef TEM_IMAP_METADATA_H
#define TEM_IMAP_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_client.h"
#include "imap/imap_parser.h"

/* With a leading space: what CAPABILITY adds after login. */
#define IMAP_METADATA_CAPS	" METADATA METADATA-SERVER"

/* Entry names one command may name (GETMETADATA's list; SETMETADATA's
 * pairs): bounds the work of matching them. */
#define IMAP_METADATA_ARGS_MAX	1000

/*
 * An entry name (RFC 5464 3.2): "/private" or "/shared", then levels
 * "/name" of printable ASCII without "*" and "%"; no "//", no "/" at
 * the end; at most MDATA_ENTRY_MAX octets, MDATA_DEPTH_MAX levels.
 * set: a name below the top (SETMETADATA cannot set "/shared" itself).
 * Returns the name in lower case (malloc'd), or NULL with *error_r.
 */
char *imap_metadata_entry(const char *s, size_t len, bool set,
    const char **error_r);

struct imap_getmetadata {
	char		*mailbox;	/* as sent (astring), "" = server */
	size_t		 mailbox_len;
	bool		 has_maxsize;
	uint32_t	 maxsize;	/* MAXSIZE: longer values left out */
	int		 depth;		/* 0, 1, or -1 (infinity) */
	char		**entries;	/* lower case, valid */
	unsigned	 n_entries;
};

/* GETMETADATA [options] mailbox entries, options also accepted after the
 * mailbox (as RFC 5464's own examples send them). */
int imap_args_parse_getmetadata(const struct imap_arg *args, unsigned count,
    struct imap_getmetadata *g, const char **error_r);
void imap_getmetadata_free(struct imap_getmetadata *g);

struct imap_metadata_value {
	char		*entry;		/* lower case, valid for setting */
	char		*value;		/* NULL: NIL (remove); else len octets */
	size_t		 len;
};

struct imap_setmetadata {
	char				*mailbox;	/* as sent */
	size_t				 mailbox_len;
	struct imap_metadata_value	*values;
	unsigned			 n_values;
	size_t				 longest;	/* largest value */
};

/* SETMETADATA mailbox (entry value ...): value an nstring or literal8.
 * Values are not checked against MDATA_VALUE_MAX here (the caller's NO
 * [METADATA MAXSIZE] is not a BAD). */
int imap_args_parse_setmetadata(const struct imap_arg *args, unsigned count,
    struct imap_setmetadata *s, const char **error_r);
void imap_setmetadata_free(struct imap_setmetadata *s);

/* ---- cmd-metadata.c ---- */
imap_cmd_fn cmd_getmetadata, cmd_setmetadata;
/* Worker: folder name was deleted (renamed_to NULL) or renamed: its
 * entries go, or follow it with its children's. Errors are logged. */
void imap_metadata_mailbox_gone(struct imap_cmd *cmd, const char *name,
    const char *renamed_to);

#endif
