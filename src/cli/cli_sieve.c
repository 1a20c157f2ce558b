/*
 * cli_sieve - `tem sieve put|get|list|activate|deactivate|del` (see
 * cli_sieve.h).
 *
 * Trust: run by the administrator from a shell; the address is checked
 * against the accounts DB, names by the store, scripts by the compiler.
 * A script on standard input is read up to SIEVE_STORE_SIZE_MAX + 1
 * octets (more is refused, never held). Callers: main.c's dispatch.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/accounts_fs.h"
#include "cli/cli_commands.h"
#include "cli/cli_sieve.h"
#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "sieve/sieve_store.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

#define EXIT_USAGE 2

/* A subcommand and its number of arguments after "sieve SUB". */
struct sieve_sub {
	const char	*name;
	int		 nargs;
	const char	*synopsis;
};

static const struct sieve_sub subs[] = {
	{ "put", 2, "put ADDRESS NAME" },
	{ "get", 2, "get ADDRESS NAME" },
	{ "list", 1, "list ADDRESS" },
	{ "activate", 2, "activate ADDRESS NAME" },
	{ "deactivate", 1, "deactivate ADDRESS" },
	{ "del", 2, "del ADDRESS NAME" },
	/* "test": cli_sieve_test.c, routed by main.c */
	{ NULL, 0, NULL },
};

/* The account must exist: 0, or the exit status after the message. */
static int
check_account(const struct conf *c, const char *address)
{
	struct accounts *a = NULL;
	struct accounts_list l = { 0 };
	char *err = NULL;
	int r;

	if (accounts_open_conf(c, &a, &err) < 0)
		return cli_fail(1, err);
	r = accounts_user_list(a, address, &l, &err);
	accounts_close(&a);
	if (r < 0)
		return cli_fail(1, err);
	accounts_list_free(&l);
	return 0;
}

/*
 * Run as root, become run_as (when it exists) before touching the store:
 * the server, running as run_as, must read and change what is made here.
 */
static int
become_owner(const struct conf *c)
{
	struct accounts_owner o;

	accounts_owner_init(&o, c->run_as);
	if (!o.do_chown)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(o.gid) < 0 || setuid(o.uid) < 0)
		return cli_fail(1, xasprintf("cannot switch to user %s: %s",
		    c->run_as, strerror(errno)));
	return 0;
}

