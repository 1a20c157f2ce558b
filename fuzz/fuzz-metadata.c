/*
 * fuzz-metadata - libFuzzer target for the METADATA grammars
 * (imap_metadata_args.c): the input is a client's byte stream through the
 * IMAP parser (literal limit 64 bytes, so that the parser's METADATA
 * MAXSIZE refusal is reachable), and every command's arguments go through
 * the GETMETADATA and SETMETADATA parsers; the whole input is also an
 * entry name. Beyond "no crash, no leak, no UB" it checks: an accepted
 * entry name is lower case, within MDATA_ENTRY_MAX, without "*", "%",
 * "//" or a trailing "/", and validates again to itself; a SET name is
 * never a bare top level; DEPTH is 0, 1 or infinity; parsed values keep
 * their lengths; failures leave nothing allocated (the leak checker).
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_metadata.h"
#include "imap/imap_parser.h"
#include "store/metadata.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_entry(const char *s, size_t len, bool set)
{
	const char *error = NULL;
	char *e = imap_metadata_entry(s, len, set, &error), *again;
	size_t n;

	if (e == NULL) {
		CHECK(error != NULL);
		return;
	}
	n = strlen(e);
	CHECK(n == len && n <= MDATA_ENTRY_MAX);
	CHECK(strncmp(e, "/private", 8) == 0 || strncmp(e, "/shared", 7) == 0);
	CHECK(strpbrk(e, "*%ABCDEFGHIJKLMNOPQRSTUVWXYZ") == NULL);
	CHECK(strstr(e, "//") == NULL && e[n - 1] != '/');
	if (set)
		CHECK(strcmp(e, "/private") != 0 && strcmp(e, "/shared") != 0);
	again = imap_metadata_entry(e, n, set, &error);
	CHECK(again != NULL && strcmp(again, e) == 0);
	free(again);
	free(e);
}

static void
check_command(const struct imap_command *cmd)
{
	struct imap_getmetadata g;
	struct imap_setmetadata sm;
	const char *error;

	if (imap_args_parse_getmetadata(cmd->args, cmd->count, &g,
	    &error) == 0) {
		CHECK(g.depth >= -1 && g.depth <= 1);
		CHECK(g.n_entries >= 1 && g.mailbox != NULL);
		for (unsigned i = 0; i < g.n_entries; i++)
			check_entry(g.entries[i], strlen(g.entries[i]), false);
		imap_getmetadata_free(&g);
	} else
		CHECK(error != NULL && g.entries == NULL && g.mailbox == NULL);
	if (imap_args_parse_setmetadata(cmd->args, cmd->count, &sm,
	    &error) == 0) {
		CHECK(sm.n_values >= 1 && sm.mailbox != NULL);
		for (unsigned i = 0; i < sm.n_values; i++) {
			const struct imap_metadata_value *v = &sm.values[i];
			check_entry(v->entry, strlen(v->entry), true);
			CHECK(v->value == NULL || v->len <= sm.longest);
		}
		imap_setmetadata_free(&sm);
	} else
		CHECK(error != NULL && sm.values == NULL && sm.mailbox == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const char *in = (const char *)data;
	size_t left = size, used;
	unsigned stuck = 0;

	check_entry(in, size, false);
	check_entry(in, size, true);
	imap_parser_limits_default(&lim);
	lim.literal_max = 64;
	p = imap_parser_create(&lim);
	while (left > 0) {
		enum imap_parse_result r = imap_parser_feed(p, in, left, &used);

		CHECK(used <= left);
		in += used;
		left -= used;
		if (r == IMAP_PARSE_COMMAND) {
			check_command(imap_parser_command(p));
			imap_parser_command_done(p);
		} else if (r == IMAP_PARSE_NEED_MORE)
			CHECK(left == 0);
		stuck = used == 0 ? stuck + 1 : 0;
		if (stuck > 2)
			break;	/* APPEND streams wait for their consumer */
	}
	imap_parser_destroy(&p);
	return 0;
}
