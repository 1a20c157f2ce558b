/*
 * acme_parse - the CA's JSON answers into structs (see acme_parse.h).
 *
 * Trust: untrusted text; jansson parses it (depth and size bounded by
 * ACME_BODY_MAX upstream), and only bounded strings of the expected
 * types are kept. Unknown members are ignored as RFC 8555 requires.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme/acme_parse.h"
#include "util/xmalloc.h"

static json_t *
load(const char *text, size_t len, const char *what, char **error_r)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL) {
		*error_r = xasprintf("%s: bad JSON: %s", what, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		*error_r = xasprintf("%s: not a JSON object", what);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A copy of member key when it is a string of at most ACME_STR_MAX. */
static char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) > ACME_STR_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return xstrdup(json_string_value(v));
}

int
acme_parse_dir(const char *text, size_t len, struct acme_dir *d,
    char **error_r)
{
	json_t *j = load(text, len, "directory", error_r);

	memset(d, 0, sizeof(*d));
	if (j == NULL)
		return -1;
	d->new_nonce = str(j, "newNonce");
	d->new_account = str(j, "newAccount");
	d->new_order = str(j, "newOrder");
	json_decref(j);
	if (!d->new_nonce || !d->new_account || !d->new_order) {
		*error_r = xstrdup("directory: newNonce, newAccount or "
		    "newOrder missing");
		return -1;
	}
	return 0;
}

void
acme_dir_free(struct acme_dir *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	memset(d, 0, sizeof(*d));
}

int
acme_parse_order(const char *text, size_t len, struct acme_order *o,
    char **error_r)
{
	json_t *j = load(text, len, "order", error_r), *a, *v;
	size_t i;

	memset(o, 0, sizeof(*o));
	if (j == NULL)
		return -1;
	o->status = str(j, "status");
	o->finalize = str(j, "finalize");
	o->certificate = str(j, "certificate");
	a = json_object_get(j, "authorizations");
	if (!json_is_array(a) || json_array_size(a) > ACME_MAX_AUTHZ) {
		json_decref(j);
		*error_r = xstrdup("order: authorizations missing or more "
		    "than 16");
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) >
		    ACME_STR_MAX)
			continue;
		o->authz[o->nauthz++] = xstrdup(json_string_value(v));
	}
	json_decref(j);
	if (o->status == NULL || o->finalize == NULL) {
		*error_r = xstrdup("order: status or finalize missing");
		return -1;
	}
	return 0;
}

void
acme_order_free(struct acme_order *o)
{
	free(o->status);
	for (int i = 0; i < o->nauthz; i++)
		free(o->authz[i]);
	free(o->finalize);
	free(o->certificate);
	memset(o, 0, sizeof(*o));
}

static int
token_ok(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789-_");

	return n > 0 && n <= 256 && t[n] == '\0';
}

int
acme_parse_authz(const char *text, size_t len, const char *type,
    struct acme_authz *a, char **error_r)
{
	json_t *j = load(text, len, "authorization", error_r), *cs, *c, *e;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (j == NULL)
		return -1;
	a->status = str(j, "status");
	a->name = str(json_object_get(j, "identifier"), "value");
	cs = json_object_get(j, "challenges");
	json_array_foreach(cs, i, c) {
		json_t *t = json_object_get(c, "type");
		if (!json_is_string(t) || strcmp(json_string_value(t), type))
			continue;
		a->chal_url = str(c, "url");
		a->token = str(c, "token");
		a->chal_status = str(c, "status");
		e = json_object_get(c, "error");
		if (json_is_object(e))
			a->error = str(e, "detail");
		break;
	}
	json_decref(j);
	if (a->status == NULL || a->name == NULL) {
		*error_r = xstrdup("authorization: status or identifier "
		    "missing");
		return -1;
	}
	if (a->chal_url && (a->token == NULL || !token_ok(a->token))) {
		*error_r = xasprintf("authorization %s: bad %s token",
		    a->name, type);
		return -1;
	}
	return 0;
}

void
acme_authz_free(struct acme_authz *a)
{
	free(a->status);
	free(a->name);
	free(a->chal_url);
	free(a->token);
	free(a->chal_status);
	free(a->error);
	memset(a, 0, sizeof(*a));
}

char *
acme_parse_problem(const char *text, size_t len)
{
	char *err = NULL, *type, *detail, *s = NULL;
	json_t *j = load(text, len, "problem", &err);

	free(err);
	if (j == NULL)
		return NULL;
	type = str(j, "type");
	detail = str(j, "detail");
	if (type)
		s = xasprintf("%s: %s", type, detail ? detail : "");
	free(type);
	free(detail);
	json_decref(j);
	return s;
}
