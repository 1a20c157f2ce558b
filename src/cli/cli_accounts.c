/*
 * cli_accounts - `tem domain|user|alias` (see cli_accounts.h).
 *
 * Trust: run by the administrator (usually root) from a shell; arguments
 * are validated by accounts.c. Passwords are read from stdin or the
 * terminal, never from argv (argv is visible in ps), and wiped after use.
 * Callers: main.c's command dispatch.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "cli/cli_accounts.h"
#include "cli/cli_commands.h"
#include "conf/conf.h"
#include "server/control.h"
#include "util/xmalloc.h"

/* Longest password accepted (bytes); far above any real one, and bounds
 * what a pipe can make us hold. */
#define CLI_PASSWORD_MAX 1024

#define EXIT_USAGE 2

/* How long a change waits for the running server's confirmation. */
#define CLI_SYNC_TIMEOUT_MS 10000

/* A subcommand and how many arguments it takes (max -1: no limit). */
struct cli_sub {
	const char	*name;
	int		 min, max;
	const char	*synopsis;
};

/* The entry for argv[1] with a fitting argument count, or NULL after
 * printing the one-line error into *status_r. */
static const struct cli_sub *
find_sub(const struct cli_sub *subs, int argc, char **argv, int *status_r)
{
	const struct cli_sub *s;
	int nargs = argc - 2;

	if (argc < 2) {
		*status_r = cli_fail(EXIT_USAGE, xasprintf("missing %s command "
		    "(see tem %s --help)", argv[0], argv[0]));
		return NULL;
	}
	for (s = subs; s->name != NULL; s++)
		if (strcmp(s->name, argv[1]) == 0)
			break;
	if (s->name == NULL) {
		*status_r = cli_fail(EXIT_USAGE, xasprintf("unknown %s command "
		    "'%s' (see tem %s --help)", argv[0], argv[1], argv[0]));
		return NULL;
	}
	if (nargs < s->min || (s->max >= 0 && nargs > s->max)) {
		*status_r = cli_fail(EXIT_USAGE, xasprintf("usage: tem %s %s",
		    argv[0], s->synopsis));
		return NULL;
	}
	return s;
}

static int
open_accounts(const struct conf *c, struct accounts **a_r)
{
	char *err = NULL;

	if (accounts_open_conf(c, a_r, &err) < 0)
		return cli_fail(1, err);
	return 0;
}

static int
print_list(struct accounts_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		printf("%s\n", l->items[i]);
	accounts_list_free(l);
	return fflush(stdout) == 0 ? 0 : cli_fail(1, xasprintf("cannot write "
	    "the list: %s", strerror(errno)));
}

/* ---- passwords ---------------------------------------------------- */

/* Reads one line (without its CR LF) of at most CLI_PASSWORD_MAX bytes
 * from fd 0. Returns a malloc'd string, or NULL + error. */
static char *
read_line(char **error_r)
{
	char *line = xmalloc(CLI_PASSWORD_MAX + 2);
	size_t n = 0;
	char ch;
	ssize_t r;

	while ((r = read(STDIN_FILENO, &ch, 1)) == 1 && ch != '\n') {
		if (n > CLI_PASSWORD_MAX) {
			*error_r = xasprintf("password longer than %d bytes",
			    CLI_PASSWORD_MAX);
			explicit_bzero(line, n);
			free(line);
			return NULL;
		}
		line[n++] = ch;
	}
	if (r < 0) {
		*error_r = xasprintf("cannot read the password: %s",
		    strerror(errno));
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return line;
}

/* Prompts on stderr and reads a line from the terminal with echo off.
 * Job-control and interrupt signals are held until echo is back on. */
static char *
prompt_noecho(const char *prompt, char **error_r)
{
	struct termios old, quiet;
	sigset_t block, prev;
	char *line;

	if (tcgetattr(STDIN_FILENO, &old) < 0) {
		*error_r = xasprintf("cannot read the terminal: %s",
		    strerror(errno));
		return NULL;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTSTP);
	sigprocmask(SIG_BLOCK, &block, &prev);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	/* Echo off before the prompt shows, so nothing typed after it is
	 * echoed or flushed away. */
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fputs(prompt, stderr);
	fflush(stderr);
	line = read_line(error_r);
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);	/* the newline the user typed, unechoed */
	sigprocmask(SIG_SETMASK, &prev, NULL);
	return line;
}

static void
wipe(char **pw)
{
	if (*pw != NULL)
		explicit_bzero(*pw, strlen(*pw));
	XFREE(pw);
}

