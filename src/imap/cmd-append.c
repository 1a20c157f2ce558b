/*
 * cmd-append - APPEND (RFC 9051) with APPENDUID (RFC 4315), MULTIAPPEND
 * (RFC 3502: several messages, all stored or none) and CATENATE (RFC
 * 4469: a message joined from TEXT literals and URLs of messages the
 * user already has).
 *
 * Trust: runs for an authenticated, untrusted client, on a worker thread
 * (the store calls block). Message and TEXT literals were streamed by the
 * core into spool files (imap_spool.c), each bounded by the APPEND limit;
 * a CATENATE message is joined into a new spool file, streamed from the
 * TEXT spools and the referenced messages, and refused with NO [TOOBIG]
 * as soon as it passes message_size_limit. A URL part with a SECTION or
 * PARTIAL reads its source message into memory to cut the section out
 * (bounded by the stored message, itself bounded by the same limit);
 * a whole-message URL is copied by streaming.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf.h"
#include "imap/cmd-mailbox.h"
#include "imap/imap_acl.h"
#include "imap/imap_catenate.h"
#include "imap/imap_msgs.h"
#include "imap/imap_notify.h"
#include "imap/imap_quota.h"
#include "mail/imap_section.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/xmalloc.h"

/* The "[APPENDUID v uid-set]" code for n appended UIDs (ascending). */
static void
appenduid(struct buf *b, uint32_t uidvalidity, const uint32_t *uids,
    unsigned n)
{
	buf_printf(b, "[APPENDUID %u ", uidvalidity);
	for (unsigned i = 0; i < n;) {
		unsigned j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		buf_printf(b, i ? ",%u" : "%u", uids[i]);
		if (j > i)
			buf_printf(b, ":%u", uids[j]);
		i = j + 1;
	}
	buf_putc(b, ']');
}

/* Checks the literals against what the core streamed. */
static bool
append_check(struct imap_cmd *cmd, const struct imap_append *a)
{
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_append_msg *m = &a->msgs[i];
		bool lost = m->n_parts == 0 &&
		    imap_spool_size(cmd->c, m->index) != m->size;

		for (unsigned k = 0; k < m->n_parts; k++)
			lost |= m->parts[k].url == NULL &&
			    imap_spool_size(cmd->c, m->parts[k].index) !=
			    m->parts[k].size;
		if (lost) {
			imap_cmd_no(cmd, "[SERVERBUG] APPEND message lost");
			return false;
		}
		if (m->n_parts == 0 && m->size == 0) {
			imap_cmd_no(cmd, "Cannot append an empty message");
			return false;
		}
	}
	return true;
}

/* The tagged NO for a failed spool write (errno e). */
static void
spool_fail(struct imap_cmd *cmd, int e)
{
	if (e == EFBIG)
		imap_cmd_no(cmd, "[TOOBIG] Message too big");
	else if (e == ENOSPC || e == EDQUOT)
		imap_cmd_no(cmd, "[OVERQUOTA] Not enough disk space");
	else
		imap_cmd_no(cmd, "[SERVERBUG] Cannot save the message");
}

/* NO [BADURL url] why: the URL as sent, minus what the code's grammar
 * cannot carry (RFC 4469 url-resp-text: no "]", no controls). */
static void
badurl(struct imap_cmd *cmd, const char *url, const char *why)
{
	char *u = xstrdup(url);

	for (char *p = u; *p; p++)
		if (*p == ']' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p >= 0x7f)
			*p = '?';
	imap_cmd_no(cmd, "[BADURL %s] %s", u, why);
	free(u);
}

/* Writes the SECTION / PARTIAL of message seq of v (wire form) to s. */
static int
url_section(struct mbox_view *v, uint32_t seq, const struct imap_url *u,
    struct mbox_spool *s, uint64_t max)
{
	struct imap_msg_data d;
	struct imap_section sec;
	const char *e;
	struct buf out;
	size_t off = u->offset > SIZE_MAX ? SIZE_MAX : (size_t)u->offset;
	size_t len = u->length > SIZE_MAX ? SIZE_MAX : (size_t)u->length;
	int r;

	if (imap_msgs_load(v, seq, false, &d) < 0)
		return -1;
	buf_init(&out, max > SIZE_MAX - 1 ? SIZE_MAX : (size_t)max + 1);
	r = imap_section_parse(u->section ? u->section : "",
	    u->section ? strlen(u->section) : 0, &sec, &e);
	if (r == 0 && imap_section_fetch(imap_msgs_mime(&d), &sec, off, len,
	    &out, NULL) < 0) {
		errno = EFBIG;
		r = -1;
	} else if (r < 0)
		errno = EINVAL;		/* checked when parsed: not reached */
	if (r == 0)
		r = mbox_spool_write(s, out.data ? out.data : "", out.len);
	imap_section_free(&sec);
	buf_free(&out);
	imap_msgs_data_free(&d);
	return r;
}

