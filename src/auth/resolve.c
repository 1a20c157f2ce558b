/*
 * resolve - the in-memory accounts snapshot and recipient resolution
 * (see resolve.h).
 *
 * Trust: the snapshot is built from the administrator's database; the
 * look-up arguments come straight from SMTP clients (RCPT TO, MAIL FROM,
 * AUTH), so they are treated as arbitrary strings: nothing is copied into
 * a fixed buffer, and the work one look-up may do is bounded (expansion
 * depth, number of steps, number of targets) whatever the aliases say.
 *
 * Every table is a hashmap keyed ASCII case-insensitively, so each look-up
 * is O(1) with 100k users. Aliases keep their targets pre-split into local
 * part and domain so expansion does no parsing.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/resolve.h"
#include "auth/resolve_int.h"
#include "util/array.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Look-ups one resolution may make: bounds the CPU a hostile RCPT can
 * cost even against a pathological alias graph. */
#define ACCT_RESOLVE_STEPS_MAX	10000

struct acct_user {
	char	*address;
	char	*domain;
	char	*localpart;
	char	*hash;
	bool	 has_quota;	/* a `quotas` row: storage, messages */
	uint64_t quota_storage, quota_messages;
};

struct acct_alias_target {
	char	*address;
	char	*localpart;
	char	*domain;
};

struct acct_alias {
	int				 n;
	struct acct_alias_target	*t;
};

struct acct_domain {
	const struct acct_user	*first_user;
};

struct acct_snapshot {
	atomic_uint		 refs;
	uint64_t		 serial;
	struct hashmap		*domains;	/* name -> acct_domain */
	struct hashmap		*users;		/* address -> acct_user */
	struct hashmap		*aliases;	/* address -> acct_alias */
	char			*first_domain;
	const struct acct_user	*first_user_any; /* of the first domain
						    having a user */
};

/* ---- freeing ------------------------------------------------------ */

static void
user_free(void *p)
{
	struct acct_user *u = p;

	free(u->address);
	free(u->domain);
	free(u->localpart);
	if (u->hash != NULL)
		explicit_bzero(u->hash, strlen(u->hash));
	free(u->hash);
	free(u);
}

static void
alias_free(void *p)
{
	struct acct_alias *a = p;

	for (int i = 0; i < a->n; i++) {
		free(a->t[i].address);
		free(a->t[i].localpart);
		free(a->t[i].domain);
	}
	free(a->t);
	free(a);
}

static void
snapshot_free(struct acct_snapshot *s)
{
	hashmap_free(&s->domains, free);
	hashmap_free(&s->users, user_free);
	hashmap_free(&s->aliases, alias_free);
	free(s->first_domain);
	free(s);
}

