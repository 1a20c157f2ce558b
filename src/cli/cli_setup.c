/*
 * cli_setup - `tem setup DOMAIN` (see cli_setup.h).
 *
 * Trust: run by the administrator (root) once on a new host. DOMAIN and
 * --hostname are checked as DNS names before they reach the config file
 * (no newline or '=' can inject a key). The generated password goes to
 * stdout once and is stored only hashed (accounts.c).
 * Callers: main.c's command dispatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/accounts_addr.h"
#include "cli/cli_commands.h"
#include "cli/cli_dkim.h"
#include "cli/cli_setup.h"
#include "conf/conf.h"
#include "policy/dkim_keys.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define EXIT_USAGE	2
#define PASSWORD_LEN	20	/* of 62 symbols: 119 bits */

/* key, standard port; the http pair only when this build knows the keys */
static const struct { const char *key; int port; } listeners[] = {
	{ "smtp_listen", 25 }, { "submission_listen", 587 },
	{ "submissions_listen", 465 }, { "imap_listen", 143 },
	{ "imaps_listen", 993 }, { "pop3_listen", 110 },
	{ "pop3s_listen", 995 }, { "managesieve_listen", 4190 },
	{ "http_listen", 80 }, { "https_listen", 443 },
};

struct setup_args {
	const char	*domain, *hostname, *data_dir, *run_as;
	bool		 force;
};

static bool
key_known(const char *name)
{
	const char *k;

	for (size_t i = 0; (k = conf_key_name(i)) != NULL; i++)
		if (strcmp(k, name) == 0)
			return true;
	return false;
}

static int
parse_args(int argc, char **argv, struct setup_args *sa)
{
	const char **opt[] = { &sa->hostname, &sa->data_dir, &sa->run_as };
	static const char *const names[] = { "--hostname", "--data-dir",
	    "--run-as" };

	memset(sa, 0, sizeof(*sa));
	sa->data_dir = "/var/lib/tem";
	sa->run_as = "tem";
	for (int i = 1; i < argc; i++) {
		size_t k;

		for (k = 0; k < 3; k++)
			if (strcmp(argv[i], names[k]) == 0 && i + 1 < argc)
				break;
		if (k < 3)
			*opt[k] = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			sa->force = true;
		else if (argv[i][0] == '-' || sa->domain != NULL)
			return cli_fail(EXIT_USAGE, xasprintf("usage: tem setup "
			    "DOMAIN [--hostname HOST] [--data-dir DIR] "
			    "[--run-as USER] [--force]"));
		else
			sa->domain = argv[i];
	}
	if (sa->domain == NULL)
		return cli_fail(EXIT_USAGE, xstrdup("usage: tem setup DOMAIN"));
	/* a value may not break the config's one-key-a-line format */
	if (strpbrk(sa->data_dir, "\n\r#") || sa->data_dir[0] != '/' ||
	    strpbrk(sa->run_as, "\n\r#, "))
		return cli_fail(EXIT_USAGE, xstrdup("--data-dir must be an absolute "
		    "path and --run-as a user name"));
	return 0;
}

/* True when the file exists and holds a setting (a line that is neither
 * blank nor a comment). */
static bool
has_settings(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool r = false;

	if (f == NULL)
		return errno != ENOENT;	/* unreadable: do not overwrite */
	while (!r && fgets(line, sizeof(line), f) != NULL) {
		const char *p = line + strspn(line, " \t\r\n");
		r = *p != '\0' && *p != '#';
	}
	fclose(f);
	return r;
}

static void
config_text(struct buf *b, const struct setup_args *sa, const char *host,
    const char *dom)
{
	time_t now = time(NULL);
	struct tm tm;
	char day[32];

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	buf_printf(b, "# tem.conf written by `tem setup %s` on %s.\n"
	    "# Every key is described in tem.conf(5). Check with `tem check`.\n\n"
	    "hostname = %s\ndata_dir = %s\nrun_as = %s\n\n"
	    "# All IPv4 (*) and IPv6 ([::]) addresses, standard ports.\n",
	    dom, day, host, sa->data_dir, sa->run_as);
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++)
		buf_printf(b, "%s%s = *:%d, [::]:%d\n",
		    key_known(listeners[i].key) ? "" : "#", listeners[i].key,
		    listeners[i].port, listeners[i].port);
	buf_printf(b, "\n# Certificates from the ACME CA (Let's Encrypt by "
	    "default) for these names.\n");
	buf_printf(b, "%sacme_email = postmaster@%s\n",
	    key_known("acme_email") ? "" : "#", dom);
	buf_printf(b, "%sacme_names = %s", key_known("acme_names") ? "" : "#",
	    host);
	static const char *const sub[] = { "mail", "autoconfig", "mta-sts" };
	for (size_t i = 0; i < 3; i++) {
		char *n = xasprintf("%s.%s", sub[i], dom);
		if (strcmp(n, host) != 0)
			buf_printf(b, ", %s", n);
		free(n);
	}
	buf_printf(b, "\n");
}

/* Writes text to path durably (temporary file, fsync, rename), 0640,
 * group run_as when we are root. */
