/*
 * mailbox_file - Maildir file names (flags in ":2,<info>", S= and W=),
 * wire sizes, unique names, durable small-file writes, folder
 * directories, and each folder's keyword map (see mailbox.h).
 *
 * Trust: file names come from directories other tools may write to; they
 * are parsed without assumptions (any byte, any length). Keyword names
 * come from clients and are validated before they reach the map file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define KW_FILE		"keywords"
#define KW_FILE_DOVECOT	"dovecot-keywords"
#define KW_FILE_MAX	(64 * 1024)

static const struct {
	char		letter;
	unsigned	flag;
} flag_letters[] = {
	{ 'D', MBOX_F_DRAFT }, { 'F', MBOX_F_FLAGGED },
	{ 'R', MBOX_F_ANSWERED }, { 'S', MBOX_F_SEEN },
	{ 'T', MBOX_F_DELETED },
};
#define N_FLAG_LETTERS (sizeof(flag_letters) / sizeof(flag_letters[0]))

size_t
mbox_base_len(const char *name)
{
	return strcspn(name, ":");
}

/* The info after ":2," or NULL. */
static const char *
info_of(const char *name, size_t base_len)
{
	if (name[base_len] == ':' && name[base_len + 1] == '2' &&
	    name[base_len + 2] == ',')
		return name + base_len + 3;
	return NULL;
}

static unsigned
flag_of_letter(char c)
{
	for (size_t i = 0; i < N_FLAG_LETTERS; i++)
		if (flag_letters[i].letter == c)
			return flag_letters[i].flag;
	return 0;
}

void
mbox_info_parse(const char *name, unsigned *flags_r, uint32_t *letters_r)
{
	const char *info = info_of(name, mbox_base_len(name));

	*flags_r = 0;
	*letters_r = 0;
	for (; info && *info; info++) {
		if (*info >= 'a' && *info <= 'z')
			*letters_r |= 1u << (*info - 'a');
		else
			*flags_r |= flag_of_letter(*info);
	}
}

char *
mbox_info_build(const char *name, size_t base_len, unsigned flags,
    uint32_t letters, uint32_t known)
{
	const char *info = info_of(name, base_len);
	bool on[128] = { false };
	struct buf b;

	/* keep what we do not manage: P, unnamed keyword letters, ... */
	for (; info && *info; info++) {
		unsigned char c = (unsigned char)*info;
		if (c <= 0x20 || c >= 0x7f || c == ',' || c == '/' ||
		    flag_of_letter((char)c))
			continue;
		if (c >= 'a' && c <= 'z' && (known & (1u << (c - 'a'))))
			continue;
		on[c] = true;
	}
	for (size_t i = 0; i < N_FLAG_LETTERS; i++)
		if (flags & flag_letters[i].flag)
			on[(unsigned char)flag_letters[i].letter] = true;
	for (int i = 0; i < 26; i++)
		if (letters & (1u << i))
			on['a' + i] = true;
	buf_init(&b, 0);
	buf_append(&b, name, base_len);
	buf_puts(&b, ":2,");
	for (int c = 0x21; c < 0x7f; c++)
		if (on[c])
			buf_putc(&b, (char)c);
	return buf_steal(&b, NULL);
}

bool
mbox_base_field(const char *name, size_t base_len, char key, uint64_t *v_r)
{
	for (size_t i = 0; i + 3 < base_len; i++) {
		if (name[i] != ',' || name[i + 1] != key || name[i + 2] != '=')
			continue;
		uint64_t v = 0;
		size_t j = i + 3, start = j;
		for (; j < base_len && name[j] >= '0' && name[j] <= '9'; j++) {
			if (v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (uint64_t)(name[j] - '0');
		}
		if (j == start || (j < base_len && name[j] != ','))
			continue;
		*v_r = v;
		return true;
	}
	return false;
}

/* Counts LFs not preceded by CR in p[0..n), given the byte before p. */
static uint64_t
bare_lfs(const char *p, size_t n, char before)
{
	uint64_t count = 0;
	const char *end = p + n, *s = p;

	while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		char prev = s == p ? before : s[-1];
		if (prev != '\r')
			count++;
		s++;
	}
	return count;
}

uint64_t
mbox_wire_size(const char *data, size_t len)
{
	return len + bare_lfs(data, len, '\0');
}

int
mbox_file_wire_size(int fd, uint64_t *size_r)
{
	char buf[65536];
	char last = '\0';
	uint64_t total = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		total += (uint64_t)r + bare_lfs(buf, (size_t)r, last);
		last = buf[r - 1];
	}
	*size_r = total;
	return 0;
}

