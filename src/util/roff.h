/*
 * roff - text for man(7) pages: the escaping the manual pages need.
 *
 * Trust: the text is ours (tables compiled into tem), but escaping is
 * total anyway so that no table entry can turn into a roff request.
 */
#ifndef TEM_ROFF_H
#define TEM_ROFF_H

#include <stdio.h>

/* Writes s with '\' as \e and '-' as \- (a minus, as options and
 * examples need), and \& before a '.' or '\'' that starts s or follows a
 * newline in s (a control character there would be a request). */
void roff_text(FILE *f, const char *s);
/* The same without the line breaks roff_text puts in long text (at a
 * space past column 64): for a .TP tag or an .EX line, which must stay
 * one input line. */
void roff_tag(FILE *f, const char *s);
/* The date on the pages' .TH line (of the version, not of the build, so
 * that a build is reproducible). */
#define ROFF_DATE "2026-12-06"
/* ".MACRO s-escaped\n", e.g. roff_line(f, "SH", "NAME"). */
void roff_line(FILE *f, const char *macro, const char *s);

#endif