void
acct_snapshot_ref(struct acct_snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void
acct_snapshot_unref(struct acct_snapshot **sp)
{
	struct acct_snapshot *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		snapshot_free(s);
}

uint64_t
acct_snapshot_serial(const struct acct_snapshot *s)
{
	return s->serial;
}

/* ---- loading ------------------------------------------------------ */

static char *
load_error(sqlite3 *db, const char *what)
{
	return xasprintf("accounts database: %s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	return v != NULL ? v : "";
}

void
acct_snapshot_add_domain(struct acct_snapshot *s, const char *name)
{
	if (hashmap_get(s->domains, name) != NULL)
		return;
	hashmap_put(s->domains, name, xmalloc(sizeof(struct acct_domain)));
	if (s->first_domain == NULL)
		s->first_domain = xstrdup(name);
}

void
acct_snapshot_add_user(struct acct_snapshot *s, const char *address,
    const char *domain, const char *localpart, const char *hash)
{
	struct acct_user *u = xmalloc(sizeof(*u)), *dup;
	struct acct_domain *d;

	u->address = xstrdup(address);
	u->domain = xstrdup(domain);
	u->localpart = xstrdup(localpart);
	u->hash = xstrdup(hash);
	u->has_quota = false;
	/* address is the table's primary key: a duplicate cannot come. */
	if ((dup = hashmap_put(s->users, u->address, u)) != NULL)
		user_free(dup);
	/* Rows come in insertion order, so the first seen is the first. */
	d = hashmap_get(s->domains, u->domain);
	if (d != NULL && d->first_user == NULL)
		d->first_user = u;
}

/* Splits "a@b,c@d" into targets, each at its last '@'. */
void
acct_snapshot_add_alias(struct acct_snapshot *s, const char *address,
    const char *targets)
{
	struct acct_alias *a = xmalloc(sizeof(*a));
	char *list = xstrdup(targets), *save = NULL;
	int cap = 0;

	for (char *t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		char *at = strrchr(t, '@');

		if (at == NULL || at == t || at[1] == '\0')
			continue;	/* accounts.c never stores these */
		struct acct_alias_target *tg = ARRAY_PUSH(a->t, a->n, cap);

		tg->address = xstrdup(t);
		tg->localpart = xstrndup(t, (size_t)(at - t));
		tg->domain = xstrdup(at + 1);
	}
	free(list);
	if ((a = hashmap_put(s->aliases, address, a)) != NULL)
		alias_free(a);
}

/* Runs sql and feeds each row to fn; 0 or -1 + error. */
static int
load_rows(sqlite3 *db, struct acct_snapshot *s, const char *sql,
    void (*fn)(struct acct_snapshot *, sqlite3_stmt *), char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		*error_r = load_error(db, sql);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(s, st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		*error_r = load_error(db, sql);
		return -1;
	}
	return 0;
}

static void
row_serial(struct acct_snapshot *s, sqlite3_stmt *st)
{
	s->serial = (uint64_t)sqlite3_column_int64(st, 0);
}

static void
row_domain(struct acct_snapshot *s, sqlite3_stmt *st)
{
	acct_snapshot_add_domain(s, col(st, 0));
}

static void
row_user(struct acct_snapshot *s, sqlite3_stmt *st)
{
	acct_snapshot_add_user(s, col(st, 0), col(st, 1), col(st, 2),
	    col(st, 3));
}

static void
row_alias(struct acct_snapshot *s, sqlite3_stmt *st)
{
	acct_snapshot_add_alias(s, col(st, 0), col(st, 1));
}

void
acct_snapshot_set_quota(struct acct_snapshot *s, const char *address,
    uint64_t storage, uint64_t messages)
{
	struct acct_user *u = hashmap_get(s->users, address);

	if (u == NULL)
		return;
	u->has_quota = true;
	u->quota_storage = storage;
	u->quota_messages = messages;
}

static void
row_quota(struct acct_snapshot *s, sqlite3_stmt *st)
{
	acct_snapshot_set_quota(s, col(st, 0),
	    (uint64_t)sqlite3_column_int64(st, 1),
	    (uint64_t)sqlite3_column_int64(st, 2));
}

/* The quotas table came with `tem user quota`: a database no admin
 * command opened since has none (no quota set, then). */
static int
load_quotas(sqlite3 *db, struct acct_snapshot *s, char **error_r)
{
	sqlite3_stmt *st;
	bool present;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'quotas'", -1, &st, NULL) != SQLITE_OK) {
		*error_r = load_error(db, "sqlite_master");
		return -1;
	}
	present = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!present)
		return 0;
	return load_rows(db, s, "SELECT address, storage, messages FROM "
	    "quotas", row_quota, error_r);
}

/* Everything in one read transaction, so the serial matches the rows. */
static int
load_db(sqlite3 *db, struct acct_snapshot *s, char **error_r)
{
	int ret = -1;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = load_error(db, "BEGIN");
		return -1;
	}
	if (load_rows(db, s, "SELECT value FROM meta WHERE key = 'serial'",
	    row_serial, error_r) == 0 &&
	    load_rows(db, s, "SELECT name FROM domains ORDER BY added",
	    row_domain, error_r) == 0 &&
	    load_rows(db, s, "SELECT address, domain, localpart, hash FROM "
	    "users ORDER BY added", row_user, error_r) == 0 &&
	    load_rows(db, s, "SELECT address, targets FROM aliases",
	    row_alias, error_r) == 0 && load_quotas(db, s, error_r) == 0)
		ret = 0;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return ret;
}