/* Writes URL part url to s; -1 with the tagged NO set. */
static int
url_part(struct imap_cmd *cmd, const char *url, struct mbox_spool *s,
    uint64_t max)
{
	struct imap_client *c = cmd->c;
	struct imap_url u;
	struct mbox_view *v = NULL;
	struct mbox_status st;
	const char *why = NULL;
	char *err = NULL;
	uint32_t seq = 0;
	int r = -1;

	if (imap_url_parse(url, strlen(url), &u, &why) < 0)
		;
	else if (u.user != NULL && strcasecmp(u.user, c->user) != 0)
		why = "URL names another user";
	else if (mbox_view_open(c->mu, u.mailbox, true, &v, &err) < 0)
		why = "No such mailbox";
	else {
		mbox_view_status(v, &st);
		seq = mbox_view_seq(v, u.uid);
		if (u.uidvalidity != 0 && u.uidvalidity != st.uidvalidity)
			why = "UIDVALIDITY has changed";
		else if (seq == 0)
			why = "No such message";
	}
	if (why == NULL) {
		if (u.section == NULL && !u.partial) {
			int fd = mbox_view_msg_open(v, seq);
			r = fd < 0 ? -1 : mbox_spool_write_fd(s, fd, max);
			if (fd >= 0) {
				int e = errno;
				close(fd);
				errno = e;
			}
		} else
			r = url_section(v, seq, &u, s, max);
		if (r < 0 && errno == ENOENT)
			why = "No such message";
		else if (r < 0)
			spool_fail(cmd, errno);
	}
	if (why != NULL)
		badurl(cmd, url, why);
	if (r == 0 && mbox_spool_size(s) > max) {
		imap_cmd_no(cmd, "[TOOBIG] Message too big");
		r = -1;
	}
	mbox_view_close(&v);
	imap_url_free(&u);
	free(err);
	return r;
}

/* The finished spool of message m: the streamed literal, or its CATENATE
 * parts joined. NULL with the tagged NO set. */
static struct mbox_spool *
append_build(struct imap_cmd *cmd, const struct imap_append_msg *m)
{
	struct imap_client *c = cmd->c;
	uint64_t max = c->conf->message_size_limit;
	struct mbox_spool *s, *t;

	if (m->n_parts == 0) {
		s = imap_spool_take(c, m->index);
		if (s == NULL)
			imap_cmd_no(cmd, "[SERVERBUG] APPEND message lost");
		return s;
	}
	s = mbox_spool_new(c->mu);
	for (unsigned k = 0; k < m->n_parts; k++) {
		const struct imap_cat_part *p = &m->parts[k];

		if (p->url != NULL) {
			if (url_part(cmd, p->url, s, max) < 0)
				goto fail;
			continue;
		}
		if ((t = imap_spool_take(c, p->index)) == NULL) {
			imap_cmd_no(cmd, "[SERVERBUG] APPEND message lost");
			goto fail;
		}
		if (mbox_spool_append(s, &t, max) < 0) {
			spool_fail(cmd, errno);
			goto fail;
		}
	}
	if (mbox_spool_finish(s) < 0) {
		spool_fail(cmd, errno);
		goto fail;
	}
	if (mbox_spool_size(s) == 0) {
		imap_cmd_no(cmd, "Cannot append an empty message");
		goto fail;
	}
	return s;
fail:
	mbox_spool_free(&s);
	return NULL;
}

/* Builds every message's spool, then stores them all or none into to's
 * folder, with the flags its rights allow (RFC 4314: keywords need "w"). */
static void
append_all(struct imap_cmd *cmd, const struct imap_acl_ref *to,
    struct imap_append *a)
{
	struct mbox_append_item *items = xcalloc(a->count, sizeof(*items));
	const char ***kws = xcalloc(a->count, sizeof(*kws));
	uint32_t uidvalidity = 0, *uids = xcalloc(a->count, sizeof(*uids));
	unsigned built = 0;
	char *err = NULL;
	int r;

	for (; built < a->count; built++) {
		const struct imap_append_msg *m = &a->msgs[built];
		struct mbox_append_item *it = &items[built];

		if ((it->spool = append_build(cmd, m)) == NULL)
			break;
		kws[built] = xcalloc(m->flags.keyword_count + 1,
		    sizeof(**kws));
		for (unsigned i = 0; i < m->flags.keyword_count &&
		    (to->rights & MBOX_ACL_WRITE); i++)
			kws[built][i] = m->flags.keywords[i];
		it->keywords = kws[built];
		it->flags = imap_acl_allowed_flags(to->rights,
		    m->flags.system & MBOX_F_STORABLE);
		it->internaldate = m->date_given ? m->date : 0;
	}
	if (built == a->count) {	/* the quota, now that sizes are known */
		uint64_t total = 0;

		for (unsigned i = 0; i < built; i++)
			total += mbox_spool_size(items[i].spool);
		if (!imap_quota_allows(cmd, total, a->count))
			built = UINT_MAX;	/* the tagged NO is set */
	}
	if (built != a->count) {	/* the tagged NO is set */
		for (unsigned i = 0; i < a->count; i++)
			mbox_spool_free(&items[i].spool);
	} else if ((r = mbox_append_spools(to->u, to->folder, items,
	    a->count, &uidvalidity, uids, &err)) < 0)
		cmd_mbox_fail(cmd, r, true, err);
	else {
		struct buf code;

		buf_init(&code, 0);
		appenduid(&code, uidvalidity, uids, a->count);
		imap_notify_own_added(cmd->c, to, uids, a->count);
		imap_cmd_ok(cmd, "%s APPEND completed", buf_cstr(&code));
		buf_free(&code);
	}
	for (unsigned i = 0; i < a->count; i++)
		free(kws[i]);
	free(kws);
	free(items);
	free(uids);
}

enum imap_cmd_result
cmd_append(struct imap_cmd *cmd)
{
	struct imap_acl_ref to;
	struct imap_append a;
	const char *error;
	char *name;

	if (imap_args_parse_append(cmd->args, cmd->count, &a, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return IMAP_CMD_DONE;
	}
	name = cmd_mbox_lookup(cmd, a.mailbox, strlen(a.mailbox));
	if (name != NULL && append_check(cmd, &a) &&
	    imap_acl_open(cmd, name, MBOX_ACL_INSERT, true, &to) == 0) {
		append_all(cmd, &to, &a);
		imap_acl_ref_free(&to);
	}
	free(name);
	imap_append_free(&a);
	return IMAP_CMD_DONE;
}
