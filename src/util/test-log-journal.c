/* Unit tests for util/log_journal.h and log.c's journal sink: a fake
 * sd_journal_send (this definition wins over libsystemd's at link time)
 * records the fields, so no journald is needed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/log_journal.h"
#include "util/test.h"

/* libsystemd's, declared here: sd-journal.h brings syslog.h, whose
 * LOG_INFO and kin are log.h's names too */
int sd_journal_send(const char *format, ...);

static char fields[8][512];
static int nfields, calls;

int
sd_journal_send(const char *format, ...)
{
	va_list ap;
	const char *f = format;

	va_start(ap, format);
	nfields = 0;
	calls++;
	while (f != NULL && nfields < 8) {
		/* each field is a format and its arguments (sd_journal_send(3)) */
		if (strcmp(f, "MESSAGE=%.*s") == 0) {
			int n = va_arg(ap, int);
			const char *s = va_arg(ap, const char *);
			snprintf(fields[nfields++], 512, "MESSAGE=%.*s", n, s);
		} else if (strcmp(f, "PRIORITY=%d") == 0)
			snprintf(fields[nfields++], 512, "PRIORITY=%d",
			    va_arg(ap, int));
		else if (strcmp(f, "TEM_ID=%s") == 0)
			snprintf(fields[nfields++], 512, "TEM_ID=%s",
			    va_arg(ap, const char *));
		else
			snprintf(fields[nfields++], 512, "%s", f);
		f = va_arg(ap, const char *);
	}
	va_end(ap);
	return 0;
}

static const char *
field(const char *name)
{
	size_t l = strlen(name);

	for (int i = 0; i < nfields; i++)
		if (strncmp(fields[i], name, l) == 0 && fields[i][l] == '=')
			return fields[i] + l + 1;
	return NULL;
}

static void
set_stream(bool match)
{
	struct stat st;
	char v[64];

	TEST_ASSERT(fstat(STDERR_FILENO, &st) == 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + (match ? 0 : 1));
	setenv("JOURNAL_STREAM", v, 1);
}

/* JOURNAL_STREAM must name stderr itself, not any stream. */
static void
test_detect(void)
{
	unsetenv("JOURNAL_STREAM");
	TEST_ASSERT(!log_journal_detect());
	set_stream(false);
	TEST_ASSERT(!log_journal_detect());
	setenv("JOURNAL_STREAM", "garbage", 1);
	TEST_ASSERT(!log_journal_detect());
	set_stream(true);
	TEST_ASSERT(log_journal_detect());
}

/* A line with a session id: MESSAGE from the level on, PRIORITY, TEM_ID. */
static void
test_fields(void)
{
	set_stream(true);
	log_init(LOG_DEBUG);
	calls = 0;
	log_warn("%s smtp reject code=550", "5f1c0a9e3b2d4c11");
	TEST_ASSERT(calls == 1);
	TEST_ASSERT_STREQ(field("MESSAGE"),
	    "warning: 5f1c0a9e3b2d4c11 smtp reject code=550");
	TEST_ASSERT_STREQ(field("PRIORITY"), "4");
	TEST_ASSERT_STREQ(field("TEM_ID"), "5f1c0a9e3b2d4c11");
	TEST_ASSERT_STREQ(field("SYSLOG_IDENTIFIER"), "tem");
	/* "-" (no session) and a short token carry no TEM_ID */
	log_info("- server started");
	TEST_ASSERT_STREQ(field("MESSAGE"), "info: - server started");
	TEST_ASSERT_STREQ(field("PRIORITY"), "6");
	TEST_ASSERT(field("TEM_ID") == NULL);
	log_error("abc smtp x");
	TEST_ASSERT(field("TEM_ID") == NULL);
	TEST_ASSERT_STREQ(field("PRIORITY"), "3");
	/* newlines folded as on stderr: one event, one entry */
	log_debug("%s a\nb", "0123456789abcdef");
	TEST_ASSERT_STREQ(field("MESSAGE"), "debug: 0123456789abcdef a b");
	TEST_ASSERT_STREQ(field("PRIORITY"), "7");
}

/* Not the journal's stream: the journal is never called. */
static void
test_terminal(void)
{
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_INFO);
	calls = 0;
	log_info("- test terminal line (expected on stderr)");
	TEST_ASSERT(calls == 0);
}

int
main(void)
{
	TEST_RUN(test_detect);
	TEST_RUN(test_fields);
	TEST_RUN(test_terminal);
	return test_done("test-log-journal");
}