/* The first user of the first domain (in added order) that has one. */
static const struct acct_user *
find_first_user_any(const struct acct_snapshot *s, sqlite3 *db)
{
	sqlite3_stmt *st;
	const struct acct_user *u = NULL;

	if (sqlite3_prepare_v2(db, "SELECT u.address FROM users u JOIN "
	    "domains d ON u.domain = d.name ORDER BY d.added, u.added LIMIT 1",
	    -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		u = hashmap_get(s->users, col(st, 0));
	sqlite3_finalize(st);
	return u;
}

void
acct_snapshot_set_serial(struct acct_snapshot *s, uint64_t serial)
{
	s->serial = serial;
}

void
acct_snapshot_set_first_user_any(struct acct_snapshot *s,
    const char *address)
{
	s->first_user_any = hashmap_get(s->users, address);
}

struct acct_snapshot *
acct_snapshot_new(void)
{
	struct acct_snapshot *s = xmalloc(sizeof(*s));

	atomic_init(&s->refs, 1);
	s->domains = hashmap_new(HASHMAP_ASCII_NOCASE);
	s->users = hashmap_new(HASHMAP_ASCII_NOCASE);
	s->aliases = hashmap_new(HASHMAP_ASCII_NOCASE);
	return s;
}

struct acct_snapshot *
acct_snapshot_load(const char *data_dir, char **error_r)
{
	char *path = xasprintf("%s/accounts.db", data_dir);
	struct acct_snapshot *s = acct_snapshot_new();
	sqlite3 *db = NULL;
	struct stat st;

	if (stat(path, &st) < 0 && errno == ENOENT) {
		free(path);	/* no admin command ran yet: nothing is ours */
		return s;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = xasprintf("cannot open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	if (load_db(db, s, error_r) < 0)
		goto fail;
	s->first_user_any = find_first_user_any(s, db);
	sqlite3_close(db);
	free(path);
	return s;
fail:
	sqlite3_close(db);
	free(path);
	snapshot_free(s);
	return NULL;
}

/* ---- look-ups ----------------------------------------------------- */

bool
acct_is_local_domain(const struct acct_snapshot *s, const char *domain)
{
	size_t len = strlen(domain);
	char *copy;
	bool r;

	if (len == 0 || domain[len - 1] != '.')
		return hashmap_get(s->domains, domain) != NULL;
	copy = xstrndup(domain, len - 1);	/* "example.test." */
	r = hashmap_get(s->domains, copy) != NULL;
	free(copy);
	return r;
}

const char *
acct_first_domain(const struct acct_snapshot *s)
{
	return s->first_domain;
}

const char *
acct_user_hash(const struct acct_snapshot *s, const char *address)
{
	const struct acct_user *u = hashmap_get(s->users, address);

	return u != NULL ? u->hash : NULL;
}

const char *
acct_user_canonical(const struct acct_snapshot *s, const char *address)
{
	const struct acct_user *u = hashmap_get(s->users, address);

	return u != NULL ? u->address : NULL;
}

bool
acct_user_quota(const struct acct_snapshot *s, const char *address,
    const struct acct_quota *def, struct acct_quota *q_r)
{
	const struct acct_user *u = hashmap_get(s->users, address);

	if (u == NULL)
		return false;
	if (u->has_quota) {
		q_r->storage = u->quota_storage;
		q_r->messages = u->quota_messages;
	} else
		*q_r = *def;
	return true;
}

/* ---- resolution --------------------------------------------------- */

struct resolve_ctx {
	const struct acct_snapshot	*s;
	struct acct_resolution		*res;
	int				 cap;
	int				 steps;
	struct hashmap			*seen;		/* result addresses */
	struct hashmap			*visited;	/* expanded aliases */
};

static bool resolve_local(struct resolve_ctx *c, const char *lp,
    const char *dom, int depth);

static void
add_target(struct resolve_ctx *c, enum acct_target_kind kind,
    const char *address, const char *domain, const char *localpart)
{
	struct acct_target *t;

	if (c->res->n >= ACCT_RESOLVE_TARGETS_MAX)
		return;
	if (c->seen == NULL)
		c->seen = hashmap_new(HASHMAP_ASCII_NOCASE);
	if (hashmap_put(c->seen, address, c) != NULL)
		return;		/* already a target */
	t = ARRAY_PUSH(c->res->t, c->res->n, c->cap);
	t->kind = kind;
	t->address = xstrdup(address);
	t->domain = domain != NULL ? xstrdup(domain) : NULL;
	t->localpart = localpart != NULL ? xstrdup(localpart) : NULL;
}

static void
add_user_target(struct resolve_ctx *c, const struct acct_user *u)
{
	add_target(c, ACCT_TARGET_LOCAL, u->address, u->domain, u->localpart);
}

/* True if the alias yielded at least one target. */
static bool
expand_alias(struct resolve_ctx *c, const char *addr,
    const struct acct_alias *a, int depth)
{
	bool any = false;

	if (c->visited == NULL)
		c->visited = hashmap_new(HASHMAP_ASCII_NOCASE);
	if (hashmap_put(c->visited, addr, c) != NULL)
		return false;	/* a loop, or met before on another branch */
	for (int i = 0; i < a->n; i++) {
		const struct acct_alias_target *t = &a->t[i];

		if (acct_is_local_domain(c->s, t->domain)) {
			any |= resolve_local(c, t->localpart, t->domain,
			    depth + 1);
		} else {
			add_target(c, ACCT_TARGET_REMOTE, t->address, NULL,
			    NULL);
			any = true;
		}
	}
	return any;
}

/* The alias, else the user, of exactly addr. */
static bool
resolve_exact(struct resolve_ctx *c, const char *addr, int depth)
{
	const struct acct_alias *a;
	const struct acct_user *u;

	if (++c->steps > ACCT_RESOLVE_STEPS_MAX)
		return false;
	a = hashmap_get(c->s->aliases, addr);
	if (a != NULL && depth < ACCT_ALIAS_DEPTH_MAX &&
	    expand_alias(c, addr, a, depth))
		return true;
	if ((u = hashmap_get(c->s->users, addr)) != NULL) {
		add_user_target(c, u);
		return true;
	}
	return false;
}

static bool
is_postmaster(const char *lp, size_t len)
{
	static const char pm[] = "postmaster";

	if (len != sizeof(pm) - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = lp[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch + 32);
		if (ch != pm[i])
			return false;
	}
	return true;
}

/* RFC 5321 4.5.1: postmaster always has a mailbox. */
static bool
resolve_postmaster(struct resolve_ctx *c, const char *dom)
{
	const struct acct_domain *d = hashmap_get(c->s->domains, dom);
	const struct acct_user *u = d != NULL && d->first_user != NULL ?
	    d->first_user : c->s->first_user_any;

	if (u == NULL)
		return false;
	add_user_target(c, u);
	return true;
}

/* lp@dom, dom being one of ours. */
static bool
resolve_local(struct resolve_ctx *c, const char *lp, const char *dom,
    int depth)
{
	const char *plus = strchr(lp, '+');
	size_t base_len = plus != NULL ? (size_t)(plus - lp) : strlen(lp);
	char *addr = xasprintf("%s@%s", lp, dom);
	bool found = resolve_exact(c, addr, depth);

	free(addr);
	if (!found && plus != NULL && base_len > 0) {
		addr = xasprintf("%.*s@%s", (int)base_len, lp, dom);
		found = resolve_exact(c, addr, depth);
		free(addr);
	}
	if (!found && is_postmaster(lp, base_len))
		found = resolve_postmaster(c, dom);
	return found;
}

enum acct_resolve_status
acct_resolve(const struct acct_snapshot *s, const char *localpart,
    const char *domain, struct acct_resolution *res)
{
	struct resolve_ctx c = { .s = s, .res = res };
	size_t len;
	char *dom;
	bool found;

	memset(res, 0, sizeof(*res));
	if (domain == NULL && (domain = s->first_domain) == NULL)
		return ACCT_NOT_LOCAL_DOMAIN;
	if (!acct_is_local_domain(s, domain))
		return ACCT_NOT_LOCAL_DOMAIN;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	dom = xstrndup(domain, len);
	found = resolve_local(&c, localpart, dom, 0);
	free(dom);
	hashmap_free(&c.seen, NULL);
	hashmap_free(&c.visited, NULL);
	if (!found || res->n == 0) {
		acct_resolution_free(res);
		return ACCT_NO_SUCH_USER;
	}
	return ACCT_OK;
}

void
acct_resolution_free(struct acct_resolution *res)
{
	for (int i = 0; i < res->n; i++) {
		free(res->t[i].address);
		free(res->t[i].domain);
		free(res->t[i].localpart);
	}
	free(res->t);
	memset(res, 0, sizeof(*res));
}

bool
acct_user_owns_address(const struct acct_snapshot *s, const char *user,
    const char *address)
{
	const char *canon = acct_user_canonical(s, user);
	const char *at = strrchr(address, '@');
	struct acct_resolution res;
	bool owns = false;
	char *lp;

	if (canon == NULL || at == NULL)
		return false;
	if (hashmap_ascii_caseeq(canon, address))
		return true;
	lp = xstrndup(address, (size_t)(at - address));
	if (acct_resolve(s, lp, at + 1, &res) == ACCT_OK)
		for (int i = 0; i < res.n && !owns; i++)
			owns = res.t[i].kind == ACCT_TARGET_LOCAL &&
			    strcmp(res.t[i].address, canon) == 0;
	acct_resolution_free(&res);
	free(lp);
	return owns;
}
