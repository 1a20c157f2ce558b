/*
 * accounts - the embedded accounts backend: SQLite storage of domains,
 * users and aliases, and the administration operations on them.
 *
 * Trust: called by the `tem domain|user|alias` commands, as root or as the
 * server's user. Arguments come from the administrator's command line and
 * are validated here anyway, because address parts become directory names
 * under data_dir/mail (no '/', no leading '.', bounded lengths).
 *
 * Each change runs as: flock(accounts.lock) -> BEGIN IMMEDIATE -> checks and
 * writes -> bump meta.serial -> COMMIT -> rewrite accounts.serial -> unlock.
 * The flock orders the serial file rewrites of concurrent admin commands;
 * SQLite alone would order the commits but not the file writes after them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/password.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

const char *const accounts_special_folders[] = {
	"Drafts", "Sent", "Trash", "Junk", "Archive",
};
const size_t accounts_n_special_folders =
    sizeof(accounts_special_folders) / sizeof(accounts_special_folders[0]);

struct accounts {
	sqlite3	*db;
	char	*data_dir;
	int	 lock_fd;
	bool	 do_chown;	/* root, and run_as exists */
	uid_t	 uid;
	gid_t	 gid;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('serial', 0);"
    "CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY COLLATE NOCASE,"
    " added INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY COLLATE NOCASE,"
    " domain TEXT NOT NULL COLLATE NOCASE, localpart TEXT NOT NULL,"
    " hash TEXT NOT NULL, added INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS users_by_domain ON users(domain);"
    "CREATE TABLE IF NOT EXISTS aliases(address TEXT PRIMARY KEY"
    " COLLATE NOCASE, domain TEXT NOT NULL COLLATE NOCASE,"
    " targets TEXT NOT NULL, added INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS aliases_by_domain ON aliases(domain);"
    "PRAGMA user_version = 1;";

/* ---- addresses ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t
utf8_seq_len(const unsigned char *p)
{
	size_t n;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;	/* overlong, surrogate or beyond Unicode */
	return n;
}

static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A dot-atom of atext and UTF-8 (RFC 6531 atext); NULL or the problem. */
static const char *
localpart_problem(const char *lp, bool local, bool *ascii_r)
{
	const unsigned char *p = (const unsigned char *)lp;
	size_t len = strlen(lp);

	*ascii_r = true;
	if (len == 0)
		return "empty local part";
	if (len > ACCOUNTS_LOCALPART_MAX)
		return "local part longer than 64 octets";
	if (lp[0] == '.' || lp[len - 1] == '.' || strstr(lp, "..") != NULL)
		return "misplaced '.' in local part";
	while (*p != '\0') {
		size_t n = 1;

		if (*p >= 0x80) {
			n = utf8_seq_len(p);
			if (n == 0)
				return "local part is not valid UTF-8";
			*ascii_r = false;
		} else if (*p != '.' && !is_atext(*p)) {
			return "unsupported character in local part";
		} else if (local && *p == '/') {
			return "'/' not allowed in a local address";
		}
		p += n;
	}
	return NULL;
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

char *
accounts_domain_canon(const char *domain, char **error_r)
{
	char *d = xstrdup(domain);
	size_t len = strlen(d), label = 0;

	if (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	ascii_lower(d);
	if (len == 0 || len > ACCOUNTS_DOMAIN_MAX)
		goto bad;
	for (size_t i = 0; i <= len; i++) {
		char c = d[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				goto bad;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && label > 0)) {
			label++;
		} else {
			goto bad;
		}
	}
	return d;
bad:
	free(d);
	*error_r = xasprintf("invalid domain name '%s'", domain);
	return NULL;
}

int
accounts_address_parse(const char *address, bool local, char **localpart_r,
    char **domain_r, char **error_r)
{
	const char *at = strrchr(address, '@');
	const char *problem;
	char *lp, *dom, *err = NULL;
	bool ascii;

	if (at == NULL || strlen(address) > ACCOUNTS_ADDRESS_MAX + 1) {
		*error_r = xasprintf("invalid address '%s': expected "
		    "localpart@domain", address);
		return -1;
	}
	lp = xstrndup(address, (size_t)(at - address));
	problem = localpart_problem(lp, local, &ascii);
	if (problem != NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address,
		    problem);
		free(lp);
		return -1;
	}
	if ((dom = accounts_domain_canon(at + 1, &err)) == NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address, err);
		free(err);
		free(lp);
		return -1;
	}
	if (local && ascii)
		ascii_lower(lp);
	*localpart_r = lp;
	*domain_r = dom;
	return 0;
}

