/*
 * test-accounts - unit tests of the accounts backend, password hashing and
 * the resolution snapshot, on a temporary data_dir.
 */
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/password.h"
#include "auth/resolve.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char data_dir[64];
static struct accounts *acc;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
must(int r, char *err)
{
	if (r != 0) {
		fprintf(stderr, "setup failed: %s\n", err ? err : "?");
		exit(1);
	}
}

static void
add_domain(const char *d)
{
	char *err = NULL;

	must(accounts_domain_add(acc, d, &err), err);
}

static void
add_user(const char *address, const char *pw)
{
	char *err = NULL;

	must(accounts_user_add(acc, address, pw, &err), err);
}

static void
add_alias(const char *address, int n, ...)
{
	char *targets[8], *err = NULL;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		targets[i] = va_arg(ap, char *);
	va_end(ap);
	must(accounts_alias_add(acc, address, targets, (size_t)n, &err), err);
}

static struct acct_snapshot *
load(void)
{
	char *err = NULL;
	struct acct_snapshot *s = acct_snapshot_load(data_dir, &err);

	if (s == NULL) {
		fprintf(stderr, "load failed: %s\n", err);
		exit(1);
	}
	return s;
}

/* Resolves and renders the result as "L:addr R:addr ..." or a status. */
static char *
resolve_str(const struct acct_snapshot *s, const char *lp, const char *dom)
{
	struct acct_resolution res;
	enum acct_resolve_status st = acct_resolve(s, lp, dom, &res);
	char out[1024] = "";
	size_t n = 0;

	if (st == ACCT_NOT_LOCAL_DOMAIN)
		return xstrdup("NOT_LOCAL");
	if (st == ACCT_NO_SUCH_USER)
		return xstrdup(res.n == 0 ? "NO_USER" : "NO_USER_BUT_TARGETS");
	for (int i = 0; i < res.n; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s:%s",
		    i ? " " : "", res.t[i].kind == ACCT_TARGET_LOCAL ? "L" : "R",
		    res.t[i].address);
	acct_resolution_free(&res);
	return xstrdup(out);
}

#define RESOLVES(s, lp, dom, want) do { char *_r = resolve_str(s, lp, dom); \
	int _ok = strcmp(_r, want) == 0; \
	if (!_ok) fprintf(stderr, "  resolve %s@%s: got \"%s\"\n", lp, \
	    dom ? dom : "(null)", _r); \
	free(_r); TEST_ASSERT(_ok); } while (0)

/* ---- password ----------------------------------------------------- */

static void
test_password(void)
{
	char *h1 = password_hash("correct horse");
	char *h2 = password_hash("correct horse");

	TEST_ASSERT(h1 != NULL && h2 != NULL);
	TEST_ASSERT(strncmp(h1, "$y$", 3) == 0);
	TEST_ASSERT(strcmp(h1, h2) != 0);	/* salted */
	TEST_ASSERT(strstr(h1, "correct") == NULL);
	TEST_ASSERT(password_verify("correct horse", h1));
	TEST_ASSERT(password_verify("correct horse", h2));
	TEST_ASSERT(!password_verify("correct horsE", h1));
	TEST_ASSERT(!password_verify("", h1));
	TEST_ASSERT(!password_verify("correct horse", "correct horse"));
	TEST_ASSERT(!password_verify("x", ""));
	TEST_ASSERT(!password_verify("x", "$y$garbage"));
	/* DES crypt of "x" with salt "ab": weak, must never verify. */
	TEST_ASSERT(!password_verify("x", "abQ9KY.KfrYrc"));
	free(h1);
	free(h2);
}

/* ---- addresses ---------------------------------------------------- */

