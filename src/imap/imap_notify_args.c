/*
 * imap_notify_args - the NOTIFY grammar (RFC 5465 8) over the argument
 * tree into struct imap_notify (see imap_notify.h).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure: no I/O, no globals, no logging. Fuzzed
 * by fuzz/fuzz-imap-notify.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args.h"
#include "imap/imap_notify.h"
#include "util/xmalloc.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} events[] = {
	{ "MessageNew", IMAP_NE_MESSAGENEW },
	{ "MessageExpunge", IMAP_NE_MESSAGEEXPUNGE },
	{ "FlagChange", IMAP_NE_FLAGCHANGE },
	{ "AnnotationChange", IMAP_NE_ANNOTATIONCHANGE },
	{ "MailboxName", IMAP_NE_MAILBOXNAME },
	{ "SubscriptionChange", IMAP_NE_SUBSCRIPTIONCHANGE },
	{ "MailboxMetadataChange", IMAP_NE_MAILBOXMETADATACHANGE },
	{ "ServerMetadataChange", IMAP_NE_SERVERMETADATACHANGE },
};

static const char *const filters[] = {
	"SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED",
	"SUBTREE", "MAILBOXES", NULL,
};

/* A parse in progress. */
struct nparse {
	struct imap_notify	*n;
	unsigned		 names;		/* kept so far */
	const char		*error;
};

static int
fail(struct nparse *p, const char *msg)
{
	if (p->error == NULL)
		p->error = msg;
	return -1;
}

static void
group_free(struct imap_notify_group *g)
{
	for (unsigned i = 0; i < g->n_names; i++)
		free(g->names[i]);
	free(g->names);
	if (g->fetch != NULL)
		imap_fetch_free(g->fetch);
	free(g->fetch);
	memset(g, 0, sizeof(*g));
}

void
imap_notify_free(struct imap_notify *n)
{
	for (unsigned i = 0; i < n->n_groups; i++)
		group_free(&n->groups[i]);
	free(n->groups);
	memset(n, 0, sizeof(*n));
}

static int
add_name(struct nparse *p, struct imap_notify_group *g,
    const struct imap_arg *a)
{
	const char *s;
	size_t len;

	if (!imap_arg_get_astring(a, &s, &len) || strlen(s) != len)
		return fail(p, "Invalid mailbox name");
	if (++p->names > IMAP_NOTIFY_NAMES_MAX)
		return fail(p, "Too many mailbox names");
	g->names = xrealloc(g->names, (g->n_names + 1) * sizeof(*g->names));
	g->names[g->n_names++] = xstrndup(s, len);
	return 0;
}

/* one-or-more-mailbox */
static int
parse_names(struct nparse *p, struct imap_notify_group *g,
    const struct imap_arg *a)
{
	const struct imap_arg *list;
	unsigned count, i;

	if (!imap_arg_get_list(a, &list, &count))
		return add_name(p, g, a);
	if (count == 0)
		return fail(p, "Empty mailbox list");
	for (i = 0; i < count; i++)
		if (add_name(p, g, &list[i]) < 0)
			return -1;
	return 0;
}

/* MessageNew's "(" fetch-att *(SP fetch-att) ")": FETCH's own grammar
   and limits (imap_fetch_args.c), kept for the FETCH sent after EXISTS. */
static int
parse_fetch_atts(struct nparse *p, struct imap_notify_group *g,
    const struct imap_arg *a)
{
	const char *error = NULL;

	g->fetch = xcalloc(1, sizeof(*g->fetch));
	if (imap_args_parse_fetch_atts(a, g->fetch, &error) < 0)
		return fail(p, error);
	return 0;
}

/* events: "(" event *(SP event) ")" / "NONE" */
static int
parse_events(struct nparse *p, struct imap_notify_group *g,
    const struct imap_arg *a)
{
	const struct imap_arg *list;
	unsigned count, i, k, bit;
	const char *s;

	if (imap_arg_atom_equals(a, "NONE"))
		return 0;
	if (!imap_arg_get_list(a, &list, &count) || count == 0)
		return fail(p, "Invalid event list");
	for (i = 0; i < count; i++) {
		if (!imap_arg_get_atom(&list[i], &s))
			return fail(p, "Invalid event");
		bit = IMAP_NE_UNKNOWN;
		for (k = 0; k < sizeof(events) / sizeof(events[0]); k++)
			if (strcasecmp(s, events[k].name) == 0)
				bit = events[k].bit;
		if (bit != IMAP_NE_UNKNOWN && (g->events & bit))
			return fail(p, "Event given twice");
		g->events |= bit;
		if (bit == IMAP_NE_MESSAGENEW && i + 1 < count &&
		    list[i + 1].type == IMAP_ARG_LIST &&
		    parse_fetch_atts(p, g, &list[++i]) < 0)
			return -1;
	}
	return 0;
}

