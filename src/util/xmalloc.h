/*
 * xmalloc - allocation wrappers that zero memory and abort on exhaustion.
 *
 * Trust: none needed; used by every layer. Running out of memory is treated
 * as a broken environment: one log line and abort(), never a NULL to check.
 */
#ifndef TEM_XMALLOC_H
#define TEM_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);		/* zeroed */
void *xcalloc(size_t n, size_t size);	/* zeroed, overflow-checked */
void *xrealloc(void *p, size_t size);	/* new tail NOT zeroed */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Formats into a fresh string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Process set-up, before any thread starts: at most XMALLOC_ARENAS malloc
 * arenas (glibc; nothing elsewhere). glibc gives each thread that meets
 * contention an arena of its own (up to 8 per core) and each arena keeps
 * its own peak and its own holes: a big folder's transient work (a SORT
 * over 100,000 messages) done by eight workers in turn stayed resident
 * eight times. Small allocations come from each thread's cache anyway.
 */
#define XMALLOC_ARENAS	2
/* ... and blocks from XMALLOC_MMAP_MIN up mapped on their own, always
 * (glibc raises its threshold after each such free, up to 32 MB, and then
 * a freed 10 MB array stays in the heap): a big folder's arrays, SORT's
 * items, go back to the system when freed. */
#define XMALLOC_MMAP_MIN	(256 * 1024)
/* ... and a heap's free top is given back only above XMALLOC_TRIM_MIN
 * (setting the mmap threshold left glibc's trim threshold at 128 KiB, so
 * the loops' heap shrank and grew again, brk and page faults, on every
 * few IMAP commands: 1.9% of the server's CPU in bench/imap; a heap keeps
 * at most this much, and xmalloc_trim() still gives everything back). */
#define XMALLOC_TRIM_MIN	(1024 * 1024)
void xmalloc_init(void);

/*
 * Gives free heap pages back to the system (glibc malloc_trim; nothing
 * elsewhere). Worth its cost (a walk of every arena) only after work that
 * allocated and freed a lot, e.g. a SEARCH or SORT over a big folder:
 * each worker thread has its own arena, so such peaks would otherwise stay
 * resident once per worker.
 */
void xmalloc_trim(void);

/* Frees *pp and sets it to NULL. */
#define XFREE(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
