/*
 * dkim_keys - DKIM key files and records (see dkim_keys.h); the
 * in-memory store is in dkim_keystore.c.
 *
 * Trust: run as root or the server's user, on paths built from names
 * checked with dkim_name_valid() (so no "/" or ".." can get in). Key
 * files are created 0600 with O_EXCL under a temporary name and linked
 * into place, so a key is never overwritten nor seen half-written, and
 * chowned to run_as when root makes them, so that the unprivileged
 * server can read them again on reload. Private key material is only
 * held in OpenSSL objects and the PEM buffers here (wiped after use).
 * Callers: cli_dkim.c, dkim_keystore.c, the tests.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/dkim.h"
#include "policy/dkim_keys.h"
#include "util/base64.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

int
dkim_key_type_parse(const char *s, enum dkim_key_type *t)
{
	if (strcmp(s, "rsa") == 0)
		*t = DKIM_KEY_RSA;
	else if (strcmp(s, "ed25519") == 0)
		*t = DKIM_KEY_ED25519;
	else
		return -1;
	return 0;
}

static char *
lower_dup(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static bool
names_ok(const char *domain, const char *selector, char **error_r)
{
	if (domain == NULL || !dkim_name_valid(domain, strlen(domain))) {
		*error_r = xasprintf("bad domain name '%s'", domain ? domain :
		    "");
		return false;
	}
	if (selector == NULL || !dkim_name_valid(selector, strlen(selector))) {
		*error_r = xasprintf("bad selector '%s' (letters, digits, '-' "
		    "and '.' only)", selector ? selector : "");
		return false;
	}
	return true;
}

static struct dkim_key *
key_new(enum dkim_key_type type, const char *domain, const char *selector,
    EVP_PKEY *pkey)
{
	struct dkim_key *k = xmalloc(sizeof(*k));

	k->type = type;
	k->domain = lower_dup(domain);
	k->selector = lower_dup(selector);
	k->pkey = pkey;
	return k;
}

void
dkim_key_free(struct dkim_key **k)
{
	if (*k == NULL)
		return;
	EVP_PKEY_free((*k)->pkey);
	free((*k)->domain);
	free((*k)->selector);
	XFREE(k);
}

struct dkim_key *
dkim_key_generate(enum dkim_key_type type, const char *domain,
    const char *selector, char **error_r)
{
	EVP_PKEY *pkey;

	if (!names_ok(domain, selector, error_r))
		return NULL;
	if (type == DKIM_KEY_RSA)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)DKIM_RSA_SIGN_BITS);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ERR_clear_error();
	if (pkey == NULL) {
		*error_r = xasprintf("cannot generate a %s key",
		    dkim_key_type_str(type));
		return NULL;
	}
	return key_new(type, domain, selector, pkey);
}

/* ---- files -------------------------------------------------------------- */

/* Never prompt for a pass phrase: our key files have none. */
static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

/* Reads a regular file of at most DKIM_KEY_FILE_MAX octets into b. */
static int
read_small(const char *path, struct buf *b, struct stat *st, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char tmp[4096];
	ssize_t r = 0;

	if (fd < 0) {
		*error_r = xasprintf("cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    st->st_size > DKIM_KEY_FILE_MAX) {
		*error_r = xasprintf("cannot read %s: not a regular file of at "
		    "most %d octets", path, DKIM_KEY_FILE_MAX);
		close(fd);
		return -1;
	}
	while ((r = read(fd, tmp, sizeof(tmp))) > 0 &&
	    buf_append(b, tmp, (size_t)r) == 0)
		;
	explicit_bzero(tmp, sizeof(tmp));
	close(fd);
	if (r != 0) {
		*error_r = xasprintf("cannot read %s: %s", path, r < 0 ?
		    strerror(errno) : "file too large");
		return -1;
	}
	return 0;
}

static void
wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

struct dkim_key *
dkim_key_read(const char *path, const char *domain, const char *selector,
    char **error_r)
{
	struct dkim_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	struct buf pem;
	struct stat st;
	BIO *bio;
	int id;

	if (!names_ok(domain, selector, error_r))
		return NULL;
	buf_init(&pem, DKIM_KEY_FILE_MAX);
	if (read_small(path, &pem, &st, error_r) < 0)
		goto out;
	if ((bio = BIO_new_mem_buf(pem.data, (int)pem.len)) != NULL) {
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	id = pkey != NULL ? EVP_PKEY_get_base_id(pkey) : 0;
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		*error_r = xasprintf("%s: not an RSA or Ed25519 private key "
		    "in PEM", path);
		EVP_PKEY_free(pkey);
		goto out;
	}
	if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < DKIM_RSA_MIN_BITS) {
		*error_r = xasprintf("%s: RSA key shorter than %d bits", path,
		    DKIM_RSA_MIN_BITS);
		EVP_PKEY_free(pkey);
		goto out;
	}
	k = key_new(id == EVP_PKEY_RSA ? DKIM_KEY_RSA : DKIM_KEY_ED25519,
	    domain, selector, pkey);
	k->mtime = st.st_mtim;
out:
	wipe_buf(&pem);
	return k;
}

