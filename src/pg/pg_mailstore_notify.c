/*
 * pg_mailstore_notify - who made a change, and the user-level events of
 * IMAP NOTIFY on PostgreSQL (see pg_mailstore.h): the thread's origin
 * token that every NOTIFY of its changes carries, and the 'tem_user'
 * payloads (folder created, deleted, renamed, (un)subscribed, METADATA
 * set) with their parser, so the format lives in one place.
 *
 * Trust: the builder's arguments are the caller's, checked; a payload
 * to parse comes from the database, where any client may NOTIFY: it is
 * parsed as untrusted (numbers, lengths, characters checked), a bad one
 * refused. Bounded: a payload is < PG_MS_PAYLOAD_MAX (PostgreSQL's
 * limit); an event whose names would not fit is sent as 'O' (lost).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_mailstore.h"
#include "pg/pg_mailstore_int.h"
#include "util/xmalloc.h"

/* The acting origin of this thread's changes ("" none). */
static _Thread_local char origin[PG_MS_ORIGIN_MAX + 1];

static bool
origin_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PG_MS_ORIGIN_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		    *s == '.'))
			return false;
	return true;
}

void
pg_ms_origin_set(const char *o)
{
	if (o == NULL || !origin_ok(o))
		origin[0] = '\0';
	else
		strcpy(origin, o);
}

const char *
pg_ms_origin(void)
{
	return origin;
}

static bool
kind_ok(char k)
{
	return strchr("CDRSUMO", k) != NULL && k != '\0';
}

char *
pg_ms_user_payload(int64_t user_id, char kind, const char *a,
    const char *b)
{
	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	/* "USERID ORIGIN K LEN " is < 80 octets */
	if (strlen(a) + strlen(b) + 80 >= PG_MS_PAYLOAD_MAX)
		return xasprintf("%lld %s O 0 ", (long long)user_id,
		    origin[0] ? origin : "-");
	return xasprintf("%lld %s %c %zu %s%s", (long long)user_id,
	    origin[0] ? origin : "-", kind, strlen(a), a, b);
}

enum pg_rc
pg_ms_notify_user(int64_t user_id, char kind, const char *a, const char *b,
    char **error_r)
{
	char *payload = pg_ms_user_payload(user_id, kind, a, b);
	enum pg_rc rc;

	rc = pg_query(NULL, error_r, "SELECT pg_notify('tem_user', $1)", 1,
	    payload);
	free(payload);
	return rc;
}

/* A decimal number at *p (at most 18 digits) followed by a space; p
 * moves past the space. -1 when there is none. */
static long long
number_sp(const char **p)
{
	long long v = 0;
	int digits = 0;

	for (; **p >= '0' && **p <= '9' && digits < 18; (*p)++, digits++)
		v = v * 10 + (**p - '0');
	if (digits == 0 || **p != ' ')
		return -1;
	(*p)++;
	return v;
}

/* No control characters (names and entries never hold one). */
static bool
text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int
pg_ms_user_event_parse(const char *payload, struct pg_ms_user_event *ev)
{
	const char *p = payload, *sp;
	long long id, len;
	size_t on;

	memset(ev, 0, sizeof(*ev));
	if ((id = number_sp(&p)) <= 0 || (sp = strchr(p, ' ')) == NULL)
		return -1;
	on = (size_t)(sp - p);
	if (on == 1 && *p == '-')
		ev->origin[0] = '\0';
	else if (on > PG_MS_ORIGIN_MAX)
		return -1;
	else {
		memcpy(ev->origin, p, on);
		ev->origin[on] = '\0';
		if (!origin_ok(ev->origin))
			return -1;
	}
	p = sp + 1;
	if (!kind_ok(p[0]) || p[1] != ' ')
		return -1;
	ev->kind = p[0];
	p += 2;
	if ((len = number_sp(&p)) < 0 || (size_t)len > strlen(p) ||
	    !text_ok(p, strlen(p)))
		return -1;
	ev->user_id = id;
	ev->a = xstrndup(p, (size_t)len);
	ev->b = xstrdup(p + len);
	return 0;
}

void
pg_ms_user_event_free(struct pg_ms_user_event *ev)
{
	XFREE(&ev->a);
	XFREE(&ev->b);
}