/* The rules of RFC 5465 5 and 6.1 for one group. */
static int
check_group(struct nparse *p, const struct imap_notify_group *g)
{
	unsigned ev = g->events, mn = IMAP_NE_MESSAGENEW |
	    IMAP_NE_MESSAGEEXPUNGE;

	if ((ev & mn) != 0 && (ev & mn) != mn)
		return fail(p, "MessageNew and MessageExpunge go together");
	if ((ev & (IMAP_NE_FLAGCHANGE | IMAP_NE_ANNOTATIONCHANGE)) &&
	    (ev & mn) != mn)
		return fail(p, "FlagChange needs MessageNew and "
		    "MessageExpunge");
	if ((g->filter == IMAP_NF_SELECTED ||
	    g->filter == IMAP_NF_SELECTED_DELAYED) &&
	    (ev & ~(IMAP_NE_MESSAGE | IMAP_NE_UNKNOWN)))
		return fail(p, "Only message events for the selected mailbox");
	if (g->fetch != NULL && g->filter != IMAP_NF_SELECTED &&
	    g->filter != IMAP_NF_SELECTED_DELAYED)
		return fail(p, "MessageNew attributes only for the selected "
		    "mailbox");
	return 0;
}

/* event-group: "(" filter-mailboxes SP events ")" */
static int
parse_group(struct nparse *p, const struct imap_arg *a)
{
	struct imap_notify *n = p->n;
	struct imap_notify_group *g;
	const struct imap_arg *list;
	unsigned count, i = 0;
	const char *s;
	int f = -1;

	if (!imap_arg_get_list(a, &list, &count) || count < 2)
		return fail(p, "Invalid event group");
	if (n->n_groups >= IMAP_NOTIFY_GROUPS_MAX)
		return fail(p, "Too many event groups");
	n->groups = xrealloc(n->groups, (n->n_groups + 1) *
	    sizeof(*n->groups));
	g = &n->groups[n->n_groups++];
	memset(g, 0, sizeof(*g));
	if (imap_arg_get_atom(&list[i++], &s))
		for (f = 0; filters[f] != NULL; f++)
			if (strcasecmp(s, filters[f]) == 0)
				break;
	if (f < 0 || filters[f] == NULL)
		return fail(p, "Invalid mailbox filter");
	g->filter = (enum imap_notify_filter)f;
	if (g->filter == IMAP_NF_SUBTREE || g->filter == IMAP_NF_MAILBOXES) {
		if (count != 3)
			return fail(p, "Invalid event group");
		if (parse_names(p, g, &list[i++]) < 0)
			return -1;
	} else if (count != 2) {
		return fail(p, "Invalid event group");
	}
	if (parse_events(p, g, &list[i]) < 0)
		return -1;
	return check_group(p, g);
}

/* SELECTED and SELECTED-DELAYED: at most one of them, once. */
static int
check_selected(struct nparse *p)
{
	unsigned i, sel = 0;

	for (i = 0; i < p->n->n_groups; i++)
		if (p->n->groups[i].filter == IMAP_NF_SELECTED ||
		    p->n->groups[i].filter == IMAP_NF_SELECTED_DELAYED)
			sel++;
	return sel > 1 ? fail(p, "SELECTED given twice") : 0;
}

int
imap_notify_parse(const struct imap_arg *args, unsigned count,
    struct imap_notify *n, const char **error_r)
{
	struct nparse p = { .n = n };
	unsigned i = 1, g, all = 0;

	memset(n, 0, sizeof(*n));
	if (count == 1 && imap_arg_atom_equals(&args[0], "NONE")) {
		n->none = true;
		return 0;
	}
	if (count < 2 || !imap_arg_atom_equals(&args[0], "SET")) {
		*error_r = "Syntax: NOTIFY NONE | NOTIFY SET [STATUS] groups";
		return -1;
	}
	if (imap_arg_atom_equals(&args[1], "STATUS")) {
		n->status = true;
		i++;
	}
	if (i >= count)
		fail(&p, "Missing event groups");
	for (; i < count && p.error == NULL; i++)
		(void)parse_group(&p, &args[i]);
	if (p.error == NULL)
		(void)check_selected(&p);
	if (p.error != NULL) {
		imap_notify_free(n);
		*error_r = p.error;
		return -1;
	}
	for (g = 0; g < n->n_groups; g++)
		all |= n->groups[g].events;
	if (all & ~IMAP_NE_SUPPORTED) {
		imap_notify_free(n);
		*error_r = "Unsupported event";
		return -2;
	}
	return 0;
}