/* Who owns what we create: run_as, when we are root and it exists. */
struct owner {
	bool	do_chown;
	uid_t	uid;
	gid_t	gid;
};

static void
owner_init(struct owner *o, const char *run_as)
{
	struct passwd *pw;

	o->do_chown = false;
	if (geteuid() != 0 || run_as == NULL || run_as[0] == '\0' ||
	    (pw = getpwnam(run_as)) == NULL)
		return;
	o->do_chown = true;
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
}

/* mkdir path (chowned when new); 0 when made or there already. */
static int
make_dir(const struct owner *o, const char *path, mode_t mode,
    char **error_r)
{
	if (mkdir(path, mode) == 0) {
		if (o->do_chown && chown(path, o->uid, o->gid) < 0) {
			/* best effort: the server says what it cannot read */
		}
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
	return -1;
}

static char *
key_path(const char *data_dir, const char *domain, const char *selector,
    enum dkim_key_type type)
{
	return xasprintf("%s/%s/%s/%s.%s.pem", data_dir, DKIM_KEYS_DIR, domain,
	    selector, dkim_key_type_str(type));
}

static bool
selector_used(const char *data_dir, const char *domain, const char *selector)
{
	struct stat st;
	bool used = false;

	for (int t = DKIM_KEY_RSA; t <= DKIM_KEY_ED25519 && !used; t++) {
		char *p = key_path(data_dir, domain, selector,
		    (enum dkim_key_type)t);

		used = lstat(p, &st) == 0;
		free(p);
	}
	return used;
}

/* The PEM text of k's private key (PKCS#8), into out. */
static int
key_pem(const struct dkim_key *k, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r = -1;

	if (bio != NULL && PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL,
	    0, NULL, NULL) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0) {
		buf_append(out, data, (size_t)n);
		explicit_bzero(data, (size_t)n);
		r = 0;
	}
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* Writes pem to dir/NAME through an O_EXCL temporary file, then links it
 * into place (failing, not replacing, when NAME exists). */
static int
write_key_file(const struct owner *o, const char *dir, const char *path,
    const struct buf *pem, char **error_r)
{
	char *tmp = xasprintf("%s/.key.tmp.%ld", dir, (long)getpid());
	int fd, r = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0 || fsutil_write_all(fd, pem->data, pem->len) < 0 ||
	    fsync(fd) < 0) {
		*error_r = xasprintf("cannot write %s: %s", tmp,
		    strerror(errno));
	} else if (o->do_chown && fchown(fd, o->uid, o->gid) < 0) {
		*error_r = xasprintf("cannot chown %s: %s", tmp,
		    strerror(errno));
	} else if (link(tmp, path) < 0) {
		*error_r = errno == EEXIST ? xasprintf("%s exists", path) :
		    xasprintf("cannot create %s: %s", path, strerror(errno));
	} else {
		r = 0;
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (r == 0)
		(void)fsutil_fsync_dir(dir);
	free(tmp);
	return r;
}

/* Sets data_dir/dkim's mtime to now, once the key is in place: the
 * running server polls only that folder's mtime (serve.c), and a key
 * added to a domain's existing folder does not change it. */
static void
touch_top(const char *data_dir)
{
	char *top = xasprintf("%s/%s", data_dir, DKIM_KEYS_DIR);

	(void)utimensat(AT_FDCWD, top, NULL, 0);
	free(top);
}

/* data_dir/dkim/DOMAIN, made (0700) with its parents when missing. */
static char *
make_key_dir(const struct owner *o, const char *data_dir, const char *domain,
    char **error_r)
{
	char *top = xasprintf("%s/%s", data_dir, DKIM_KEYS_DIR);
	char *dir = xasprintf("%s/%s", top, domain);
	int r;

	r = make_dir(o, data_dir, 0750, error_r);
	if (r == 0)
		r = make_dir(o, top, 0700, error_r);
	if (r == 0)
		r = make_dir(o, dir, 0700, error_r);
	if (r == 0)
		(void)fsutil_fsync_dir(top);
	free(top);
	if (r < 0)
		XFREE(&dir);
	return dir;
}

int
dkim_keys_create(const char *data_dir, const char *run_as,
    const char *domain, const char *selector, enum dkim_key_type type,
    struct dkim_key **key_r, char **error_r)
{
	struct dkim_key *k;
	struct owner o;
	struct buf pem;
	struct stat st;
	char *dir, *path;
	int r = -1;

	if ((k = dkim_key_generate(type, domain, selector, error_r)) == NULL)
		return -1;
	if (selector_used(data_dir, k->domain, k->selector)) {
		*error_r = xasprintf("selector %s of %s already has a key",
		    k->selector, k->domain);
		dkim_key_free(&k);
		return -1;
	}
	owner_init(&o, run_as);
	if ((dir = make_key_dir(&o, data_dir, k->domain, error_r)) == NULL) {
		dkim_key_free(&k);
		return -1;
	}
	path = key_path(data_dir, k->domain, k->selector, type);
	buf_init(&pem, 0);
	if (key_pem(k, &pem) < 0)
		*error_r = xstrdup("cannot encode the key");
	else if (write_key_file(&o, dir, path, &pem, error_r) == 0 &&
	    stat(path, &st) == 0) {
		k->mtime = st.st_mtim;
		r = 0;
		touch_top(data_dir);
	}
	wipe_buf(&pem);
	free(dir);
	free(path);
	if (r == 0 && key_r != NULL)
		*key_r = k;
	else
		dkim_key_free(&k);
	return r;
}

char *
dkim_keys_default_selector(const char *data_dir, const char *domain,
    enum dkim_key_type type, time_t now)
{
	char *d = lower_dup(domain), *sel = NULL;
	struct tm tm;

	gmtime_r(&now, &tm);
	for (int i = 1; sel == NULL || selector_used(data_dir, d, sel); i++) {
		free(sel);
		sel = i == 1 ? xasprintf("tem-%04d%02d-%s", tm.tm_year + 1900,
		    tm.tm_mon + 1, dkim_key_type_str(type)) :
		    xasprintf("tem-%04d%02d-%s-%d", tm.tm_year + 1900,
		    tm.tm_mon + 1, dkim_key_type_str(type), i);
	}
	free(d);
	return sel;
}

/* ---- listing ------------------------------------------------------------ */

/* "SELECTOR.TYPE.pem" -> selector (malloc'd) and type; NULL otherwise. */
static char *
parse_file_name(const char *name, enum dkim_key_type *type)
{
	size_t n = strlen(name);
	static const char *const sfx[] = { ".rsa.pem", ".ed25519.pem" };

	for (int t = DKIM_KEY_RSA; t <= DKIM_KEY_ED25519; t++) {
		size_t sl = strlen(sfx[t]);

		if (n > sl && strcmp(name + n - sl, sfx[t]) == 0 &&
		    dkim_name_valid(name, n - sl)) {
			*type = (enum dkim_key_type)t;
			return xstrndup(name, n - sl);
		}
	}
	return NULL;
}

static int
newest_first(const void *a, const void *b)
{
	const struct dkim_key *x = *(struct dkim_key *const *)a;
	const struct dkim_key *y = *(struct dkim_key *const *)b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return -strcmp(x->selector, y->selector);
}

static void
list_add(struct dkim_keylist *l, struct dkim_key *k)
{
	l->key = xrealloc(l->key, (l->n + 1) * sizeof(*l->key));
	l->key[l->n++] = k;
}

/* Reads dir/name as a key of domain; NULL (+ a line in bad) if unusable. */
static struct dkim_key *
list_read(const char *dir, const char *domain, const char *name,
    struct buf *bad)
{
	enum dkim_key_type t;
	char *sel = parse_file_name(name, &t), *path, *err = NULL;
	struct dkim_key *k;

	if (sel == NULL)
		return NULL;		/* not a key file: ignored */
	path = xasprintf("%s/%s", dir, name);
	if ((k = dkim_key_read(path, domain, sel, &err)) != NULL &&
	    k->type != t) {
		err = xasprintf("%s holds a %s key", path,
		    dkim_key_type_str(k->type));
		dkim_key_free(&k);
	}
	if (k == NULL && bad != NULL)
		buf_printf(bad, "%s\n", err);
	free(err);
	free(sel);
	free(path);
	return k;
}

int
dkim_keys_list(const char *data_dir, const char *domain,
    struct dkim_keylist *l, struct buf *bad, char **error_r)
{
	char *d = lower_dup(domain);
	char *dir = xasprintf("%s/%s/%s", data_dir, DKIM_KEYS_DIR, d);
	DIR *dp = opendir(dir);
	struct dirent *de;
	struct dkim_key *k;

	memset(l, 0, sizeof(*l));
	if (dp == NULL && errno != ENOENT) {
		*error_r = xasprintf("cannot read %s: %s", dir, strerror(errno));
		free(dir);
		free(d);
		return -1;
	}
	while (dp != NULL && (de = readdir(dp)) != NULL)
		if ((k = list_read(dir, d, de->d_name, bad)) != NULL)
			list_add(l, k);
	if (dp != NULL)
		closedir(dp);
	if (l->n > 1)
		qsort(l->key, l->n, sizeof(*l->key), newest_first);
	free(dir);
	free(d);
	return 0;
}

void
dkim_keylist_free(struct dkim_keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		dkim_key_free(&l->key[i]);
	XFREE(&l->key);
	l->n = 0;
}

/* ---- DNS records -------------------------------------------------------- */

/* The public key as p= carries it: SubjectPublicKeyInfo DER for RSA
 * (RFC 6376 3.6.1), the raw 32 octets for Ed25519 (RFC 8463 4.2). */
static int
public_octets(const struct dkim_key *k, struct buf *out)
{
	unsigned char raw[64], *der = NULL;
	size_t rl = sizeof(raw);
	int n;

	if (k->type == DKIM_KEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rl) != 1)
			return -1;
		buf_append(out, raw, rl);
		return 0;
	}
	if ((n = i2d_PUBKEY(k->pkey, &der)) <= 0)
		return -1;
	buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

int
dkim_key_record(const struct dkim_key *k, struct buf *out)
{
	struct buf pub;
	int r = -1;

	buf_init(&pub, 0);
	if (public_octets(k, &pub) == 0) {
		buf_printf(out, "v=DKIM1; k=%s; p=", dkim_key_type_str(k->type));
		base64_encode(pub.data, pub.len, out);
		r = 0;
	}
	ERR_clear_error();
	buf_free(&pub);
	return r;
}

void
dkim_txt_strings(const char *value, size_t len, struct buf *out)
{
	size_t in_string = 0;

	buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (in_string == DKIM_TXT_STRING_MAX) {
			buf_puts(out, "\" \"");
			in_string = 0;
		}
		if (value[i] == '"' || value[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, value[i]);
		in_string++;
	}
	buf_putc(out, '"');
}

int
dkim_key_zone_line(const struct dkim_key *k, struct buf *out)
{
	struct buf rec;
	int r;

	buf_init(&rec, 0);
	if ((r = dkim_key_record(k, &rec)) == 0) {
		buf_printf(out, "%s._domainkey.%s. IN TXT ", k->selector,
		    k->domain);
		dkim_txt_strings(rec.data, rec.len, out);
	}
	buf_free(&rec);
	return r;
}
