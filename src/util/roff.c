/*
 * roff - escaping for the generated manual pages (see roff.h).
 * Trust: constant tables only; no input from the network.
 */
#include <stdio.h>

#include "util/roff.h"

/* Input lines are kept short (mandoc's lint asks for <= 80 bytes): a
 * space past this column becomes a newline, which roff reads as a space. */
#define ROFF_WRAP 64

static void
put(FILE *f, const char *s, int wrap)
{
	int bol = 1, col = 0;

	for (; *s; s++) {
		if (wrap && *s == ' ' && col >= ROFF_WRAP) {
			fputc('\n', f);
			bol = 1, col = 0;
			continue;
		}
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
		bol = *s == '\n';
		col = bol ? 0 : col + 1;
	}
}

void
roff_text(FILE *f, const char *s)
{
	put(f, s, 1);
}

void
roff_tag(FILE *f, const char *s)
{
	put(f, s, 0);
}

void
roff_line(FILE *f, const char *macro, const char *s)
{
	fprintf(f, ".%s", macro);
	if (s) {
		fputc(' ', f);
		put(f, s, 0);
	}
	fputc('\n', f);
}
