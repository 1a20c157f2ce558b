/*
 * tlsrpt_stub - placeholder for the TLS-RPT aggregation (policy/tlsrpt.h)
 * until the reports module lands: events are named and dropped.
 */
#include "policy/tlsrpt.h"

void
tlsrpt_note(const struct tlsrpt_event *ev)
{
	(void)ev;
}

const char *
tlsrpt_result_name(enum tlsrpt_result r)
{
	static const char *const names[] = {
		[TLSRPT_SUCCESS] = "success",
		[TLSRPT_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
		[TLSRPT_CERT_HOST_MISMATCH] = "certificate-host-mismatch",
		[TLSRPT_CERT_EXPIRED] = "certificate-expired",
		[TLSRPT_CERT_NOT_TRUSTED] = "certificate-not-trusted",
		[TLSRPT_VALIDATION_FAILURE] = "validation-failure",
		[TLSRPT_TLSA_INVALID] = "tlsa-invalid",
		[TLSRPT_DNSSEC_INVALID] = "dnssec-invalid",
		[TLSRPT_DANE_REQUIRED] = "dane-required",
		[TLSRPT_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
		[TLSRPT_STS_POLICY_INVALID] = "sts-policy-invalid",
		[TLSRPT_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
	};

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "validation-failure";
	return names[r];
}
