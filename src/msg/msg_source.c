/*
 * msg_source - a message's header section and bounded body reads for a
 * delivery stage (see msg_source.h).
 *
 * Trust: message bytes are untrusted and only scanned for the header's
 * end; every read is bounded (MSG_HEAD_MAX for the header section, the
 * caller's max for the body).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg/msg_source.h"
#include "msg/spool.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

/* The header section is read through pieces of this size. */
#define SOURCE_HEAD_CHUNK	(64 * 1024)

void
msg_source_init(struct msg_source *s, const char *head, size_t hlen,
    const char *body_mem, size_t blen, int fd, uint64_t off, uint64_t len)
{
	memset(s, 0, sizeof(*s));
	s->head_pending = head == NULL;
	if (head == NULL)
		hlen = 0;
	s->head = xmalloc(hlen + 1);
	if (hlen > 0)
		memcpy(s->head, head, hlen);
	s->head[hlen] = '\0';
	s->head_len = hlen;
	if (body_mem != NULL && blen > 0) {
		s->body_mem = xmalloc(blen);
		memcpy(s->body_mem, body_mem, blen);
		s->body_mem_len = blen;
	}
	s->fd = fd >= 0 && len > 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	s->off = off;
	s->len = s->fd >= 0 ? len : 0;
}

void
msg_source_clear(struct msg_source *s)
{
	free(s->head);
	free(s->body_mem);
	free(s->body);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

int
msg_source_load_head(struct msg_source *s)
{
	size_t cap = s->len < MSG_HEAD_MAX ? (size_t)s->len : MSG_HEAD_MAX;
	size_t have = 0, end = 0;
	bool bol = true, found = false;

	if (!s->head_pending)
		return 0;
	free(s->head);
	s->head = xmalloc(cap + 1);
	/* piece by piece: a short header costs one small read */
	while (!found && have < cap) {
		size_t n = cap - have < SOURCE_HEAD_CHUNK ? cap - have :
		    SOURCE_HEAD_CHUNK;
		if (fsutil_pread_all(s->fd, s->head + have, n, s->off + have) < 0) {
			s->head[0] = '\0';
			return -1;
		}
		for (size_t i = have; i < have + n && !found; i++) {
			if (bol && s->head[i] == '\n') {
				found = true;	/* the empty line */
				end = i + 1;
			}
			bol = s->head[i] == '\n';
		}
		have += n;
	}
	if (!found)
		end = have;	/* MSG_HEAD_MAX, or no body: all head */
	s->head[end] = '\0';
	s->head_len = end;
	s->off += end;
	s->len -= end;
	s->head_pending = false;
	return 0;
}

bool
msg_source_has_body(const struct msg_source *s)
{
	return s->body_mem_len > 0 || s->len > 0;
}

uint64_t
msg_source_size(const struct msg_source *s)
{
	return s->head_len + s->body_mem_len + s->len;
}

int
msg_source_body(struct msg_source *s, size_t max, const char **data,
    size_t *len)
{
	size_t want;

	if (s->fd < 0 || s->len == 0) {
		want = s->body_mem_len < max ? s->body_mem_len : max;
		*data = s->body_mem ? s->body_mem : "";
		*len = want;
		return 0;
	}
	if (!s->body_read) {
		s->body_read = true;
		want = s->len < max ? (size_t)s->len : max;
		s->body = xmalloc(want + 1);
		if (fsutil_pread_all(s->fd, s->body, want, s->off) < 0) {
			s->body_error = errno;
			XFREE(&s->body);
		} else {
			s->body[want] = '\0';
			s->body_len = want;
		}
	}
	if (s->body == NULL) {
		errno = s->body_error;
		return -1;
	}
	*data = s->body;
	*len = s->body_len;
	return 0;
}
