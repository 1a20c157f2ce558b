/*
 * roff - escaping for the generated manual pages (see roff.h).
 * Trust: constant tables only; no input from the network.
 */
#include <stdio.h>

#include "util/roff.h"

void
roff_text(FILE *f, const char *s)
{
	int bol = 1;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
		bol = *s == '\n';
	}
}

void
roff_line(FILE *f, const char *macro, const char *s)
{
	fprintf(f, ".%s", macro);
	if (s) {
		fputc(' ', f);
		roff_text(f, s);
	}
	fputc('\n', f);
}
