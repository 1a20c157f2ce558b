/*
 * fuzz-imap-notify - libFuzzer target for the NOTIFY argument parser
 * (imap/imap_notify_args.c). The input is what follows "a NOTIFY " on a
 * command line (a CRLF is added): it goes through imap_parser like a
 * client's bytes, then through imap_notify_parse. Beyond "no crash, no
 * leak, no UB" it checks the contract: a failure leaves nothing
 * allocated and says why; a success keeps to the limits and to the rules
 * of RFC 5465 5 and 6.1 (MessageNew and MessageExpunge together,
 * FlagChange only with them, one SELECTED group at most and only message
 * events in it, names only for SUBTREE and MAILBOXES, MessageNew's
 * fetch attributes only for SELECTED) and asks only for events tem sends.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_notify.h"
#include "imap/imap_parser.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_ok(const struct imap_notify *n)
{
	unsigned i, k, sel = 0, names = 0, mn = IMAP_NE_MESSAGENEW |
	    IMAP_NE_MESSAGEEXPUNGE;

	if (n->none) {
		CHECK(n->n_groups == 0 && n->groups == NULL && !n->status);
		return;
	}
	CHECK(n->n_groups >= 1 && n->n_groups <= IMAP_NOTIFY_GROUPS_MAX);
	for (i = 0; i < n->n_groups; i++) {
		const struct imap_notify_group *g = &n->groups[i];

		CHECK((g->events & ~IMAP_NE_SUPPORTED) == 0);
		CHECK((g->events & mn) == 0 || (g->events & mn) == mn);
		CHECK(!(g->events & IMAP_NE_FLAGCHANGE) ||
		    (g->events & mn) == mn);
		if (g->filter == IMAP_NF_SELECTED ||
		    g->filter == IMAP_NF_SELECTED_DELAYED) {
			sel++;
			CHECK((g->events & ~IMAP_NE_MESSAGE) == 0);
		} else
			CHECK(g->fetch == NULL);	/* SELECTED's only */
		CHECK(g->fetch == NULL || (g->events & IMAP_NE_MESSAGENEW));
		if (g->filter == IMAP_NF_SUBTREE ||
		    g->filter == IMAP_NF_MAILBOXES)
			CHECK(g->n_names >= 1);
		else
			CHECK(g->n_names == 0 && g->names == NULL);
		for (k = 0; k < g->n_names; k++)
			CHECK(g->names[k] != NULL);
		names += g->n_names;
	}
	CHECK(sel <= 1 && names <= IMAP_NOTIFY_NAMES_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *p;
	struct imap_parser_limits lim;
	const struct imap_command *c;
	struct imap_notify n;
	enum imap_parse_result r;
	const char *error;
	size_t len, used, off = 0;
	char *line;
	int rc;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	len = 9 + size + 2;
	line = xmalloc(len);
	memcpy(line, "a NOTIFY ", 9);
	if (size > 0)
		memcpy(line + 9, data, size);
	memcpy(line + 9 + size, "\r\n", 2);
	for (;;) {
		r = imap_parser_feed(p, line + off, len - off, &used);
		off += used;
		if (r == IMAP_PARSE_LITERAL_WAIT || r == IMAP_PARSE_LINE ||
		    r == IMAP_PARSE_LITERAL_STREAM)
			continue;
		break;
	}
	if (r == IMAP_PARSE_COMMAND) {
		c = imap_parser_command(p);
		error = NULL;
		rc = imap_notify_parse(c->args, c->count, &n, &error);
		if (rc < 0) {
			CHECK(error != NULL && (rc == -1 || rc == -2));
			CHECK(n.groups == NULL && n.n_groups == 0);
		} else {
			CHECK(rc == 0);
			check_ok(&n);
			imap_notify_free(&n);
		}
	}
	imap_parser_destroy(&p);
	free(line);
	return 0;
}
