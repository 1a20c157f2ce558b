/*
 * fuzz-arc - ARC header parsing (RFC 8617 4.1) and the structural chain
 * checks (5.1.1 steps 1-3) on arbitrary header sections, and each field
 * parser on the input as one field value. Checks: a structurally valid
 * chain has instances 1..N (N ≤ 50), each set complete, cv none at 1 and
 * pass after, fields pointing inside the input; a failed one says why.
 */
#include <stddef.h>
#include <stdint.h>

#include "policy/arc_header.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct arc_chain chain;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *err;
	struct dkim_tags tags;
	struct arc_field f;

	for (int k = ARC_AAR; k <= ARC_AS; k++) {
		err = NULL;
		if (arc_field_parse((enum arc_kind)k, s, size, &f, &tags,
		    &err) == 0) {
			TEM_ASSERT(f.instance >= 1 && f.instance <= 50);
			TEM_ASSERT(k != ARC_AAR || (f.payload_len > 0 &&
			    f.payload >= s && f.payload + f.payload_len ==
			    s + size));
		} else {
			TEM_ASSERT(err != NULL);
		}
	}
	switch (arc_chain_collect(s, size, &chain)) {
	case ARC_STRUCT_NONE:
		TEM_ASSERT(chain.n == 0);
		break;
	case ARC_STRUCT_FAIL:
		TEM_ASSERT(chain.reason != NULL);
		break;
	case ARC_STRUCT_OK:
		TEM_ASSERT(chain.n >= 1 && chain.n <= ARC_MAX_SETS);
		for (unsigned i = 1; i <= chain.n; i++) {
			const struct arc_set *set = &chain.set[i - 1];

			TEM_ASSERT(set->have == 7);
			TEM_ASSERT(set->cv == (i == 1 ? ARC_CV_NONE :
			    ARC_CV_PASS));
			for (int k = 0; k < 3; k++)
				TEM_ASSERT(set->field[k].off +
				    set->field[k].len <= size);
		}
		break;
	}
	return 0;
}
