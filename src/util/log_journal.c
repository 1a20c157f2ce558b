/*
 * log_journal - the journal sink of util/log.c (see log_journal.h).
 * Trust: JOURNAL_STREAM comes from the service manager; the message is
 * tem's own log line (callers never log secrets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* CODE_FILE/CODE_LINE would always name this file: leave them out (and
 * call sd_journal_send itself, which the unit test replaces) */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "util/log_journal.h"

bool
log_journal_detect(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* The id after "LEVEL: ", when the message starts with 16 hex digits
 * and a space; else false. */
static bool
find_id(const char *msg, size_t len, char id[17])
{
	const char *p = memchr(msg, ' ', len);

	if (p == NULL || (size_t)(++p - msg) + 17 > len || p[16] != ' ')
		return false;
	for (int i = 0; i < 16; i++)
		if (strchr("0123456789abcdef", p[i]) == NULL || p[i] == '\0')
			return false;
	memcpy(id, p, 16);
	id[16] = '\0';
	return true;
}

int
log_journal_send(int priority, const char *msg, size_t len)
{
	char id[17];
	int n = len > 0x7fffffff ? 0x7fffffff : (int)len, r;

	if (find_id(msg, len, id))
		r = sd_journal_send("MESSAGE=%.*s", n, msg, "PRIORITY=%d",
		    priority, "SYSLOG_IDENTIFIER=tem", "TEM_ID=%s", id, NULL);
	else
		r = sd_journal_send("MESSAGE=%.*s", n, msg, "PRIORITY=%d",
		    priority, "SYSLOG_IDENTIFIER=tem", NULL);
	return r < 0 ? -1 : 0;
}