static void
test_address_parse(void)
{
	char *lp, *dom, *err = NULL;

	TEST_ASSERT(accounts_address_parse("Alice@Example.TEST.", true, &lp,
	    &dom, &err) == 0);
	TEST_ASSERT_STREQ(lp, "alice");
	TEST_ASSERT_STREQ(dom, "example.test");
	free(lp);
	free(dom);
	TEST_ASSERT(accounts_address_parse("Jürgen@x.test", true, &lp, &dom,
	    &err) == 0);
	TEST_ASSERT_STREQ(lp, "Jürgen");	/* UTF-8: kept as is */
	free(lp);
	free(dom);
	TEST_ASSERT(accounts_address_parse("Bob@Remote.Test", false, &lp, &dom,
	    &err) == 0);
	TEST_ASSERT_STREQ(lp, "Bob");	/* remote: kept */
	TEST_ASSERT_STREQ(dom, "remote.test");
	free(lp);
	free(dom);
	static const char *const bad[] = { "nodomain", "@x.test", "a@",
	    "a@-x.test", "a@x..test", "a b@x.test", ".a@x.test", "a..b@x.test",
	    "a/b@x.test", "a@x_y.test", "\xc3\x28@x.test", "\"q\"@x.test",
	    "a@x/y", "a@..", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		int r = accounts_address_parse(bad[i], true, &lp, &dom, &err);

		if (r == 0)
			fprintf(stderr, "  accepted %s\n", bad[i]);
		TEST_ASSERT(r < 0);
		free(err);
		err = NULL;
	}
}

/* ---- admin operations --------------------------------------------- */