/* Reads standard input whole, at most SIEVE_STORE_SIZE_MAX octets. */
static char *
read_stdin(size_t *len_r, char **error_r)
{
	size_t cap = SIEVE_STORE_SIZE_MAX + 1, n = 0;
	char *text = xmalloc(cap + 1);
	ssize_t r;

	while (n < cap && (r = read(STDIN_FILENO, text + n, cap - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*error_r = xasprintf("cannot read the script: %s",
			    strerror(errno));
			free(text);
			return NULL;
		}
		n += (size_t)r;
	}
	if (n > SIEVE_STORE_SIZE_MAX) {
		*error_r = xasprintf("script larger than %d octets",
		    SIEVE_STORE_SIZE_MAX);
		free(text);
		return NULL;
	}
	*len_r = n;
	return text;
}

/* The message for a store errno about script name of user. */
static char *
store_error(const char *user, const char *name, int e)
{
	switch (e) {
	case ENOENT:
		return xasprintf("%s has no script '%s'", user, name);
	case EEXIST:
		return xasprintf("%s already has a script '%s'", user, name);
	case EBUSY:
		return xasprintf("script '%s' is active: deactivate it first "
		    "(tem sieve deactivate %s)", name, user);
	case EDQUOT:
		return xasprintf("%s has %d scripts already (the limit)",
		    user, SIEVE_STORE_SCRIPTS_MAX);
	case ENAMETOOLONG:
	case EINVAL:
		return xasprintf("invalid script name '%s'", name);
	case EILSEQ:	/* storage = postgresql only */
		return xasprintf("script '%s' is not UTF-8 text (or holds a "
		    "NUL octet)", name);
	default:
		return xasprintf("script '%s' of %s: %s", name, user,
		    strerror(e));
	}
}

static int
sieve_put(const struct conf *c, const char *user, const char *name)
{
	struct sieve_error err;
	char *text, *msg = NULL;
	size_t len;
	int r;

	if ((text = read_stdin(&len, &msg)) == NULL)
		return cli_fail(1, msg);
	r = sieve_store_put(c->data_dir, user, name, text, len, &err);
	free(text);
	if (r == 0)
		return 0;
	if (errno == EINVAL && err.msg[0] != '\0') {
		fprintf(stderr, "%s:%d: %s\n", name, err.line, err.msg);
		return 1;
	}
	return cli_fail(1, store_error(user, name, errno));
}

static int
sieve_get(const struct conf *c, const char *user, const char *name)
{
	size_t len;
	char *text = sieve_store_get(c->data_dir, user, name, &len);
	int r;

	if (text == NULL)
		return cli_fail(1, store_error(user, name, errno));
	r = fsutil_write_all(STDOUT_FILENO, text, len);
	free(text);
	return r == 0 ? 0 : cli_fail(1, xasprintf("cannot write the script: %s",
	    strerror(errno)));
}

static int
sieve_list(const struct conf *c, const char *user)
{
	char **names, *active;
	size_t n;

	if (sieve_store_list(c->data_dir, user, &names, &n, &active) < 0)
		return cli_fail(1, xasprintf("cannot list the scripts of %s: %s",
		    user, strerror(errno)));
	for (size_t i = 0; i < n; i++)
		printf("%s%s\n", names[i], active != NULL &&
		    strcmp(active, names[i]) == 0 ? " (active)" : "");
	sieve_store_names_free(&names, n);
	free(active);
	return fflush(stdout) == 0 ? 0 : cli_fail(1, xasprintf("cannot write "
	    "the list: %s", strerror(errno)));
}

static int
run(const struct conf *c, const char *sub, const char *user,
    const char *name)
{
	int r;

	if (strcmp(sub, "put") == 0)
		return sieve_put(c, user, name);
	if (strcmp(sub, "get") == 0)
		return sieve_get(c, user, name);
	if (strcmp(sub, "list") == 0)
		return sieve_list(c, user);
	if (strcmp(sub, "activate") == 0 || strcmp(sub, "deactivate") == 0)
		r = sieve_store_activate(c->data_dir, user, name);
	else
		r = sieve_store_delete(c->data_dir, user, name);
	return r == 0 ? 0 : cli_fail(1, store_error(user, name != NULL ? name :
	    "", errno));
}

int
cli_sieve(const struct conf *c, int argc, char **argv)
{
	const struct sieve_sub *s;
	int r;

	/* `tem sieve test ...` (cli_sieve_test.c) needs no config: main.c
	 * routes it before loading one, so it never comes here. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			cli_help(stdout, "sieve");
			return 0;
		}
	if (argc < 2)
		return cli_fail(EXIT_USAGE, xstrdup("missing sieve command (see "
		    "tem sieve --help)"));
	for (s = subs; s->name != NULL; s++)
		if (strcmp(s->name, argv[1]) == 0)
			break;
	if (s->name == NULL)
		return cli_fail(EXIT_USAGE, xasprintf("unknown sieve command '%s' "
		    "(see tem sieve --help)", argv[1]));
	if (argc - 2 != s->nargs)
		return cli_fail(EXIT_USAGE, xasprintf("usage: tem sieve %s",
		    s->synopsis));
	if ((r = check_account(c, argv[2])) != 0 ||
	    (r = become_owner(c)) != 0)
		return r;
	sieve_store_setup(c);
	r = run(c, argv[1], argv[2], argc > 3 ? argv[3] : NULL);
	if (sieve_store_on_pg())
		pg_conn_cleanup();	/* main's thread has no destructor */
	return r;
}
