/*
 * array - growth of caller-kept arrays (see array.h).
 *
 * Trust: none needed; sizes are checked for overflow before any
 * allocation, so a count that came from the network cannot wrap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define ARRAY_MIN_CAP	8

size_t
array_next_cap(size_t n, size_t cap)
{
	if (n < cap)
		return cap;
	if (cap == 0)
		return ARRAY_MIN_CAP > n ? ARRAY_MIN_CAP : n + 1;
	TEM_ASSERT(cap <= SIZE_MAX / 2);
	return cap * 2 > n ? cap * 2 : n + 1;
}

void *
array_grow(void *p, size_t elem, size_t n, size_t cap)
{
	size_t ncap = array_next_cap(n, cap);

	if (ncap == cap)
		return p;
	TEM_ASSERT(elem != 0 && ncap <= SIZE_MAX / elem);
	p = xrealloc(p, ncap * elem);
	memset((char *)p + cap * elem, 0, (ncap - cap) * elem);
	return p;
}
