/*
 * milter_macro - which macros each filter gets before each event: the
 * lists a filter asked for at negotiation (SMFIR_OPTNEG followed by
 * SMFIM_* stage lists, what libmilter's smfi_setsymlist sends), else
 * Postfix's default lists (milter_*_macros). As Postfix does, a filter's
 * list replaces the default of its stage only (an empty or absent list
 * keeps the default), names may be given with or without braces ("j",
 * "{j}", "daemon_name", "{daemon_name}": sent as the filter spelt them),
 * a name tem has no value for is left out, and an unknown stage is
 * ignored (logged).
 *
 * Trust: the lists come from the filter (checked by milter_get_reply:
 * NUL-terminated, inside the packet). Limits: a list is cut at
 * MILTER_SYMLIST_LEN octets and MILTER_SYMLIST_NAMES names; a name longer
 * than MILTER_SYMNAME_MAX is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/milter_chain_int.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "version.h"

#define MILTER_SYMLIST_LEN	1024
#define MILTER_SYMLIST_NAMES	32
#define MILTER_SYMNAME_MAX	64

/* Postfix's defaults, as far as tem knows the values (milter_connect_
 * macros adds the client's address, name and port, which Postfix sends
 * through its "_" only; filters use both). Client names: tem looks up no
 * PTR, so the client is what Postfix calls unknown: {client_name}
 * "unknown", _ "unknown [ADDR]" (Postfix: "REVERSE-NAME [ADDR]", both
 * "unknown" when not found), and the CONNECT event's host "[ADDR]"
 * (Postfix's Sendmail form of unknown). */
static const char *const default_list[MILTER_STAGES] = {
	[SMFIM_CONNECT] = ("j {daemon_name} v _ {client_addr} {client_name} "
	    "{client_port}"),	/* () : one string (clang) */
	[SMFIM_HELO] = "{tls_version} {cipher}",
	[SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {mail_addr}",
	[SMFIM_ENVRCPT] = "i {rcpt_mailer} {rcpt_host} {rcpt_addr}",
	[SMFIM_DATA] = "i",
	[SMFIM_EOM] = "i",
	[SMFIM_EOH] = "i",
};

/* The macro stage of an event, or -1 for one without macros. */
static int
macro_stage(char cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT:	return SMFIM_CONNECT;
	case SMFIC_HELO:	return SMFIM_HELO;
	case SMFIC_MAIL:	return SMFIM_ENVFROM;
	case SMFIC_RCPT:	return SMFIM_ENVRCPT;
	case SMFIC_DATA:	return SMFIM_DATA;
	case SMFIC_EOH:		return SMFIM_EOH;
	case SMFIC_BODYEOB:	return SMFIM_EOM;
	default:		return -1;
	}
}

/* The value of macro name ("j" or "{j}"), NULL when tem has none; tmp
 * holds a value made on the spot. */
static const char *
macro_value(const struct milter_chain *ch, const char *name, char *tmp,
    size_t tmplen)
{
	static const struct { const char *name; int m; } set[] = {
		{ "i", MILTER_M_QUEUE_ID },
		{ "auth_type", MILTER_M_AUTH_TYPE },
		{ "auth_authen", MILTER_M_AUTH_AUTHEN },
		{ "tls_version", MILTER_M_TLS_VERSION },
		{ "cipher", MILTER_M_CIPHER },
		{ "mail_addr", MILTER_M_MAIL_ADDR },
		{ "rcpt_addr", MILTER_M_RCPT_ADDR },
		{ "rcpt_mailer", MILTER_M_RCPT_MAILER },
		{ "rcpt_host", MILTER_M_RCPT_HOST },
	};
	char bare[MILTER_SYMNAME_MAX + 1];
	size_t n = strlen(name);

	if (n >= 2 && name[0] == '{' && name[n - 1] == '}')
		snprintf(bare, sizeof(bare), "%.*s", (int)(n - 2), name + 1);
	else
		snprintf(bare, sizeof(bare), "%s", name);
	if (strcmp(bare, "j") == 0)
		return ch->hostname;
	if (strcmp(bare, "daemon_name") == 0)
		return ch->daemon;
	if (strcmp(bare, "v") == 0)
		return "tem " TEM_VERSION;
	if (strcmp(bare, "_") == 0) {
		snprintf(tmp, tmplen, "unknown [%s]", ch->client_ip);
		return tmp;
	}
	if (strcmp(bare, "client_addr") == 0)
		return ch->client_ip;
	if (strcmp(bare, "client_name") == 0)
		return "unknown";
	if (strcmp(bare, "client_port") == 0)
		return ch->have_peer ? ch->client_port : NULL;
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (strcmp(bare, set[i].name) == 0)
			return ch->macro[set[i].m];
	return NULL;
}

void
milter_macros_put(struct milter_chain *ch, unsigned i, char cmd,
    struct buf *out)
{
	const char *kv[2 * MILTER_SYMLIST_NAMES];
	char list[MILTER_SYMLIST_LEN + 1], tmp[300], *name, *save;
	int stage = macro_stage(cmd);
	size_t n = 0;
	bool tmp_used = false;

	if (stage < 0)
		return;
	snprintf(list, sizeof(list), "%s", ch->f[i].symlist[stage] ?
	    ch->f[i].symlist[stage] : default_list[stage]);
	for (name = strtok_r(list, " ,\t", &save);
	    name != NULL && n < 2 * MILTER_SYMLIST_NAMES;
	    name = strtok_r(NULL, " ,\t", &save)) {
		const char *v;

		if (strlen(name) > MILTER_SYMNAME_MAX ||
		    (v = macro_value(ch, name, tmp, sizeof(tmp))) == NULL ||
		    (v == tmp && tmp_used))	/* "_" twice */
			continue;
		tmp_used |= v == tmp;
		kv[n++] = name;
		kv[n++] = v;
	}
	if (n > 0)
		milter_put_macros(out, cmd, kv, n / 2);
}

bool
milter_macros_negotiated(struct milter_chain *ch, struct milter_filter *f,
    const struct milter_reply *r)
{
	const char *p = r->data, *list;
	size_t len = r->len;
	uint32_t stage;
	int rc;

	while ((rc = milter_optneg_symlist(&p, &len, &stage, &list)) == 1) {
		if (stage >= MILTER_STAGES) {
			log_warn("%s milter %s macro-list-ignored stage=%u",
			    ch->logid, f->name, stage);
			continue;
		}
		free(f->symlist[stage]);
		f->symlist[stage] = NULL;
		if (strspn(list, " ,\t") < strlen(list))	/* not empty */
			f->symlist[stage] = xstrndup(list,
			    MILTER_SYMLIST_LEN);
		log_debug("%s milter %s macro-list stage=%u names=\"%.200s\"",
		    ch->logid, f->name, stage, list);
	}
	return rc == 0;
}

void
milter_macros_free(struct milter_filter *f)
{
	for (unsigned s = 0; s < MILTER_STAGES; s++) {
		free(f->symlist[s]);
		f->symlist[s] = NULL;
	}
}