static char host_name[256];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* gethostname() made safe for a Maildir name: no "/", ":", ",". */
static void
host_init(void)
{
	if (gethostname(host_name, sizeof(host_name)) < 0 ||
	    host_name[0] == '\0')
		snprintf(host_name, sizeof(host_name), "localhost");
	host_name[sizeof(host_name) - 1] = '\0';
	for (char *s = host_name; *s; s++)
		if (*s == '/' || *s == ':' || *s == ',' || *s <= 0x20 ||
		    *s >= 0x7f)
			*s = '_';
}

char *
mbox_unique_base(uint64_t fsize, uint64_t wsize, bool exact, uint64_t emailid)
{
	static atomic_ulong seq;
	struct timeval tv;
	struct buf b;

	pthread_once(&host_once, host_init);
	gettimeofday(&tv, NULL);
	buf_init(&b, 0);
	/* "A" (not maildir.c's "Q") so the two counters never collide */
	buf_printf(&b, "%lld.M%ldP%dA%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (int)getpid(), atomic_fetch_add(&seq, 1),
	    host_name);
	if (fsize != UINT64_MAX)
		buf_printf(&b, ",S=%llu", (unsigned long long)fsize);
	buf_printf(&b, ",W=%llu", (unsigned long long)wsize);
	if (exact)
		buf_printf(&b, ",%c=1", MBOX_FIELD_EXACT);
	if (emailid)
		buf_printf(&b, ",%c=%llu", MBOX_FIELD_EMAILID,
		    (unsigned long long)emailid);
	return buf_steal(&b, NULL);
}

void
mbox_folder_mailboxid(const struct mbox_folder *f,
    char out[MBOX_OBJECTID_MAX + 1])
{
	snprintf(out, MBOX_OBJECTID_MAX + 1, "F%08x%08x", f->u->id_salt,
	    f->uidvalidity);
}

void
mbox_emailid_format(uint64_t id, char out[MBOX_OBJECTID_MAX + 1])
{
	snprintf(out, MBOX_OBJECTID_MAX + 1, "M%016llx",
	    (unsigned long long)id);
}

uint64_t
mbox_name_emailid(const char *name, size_t base_len)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	if (mbox_base_field(name, base_len, MBOX_FIELD_EMAILID, &h) && h)
		return h;
	for (size_t i = 0; name[i] && name[i] != ',' && name[i] != ':'; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

bool
mbox_name_exact(const char *name, size_t base_len)
{
	uint64_t v;

	return mbox_base_field(name, base_len, MBOX_FIELD_EXACT, &v) && v == 1;
}

int
mbox_folder_exists(const char *path)
{
	char *cur = xasprintf("%s/cur", path);
	struct stat st;
	int r = stat(cur, &st);

	free(cur);
	if (r == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return r;
}

int
mbox_folder_mkdir(const char *path, bool inbox)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char *parent = xstrdup(path), *slash = strrchr(parent, '/');
	int ret = -1;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		goto done;
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", path, subs[i]);
		int r = mkdir(sub, 0700);
		free(sub);
		if (r < 0 && errno != EEXIST)
			goto done;
	}
	if (!inbox) {
		char *mf = xasprintf("%s/maildirfolder", path);
		int fd = open(mf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		free(mf);
		if (fd < 0)
			goto done;
		close(fd);
	}
	if (fsutil_fsync_dir(path) < 0)
		goto done;
	if (slash) {
		*slash = '\0';
		if (fsutil_fsync_dir(parent) < 0)
			goto done;
	}
	ret = 0;
done:
	free(parent);
	return ret;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
mbox_rmtree(const char *path)
{
	return nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- keywords ------------------------------------------------------- */

bool
mbox_keyword_valid(const char *kw)
{
	size_t n = strlen(kw);

	if (n == 0 || n > MBOX_KEYWORD_LEN_MAX || kw[0] == '\\')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)kw[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return false;
	}
	return true;
}

static int
kw_find(char *const kw[MBOX_KEYWORDS_MAX], const char *name)
{
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if (kw[i] && strcasecmp(kw[i], name) == 0)
			return i;
	return -1;
}

/* Index of a "a name" (ours) or "0 name" (Dovecot's) line; -1 if bad. */
static int
kw_line(char *line, char **name_r)
{
	char *sp = strchr(line, ' ');
	int idx;

	if (sp == NULL || sp == line)
		return -1;
	*sp = '\0';
	*name_r = sp + 1;
	if (line[0] >= 'a' && line[0] <= 'z' && line[1] == '\0')
		idx = line[0] - 'a';
	else {
		char *end;
		long v = strtol(line, &end, 10);
		if (*end != '\0' || v < 0 || v >= MBOX_KEYWORDS_MAX)
			return -1;
		idx = (int)v;
	}
	return mbox_keyword_valid(*name_r) ? idx : -1;
}

/* Reads path into a buffer (bounded); NULL if missing or too big. */
static char *
read_small(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *data = NULL;
	ssize_t r;

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) == 0 && st->st_size < KW_FILE_MAX) {
		data = xmalloc((size_t)st->st_size + 1);
		r = read(fd, data, (size_t)st->st_size);
		if (r < 0)
			XFREE(&data);
		else
			data[r] = '\0';
	}
	close(fd);
	return data;
}

