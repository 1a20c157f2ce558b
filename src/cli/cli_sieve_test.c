/*
 * cli_sieve_test - `tem sieve test SCRIPT MESSAGE`: compile and run one
 * Sieve script on one message file and print the actions canonically (the
 * format is in cli_sieve_test.h; tests/sieve-corpus/ compares it with
 * Pigeonhole's sieve-test).
 *
 * Trust: run by a user or a test from a shell on files they name; the
 * script and the message are untrusted input to the interpreter (its own
 * limits apply). Include names are checked so an include cannot leave the
 * include directory. Nothing is delivered or sent: this only prints.
 * Callers: main.c's command dispatch.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli_commands.h"
#include "cli/cli_sieve_test.h"
#include "sieve/sieve.h"
#include "sieve/sieve_lib.h"
#include "util/xmalloc.h"

#define EXIT_USAGE	2
#define MAX_FILE	(64u << 20)	/* a message or script file */
#define MAX_LIST	64		/* --address, --mailbox-exists... */

struct st_opts {
	const char	*from, *to, *user;
	const char	*addresses[MAX_LIST + 1];
	size_t		 naddresses;
	const char	*include_dir, *global_dir;
	const char	*mailboxes[MAX_LIST];
	size_t		 nmailboxes;
	const char	*dups[MAX_LIST];
	size_t		 ndups;
	const char	*before[MAX_LIST];	/* run first, in order */
	size_t		 nbefore;
	time_t		 now;
	int		 zone;
	bool		 have_now, have_zone;
	const char	*script, *message;
};

