/*
 * psl - Public Suffix List loading and look-ups (see psl.h).
 *
 * Trust: the list file is trusted configuration (read once at start-up,
 * bounded by PSL_FILE_MAX); the domains looked up are untrusted mail
 * content, normalised into a bounded stack buffer before any look-up.
 * Callers: dmarc.c (alignment, Organizational Domain), dmarc_lookup.c.
 *
 * The rules sit in one hash map keyed by the rule text as written ("com",
 * "*.ck", "!www.ck"); a look-up tries each suffix of the name, longest
 * first, so it costs at most three hash probes per label. That is simpler
 * than a label trie and as fast for names of a handful of labels.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/psl.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

enum psl_section { PSL_NONE = 1, PSL_ICANN, PSL_PRIVATE };

struct psl {
	struct hashmap	*rules;		/* rule text -> (void *)section */
	size_t		 nrules;
};

/* ------------------------------------------------------------------ */
/* Punycode (RFC 3492 6.3), for rules and names holding U-labels */

#define PUNY_BASE	36
#define PUNY_TMIN	1
#define PUNY_TMAX	26
#define PUNY_SKEW	38
#define PUNY_DAMP	700
#define PUNY_BIAS	72
#define PUNY_N		128

static uint32_t
puny_adapt(uint32_t delta, uint32_t npoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / npoints;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

static char
puny_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* Appends the variable-length integer q with the current bias. */
static void
puny_put_int(struct buf *out, uint32_t q, uint32_t bias)
{
	for (uint32_t k = PUNY_BASE;; k += PUNY_BASE) {
		uint32_t t = k <= bias ? PUNY_TMIN :
		    k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;

		if (q < t)
			break;
		buf_putc(out, puny_digit(t + (q - t) % (PUNY_BASE - t)));
		q = (q - t) / (PUNY_BASE - t);
	}
	buf_putc(out, puny_digit(q));
}

/* Encodes code points cp[0..n) (n >= 1, at least one non-basic) as
 * "xn--..." into out. Returns -1 on (impossible for short labels)
 * overflow. */
static int
puny_encode(const uint32_t *cp, size_t n, struct buf *out)
{
	uint32_t code = PUNY_N, delta = 0, bias = PUNY_BIAS, h, b = 0;

	buf_puts(out, "xn--");
	for (size_t i = 0; i < n; i++) {
		if (cp[i] < 0x80) {
			buf_putc(out, (char)cp[i]);
			b++;
		}
	}
	if (b > 0)
		buf_putc(out, '-');
	for (h = b; h < n;) {
		uint32_t m = UINT32_MAX;

		for (size_t i = 0; i < n; i++)
			if (cp[i] >= code && cp[i] < m)
				m = cp[i];
		if ((uint64_t)(m - code) * (h + 1) > UINT32_MAX - delta)
			return -1;
		delta += (m - code) * (h + 1);
		code = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < code && ++delta == 0)
				return -1;
			if (cp[i] != code)
				continue;
			puny_put_int(out, delta, bias);
			bias = puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		code++;
	}
	return 0;
}

/* Appends label s[0..n) to out, as Punycode when it holds non-ASCII. */
static int
label_to_ascii(const char *s, size_t n, struct buf *out)
{
	uint32_t cp[PSL_DOMAIN_MAX];
	size_t ncp = 0, i = 0;
	bool ascii = true;

	while (i < n) {
		size_t l = utf8_decode(s + i, n - i, &cp[ncp]);

		if (l == 0)
			return -1;
		ascii &= cp[ncp++] < 0x80;
		i += l;
	}
	if (ascii)
		return buf_append(out, s, n);
	return puny_encode(cp, ncp, out);
}

/* ------------------------------------------------------------------ */
/* Names */

/*
 * Copies domain into out (PSL_DOMAIN_MAX + 1 bytes) lowercased, without
 * a final dot. Returns its length, or -1 when it is not a usable name.
 */
static int
psl_normalize(const char *domain, char *out)
{
	size_t n = 0;

	if (domain == NULL || domain[0] == '.' || domain[0] == '[')
		return -1;
	for (const char *s = domain; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || n >= PSL_DOMAIN_MAX)
			return -1;
		if (c == '.' && n > 0 && out[n - 1] == '.')
			return -1;
		out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (n > 0 && out[n - 1] == '.')
		n--;
	if (n == 0 || out[n - 1] == '.')
		return -1;
	out[n] = '\0';
	return (int)n;
}

char *
psl_domain_to_ascii(const char *domain)
{
	char d[PSL_DOMAIN_MAX + 1];
	struct buf out;
	const char *s;

	if (psl_normalize(domain, d) < 0)
		return NULL;
	buf_init(&out, 0);
	for (s = d; s != NULL;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (label_to_ascii(s, len, &out) < 0) {
			buf_free(&out);
			return NULL;
		}
		if (dot != NULL)
			buf_putc(&out, '.');
		s = dot ? dot + 1 : NULL;
	}
	return buf_steal(&out, NULL);
}

/* ------------------------------------------------------------------ */
/* Look-ups */

static bool
psl_has(const struct psl *p, const char *prefix, const char *name)
{
	char key[PSL_DOMAIN_MAX + 4];

	if (p == NULL)
		return false;
	if (prefix[0] == '\0')
		return hashmap_get(p->rules, name) != NULL;
	if ((size_t)snprintf(key, sizeof(key), "%s%s", prefix, name) >=
	    sizeof(key))
		return false;
	return hashmap_get(p->rules, key) != NULL;
}

static const char *
next_label(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot ? dot + 1 : NULL;
}

