/*
 * arc_header - ARC header field parsing and the structural chain checks
 * (see arc_header.h).
 *
 * Trust: every field is untrusted. Tag lists go through DKIM's parser
 * (the same grammar, RFC 8617 4.1.2); the AAR's "i=N;" prefix has its own
 * small CFWS-aware reader with a bounded comment depth. Nothing is
 * allocated. Callers: the ARC verifier and sealer, test-arc-header.c,
 * fuzz/fuzz-arc.c.
 */
#include <string.h>
#include <strings.h>

#include "policy/arc_header.h"

#define ARC_COMMENT_DEPTH	8	/* nested comments in the AAR prefix */

static const char *const arc_names[] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal",
};

int
arc_kind_of(const char *name, size_t len)
{
	for (int k = 0; k < 3; k++)
		if (strlen(arc_names[k]) == len &&
		    strncasecmp(name, arc_names[k], len) == 0)
			return k;
	return -1;
}

const char *
arc_kind_name(enum arc_kind k)
{
	return k <= ARC_AS ? arc_names[k] : "?";
}

const char *
arc_cv_name(enum arc_cv cv)
{
	static const char *const names[] = { "none", "fail", "pass" };

	return cv <= ARC_CV_PASS ? names[cv] : "?";
}

/* Skips [CFWS] from s[*pos]; -1 on an unclosed or too deep comment. */
static int
skip_cfws(const char *s, size_t len, size_t *pos)
{
	unsigned depth = 0;

	for (; *pos < len; (*pos)++) {
		char c = s[*pos];

		if (depth > 0 && c == '\\' && *pos + 1 < len)
			(*pos)++;
		else if (c == '(' && ++depth > ARC_COMMENT_DEPTH)
			return -1;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n')
			break;
	}
	return depth == 0 ? 0 : -1;
}

