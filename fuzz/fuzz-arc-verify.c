/*
 * fuzz-arc-verify - the ARC chain validator (policy/arc.h) on arbitrary
 * header sections, the input also fed as the body, every key answered
 * "none", then the AAR reader on the newest AAR it kept. Checks: no
 * chain is none with no sets, a failed chain says why, nothing passes
 * without a key, the instance count stays within 50.
 */
#include <stddef.h>
#include <stdint.h>

#include "policy/arc.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct arc_verifier *v = arc_verifier_begin(s, size, 1);
	struct arc_result r;

	arc_verifier_body(v, s, size);
	arc_verifier_body_end(v);
	for (size_t k = 0; k < arc_verifier_key_count(v); k++) {
		TEM_ASSERT(arc_verifier_key_name(v, k) != NULL);
		arc_verifier_set_key(v, k, DKIM_KEY_NONE, NULL, 0);
	}
	arc_verifier_finish(&v, &r);
	TEM_ASSERT(v == NULL);
	TEM_ASSERT(r.status != ARC_PASS);	/* no key, no pass */
	TEM_ASSERT(r.status != ARC_NONE || r.n == 0);
	TEM_ASSERT(r.status != ARC_FAIL || r.reason != NULL);
	TEM_ASSERT(r.n <= ARC_MAX_SETS);
	if (r.aar != NULL)
		(void)arc_aar_has_pass(r.aar, "dmarc", "header.from", "x.test");
	arc_result_clear(&r);
	return 0;
}