char *
accounts_mailbox_path(const char *data_dir, const char *domain,
    const char *localpart)
{
	return xasprintf("%s/mail/%s/%s", data_dir, domain, localpart);
}

/* ---- files -------------------------------------------------------- */

static void
owned(struct accounts *a, const char *path)
{
	if (a->do_chown && lchown(path, a->uid, a->gid) < 0) {
		/* best effort: the server reports what it cannot open */
	}
}

/* mkdir, chowned when new; 0 if it exists or was made, -1 + error. */
static int
make_dir(struct accounts *a, const char *path, mode_t mode, char **error_r)
{
	if (mkdir(path, mode) == 0) {
		owned(a, path);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* mkdir -p: each missing component made with mode (and chowned). */
static int
make_dirs(struct accounts *a, const char *path, mode_t mode, char **error_r)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; ret == 0 && *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		ret = make_dir(a, p, mode, error_r);
		*s = '/';
	}
	if (ret == 0)
		ret = make_dir(a, p, mode, error_r);
	free(p);
	return ret;
}

static void
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Writes content to dir/name through a temporary file, fsync and rename,
 * then fsyncs dir: readers see the old or the new file, never a part. */
static int
write_atomic(struct accounts *a, const char *dir, const char *name,
    const char *content, char **error_r)
{
	char *tmp = xasprintf("%s/.%s.tmp.%ld", dir, name, (long)getpid());
	char *path = xasprintf("%s/%s", dir, name);
	size_t len = strlen(content);
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len ||
	    fsync(fd) < 0) {
		*error_r = xasprintf("cannot write %s: %s", tmp,
		    strerror(errno));
	} else {
		owned(a, tmp);
		if (rename(tmp, path) < 0)
			*error_r = xasprintf("cannot rename %s: %s", tmp,
			    strerror(errno));
		else
			ret = 0;
	}
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	else
		fsync_path(dir);
	free(tmp);
	free(path);
	return ret;
}

