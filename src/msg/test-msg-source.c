/*
 * test-msg-source - unit tests for msg/msg_source.c: the header section
 * read from a file range (as the queue hands a message to the Sieve
 * stage) ends after its empty line, a range that is all header, one
 * with no header, a header longer than MSG_HEAD_MAX (the rest is body),
 * a short file (EIO); bounded body reads from the file and from memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg/msg_source.h"
#include "msg/spool.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* A temp file holding junk, then text, then junk: text is at off 5
 * (-1 when it cannot be made: the callers' asserts then fail). */
static int
file_with(const char *text, size_t len)
{
	char path[] = "/tmp/tem-test-source.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, "JUNK:", 5) != 5 ||
	    write(fd, text, len) != (ssize_t)len ||
	    write(fd, "TAIL", 4) != 4) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_head_from_file(void)
{
	static const char msg[] = "Subject: a\nX: b\n c\n\nbody line\n\nmore\n";
	struct msg_source s;
	const char *d;
	size_t n;
	int fd = file_with(msg, sizeof(msg) - 1);

	TEST_ASSERT(fd >= 0);
	msg_source_init(&s, NULL, 0, NULL, 0, fd, 5, sizeof(msg) - 1);
	close(fd);		/* the source has its own descriptor */
	TEST_ASSERT(s.head_pending && s.head_len == 0);
	TEST_ASSERT(msg_source_size(&s) == sizeof(msg) - 1);
	TEST_ASSERT(msg_source_load_head(&s) == 0);
	TEST_ASSERT_STREQ(s.head, "Subject: a\nX: b\n c\n\n");
	TEST_ASSERT(msg_source_size(&s) == sizeof(msg) - 1);
	TEST_ASSERT(msg_source_has_body(&s));
	TEST_ASSERT(msg_source_load_head(&s) == 0);	/* once */
	TEST_ASSERT(msg_source_body(&s, 1000, &d, &n) == 0);
	TEST_ASSERT(n == strlen("body line\n\nmore\n"));
	TEST_ASSERT(memcmp(d, "body line\n\nmore\n", n) == 0);
	msg_source_clear(&s);

	/* bounded: only max octets of the body are read */
	fd = file_with(msg, sizeof(msg) - 1);
	msg_source_init(&s, NULL, 0, NULL, 0, fd, 5, sizeof(msg) - 1);
	close(fd);
	TEST_ASSERT(msg_source_load_head(&s) == 0);
	TEST_ASSERT(msg_source_body(&s, 4, &d, &n) == 0);
	TEST_ASSERT(n == 4 && memcmp(d, "body", 4) == 0);
	msg_source_clear(&s);
}

static void
test_head_edges(void)
{
	struct msg_source s;
	int fd;

	/* no empty line: all of it is header, no body */
	fd = file_with("A: 1\nB: 2\n", 10);
	msg_source_init(&s, NULL, 0, NULL, 0, fd, 5, 10);
	TEST_ASSERT(msg_source_load_head(&s) == 0);
	TEST_ASSERT_STREQ(s.head, "A: 1\nB: 2\n");
	TEST_ASSERT(!msg_source_has_body(&s));
	msg_source_clear(&s);
	close(fd);

	/* an empty header section: the empty line alone */
	fd = file_with("\nbody\n", 6);
	msg_source_init(&s, NULL, 0, NULL, 0, fd, 5, 6);
	TEST_ASSERT(msg_source_load_head(&s) == 0);
	TEST_ASSERT_STREQ(s.head, "\n");
	TEST_ASSERT(s.len == 5 && s.off == 6);
	msg_source_clear(&s);

	/* the range is past the file's end: EIO, not a short header */
	msg_source_init(&s, NULL, 0, NULL, 0, fd, 5, 1000);
	TEST_ASSERT(msg_source_load_head(&s) == -1 && errno == EIO);
	msg_source_clear(&s);
	close(fd);
}

static void
test_head_too_long(void)
{
	size_t len = MSG_HEAD_MAX + 100 * 1024;
	char *big = xmalloc(len + 10);
	struct msg_source s;
	int fd;

	for (size_t i = 0; i < len; i += 10)
		memcpy(big + i, "X-Y: 1234\n", 10);
	big[len - 2] = '\n';		/* an empty line past the limit */
	fd = file_with(big, len);
	msg_source_init(&s, NULL, 0, NULL, 0, fd, 5, len);
	close(fd);
	TEST_ASSERT(msg_source_load_head(&s) == 0);
	TEST_ASSERT(s.head_len == MSG_HEAD_MAX);
	TEST_ASSERT(s.len == len - MSG_HEAD_MAX);
	TEST_ASSERT(msg_source_size(&s) == len);
	msg_source_clear(&s);
	free(big);
}

static void
test_memory(void)
{
	struct msg_source s;
	const char *d;
	size_t n;

	msg_source_init(&s, "A: 1\n\n", 6, "hello\n", 6, -1, 0, 0);
	TEST_ASSERT(!s.head_pending);
	TEST_ASSERT(msg_source_load_head(&s) == 0);
	TEST_ASSERT_STREQ(s.head, "A: 1\n\n");
	TEST_ASSERT(msg_source_size(&s) == 12);
	TEST_ASSERT(msg_source_body(&s, 3, &d, &n) == 0);
	TEST_ASSERT(n == 3 && memcmp(d, "hel", 3) == 0);
	msg_source_clear(&s);

	msg_source_init(&s, "A: 1\n", 5, NULL, 0, -1, 0, 0);
	TEST_ASSERT(!msg_source_has_body(&s));
	TEST_ASSERT(msg_source_body(&s, 10, &d, &n) == 0 && n == 0);
	msg_source_clear(&s);
}

int
main(void)
{
	TEST_RUN(test_head_from_file);
	TEST_RUN(test_head_edges);
	TEST_RUN(test_head_too_long);
	TEST_RUN(test_memory);
	return test_done("test-msg-source");
}