/* i-val = 1*2DIGIT, 1..50 (RFC 8617 4.2.1). */
static bool
instance_parse(const char *s, size_t n, unsigned *i_r)
{
	unsigned v = 0;

	if (n == 0 || n > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*i_r = v;
	return v >= 1 && v <= ARC_MAX_SETS;
}

static int
aar_parse(const char *v, size_t len, struct arc_field *f,
    const char **error_r)
{
	size_t pos = 0, d;

	if (skip_cfws(v, len, &pos) < 0 || pos >= len || v[pos] != 'i' ||
	    (pos++, skip_cfws(v, len, &pos) < 0) || pos >= len ||
	    v[pos++] != '=' || skip_cfws(v, len, &pos) < 0) {
		*error_r = "AAR does not start with i=";
		return -1;
	}
	for (d = pos; d < len && v[d] >= '0' && v[d] <= '9'; d++)
		;
	if (!instance_parse(v + pos, d - pos, &f->instance)) {
		*error_r = "instance is not 1..50";
		return -1;
	}
	pos = d;
	if (skip_cfws(v, len, &pos) < 0 || pos >= len || v[pos++] != ';') {
		*error_r = "AAR instance not followed by ';'";
		return -1;
	}
	while (pos < len && (v[pos] == ' ' || v[pos] == '\t' ||
	    v[pos] == '\r' || v[pos] == '\n'))
		pos++;
	if (pos == len) {
		*error_r = "AAR without results";
		return -1;
	}
	f->payload = v + pos;
	f->payload_len = len - pos;
	return 0;
}

static bool
tag_is(const struct dkim_tag *t, const char *lit)
{
	return t != NULL && strlen(lit) == t->value_len &&
	    strncasecmp(t->value, lit, t->value_len) == 0;
}

/* Tags every AMS (4.1.2) or AS (4.1.3) must have, besides i=. */
static const char *const ams_tags[] = { "a", "b", "bh", "d", "s", "h", NULL };
static const char *const as_tags[] = { "a", "b", "d", "s", "cv", NULL };

static int
sig_parse(enum arc_kind k, const char *v, size_t len, struct arc_field *f,
    struct dkim_tags *tags, const char **error_r)
{
	const struct dkim_tag *i, *cv;

	if (dkim_tags_parse(v, len, tags, error_r) < 0)
		return -1;
	i = dkim_tags_get(tags, "i");
	if (i == NULL || !instance_parse(i->value, i->value_len,
	    &f->instance)) {
		*error_r = "instance is not 1..50";
		return -1;
	}
	for (const char *const *t = k == ARC_AMS ? ams_tags : as_tags;
	    *t != NULL; t++)
		if (dkim_tags_get(tags, *t) == NULL) {
			*error_r = k == ARC_AMS ? "AMS lacks a required tag" :
			    "AS lacks a required tag";
			return -1;
		}
	if (k == ARC_AMS)
		return 0;
	if (dkim_tags_get(tags, "h") != NULL) {
		*error_r = "AS with h=";
		return -1;
	}
	cv = dkim_tags_get(tags, "cv");
	if (tag_is(cv, "none"))
		f->cv = ARC_CV_NONE;
	else if (tag_is(cv, "fail"))
		f->cv = ARC_CV_FAIL;
	else if (tag_is(cv, "pass"))
		f->cv = ARC_CV_PASS;
	else {
		*error_r = "cv is not none, fail or pass";
		return -1;
	}
	return 0;
}

int
arc_field_parse(enum arc_kind k, const char *v, size_t len,
    struct arc_field *f, struct dkim_tags *tags, const char **error_r)
{
	memset(f, 0, sizeof(*f));
	f->kind = k;
	if (memchr(v, '\0', len) != NULL) {
		*error_r = "NUL byte in ARC field";
		return -1;
	}
	return k == ARC_AAR ? aar_parse(v, len, f, error_r) :
	    sig_parse(k, v, len, f, tags, error_r);
}

static enum arc_struct
arc_fail(struct arc_chain *c, const char *reason, unsigned instance)
{
	c->reason = reason;
	c->bad_instance = instance;
	return ARC_STRUCT_FAIL;
}

/* Step 1: each field into its set; a malformed or repeated one fails. */
static enum arc_struct
arc_gather(const char *hdr, size_t len, struct arc_chain *c)
{
	struct rfc5322_iter it;
	struct rfc5322_field rf;
	struct dkim_tags tags;
	struct arc_field f;
	const char *err;
	bool any = false;

	rfc5322_iter_init(&it, hdr, len);
	while (rfc5322_iter_next(&it, &rf) == 1) {
		int k = arc_kind_of(rf.name, rf.name_len);

		if (k < 0)
			continue;
		any = true;
		if (arc_field_parse((enum arc_kind)k, rf.value, rf.value_len,
		    &f, &tags, &err) < 0)
			return arc_fail(c, err, 0);
		struct arc_set *s = &c->set[f.instance - 1];
		if (s->have & (1u << k))
			return arc_fail(c, "an ARC field repeated in its set",
			    f.instance);
		s->have |= 1u << k;
		s->field[k] = rf;
		if (k == ARC_AS)
			s->cv = f.cv;
		if (f.instance > c->n)
			c->n = f.instance;
	}
	return any ? ARC_STRUCT_OK : ARC_STRUCT_NONE;
}

enum arc_struct
arc_chain_collect(const char *hdr, size_t len, struct arc_chain *c)
{
	enum arc_struct r;

	memset(c, 0, sizeof(*c));
	if ((r = arc_gather(hdr, len, c)) != ARC_STRUCT_OK)
		return r;
	/* Step 2: the newest sealer already saw a broken chain. */
	if ((c->set[c->n - 1].have & (1u << ARC_AS)) &&
	    c->set[c->n - 1].cv == ARC_CV_FAIL)
		return arc_fail(c, "latest cv=fail", c->n);
	/* Step 3: 1..N complete, cv none at 1 and pass after. */
	for (unsigned i = 1; i <= c->n; i++) {
		const struct arc_set *s = &c->set[i - 1];

		if (s->have != 7)
			return arc_fail(c, s->have == 0 ? "instance missing" :
			    "ARC set incomplete", i);
		if (i == 1 && s->cv != ARC_CV_NONE)
			return arc_fail(c, "cv of instance 1 is not none", i);
		if (i > 1 && s->cv != ARC_CV_PASS)
			return arc_fail(c, "cv after instance 1 is not pass", i);
	}
	return ARC_STRUCT_OK;
}