/* Creates dir/name empty unless it exists. */
static int
touch_file(struct accounts *a, const char *dir, const char *name,
    char **error_r)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd >= 0) {
		owned(a, path);
		close(fd);
	} else if (errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", path,
		    strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

/* dir itself plus cur/ new/ tmp/. */
static int
make_maildir(struct accounts *a, const char *dir, char **error_r)
{
	static const char *const subs[] = { "cur", "new", "tmp" };

	if (make_dir(a, dir, 0700, error_r) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", dir, subs[i]);
		int r = make_dir(a, sub, 0700, error_r);

		free(sub);
		if (r < 0)
			return -1;
	}
	fsync_path(dir);
	return 0;
}

static int
make_special_folders(struct accounts *a, const char *box, char **error_r)
{
	struct buf subs;
	char *sub_path;
	int ret = 0;

	buf_init(&subs, 0);
	for (size_t i = 0; ret == 0 && i < accounts_n_special_folders; i++) {
		char *dir = xasprintf("%s/.%s", box,
		    accounts_special_folders[i]);

		ret = make_maildir(a, dir, error_r);
		if (ret == 0)
			ret = touch_file(a, dir, "maildirfolder", error_r);
		free(dir);
		buf_printf(&subs, "%s\n", accounts_special_folders[i]);
	}
	/* An existing subscriptions file is the user's: keep it. */
	sub_path = xasprintf("%s/subscriptions", box);
	if (ret == 0 && access(sub_path, F_OK) < 0)
		ret = write_atomic(a, box, "subscriptions", buf_cstr(&subs),
		    error_r);
	free(sub_path);
	buf_free(&subs);
	return ret;
}

/* data_dir/mail/DOMAIN/LOCALPART as a Maildir++ with the special folders;
 * existing parts are kept. */
static int
create_mailbox(struct accounts *a, const char *domain, const char *localpart,
    char **error_r)
{
	char *mail = xasprintf("%s/mail", a->data_dir);
	char *dom = xasprintf("%s/%s", mail, domain);
	char *box = accounts_mailbox_path(a->data_dir, domain, localpart);
	int ret = -1;

	if (make_dir(a, mail, 0750, error_r) == 0 &&
	    make_dir(a, dom, 0750, error_r) == 0 &&
	    make_maildir(a, box, error_r) == 0 &&
	    make_special_folders(a, box, error_r) == 0) {
		fsync_path(box);
		fsync_path(dom);
		fsync_path(mail);
		ret = 0;
	}
	free(mail);
	free(dom);
	free(box);
	return ret;
}

/* ---- database helpers --------------------------------------------- */

static char *
db_error(struct accounts *a, const char *what)
{
	int code = sqlite3_errcode(a->db);

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return xasprintf("accounts database is busy (%s); try again",
		    what);
	return xasprintf("accounts database: %s: %s", what,
	    sqlite3_errmsg(a->db));
}

static int
db_exec(struct accounts *a, const char *sql, char **error_r)
{
	if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = db_error(a, sql);
		return -1;
	}
	return 0;
}

/* Prepares sql and binds n text arguments (NULL binds SQL NULL). */
static sqlite3_stmt *
db_prepare(struct accounts *a, const char *sql, char **error_r, int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
		*error_r = db_error(a, "prepare");
		return NULL;
	}
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		const char *v = va_arg(ap, const char *);

		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	return st;
}

/* Runs a statement to completion: 0, or -1 + error. Finalizes it. */
static int
db_done(struct accounts *a, sqlite3_stmt *st, char **error_r)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		*error_r = db_error(a, "step");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* The first column of a one-row integer query with one text argument;
 * -1 + error on failure. */
static int64_t
db_int(struct accounts *a, const char *sql, const char *arg, char **error_r)
{
	sqlite3_stmt *st = db_prepare(a, sql, error_r, 1, arg);
	int64_t v = -1;
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		*error_r = db_error(a, "query");
	sqlite3_finalize(st);
	return v;
}

/* Collects the first column (or "c0 c1" when two) of every row. */
static int
db_list(struct accounts *a, sqlite3_stmt *st, struct accounts_list *l,
    char **error_r)
{
	size_t cap = 0;
	int rc;

	memset(l, 0, sizeof(*l));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c0 = (const char *)sqlite3_column_text(st, 0);

		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->items = xrealloc(l->items, cap * sizeof(char *));
		}
		if (sqlite3_column_count(st) > 1)
			l->items[l->n++] = xasprintf("%s %s", c0,
			    (const char *)sqlite3_column_text(st, 1));
		else
			l->items[l->n++] = xstrdup(c0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		accounts_list_free(l);
		*error_r = db_error(a, "list");
		return -1;
	}
	return 0;
}