static int
write_config(const char *path, const struct buf *text, const char *run_as,
    char **error_r)
{
	char *tmp = xasprintf("%s.setup-tmp", path);
	struct group *gr = getuid() == 0 ? getgrnam(run_as) : NULL;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	size_t len = strlen(buf_cstr(text));
	bool ok;

	if (fd < 0) {
		*error_r = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	ok = write(fd, buf_cstr(text), len) == (ssize_t)len &&
	    (gr == NULL || fchown(fd, 0, gr->gr_gid) == 0) &&
	    fchmod(fd, 0640) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static void
make_password(char out[PASSWORD_LEN + 1])
{
	static const char sym[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[64];
	size_t n = 0;

	while (n < PASSWORD_LEN) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			abort();	/* no randomness: no password */
		/* 248 = 4 x 62: no bias */
		for (size_t i = 0; i < sizeof(r) && n < PASSWORD_LEN; i++)
			if (r[i] < 248)
				out[n++] = sym[r[i] % 62];
	}
	out[n] = '\0';
}

/* Adds the domain and postmaster (printing the password) unless there. */
static int
add_accounts(const struct conf *c, const char *dom, char **error_r)
{
	struct accounts *a = NULL;
	struct accounts_list l = { 0 };
	char *pm = xasprintf("postmaster@%s", dom), pw[PASSWORD_LEN + 1];
	int r;

	if (accounts_open_conf(c, &a, error_r) < 0) {
		free(pm);
		return -1;
	}
	r = accounts_domain_exists(a, dom, error_r);
	if (r == 0)
		r = accounts_domain_add(a, dom, error_r);
	if (r >= 0)
		r = accounts_user_list(a, dom, &l, error_r);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		if (strcmp(l.items[i], pm) == 0)
			r = 1;		/* kept, with its password */
	accounts_list_free(&l);
	if (r == 0) {
		make_password(pw);
		r = accounts_user_add(a, pm, pw, error_r);
		if (r == 0)
			printf("account %s password %s\n"
			    "  (shown once: change it with `tem user passwd "
			    "%s`)\n", pm, pw, pm);
		explicit_bzero(pw, sizeof(pw));
	} else if (r > 0)
		printf("account %s kept (it exists)\n", pm);
	accounts_close(&a);
	free(pm);
	return r < 0 ? -1 : 0;
}

/* An RSA key unless the domain has one of any type. */
static int
add_dkim_key(const struct conf *c, const char *dom, char **error_r)
{
	struct dkim_keylist l = { 0 };
	char *sel;
	int r;

	if (dkim_keys_list(c->data_dir, dom, &l, NULL, error_r) < 0)
		return -1;
	r = (int)l.n;
	dkim_keylist_free(&l);
	if (r > 0)
		return 0;
	sel = dkim_keys_default_selector(c->data_dir, dom, DKIM_KEY_RSA,
	    time(NULL));
	r = dkim_keys_create(c->data_dir, c->run_as, dom, sel, DKIM_KEY_RSA,
	    NULL, error_r);
	free(sel);
	return r;
}

static int
setup_run(const char *path, const struct setup_args *sa, char *dom,
    const char *host)
{
	struct buf text;
	struct conf *c = NULL;
	char cmd[] = "dns-records", *err = NULL, *argv[] = { cmd, dom, NULL };
	int r;

	if (!sa->force && has_settings(path))
		return cli_fail(1, xasprintf("%s has settings already: kept (edit "
		    "it, or --force to replace it)", path));
	if (sa->run_as[0] != '\0' && getpwnam(sa->run_as) == NULL)
		return cli_fail(1, xasprintf("user %s does not exist (make it, or "
		    "--run-as USER)", sa->run_as));
	buf_init(&text, 0);
	config_text(&text, sa, host, dom);
	r = write_config(path, &text, sa->run_as, &err);
	buf_free(&text);
	if (r < 0)
		return cli_fail(1, err);
	if (conf_load(path, false, &c, &err) < 0)
		return cli_fail(1, err);
	printf("wrote %s\n", path);
	if (mkdir(c->data_dir, 0750) < 0 && errno != EEXIST)
		err = xasprintf("%s: %s", c->data_dir, strerror(errno));
	if (err == NULL && add_accounts(c, dom, &err) == 0)
		add_dkim_key(c, dom, &err);
	if (err != NULL) {
		conf_free(&c);
		return cli_fail(1, err);
	}
	printf("then: systemctl restart tem (or tem serve)\n"
	    "\nPublish these DNS records:\n");
	fflush(stdout);
	r = cli_dns_records(c, 2, argv);
	conf_free(&c);
	return r;
}

int
cli_setup(const char *file, int argc, char **argv)
{
	struct setup_args sa;
	char host[256], *dom, *h = NULL, *err = NULL;
	int r;

	if ((r = parse_args(argc, argv, &sa)) != 0)
		return r;
	if ((dom = accounts_domain_canon(sa.domain, &err)) == NULL)
		return cli_fail(EXIT_USAGE, err);
	if (sa.hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		sa.hostname = host;
	}
	/* a bare or bad system name is no mail host name: say so */
	if ((h = accounts_domain_canon(sa.hostname, &err)) == NULL ||
	    strchr(h, '.') == NULL) {
		free(err);
		free(dom);
		r = cli_fail(EXIT_USAGE, xasprintf("host name '%s' is not a full DNS "
		    "name: give --hostname mail.%s", sa.hostname, sa.domain));
		free(h);
		return r;
	}
	r = setup_run(file != NULL ? file : conf_default_path(), &sa, dom, h);
	free(dom);
	free(h);
	return r;
}