/* Offset in the normalised name d where its public suffix starts. */
static size_t
psl_suffix_offset(const struct psl *p, const char *d)
{
	const char *s, *last = d;

	/* An exception rule prevails over any other (publicsuffix.org). */
	for (s = d; s != NULL; s = next_label(s)) {
		if (psl_has(p, "!", s) && next_label(s) != NULL)
			return (size_t)(next_label(s) - d);
	}
	/* Otherwise the rule with the most labels: the longest suffix. */
	for (s = d; s != NULL; s = next_label(s)) {
		const char *rest = next_label(s);

		if (psl_has(p, "", s) || (rest != NULL &&
		    psl_has(p, "*.", rest)))
			return (size_t)(s - d);
		last = s;
	}
	return (size_t)(last - d);	/* the implicit rule "*" */
}

char *
psl_public_suffix(const struct psl *p, const char *domain)
{
	char d[PSL_DOMAIN_MAX + 1];

	if (psl_normalize(domain, d) < 0)
		return NULL;
	return xstrdup(d + psl_suffix_offset(p, d));
}

/* Offset of the registrable domain in d, or -1 if d is a public suffix. */
static int
psl_registrable_offset(const struct psl *p, const char *d)
{
	size_t off = psl_suffix_offset(p, d);

	if (off == 0)
		return -1;
	off--;			/* the dot before the suffix */
	while (off > 0 && d[off - 1] != '.')
		off--;
	return (int)off;
}

char *
psl_registrable_domain(const struct psl *p, const char *domain)
{
	char d[PSL_DOMAIN_MAX + 1];
	int off;

	if (psl_normalize(domain, d) < 0 ||
	    (off = psl_registrable_offset(p, d)) < 0)
		return NULL;
	return xstrdup(d + off);
}

char *
psl_org_domain(const struct psl *p, const char *domain)
{
	char d[PSL_DOMAIN_MAX + 1];
	int off;

	if (psl_normalize(domain, d) < 0)
		return NULL;
	off = psl_registrable_offset(p, d);
	return xstrdup(d + (off < 0 ? 0 : off));
}

/* ------------------------------------------------------------------ */
/* Loading */

static void
psl_add(struct psl *p, const char *rule, enum psl_section sec)
{
	bool exception = rule[0] == '!';
	char *ascii;

	hashmap_put(p->rules, rule, (void *)(uintptr_t)sec);
	p->nrules++;
	ascii = psl_domain_to_ascii(rule + exception);
	if (ascii != NULL && strcmp(ascii, rule + exception) != 0) {
		char *key = xasprintf("%s%s", exception ? "!" : "", ascii);

		hashmap_put(p->rules, key, (void *)(uintptr_t)sec);
		free(key);
	}
	free(ascii);
}

/* One line of the list: a rule up to the first white space, or a
 * comment (which may switch the section). */
static void
psl_line(struct psl *p, const char *s, size_t n, enum psl_section *sec)
{
	char rule[PSL_DOMAIN_MAX + 1], norm[PSL_DOMAIN_MAX + 1];
	size_t i = 0, len;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		if (memmem(s + i, n - i, "===BEGIN ICANN DOMAINS===", 25))
			*sec = PSL_ICANN;
		else if (memmem(s + i, n - i, "===BEGIN PRIVATE DOMAINS===",
		    27))
			*sec = PSL_PRIVATE;
		else if (memmem(s + i, n - i, "===END ", 7))
			*sec = PSL_NONE;
		return;
	}
	for (len = 0; i + len < n && (unsigned char)s[i + len] > ' '; len++)
		;
	if (len == 0 || len > PSL_DOMAIN_MAX)
		return;
	memcpy(rule, s + i, len);
	rule[len] = '\0';
	/* Check the rule's shape; the "!" of an exception is not a label. */
	if (psl_normalize(rule + (rule[0] == '!'), norm) < 0)
		return;
	if (rule[0] == '!') {
		if ((size_t)snprintf(rule, sizeof(rule), "!%s", norm) <
		    sizeof(rule))
			psl_add(p, rule, *sec);
	} else {
		psl_add(p, norm, *sec);
	}
}

struct psl *
psl_parse(const char *data, size_t len)
{
	struct psl *p = xmalloc(sizeof(*p));
	enum psl_section sec = PSL_NONE;
	size_t pos = 0;

	p->rules = hashmap_new(0);
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;

		psl_line(p, data + pos, end - pos, &sec);
		pos = end + 1;
	}
	return p;
}

/* Reads the whole file into a fresh buffer; NULL and errno on failure. */
static char *
psl_read_file(const char *path, size_t *len_r)
{
	struct stat st;
	char *data;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PSL_FILE_MAX) {
		close(fd);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len_r = got;
	return data;
}

struct psl *
psl_load(const char *path)
{
	struct psl *p;
	size_t len = 0;
	char *data;

	if (path == NULL)
		path = PSL_DEFAULT_PATH;
	errno = 0;
	data = psl_read_file(path, &len);
	if (data == NULL) {
		log_warn("- psl load_failed path=%s error=\"%s\" "
		    "fallback=last-two-labels", path, strerror(errno));
		return psl_parse("", 0);
	}
	p = psl_parse(data, len);
	free(data);
	if (p->nrules == 0)
		log_warn("- psl empty path=%s fallback=last-two-labels", path);
	else
		log_info("- psl loaded path=%s rules=%zu", path, p->nrules);
	return p;
}

void
psl_free(struct psl **p)
{
	if (*p == NULL)
		return;
	hashmap_free(&(*p)->rules, NULL);
	XFREE(p);
}

size_t
psl_rule_count(const struct psl *p)
{
	return p ? p->nrules : 0;
}