void
accounts_list_free(struct accounts_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ---- serial and transactions -------------------------------------- */

uint64_t
accounts_serial_read(const char *data_dir)
{
	char *path = xasprintf("%s/accounts.serial", data_dir);
	char text[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;
	char *end;
	uint64_t v;

	free(path);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n <= 0)
		return 0;
	text[n] = '\0';
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
		return 0;
	return v;
}

static int
serial_file_sync(struct accounts *a, char **error_r)
{
	int64_t v = db_int(a, "SELECT value FROM meta WHERE key = ?",
	    "serial", error_r);
	char text[32];

	if (v < 0)
		return -1;
	if ((uint64_t)v == accounts_serial_read(a->data_dir))
		return 0;
	snprintf(text, sizeof(text), "%lld\n", (long long)v);
	return write_atomic(a, a->data_dir, "accounts.serial", text, error_r);
}

static int
tx_begin(struct accounts *a, char **error_r)
{
	if (flock(a->lock_fd, LOCK_EX) < 0) {
		*error_r = xasprintf("cannot lock accounts: %s",
		    strerror(errno));
		return -1;
	}
	if (db_exec(a, "BEGIN IMMEDIATE", error_r) < 0) {
		flock(a->lock_fd, LOCK_UN);
		return -1;
	}
	return 0;
}

static void
tx_rollback(struct accounts *a)
{
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	flock(a->lock_fd, LOCK_UN);
}

/* Bumps the serial, commits, then publishes the serial file. */
static int
tx_commit(struct accounts *a, char **error_r)
{
	char *err = NULL;
	int ret;

	if (db_exec(a, "UPDATE meta SET value = value + 1 WHERE key = 'serial'",
	    error_r) < 0 || db_exec(a, "COMMIT", error_r) < 0) {
		tx_rollback(a);
		return -1;
	}
	ret = serial_file_sync(a, &err);
	if (ret < 0) {
		*error_r = xasprintf("change saved, but the server will not "
		    "see it until the next one: %s", err);
		free(err);
	}
	flock(a->lock_fd, LOCK_UN);
	return ret;
}

/* ---- open/close --------------------------------------------------- */

static void
resolve_owner(struct accounts *a, const char *run_as)
{
	struct passwd *pw;

	if (geteuid() != 0 || run_as == NULL || run_as[0] == '\0')
		return;
	if ((pw = getpwnam(run_as)) == NULL)
		return;
	a->do_chown = true;
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
}

/* Creates path 0600 (chowned) if missing, so SQLite inherits the owner
 * and mode for its -wal and -shm files. */
static int
precreate(struct accounts *a, const char *path, char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		owned(a, path);
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
	return -1;
}

static int
open_db(struct accounts *a, char **error_r)
{
	char *path = xasprintf("%s/accounts.db", a->data_dir);
	int ret = -1;

	if (precreate(a, path, error_r) < 0)
		goto out;
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = xasprintf("cannot open %s: %s", path,
		    a->db ? sqlite3_errmsg(a->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(a->db, 5000);
	if (db_exec(a, "PRAGMA journal_mode = WAL", error_r) < 0 ||
	    db_exec(a, "PRAGMA synchronous = FULL", error_r) < 0)
		goto out;
	if (tx_begin(a, error_r) < 0)
		goto out;
	if (db_exec(a, schema_sql, error_r) < 0) {
		tx_rollback(a);
		goto out;
	}
	if (db_exec(a, "COMMIT", error_r) < 0) {
		tx_rollback(a);
		goto out;
	}
	/* Repair a missing or stale serial file while still locked. */
	ret = serial_file_sync(a, error_r);
	flock(a->lock_fd, LOCK_UN);
out:
	free(path);
	return ret;
}

int
accounts_open(const char *data_dir, const char *run_as,
    struct accounts **a_r, char **error_r)
{
	struct accounts *a = xmalloc(sizeof(*a));
	char *lock;

	a->lock_fd = -1;
	a->data_dir = xstrdup(data_dir);
	resolve_owner(a, run_as);
	if (make_dirs(a, data_dir, 0750, error_r) < 0)
		goto fail;
	lock = xasprintf("%s/accounts.lock", data_dir);
	a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (a->lock_fd < 0) {
		*error_r = xasprintf("cannot open %s: %s", lock,
		    strerror(errno));
		free(lock);
		goto fail;
	}
	owned(a, lock);
	free(lock);
	if (open_db(a, error_r) < 0)
		goto fail;
	*a_r = a;
	return 0;
fail:
	accounts_close(&a);
	return -1;
}

void
accounts_close(struct accounts **ap)
{
	struct accounts *a = *ap;

	if (a == NULL)
		return;
	if (a->db != NULL)
		sqlite3_close(a->db);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(a->data_dir);
	free(a);
	*ap = NULL;
}

/* ---- domains ------------------------------------------------------ */

/* 1 exists, 0 not, -1 error. Called inside or outside a transaction. */
static int
domain_exists(struct accounts *a, const char *domain, char **error_r)
{
	int64_t n = db_int(a, "SELECT count(*) FROM domains WHERE name = ?",
	    domain, error_r);

	return n < 0 ? -1 : n > 0;
}

int
accounts_domain_exists(struct accounts *a, const char *domain,
    char **error_r)
{
	char *d = accounts_domain_canon(domain, error_r);
	int r;

	if (d == NULL)
		return -1;
	r = domain_exists(a, d, error_r);
	free(d);
	return r;
}

static int
domain_add_locked(struct accounts *a, const char *d, char **error_r)
{
	int r = domain_exists(a, d, error_r);

	if (r != 0) {
		if (r > 0)
			*error_r = xasprintf("domain %s already exists", d);
		return -1;
	}
	return db_done(a, db_prepare(a, "INSERT INTO domains(name, added) "
	    "VALUES(?, (SELECT coalesce(max(added), 0) + 1 FROM domains))",
	    error_r, 1, d), error_r);
}

int
accounts_domain_add(struct accounts *a, const char *domain, char **error_r)
{
	char *d = accounts_domain_canon(domain, error_r);
	int ret = -1;

	if (d == NULL)
		return -1;
	if (tx_begin(a, error_r) == 0) {
		if (domain_add_locked(a, d, error_r) == 0)
			ret = tx_commit(a, error_r);
		else
			tx_rollback(a);
	}
	free(d);
	return ret;
}

static int
domain_del_locked(struct accounts *a, const char *d, char **error_r)
{
	int64_t users, aliases;
	int r = domain_exists(a, d, error_r);

	if (r <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", d);
		return -1;
	}
	users = db_int(a, "SELECT count(*) FROM users WHERE domain = ?", d,
	    error_r);
	if (users < 0)
		return -1;
	aliases = db_int(a, "SELECT count(*) FROM aliases WHERE domain = ?",
	    d, error_r);
	if (aliases < 0)
		return -1;
	if (users > 0 || aliases > 0) {
		*error_r = xasprintf("domain %s still has %lld user%s and "
		    "%lld alias%s; delete them first", d, (long long)users,
		    users == 1 ? "" : "s", (long long)aliases,
		    aliases == 1 ? "" : "es");
		return -1;
	}
	return db_done(a, db_prepare(a, "DELETE FROM domains WHERE name = ?",
	    error_r, 1, d), error_r);
}

int
accounts_domain_del(struct accounts *a, const char *domain, char **error_r)
{
	char *d = accounts_domain_canon(domain, error_r);
	int ret = -1;

	if (d == NULL)
		return -1;
	if (tx_begin(a, error_r) == 0) {
		if (domain_del_locked(a, d, error_r) == 0)
			ret = tx_commit(a, error_r);
		else
			tx_rollback(a);
	}
	free(d);
	return ret;
}

int
accounts_domain_list(struct accounts *a, struct accounts_list *list_r,
    char **error_r)
{
	sqlite3_stmt *st = db_prepare(a, "SELECT name FROM domains "
	    "ORDER BY name COLLATE BINARY", error_r, 0);

	return st == NULL ? -1 : db_list(a, st, list_r, error_r);
}

/* ---- users -------------------------------------------------------- */

static int
user_add_locked(struct accounts *a, const char *lp, const char *dom,
    const char *hash, char **error_r)
{
	char *addr = xasprintf("%s@%s", lp, dom);
	int r, ret = -1;

	if ((r = domain_exists(a, dom, error_r)) <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", dom);
		goto out;
	}
	r = (int)db_int(a, "SELECT count(*) FROM users WHERE address = ?",
	    addr, error_r);
	if (r != 0) {
		if (r > 0)
			*error_r = xasprintf("user %s already exists", addr);
		goto out;
	}
	if (db_done(a, db_prepare(a, "INSERT INTO users(address, domain, "
	    "localpart, hash, added) VALUES(?, ?, ?, ?, (SELECT "
	    "coalesce(max(added), 0) + 1 FROM users))", error_r, 4, addr, dom,
	    lp, hash), error_r) < 0)
		goto out;
	ret = create_mailbox(a, dom, lp, error_r);
out:
	free(addr);
	return ret;
}

/* Hashes a new password, refusing an empty one. */
static char *
hash_new_password(const char *password, char **error_r)
{
	char *hash;

	if (password == NULL || password[0] == '\0') {
		*error_r = xstrdup("empty password refused");
		return NULL;
	}
	if ((hash = password_hash(password)) == NULL)
		*error_r = xstrdup("cannot hash the password (libcrypt "
		    "failed)");
	return hash;
}

int
accounts_user_add(struct accounts *a, const char *address,
    const char *password, char **error_r)
{
	char *lp, *dom, *hash;
	int ret = -1;

	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return -1;
	/* Hash before locking: it is slow on purpose. */
	if ((hash = hash_new_password(password, error_r)) != NULL &&
	    tx_begin(a, error_r) == 0) {
		if (user_add_locked(a, lp, dom, hash, error_r) == 0)
			ret = tx_commit(a, error_r);
		else
			tx_rollback(a);
	}
	free(hash);
	free(lp);
	free(dom);
	return ret;
}

static int
user_del_locked(struct accounts *a, const char *addr, char **mailbox_r,
    char **error_r)
{
	sqlite3_stmt *st = db_prepare(a, "SELECT domain, localpart FROM users "
	    "WHERE address = ?", error_r, 1, addr);
	char *box = NULL;
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		box = accounts_mailbox_path(a->data_dir,
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1));
	else if (rc == SQLITE_DONE)
		*error_r = xasprintf("user %s does not exist", addr);
	else
		*error_r = db_error(a, "user lookup");
	sqlite3_finalize(st);
	if (box == NULL || db_done(a, db_prepare(a, "DELETE FROM users WHERE "
	    "address = ?", error_r, 1, addr), error_r) < 0) {
		free(box);
		return -1;
	}
	if (mailbox_r != NULL)
		*mailbox_r = box;
	else
		free(box);
	return 0;
}

/* Parses a local address into "lp@dom"; NULL + error. */
static char *
local_address(const char *address, char **error_r)
{
	char *lp, *dom, *addr;

	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return NULL;
	addr = xasprintf("%s@%s", lp, dom);
	free(lp);
	free(dom);
	return addr;
}

int
accounts_user_del(struct accounts *a, const char *address, char **mailbox_r,
    char **error_r)
{
	char *addr = local_address(address, error_r);
	int ret = -1;

	if (addr == NULL)
		return -1;
	if (tx_begin(a, error_r) == 0) {
		if (user_del_locked(a, addr, mailbox_r, error_r) == 0)
			ret = tx_commit(a, error_r);
		else
			tx_rollback(a);
	}
	free(addr);
	return ret;
}

int
accounts_user_passwd(struct accounts *a, const char *address,
    const char *password, char **error_r)
{
	char *addr = local_address(address, error_r);
	char *hash = NULL;
	int ret = -1;

	if (addr == NULL)
		return -1;
	if ((hash = hash_new_password(password, error_r)) != NULL &&
	    tx_begin(a, error_r) == 0) {
		if (db_done(a, db_prepare(a, "UPDATE users SET hash = ? WHERE "
		    "address = ?", error_r, 2, hash, addr), error_r) < 0) {
			tx_rollback(a);
		} else if (sqlite3_changes(a->db) == 0) {
			*error_r = xasprintf("user %s does not exist", addr);
			tx_rollback(a);
		} else {
			ret = tx_commit(a, error_r);
		}
	}
	free(hash);
	free(addr);
	return ret;
}

int
accounts_user_list(struct accounts *a, const char *filter,
    struct accounts_list *list_r, char **error_r)
{
	char *key;
	sqlite3_stmt *st;
	int r;

	if (filter == NULL)
		st = db_prepare(a, "SELECT address FROM users ORDER BY address "
		    "COLLATE BINARY", error_r, 0);
	else if (strchr(filter, '@') != NULL) {
		if ((key = local_address(filter, error_r)) == NULL)
			return -1;
		st = db_prepare(a, "SELECT address FROM users WHERE address = ?",
		    error_r, 1, key);
		free(key);
	} else {
		if ((key = accounts_domain_canon(filter, error_r)) == NULL)
			return -1;
		if ((r = domain_exists(a, key, error_r)) == 0)
			*error_r = xasprintf("domain %s does not exist", key);
		st = r <= 0 ? NULL : db_prepare(a, "SELECT address FROM users "
		    "WHERE domain = ? ORDER BY address COLLATE BINARY", error_r,
		    1, key);
		free(key);
	}
	if (st == NULL || db_list(a, st, list_r, error_r) < 0)
		return -1;
	if (filter != NULL && strchr(filter, '@') != NULL && list_r->n == 0) {
		*error_r = xasprintf("user %s does not exist", filter);
		return -1;
	}
	return 0;
}

/* ---- aliases ------------------------------------------------------ */

/* Canonical form of one alias target: a local-domain address is
 * lowercased like a user's, a remote one keeps its local part. */
static char *
alias_target(struct accounts *a, const char *target, char **error_r)
{
	char *lp, *dom, *out = NULL;
	int local;

	if (accounts_address_parse(target, false, &lp, &dom, error_r) < 0)
		return NULL;
	local = domain_exists(a, dom, error_r);
	if (local > 0) {
		bool ascii = true;

		for (const char *p = lp; *p != '\0'; p++)
			ascii = ascii && (unsigned char)*p < 0x80;
		if (ascii)
			ascii_lower(lp);
	}
	if (local >= 0)
		out = xasprintf("%s@%s", lp, dom);
	free(lp);
	free(dom);
	return out;
}

/* Appends targets to the existing comma list (old may be NULL), dropping
 * duplicates (compared ASCII case-insensitively). NULL + error. */
static char *
alias_merge(struct accounts *a, const char *old, char *const *targets,
    size_t n, char **error_r)
{
	struct hashmap *seen = hashmap_new(HASHMAP_ASCII_NOCASE);
	char *list = xstrdup(old != NULL ? old : ""), *save = NULL, *t;
	struct buf out;
	bool failed = false;

	buf_init(&out, 0);
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save))
		if (hashmap_put(seen, t, seen) == NULL)
			buf_printf(&out, "%s%s", out.len ? "," : "", t);
	for (size_t i = 0; i < n && !failed; i++) {
		if ((t = alias_target(a, targets[i], error_r)) == NULL) {
			failed = true;
			break;
		}
		if (hashmap_put(seen, t, seen) == NULL)
			buf_printf(&out, "%s%s", out.len ? "," : "", t);
		free(t);
	}
	if (!failed && hashmap_count(seen) > ACCOUNTS_ALIAS_TARGETS_MAX) {
		*error_r = xasprintf("an alias may have at most %d targets",
		    ACCOUNTS_ALIAS_TARGETS_MAX);
		failed = true;
	}
	hashmap_free(&seen, NULL);
	free(list);
	if (failed) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

/* The targets of alias addr (malloc'd), NULL when none; -1 on error. */
static int
alias_get(struct accounts *a, const char *addr, char **targets_r,
    char **error_r)
{
	sqlite3_stmt *st = db_prepare(a, "SELECT targets FROM aliases WHERE "
	    "address = ?", error_r, 1, addr);
	int rc;

	*targets_r = NULL;
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*targets_r = xstrdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		*error_r = db_error(a, "alias lookup");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
alias_add_locked(struct accounts *a, const char *lp, const char *dom,
    char *const *targets, size_t n, char **error_r)
{
	char *addr = xasprintf("%s@%s", lp, dom), *old = NULL, *merged = NULL;
	int r, ret = -1;

	if ((r = domain_exists(a, dom, error_r)) <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", dom);
		goto out;
	}
	if (alias_get(a, addr, &old, error_r) < 0 ||
	    (merged = alias_merge(a, old, targets, n, error_r)) == NULL)
		goto out;
	if (old != NULL)
		ret = db_done(a, db_prepare(a, "UPDATE aliases SET targets = ? "
		    "WHERE address = ?", error_r, 2, merged, addr), error_r);
	else
		ret = db_done(a, db_prepare(a, "INSERT INTO aliases(address, "
		    "domain, targets, added) VALUES(?, ?, ?, (SELECT "
		    "coalesce(max(added), 0) + 1 FROM aliases))", error_r, 3,
		    addr, dom, merged), error_r);
out:
	free(addr);
	free(old);
	free(merged);
	return ret;
}

int
accounts_alias_add(struct accounts *a, const char *address,
    char *const *targets, size_t n_targets, char **error_r)
{
	char *lp, *dom;
	int ret = -1;

	if (n_targets == 0) {
		*error_r = xstrdup("an alias needs at least one target");
		return -1;
	}
	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return -1;
	if (tx_begin(a, error_r) == 0) {
		if (alias_add_locked(a, lp, dom, targets, n_targets,
		    error_r) == 0)
			ret = tx_commit(a, error_r);
		else
			tx_rollback(a);
	}
	free(lp);
	free(dom);
	return ret;
}

int
accounts_alias_del(struct accounts *a, const char *address, char **error_r)
{
	char *addr = local_address(address, error_r);
	int ret = -1;

	if (addr == NULL)
		return -1;
	if (tx_begin(a, error_r) == 0) {
		if (db_done(a, db_prepare(a, "DELETE FROM aliases WHERE "
		    "address = ?", error_r, 1, addr), error_r) < 0) {
			tx_rollback(a);
		} else if (sqlite3_changes(a->db) == 0) {
			*error_r = xasprintf("alias %s does not exist", addr);
			tx_rollback(a);
		} else {
			ret = tx_commit(a, error_r);
		}
	}
	free(addr);
	return ret;
}

int
accounts_alias_list(struct accounts *a, const char *filter,
    struct accounts_list *list_r, char **error_r)
{
	sqlite3_stmt *st;
	char *addr = NULL;

	if (filter == NULL) {
		st = db_prepare(a, "SELECT address, targets FROM aliases "
		    "ORDER BY address COLLATE BINARY", error_r, 0);
	} else {
		if ((addr = local_address(filter, error_r)) == NULL)
			return -1;
		st = db_prepare(a, "SELECT address, targets FROM aliases "
		    "WHERE address = ?", error_r, 1, addr);
	}
	if (st == NULL || db_list(a, st, list_r, error_r) < 0) {
		free(addr);
		return -1;
	}
	if (addr != NULL && list_r->n == 0) {
		*error_r = xasprintf("alias %s does not exist", addr);
		free(addr);
		return -1;
	}
	free(addr);
	return 0;
}