/* The new password for address: stdin's first line, or asked twice. */
static char *
get_password(const char *address, char **error_r)
{
	char *first, *second, *prompt;

	if (!isatty(STDIN_FILENO))
		return read_line(error_r);
	prompt = xasprintf("New password for %s: ", address);
	first = prompt_noecho(prompt, error_r);
	free(prompt);
	if (first == NULL)
		return NULL;
	second = prompt_noecho("Retype the password: ", error_r);
	if (second == NULL || strcmp(first, second) != 0) {
		if (second != NULL)
			*error_r = xstrdup("the passwords do not match");
		wipe(&first);
	}
	wipe(&second);
	return first;
}

/* ---- domain ------------------------------------------------------- */

static int
domain_run(struct accounts *a, int argc, char **argv)
{
	const char *sub = argv[1];
	struct accounts_list l = { 0 };
	char *err = NULL;
	int r;

	(void)argc;
	if (strcmp(sub, "add") == 0)
		r = accounts_domain_add(a, argv[2], &err);
	else if (strcmp(sub, "del") == 0)
		r = accounts_domain_del(a, argv[2], &err);
	else if ((r = accounts_domain_list(a, &l, &err)) == 0)
		return print_list(&l);
	return r == 0 ? 0 : cli_fail(1, err);
}

/*
 * After a committed change: waits until the running server uses it
 * (server/control.h), so that mail and logins right after this command
 * see it. Without a server there is nothing to wait for. A server that
 * does not confirm gets a warning, not a failed exit: the change IS
 * saved, the exit status says whether it was made (a script retrying a
 * "failed" `user add` would only get "already exists"), and the server
 * still applies it at its next poll of accounts.serial.
 */
static void
sync_server(const struct conf *c, uint64_t serial)
{
	char *err = NULL;

	if (control_reload_accounts(c->data_dir, serial, CLI_SYNC_TIMEOUT_MS,
	    &err) != CONTROL_FAILED)
		return;
	fprintf(stderr, "tem: warning: the change is saved, but the running "
	    "server did not confirm it (%s); it should apply it from "
	    "accounts.serial within a second\n", err);
	free(err);
}

/* Runs fn(a, argc, argv) on an open accounts handle, once argv[1] is
 * known to be one of subs with a fitting number of arguments. */
static int
with_accounts(const struct conf *c, int argc, char **argv,
    const struct cli_sub *subs,
    int (*fn)(struct accounts *, int, char **))
{
	struct accounts *a = NULL;
	uint64_t serial;
	int r;

	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, argv[0]);
		return 0;
	}
	if (find_sub(subs, argc, argv, &r) == NULL)
		return r;
	if ((r = open_accounts(c, &a)) != 0)
		return r;
	r = fn(a, argc, argv);
	serial = accounts_change_serial(a);
	accounts_close(&a);
	if (serial != 0)	/* even after an error: a change was saved */
		sync_server(c, serial);
	return r;
}

int
cli_domain(const struct conf *c, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "add", 1, 1, "add DOMAIN" },
		{ "del", 1, 1, "del DOMAIN" },
		{ "list", 0, 0, "list" },
		{ NULL, 0, 0, NULL },
	};

	return with_accounts(c, argc, argv, subs, domain_run);
}

/* ---- user --------------------------------------------------------- */

/* Fails early (before prompting) when the account cannot be added or
 * changed: add needs the domain, passwd needs the user. */
static int
user_precheck(struct accounts *a, bool add, const char *address,
    char **error_r)
{
	struct accounts_list l = { 0 };
	char *lp, *dom;
	int r;

	if (!add) {
		r = accounts_user_list(a, address, &l, error_r);
		accounts_list_free(&l);
		return r;
	}
	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return -1;
	r = accounts_domain_exists(a, dom, error_r);
	if (r == 0)
		*error_r = xasprintf("domain %s does not exist", dom);
	free(lp);
	free(dom);
	return r > 0 ? 0 : -1;
}

static int
user_set_password(struct accounts *a, bool add, const char *address)
{
	char *err = NULL, *pw;
	int r;

	if (user_precheck(a, add, address, &err) < 0)
		return cli_fail(1, err);
	if ((pw = get_password(address, &err)) == NULL)
		return cli_fail(1, err);
	if (add)
		r = accounts_user_add(a, address, pw, &err);
	else
		r = accounts_user_passwd(a, address, pw, &err);
	wipe(&pw);
	return r == 0 ? 0 : cli_fail(1, err);
}