/* The message as read, split at the empty line that ends the header. */
struct st_msg {
	char		*data;
	size_t		 len;
	size_t		 head_len;	/* including the empty line */
};

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			p = xrealloc(p, cap + 1);
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
	} while (got > 0 && n <= MAX_FILE);
	if (ferror(f) || n > MAX_FILE) {
		if (n > MAX_FILE)
			errno = EFBIG;
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

/* Where the header section ends: after the first empty line (LF or CRLF);
 * the whole text when there is none. */
static size_t
head_end(const char *p, size_t len)
{
	size_t i;

	if (len > 0 && p[0] == '\n')
		return 1;
	if (len > 1 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

static int
body_cb(void *arg, const char **data, size_t *len)
{
	const struct st_msg *m = arg;

	*data = m->data + m->head_len;
	*len = m->len - m->head_len;
	return 0;
}

/* An include name stays inside its directory. */
static bool
include_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' &&
	    strchr(name, '/') == NULL && strlen(name) < 256;
}

static char *
include_cb(void *arg, bool global, const char *name, size_t *len)
{
	const struct st_opts *o = arg;
	char *path, *text;

	if (!include_name_ok(name))
		return NULL;
	path = xasprintf("%s/%s.sieve", global ? o->global_dir :
	    o->include_dir, name);
	text = read_file(path, len);
	free(path);
	return text;
}

static bool
in_list(const char * const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool
mailbox_cb(void *arg, const char *name)
{
	const struct st_opts *o = arg;

	return strcasecmp(name, "INBOX") == 0 ||
	    in_list(o->mailboxes, o->nmailboxes, name);
}

static bool
duplicate_cb(void *arg, const char *handle, const char *id)
{
	const struct st_opts *o = arg;

	(void)handle;
	return in_list(o->dups, o->ndups, id);
}

/* Prints s quoted, escaping \ " CR LF. */
static void
put_quoted(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\r')
			fputs("\\r", stdout);
		else
			putchar(*s);
	}
	putchar('"');
}

static int
flag_cmp(const void *a, const void *b)
{
	const char *x = *(const char * const *)a, *y = *(const char * const *)b;
	int c = strcasecmp(x, y);

	return c != 0 ? c : strcmp(x, y);
}

/* A system flag as RFC 3501 spells it; other flags as they are. */
static const char *
flag_spelling(const char *f)
{
	static const char *const sys[] = { "\\Seen", "\\Answered",
	    "\\Flagged", "\\Deleted", "\\Draft", "\\Recent" };
	size_t i;

	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (strcasecmp(f, sys[i]) == 0)
			return sys[i];
	return f;
}

/* ' flags="a b"': each flag string may hold several, space separated. */
static void
put_flags(char **flags, size_t nflags)
{
	const char **v = NULL;
	size_t n = 0, i;
	char *copy, *tok, *save;
	char **owned = xcalloc(nflags + 1, sizeof(*owned));

	for (i = 0; i < nflags; i++) {
		owned[i] = copy = xstrdup(flags[i]);
		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t", &save)) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = flag_spelling(tok);
		}
	}
	if (n > 0) {
		qsort(v, n, sizeof(*v), flag_cmp);
		fputs(" flags=\"", stdout);
		for (i = 0; i < n; i++) {
			if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
				continue;
			printf("%s%s", i > 0 ? " " : "", v[i]);
		}
		putchar('"');
	}
	free(v);
	for (i = 0; i < nflags; i++)
		free(owned[i]);
	free(owned);
}

static void
put_vacation(const struct sieve_action *a, const struct st_opts *o)
{
	fputs("vacation to=", stdout);
	put_quoted(a->address != NULL ? a->address : "");
	fputs(" from=", stdout);
	put_quoted(a->from != NULL ? a->from : o->user);
	fputs(" subject=", stdout);
	put_quoted(a->subject != NULL ? a->subject : "");
	printf(" seconds=%llu handle=", (unsigned long long)a->seconds);
	put_quoted(a->handle != NULL ? a->handle : "");
	if (a->mime)
		fputs(" mime", stdout);
	fputs(" reason=", stdout);
	put_quoted(a->text != NULL ? a->text : "");
}

/* The keep the run added because nothing cancelled it (RFC 5228 2.10.2). */
static bool
is_implicit_keep(const struct sieve_action *a, const struct sieve_result *r)
{
	return a->type == SIEVE_KEEP && a->line == 0 && r->implicit_keep;
}

static void
put_action(const struct sieve_action *a, const struct sieve_result *r,
    const struct st_opts *o)
{
	switch (a->type) {
	case SIEVE_KEEP:
		fputs(is_implicit_keep(a, r) ? "implicit-keep" : "keep",
		    stdout);
		put_flags(a->flags, a->nflags);
		break;
	case SIEVE_FILEINTO:
		fputs("fileinto ", stdout);
		put_quoted(a->mailbox != NULL ? a->mailbox : "");
		if (a->create)
			fputs(" create", stdout);
		if (a->copy)
			fputs(" copy", stdout);
		put_flags(a->flags, a->nflags);
		break;
	case SIEVE_REDIRECT:
		fputs("redirect ", stdout);
		put_quoted(a->address != NULL ? a->address : "");
		if (a->copy)
			fputs(" copy", stdout);
		break;
	case SIEVE_REJECT:
		fputs(a->ereject ? "ereject " : "reject ", stdout);
		put_quoted(a->text != NULL ? a->text : "");
		break;
	case SIEVE_DISCARD:
		fputs("discard", stdout);
		break;
	case SIEVE_VACATION:
		put_vacation(a, o);
		break;
	}
	putchar('\n');
}

static void
put_field(char *field, size_t n)
{
	if (n == 0)
		return;
	field[n] = '\0';
	fputs("header ", stdout);
	put_quoted(field);
	putchar('\n');
}

/* The edited header, one unfolded field a line, when it changed. */
static void
put_head(const struct sieve_result *r, const struct st_msg *m)
{
	const char *p = r->head, *end;
	char *field = NULL;
	size_t n = 0;

	if (r->head == NULL || (r->head_len == m->head_len &&
	    memcmp(r->head, m->data, m->head_len) == 0))
		return;
	end = r->head + r->head_len;
	field = xmalloc(r->head_len + 1);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		size_t l = (size_t)(le - p);

		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l > 0 && (p[0] == ' ' || p[0] == '\t')) {
			memcpy(field + n, p, l);	/* continuation */
			n += l;
		} else {
			put_field(field, n);
			n = 0;
			if (l == 0)
				break;
			memcpy(field, p, l);
			n = l;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	put_field(field, n);
	free(field);
}

static int
list_add(const char **list, size_t *n, size_t max, const char *s)
{
	if (*n >= max) {
		fprintf(stderr, "tem: more than %zu of one option\n", max);
		return -1;
	}
	list[(*n)++] = s;
	return 0;
}

/* Fills o from argv; -1 on a usage error (printed). */
static int
parse_args(int argc, char **argv, struct st_opts *o)
{
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] :
		    NULL;
		char *end;
		int r = 0;

		if (strcmp(opt, "--") == 0) {
			i++;
			break;
		}
		if (v == NULL) {
			fprintf(stderr, "tem: %s needs a value\n", opt);
			return -1;
		}
		i++;
		if (strcmp(opt, "--from") == 0)
			o->from = v;
		else if (strcmp(opt, "--to") == 0)
			o->to = v;
		else if (strcmp(opt, "--user") == 0)
			o->user = v;
		else if (strcmp(opt, "--address") == 0)
			r = list_add(o->addresses, &o->naddresses, MAX_LIST, v);
		else if (strcmp(opt, "--include-dir") == 0)
			o->include_dir = v;
		else if (strcmp(opt, "--global-dir") == 0)
			o->global_dir = v;
		else if (strcmp(opt, "--mailbox-exists") == 0)
			r = list_add(o->mailboxes, &o->nmailboxes, MAX_LIST, v);
		else if (strcmp(opt, "--duplicate") == 0)
			r = list_add(o->dups, &o->ndups, MAX_LIST, v);
		else if (strcmp(opt, "--before") == 0)
			r = list_add(o->before, &o->nbefore, MAX_LIST, v);
		else if (strcmp(opt, "--now") == 0) {
			errno = 0;
			o->now = (time_t)strtoll(v, &end, 10);
			if (errno != 0 || *end != '\0' || end == v) {
				fprintf(stderr, "tem: bad --now '%s'\n", v);
				return -1;
			}
			o->have_now = true;
		} else if (strcmp(opt, "--zone") == 0) {
			if (!sieve_zone_parse(v, &o->zone)) {
				fprintf(stderr, "tem: bad --zone '%s'\n", v);
				return -1;
			}
			o->have_zone = true;
		} else {
			fprintf(stderr, "tem: unknown option %s\n", opt);
			return -1;
		}
		if (r < 0)
			return -1;
	}
	if (argc - i != 2)
		return -1;
	o->script = argv[i];
	o->message = argv[i + 1];
	return 0;
}

