/*
 * fuzz-control - the control socket's request and reply lines: any bytes
 * give a verdict, never a crash, and an accepted serial prints back to a
 * line that parses to the same serial; an accepted "report run" date is
 * ten characters of digits and dashes and parses back the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	char again[64], day[11], day2[11];
	uint64_t v, w;
	int n;

	if (control_parse(line, size, &v) == CONTROL_RELOAD_ACCOUNTS) {
		n = snprintf(again, sizeof(again), "reload accounts %llu",
		    (unsigned long long)v);
		if (control_parse(again, (size_t)n, &w) != CONTROL_RELOAD_ACCOUNTS
		    || w != v)
			abort();
	}
	if (control_parse_report(line, size, day)) {
		if (day[0] != '\0' && strlen(day) != 10)
			abort();
		n = snprintf(again, sizeof(again), "report run%s%s",
		    day[0] ? " " : "", day);
		if (!control_parse_report(again, (size_t)n, day2) ||
		    strcmp(day, day2) != 0)
			abort();
	}
	if (control_parse_ok(line, size, &v)) {
		n = snprintf(again, sizeof(again), "ok accounts %llu",
		    (unsigned long long)v);
		if (!control_parse_ok(again, (size_t)n, &w) || w != v)
			abort();
	}
	return 0;
}
