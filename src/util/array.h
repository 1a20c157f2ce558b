/*
 * array - the one way to grow an array: a pointer, a count and a capacity
 * (any unsigned integer types) kept by the caller, doubled from 8 when
 * full. No mail knowledge.
 *
 *	struct item *items = NULL;
 *	size_t n = 0, cap = 0;
 *	struct item *it = ARRAY_PUSH(items, n, cap);	// zeroed, n is now 1
 *	...
 *	free(items);
 *
 * The macros evaluate their arguments more than once: pass plain lvalues.
 * Running out of memory or of size_t aborts, as xmalloc does.
 */
#ifndef TEM_ARRAY_H
#define TEM_ARRAY_H

#include <stddef.h>
#include <string.h>

/* The capacity after making room for element n: cap when n < cap, else
 * cap doubled (8 when 0). */
size_t array_next_cap(size_t n, size_t cap);
/* p (of cap elements of elem octets) with room for element n: the same
 * pointer when n < cap, else reallocated to array_next_cap(n, cap)
 * elements, the new ones zeroed. */
void *array_grow(void *p, size_t elem, size_t n, size_t cap);

/* Room for element p[n]; cap is updated. */
#define ARRAY_RESERVE(p, n, cap) \
	((p) = array_grow((p), sizeof(*(p)), (size_t)(n), (size_t)(cap)), \
	 (cap) = array_next_cap((size_t)(n), (size_t)(cap)))
/* Appends one zeroed element and returns its address; n grows by one. */
#define ARRAY_PUSH(p, n, cap) \
	(ARRAY_RESERVE(p, n, cap), memset(&(p)[(n)], 0, sizeof(*(p))), \
	 &(p)[(n)++])

#endif