/* Defaults that depend on other options. dirbuf holds the script's
 * directory when --include-dir is not given. */
static void
fill_defaults(struct st_opts *o, char **dirbuf, char **globalbuf)
{
	const char *slash;

	if (o->from == NULL)
		o->from = "sender@example.org";
	if (o->to == NULL)
		o->to = "me@example.com";
	if (o->user == NULL)
		o->user = o->to;
	/* the user is always one of their own addresses */
	memmove(o->addresses + 1, o->addresses,
	    o->naddresses * sizeof(o->addresses[0]));
	o->addresses[0] = o->user;
	o->naddresses++;
	if (o->include_dir == NULL) {
		slash = strrchr(o->script, '/');
		*dirbuf = slash == NULL ? xstrdup(".") :
		    xstrndup(o->script, (size_t)(slash - o->script));
		o->include_dir = *dirbuf;
	}
	if (o->global_dir == NULL) {
		*globalbuf = xasprintf("%s/global", o->include_dir);
		o->global_dir = *globalbuf;
	}
	if (!o->have_now)
		o->now = time(NULL);
	if (!o->have_zone) {
		struct tm tm;

		localtime_r(&o->now, &tm);
		o->zone = (int)(tm.tm_gmtoff / 60);
	}
}

static void
print_result(const struct sieve_result *r, const struct st_msg *m,
    const struct st_opts *o)
{
	size_t i;

	if (r->error != NULL) {
		fputs("error ", stdout);
		put_quoted(r->error);
		putchar('\n');
	}
	/* explicit actions in order, then the implicit keep */
	for (i = 0; i < r->nactions; i++)
		if (!is_implicit_keep(&r->actions[i], r))
			put_action(&r->actions[i], r, o);
	for (i = 0; i < r->nactions; i++)
		if (is_implicit_keep(&r->actions[i], r))
			put_action(&r->actions[i], r, o);
	put_head(r, m);
}

/* Compiles path into *sc; 1 with "PATH:LINE: msg" (or "tem: ...") on
 * stderr when it cannot. */
static int
compile_file(const char *path, struct sieve_script **sc)
{
	struct sieve_error err = { 0 };
	char *text;
	size_t len;

	if ((text = read_file(path, &len)) == NULL) {
		fprintf(stderr, "tem: %s: %s\n", path, strerror(errno));
		return 1;
	}
	*sc = sieve_compile(text, len, NULL, &err);
	free(text);
	if (*sc == NULL) {
		fprintf(stderr, "%s:%d: %s\n", path, err.line, err.msg);
		return 1;
	}
	return 0;
}

int
cli_sieve_test(int argc, char **argv)
{
	struct st_opts o = { 0 };
	struct st_msg m = { 0 };
	struct sieve_script *sc[MAX_LIST + 1] = { NULL };
	struct sieve_msg msg = { 0 };
	struct sieve_env env = { 0 };
	struct sieve_result r;
	char *dirbuf = NULL, *globalbuf = NULL;
	size_t i, n = 0;
	int status = 1;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		cli_help(stdout, "sieve test");
		return 0;
	}
	if (parse_args(argc, argv, &o) < 0) {
		cli_help(stderr, "sieve test");
		return EXIT_USAGE;
	}
	for (i = 0; i < o.nbefore; i++)
		if (compile_file(o.before[i], &sc[n++]) != 0)
			goto out;
	if (compile_file(o.script, &sc[n++]) != 0)
		goto out;
	if ((m.data = read_file(o.message, &m.len)) == NULL) {
		fprintf(stderr, "tem: %s: %s\n", o.message, strerror(errno));
		goto out;
	}
	m.head_len = head_end(m.data, m.len);
	fill_defaults(&o, &dirbuf, &globalbuf);

	msg.head = m.data;
	msg.head_len = m.head_len;
	msg.body = m.head_len < m.len ? body_cb : NULL;
	msg.body_arg = &m;
	msg.size = m.len;
	msg.env_from = o.from;
	msg.env_to = o.to;
	msg.now = o.now;
	msg.now_zone = o.zone;
	env.user = o.user;
	env.addresses = o.addresses;
	env.naddresses = o.naddresses;
	env.subaddress_sep = "+";
	env.arg = &o;
	env.include_load = include_cb;
	env.mailbox_exists = mailbox_cb;
	env.duplicate_seen = duplicate_cb;

	sieve_run(sc, n, &msg, &env, NULL, &r);
	print_result(&r, &m, &o);
	sieve_result_free(&r);
	status = 0;
out:
	for (i = 0; i < n; i++)
		sieve_script_free(&sc[i]);
	free(m.data);
	free(dirbuf);
	free(globalbuf);
	return status;
}
