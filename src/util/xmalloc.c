/*
 * xmalloc - allocation that never returns NULL (see xmalloc.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/xmalloc.h"

static void
oom(size_t size)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	return p;
}

void *
xmemdup(const void *src, size_t n)
{
	void *p = xmalloc(n);

	if (n > 0)
		memcpy(p, src, n);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return p;
}

void
xmalloc_init(void)
{
#ifdef __GLIBC__
	(void)mallopt(M_ARENA_MAX, XMALLOC_ARENAS);
	(void)mallopt(M_MMAP_THRESHOLD, XMALLOC_MMAP_MIN);
	(void)mallopt(M_TRIM_THRESHOLD, XMALLOC_TRIM_MIN);
#endif
}

void
xmalloc_trim(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}
