/*
 * test-imap-args.h - what the imap_args unit tests share: one command line
 * run through imap_parser, so the argument shapes are the ones a session
 * will really see. Included by the imap_args and imap_command tests only.
 *
 * Trust: test code.
 */
#ifndef TEM_TEST_IMAP_ARGS_H
#define TEM_TEST_IMAP_ARGS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_parser.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct imap_parser *parser;

/* Parses one whole command (APPEND messages are consumed); NULL if the
   parser refused it. Valid until the next call. */
static inline const struct imap_command *
cmdn(const char *line, size_t len)
{
	struct imap_parser_limits lim;
	enum imap_parse_result r;
	size_t used, off = 0;

	if (parser == NULL) {
		imap_parser_limits_default(&lim);
		parser = imap_parser_create(&lim);
	}
	for (;;) {
		r = imap_parser_feed(parser, line + off, len - off, &used);
		off += used;
		if (r == IMAP_PARSE_COMMAND)
			return imap_parser_command(parser);
		if (r == IMAP_PARSE_ERROR || r == IMAP_PARSE_NEED_MORE)
			return NULL;
	}
}

static inline const struct imap_command *
cmd(const char *line)
{
	return cmdn(line, strlen(line));
}

static inline char *
seq_str(const struct imap_seqset *set)
{
	struct buf b;
	unsigned i;

	buf_init(&b, 0);
	if (set->saved)
		buf_puts(&b, "$");
	for (i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			buf_putc(&b, ',');
		if (r->lo_star)
			buf_putc(&b, '*');
		else
			buf_printf(&b, "%u", r->lo);
		if (r->hi != r->lo || r->hi_star != r->lo_star) {
			if (r->hi_star)
				buf_puts(&b, ":*");
			else
				buf_printf(&b, ":%u", r->hi);
		}
	}
	if (b.len == 0)
		buf_puts(&b, "");
	return b.len ? buf_steal(&b, NULL) : xstrdup("");
}

#endif