static void
kw_merge(struct mbox_folder *f, char *data)
{
	char *save = NULL, *name;

	for (char *line = strtok_r(data, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		int idx = kw_line(line, &name);
		if (idx < 0)
			continue;
		if (f->kw[idx]) {
			if (strcasecmp(f->kw[idx], name) != 0)
				log_warn("- store keyword-conflict folder=%s "
				    "letter=%c", f->path, 'a' + idx);
			continue;
		}
		if (kw_find(f->kw, name) >= 0)
			continue;
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		f->kw[idx] = xstrdup(name);
		f->kw_mask |= 1u << idx;
		f->n_kw++;
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	}
}

void
mbox_kw_load(struct mbox_folder *f)
{
	char *path = xasprintf("%s/%s", f->path, KW_FILE);
	struct stat st;
	char *data;

	if (stat(path, &st) < 0) {
		free(path);
		if (f->n_kw > 0)
			return;	/* ours, not yet written or removed */
		path = xasprintf("%s/%s", f->path, KW_FILE_DOVECOT);
	}
	if (stat(path, &st) == 0 &&
	    (st.st_mtim.tv_sec != f->kw_mt.tv_sec ||
	    st.st_mtim.tv_nsec != f->kw_mt.tv_nsec) &&
	    (data = read_small(path, &st)) != NULL) {
		f->kw_mt = st.st_mtim;
		kw_merge(f, data);
		free(data);
	}
	free(path);
}

static char *
kw_content(char *const kw[MBOX_KEYWORDS_MAX])
{
	struct buf b;

	buf_init(&b, 0);
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if (kw[i])
			buf_printf(&b, "%c %s\n", 'a' + i, kw[i]);
	return buf_steal(&b, NULL);
}

static int
kw_save(struct mbox_folder *f, char *const kw[MBOX_KEYWORDS_MAX])
{
	char *content = kw_content(kw);
	char *path = xasprintf("%s/%s", f->path, KW_FILE);
	struct stat st;
	int r = fsutil_atomic_write(f->path, KW_FILE, content, strlen(content));

	if (r == 0 && stat(path, &st) == 0)
		f->kw_mt = st.st_mtim;
	free(content);
	free(path);
	return r;
}

int
mbox_kw_resolve(struct mbox_folder *f, const char *const *kws, bool create,
    uint32_t *mask_r, char **error_r)
{
	char *kw[MBOX_KEYWORDS_MAX];
	uint32_t mask = 0;
	bool added = false;
	int ret = 0;

	memcpy(kw, f->kw, sizeof(kw));
	for (size_t i = 0; kws && kws[i] && ret == 0; i++) {
		int idx;
		if (!mbox_keyword_valid(kws[i])) {
			mbox_error(error_r, "Invalid keyword");
			ret = MBOX_ERR_BADNAME;
		} else if ((idx = kw_find(kw, kws[i])) >= 0)
			mask |= 1u << idx;
		else if (create) {
			for (idx = 0; idx < MBOX_KEYWORDS_MAX && kw[idx]; idx++)
				;
			if (idx == MBOX_KEYWORDS_MAX) {
				mbox_error(error_r, "Too many keywords in "
				    "this folder (%d)", MBOX_KEYWORDS_MAX);
				ret = MBOX_ERR_LIMIT;
			} else {
				kw[idx] = xstrdup(kws[i]);
				mask |= 1u << idx;
				added = true;
			}
		}
	}
	if (ret == 0 && added && kw_save(f, kw) < 0) {
		mbox_error(error_r, "Cannot save keywords: %s",
		    strerror(errno));
		ret = MBOX_ERR_TEMP;
	}
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if (kw[i] == f->kw[i])
			continue;
		if (ret < 0) {
			free(kw[i]);
			continue;
		}
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		f->kw[i] = kw[i];
		f->kw_mask |= 1u << i;
		f->n_kw++;
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	}
	*mask_r = mask;
	return ret;
}

void
mbox_kw_copy_file(const struct mbox_folder *from, const char *to_path)
{
	char *content;

	if (from->n_kw == 0)
		return;
	content = kw_content(from->kw);
	if (fsutil_atomic_write(to_path, KW_FILE, content, strlen(content)) < 0)
		log_warn("- store keywords-copy-failed folder=%s error=%s",
		    to_path, strerror(errno));
	free(content);
}