static void
test_admin(void)
{
	struct accounts_list l;
	char *err = NULL, *box = NULL, *path;
	struct stat st;

	TEST_ASSERT(accounts_domain_add(acc, "A.test", &err) < 0);
	TEST_ASSERT_STREQ(err, "domain a.test already exists");
	XFREE(&err);
	TEST_ASSERT(accounts_user_add(acc, "x@nope.test", "pw", &err) < 0);
	TEST_ASSERT_STREQ(err, "domain nope.test does not exist");
	XFREE(&err);
	TEST_ASSERT(accounts_user_add(acc, "x@a.test", "", &err) < 0);
	TEST_ASSERT_STREQ(err, "empty password refused");
	XFREE(&err);
	TEST_ASSERT(accounts_user_add(acc, "ALICE@a.test", "pw", &err) < 0);
	TEST_ASSERT_STREQ(err, "user alice@a.test already exists");
	XFREE(&err);
	TEST_ASSERT(accounts_domain_del(acc, "a.test", &err) < 0);
	TEST_ASSERT(strstr(err, "still has") != NULL);
	XFREE(&err);
	TEST_ASSERT(accounts_alias_add(acc, "x@remote.test", (char *[]){
	    "alice@a.test" }, 1, &err) < 0);
	XFREE(&err);

	TEST_ASSERT(accounts_domain_list(acc, &l, &err) == 0);
	TEST_ASSERT(l.n == 3);
	TEST_ASSERT_STREQ(l.items[0], "a.test");
	TEST_ASSERT_STREQ(l.items[2], "c.test");
	accounts_list_free(&l);
	TEST_ASSERT(accounts_user_list(acc, "b.test", &l, &err) == 0);
	TEST_ASSERT(l.n == 1);
	TEST_ASSERT_STREQ(l.items[0], "carol@b.test");
	accounts_list_free(&l);
	TEST_ASSERT(accounts_alias_list(acc, "Team@A.test", &l, &err) == 0);
	TEST_ASSERT(l.n == 1);
	TEST_ASSERT_STREQ(l.items[0],
	    "team@a.test alice@a.test,list@b.test");
	accounts_list_free(&l);

	path = xasprintf("%s/mail/a.test/alice/.Trash/maildirfolder",
	    data_dir);
	TEST_ASSERT(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	free(path);
	path = xasprintf("%s/mail/a.test/Jürgen/new", data_dir);
	TEST_ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	free(path);

	/* Delete and re-add: the Maildir stays, the account comes back. */
	add_user("temp@c.test", "pw");
	TEST_ASSERT(accounts_user_del(acc, "Temp@C.test", &box, &err) == 0);
	TEST_ASSERT(box != NULL && stat(box, &st) == 0);
	XFREE(&box);
	TEST_ASSERT(accounts_user_del(acc, "temp@c.test", NULL, &err) < 0);
	TEST_ASSERT_STREQ(err, "user temp@c.test does not exist");
	XFREE(&err);
	TEST_ASSERT(accounts_user_passwd(acc, "nobody@c.test", "x", &err) < 0);
	XFREE(&err);
}

/* ---- snapshot ----------------------------------------------------- */

static void
test_empty_snapshot(void)
{
	char *err = NULL;
	struct acct_snapshot *s = acct_snapshot_load("/nonexistent-tem-dir",
	    &err);

	TEST_ASSERT(s != NULL);
	TEST_ASSERT(acct_snapshot_serial(s) == 0);
	TEST_ASSERT(acct_first_domain(s) == NULL);
	TEST_ASSERT(!acct_is_local_domain(s, "a.test"));
	RESOLVES(s, "postmaster", NULL, "NOT_LOCAL");
	TEST_ASSERT(accounts_serial_read("/nonexistent-tem-dir") == 0);
	acct_snapshot_unref(&s);
	TEST_ASSERT(s == NULL);
}

static void
test_case_rules(void)
{
	struct acct_snapshot *s = load();

	TEST_ASSERT(acct_is_local_domain(s, "A.TEST"));
	TEST_ASSERT(acct_is_local_domain(s, "a.test."));
	TEST_ASSERT(!acct_is_local_domain(s, "remote.test"));
	TEST_ASSERT_STREQ(acct_first_domain(s), "a.test");
	RESOLVES(s, "ALICE", "A.Test", "L:alice@a.test");
	RESOLVES(s, "jürgen", "a.test", "L:Jürgen@a.test");
	RESOLVES(s, "JüRGEN", "a.test", "L:Jürgen@a.test");
	RESOLVES(s, "JÜRGEN", "a.test", "NO_USER");	/* only ASCII folds */
	RESOLVES(s, "nobody", "a.test", "NO_USER");
	RESOLVES(s, "alice", "remote.test", "NOT_LOCAL");
	RESOLVES(s, "", "a.test", "NO_USER");
	acct_snapshot_unref(&s);
}

static void
test_local_target_fields(void)
{
	struct acct_snapshot *s = load();
	struct acct_resolution res;

	TEST_ASSERT(acct_resolve(s, "J\xc3\xbcrgen+x", "A.TEST", &res) ==
	    ACCT_OK);
	TEST_ASSERT(res.n == 1);
	TEST_ASSERT(res.t[0].kind == ACCT_TARGET_LOCAL);
	TEST_ASSERT_STREQ(res.t[0].domain, "a.test");
	TEST_ASSERT_STREQ(res.t[0].localpart, "Jürgen");
	acct_resolution_free(&res);
	TEST_ASSERT(res.n == 0 && res.t == NULL);
	TEST_ASSERT(acct_resolve(s, "bob", "b.test", &res) ==
	    ACCT_NO_SUCH_USER);
	TEST_ASSERT(res.n == 0);
	acct_resolution_free(&res);
	acct_snapshot_unref(&s);
}

static void
test_subaddress(void)
{
	struct acct_snapshot *s = load();

	RESOLVES(s, "Alice+Tag", "a.test", "L:alice@a.test");
	RESOLVES(s, "alice+", "a.test", "L:alice@a.test");
	RESOLVES(s, "alice+a+b", "a.test", "L:alice@a.test");
	RESOLVES(s, "+alice", "a.test", "NO_USER");
	RESOLVES(s, "nobody+x", "a.test", "NO_USER");
	/* alias looked up on the part before '+' too */
	RESOLVES(s, "team+x", "a.test",
	    "L:alice@a.test L:carol@b.test R:ext@remote.test");
	/* an exact alias wins over the '+' rule */
	RESOLVES(s, "alice+exact", "a.test", "R:exact@remote.test");
	acct_snapshot_unref(&s);
}

static void
test_postmaster(void)
{
	struct acct_snapshot *s = load();

	RESOLVES(s, "postmaster", "a.test", "L:alice@a.test");
	RESOLVES(s, "PostMaster", "A.TEST", "L:alice@a.test");
	RESOLVES(s, "postmaster+x", "a.test", "L:alice@a.test");
	/* b.test has an alias postmaster@b.test */
	RESOLVES(s, "POSTMASTER", "b.test", "R:pm@remote.test");
	/* c.test has no user: the first user of the first domain */
	RESOLVES(s, "postmaster", "c.test", "L:alice@a.test");
	/* bare <postmaster>: first domain */
	RESOLVES(s, "postmaster", NULL, "L:alice@a.test");
	acct_snapshot_unref(&s);
}

static void
test_alias_expansion(void)
{
	struct acct_snapshot *s = load();

	/* recursion across domains, remote kept, duplicates dropped */
	RESOLVES(s, "team", "a.test",
	    "L:alice@a.test L:carol@b.test R:ext@remote.test");
	/* a loop with no user at the end resolves to nothing */
	RESOLVES(s, "loop1", "a.test", "NO_USER");
	/* an alias of a user's own address keeps the user's copy */
	RESOLVES(s, "bob", "a.test", "L:bob@a.test R:copy@remote.test");
	/* a short chain works; one deeper than the cap is cut */
	RESOLVES(s, "chain5", "a.test", "L:alice@a.test");
	RESOLVES(s, "chain12", "a.test", "NO_USER");
	/* a dangling local target yields nothing; other targets still do */
	RESOLVES(s, "dangling", "a.test", "NO_USER");
	RESOLVES(s, "half", "a.test", "L:carol@b.test");
	/* a target with a tag reaches the user */
	RESOLVES(s, "tagged", "a.test", "L:carol@b.test");
	acct_snapshot_unref(&s);
}

static void
test_user_hash_and_ownership(void)
{
	struct acct_snapshot *s = load();
	const char *h = acct_user_hash(s, "ALICE@A.TEST");

	TEST_ASSERT(h != NULL && strncmp(h, "$y$", 3) == 0);
	TEST_ASSERT(password_verify("alice-pw", h));
	TEST_ASSERT(!password_verify("bob-pw", h));
	TEST_ASSERT(acct_user_hash(s, "nobody@a.test") == NULL);
	TEST_ASSERT(acct_user_hash(s, "team@a.test") == NULL);
	TEST_ASSERT_STREQ(acct_user_canonical(s, "jürgen@A.test"),
	    "Jürgen@a.test");
	TEST_ASSERT(acct_user_owns_address(s, "alice@a.test", "Alice@a.test"));
	TEST_ASSERT(acct_user_owns_address(s, "alice@a.test", "team@a.test"));
	TEST_ASSERT(acct_user_owns_address(s, "alice@a.test",
	    "alice+x@a.test"));
	TEST_ASSERT(acct_user_owns_address(s, "carol@b.test", "team@a.test"));
	TEST_ASSERT(!acct_user_owns_address(s, "bob@a.test", "team@a.test"));
	TEST_ASSERT(!acct_user_owns_address(s, "alice@a.test",
	    "carol@b.test"));
	TEST_ASSERT(!acct_user_owns_address(s, "alice@a.test",
	    "alice@remote.test"));
	TEST_ASSERT(!acct_user_owns_address(s, "nobody@a.test",
	    "nobody@a.test"));
	acct_snapshot_unref(&s);
}

static void
test_serial_and_refs(void)
{
	struct acct_snapshot *s = load(), *s2, *keep;
	uint64_t before = accounts_serial_read(data_dir);
	char *err = NULL;

	TEST_ASSERT(before > 0);
	TEST_ASSERT(acct_snapshot_serial(s) == before);
	/* a failed change does not bump it */
	TEST_ASSERT(accounts_domain_add(acc, "a.test", &err) < 0);
	XFREE(&err);
	TEST_ASSERT(accounts_serial_read(data_dir) == before);
	TEST_ASSERT(accounts_change_serial(acc) == before);
	add_domain("d.test");
	TEST_ASSERT(accounts_serial_read(data_dir) == before + 1);
	/* what an admin command asks the server to reach */
	TEST_ASSERT(accounts_change_serial(acc) == before + 1);
	TEST_ASSERT(!acct_is_local_domain(s, "d.test"));	/* immutable */
	s2 = load();
	TEST_ASSERT(acct_snapshot_serial(s2) == before + 1);
	TEST_ASSERT(acct_is_local_domain(s2, "d.test"));
	keep = s2;
	acct_snapshot_ref(keep);
	acct_snapshot_unref(&s2);
	TEST_ASSERT(s2 == NULL);
	TEST_ASSERT(acct_is_local_domain(keep, "D.TEST"));	/* still alive */
	acct_snapshot_unref(&keep);
	acct_snapshot_unref(&s);
	TEST_ASSERT(accounts_domain_del(acc, "d.test", &err) == 0);
}

/* Quotas: set, shown in the snapshot, unset back to the default, and
 * gone with the user. */
static void
test_quota(void)
{
	struct acct_quota def = { 100, 5 }, q;
	struct acct_snapshot *s;
	uint64_t st = 0, msgs = 0;
	char *err = NULL;

	TEST_ASSERT(accounts_user_quota_get(acc, "alice@a.test", &st, &msgs,
	    &err) == 0);
	TEST_ASSERT(accounts_user_quota_set(acc, "ALICE@A.test", 1 << 20, 0,
	    &err) == 0);
	TEST_ASSERT(accounts_user_quota_get(acc, "alice@a.test", &st, &msgs,
	    &err) == 1 && st == 1 << 20 && msgs == 0);
	s = load();
	TEST_ASSERT(acct_user_quota(s, "alice@a.test", &def, &q));
	TEST_ASSERT(q.storage == 1 << 20 && q.messages == 0);
	TEST_ASSERT(acct_user_quota(s, "bob@a.test", &def, &q));
	TEST_ASSERT(q.storage == 100 && q.messages == 5);
	TEST_ASSERT(!acct_user_quota(s, "nobody@a.test", &def, &q));
	acct_snapshot_unref(&s);
	TEST_ASSERT(accounts_user_quota_set(acc, "nobody@a.test", 1, 1,
	    &err) < 0);
	TEST_ASSERT(strstr(err, "does not exist") != NULL);
	XFREE(&err);
	TEST_ASSERT(accounts_user_quota_unset(acc, "alice@a.test", &err) == 0);
	s = load();
	TEST_ASSERT(acct_user_quota(s, "alice@a.test", &def, &q));
	TEST_ASSERT(q.storage == 100);
	acct_snapshot_unref(&s);
	/* a deleted user's quota does not come back with a new account */
	add_user("quota@a.test", "q-pw");
	TEST_ASSERT(accounts_user_quota_set(acc, "quota@a.test", 7, 7,
	    &err) == 0);
	TEST_ASSERT(accounts_user_del(acc, "quota@a.test", NULL, &err) == 0);
	add_user("quota@a.test", "q-pw");
	TEST_ASSERT(accounts_user_quota_get(acc, "quota@a.test", &st, &msgs,
	    &err) == 0);
	TEST_ASSERT(accounts_user_del(acc, "quota@a.test", NULL, &err) == 0);
}

static void
setup(void)
{
	char *err = NULL;

	snprintf(data_dir, sizeof(data_dir), "/tmp/tem-test-accounts-XXXXXX");
	if (mkdtemp(data_dir) == NULL)
		exit(1);
	must(accounts_open(data_dir, NULL, &acc, &err), err);
	add_domain("a.test");
	add_domain("B.test");
	add_domain("c.test");
	add_user("Alice@a.test", "alice-pw");
	add_user("bob@a.test", "bob-pw");
	add_user("Jürgen@a.test", "j-pw");
	add_user("carol@b.test", "carol-pw");
	add_alias("team@a.test", 2, "alice@a.test", "list@b.test");
	add_alias("list@b.test", 3, "Carol@B.test", "ext@remote.test",
	    "ALICE@a.test");
	add_alias("postmaster@b.test", 1, "pm@remote.test");
	add_alias("alice+exact@a.test", 1, "exact@remote.test");
	add_alias("loop1@a.test", 1, "loop2@a.test");
	add_alias("loop2@a.test", 1, "loop1@a.test");
	add_alias("bob@a.test", 2, "bob@a.test", "copy@remote.test");
	add_alias("dangling@a.test", 1, "ghost@a.test");
	add_alias("half@a.test", 2, "ghost@a.test", "carol@b.test");
	add_alias("tagged@a.test", 1, "carol+news@b.test");
	/* chainN@a.test -> chain(N-1) ... chain0 -> alice */
	add_alias("chain0@a.test", 1, "alice@a.test");
	for (int i = 1; i <= 12; i++) {
		char from[32], to[32];

		snprintf(from, sizeof(from), "chain%d@a.test", i);
		snprintf(to, sizeof(to), "chain%d@a.test", i - 1);
		add_alias(from, 1, to);
	}
}

int
main(void)
{
	TEST_RUN(test_password);
	TEST_RUN(test_address_parse);
	TEST_RUN(test_empty_snapshot);
	setup();
	TEST_RUN(test_admin);
	TEST_RUN(test_case_rules);
	TEST_RUN(test_local_target_fields);
	TEST_RUN(test_subaddress);
	TEST_RUN(test_postmaster);
	TEST_RUN(test_alias_expansion);
	TEST_RUN(test_user_hash_and_ownership);
	TEST_RUN(test_serial_and_refs);
	TEST_RUN(test_quota);
	accounts_close(&acc);
	nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return test_done("test-accounts");
}