static int
user_del(struct accounts *a, const char *address)
{
	char *err = NULL, *box = NULL;

	if (accounts_user_del(a, address, &box, &err) < 0)
		return cli_fail(1, err);
	if (box != NULL)
		printf("user %s deleted; its mailbox stays in %s\n", address,
		    box);
	else	/* storage = postgresql: the mail is the account's rows */
		printf("user %s deleted with its mail\n", address);
	free(box);
	return 0;
}

/* A quota value: a size (K/M/G) or a count (digits only), 0 or none for
 * no limit. */
static bool
quota_arg(const char *s, bool size, uint64_t *v_r)
{
	if (!size && strcasecmp(s, "none") != 0 &&
	    strspn(s, "0123456789") != strlen(s))
		return false;
	return conf_parse_quota(s, v_r) == 0;
}

/* "ADDRESS STORAGE MESSAGES" (octets, count; 0 no limit, or "default"). */
static int
user_quota(struct accounts *a, int argc, char **argv)
{
	const char *addr = argv[2];
	uint64_t storage = 0, messages = 0;
	char *err = NULL;
	int r;

	if (argc == 3) {
		if ((r = accounts_user_quota_get(a, addr, &storage, &messages,
		    &err)) < 0)
			return cli_fail(1, err);
		if (r == 0)
			printf("%s default\n", addr);
		else
			printf("%s %llu %llu\n", addr, (unsigned long long)storage,
			    (unsigned long long)messages);
		return 0;
	}
	if (strcasecmp(argv[3], "default") == 0 && argc == 4)
		r = accounts_user_quota_unset(a, addr, &err);
	else if (!quota_arg(argv[3], true, &storage) || (argc > 4 &&
	    !quota_arg(argv[4], false, &messages)))
		return cli_fail(EXIT_USAGE, xasprintf("usage: tem user quota ADDRESS "
		    "[SIZE|default [MESSAGES]] (SIZE as 500M or 2G, 0 or none "
		    "for no limit)"));
	else
		r = accounts_user_quota_set(a, addr, storage, messages, &err);
	return r == 0 ? 0 : cli_fail(1, err);
}

static int
user_run(struct accounts *a, int argc, char **argv)
{
	const char *sub = argv[1];
	struct accounts_list l = { 0 };
	char *err = NULL;

	if (strcmp(sub, "list") == 0) {
		if (accounts_user_list(a, argc > 2 ? argv[2] : NULL, &l,
		    &err) < 0)
			return cli_fail(1, err);
		return print_list(&l);
	}
	if (strcmp(sub, "del") == 0)
		return user_del(a, argv[2]);
	if (strcmp(sub, "quota") == 0)
		return user_quota(a, argc, argv);
	return user_set_password(a, strcmp(sub, "add") == 0, argv[2]);
}

int
cli_user(const struct conf *c, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "add", 1, 1, "add ADDRESS" },
		{ "del", 1, 1, "del ADDRESS" },
		{ "passwd", 1, 1, "passwd ADDRESS" },
		{ "list", 0, 1, "list [DOMAIN|ADDRESS]" },
		{ "quota", 1, 3, "quota ADDRESS [SIZE|default [MESSAGES]]" },
		{ NULL, 0, 0, NULL },
	};

	return with_accounts(c, argc, argv, subs, user_run);
}

/* ---- alias -------------------------------------------------------- */

static int
alias_run(struct accounts *a, int argc, char **argv)
{
	const char *sub = argv[1];
	struct accounts_list l = { 0 };
	char *err = NULL;
	int r;

	if (strcmp(sub, "add") == 0)
		r = accounts_alias_add(a, argv[2], argv + 3,
		    (size_t)(argc - 3), &err);
	else if (strcmp(sub, "del") == 0)
		r = accounts_alias_del(a, argv[2], &err);
	else if ((r = accounts_alias_list(a, argc > 2 ? argv[2] : NULL, &l,
	    &err)) == 0)
		return print_list(&l);
	return r == 0 ? 0 : cli_fail(1, err);
}

int
cli_alias(const struct conf *c, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "add", 2, -1, "add ADDRESS TARGET..." },
		{ "del", 1, 1, "del ADDRESS" },
		{ "list", 0, 1, "list [ADDRESS]" },
		{ NULL, 0, 0, NULL },
	};

	return with_accounts(c, argc, argv, subs, alias_run);
}
