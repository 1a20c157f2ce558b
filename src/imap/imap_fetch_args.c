/*
 * imap_fetch_args - the FETCH grammar: items and macros, BODY[...] and
 * BINARY[...] sections with partials, CHANGEDSINCE/VANISHED modifiers,
 * PREVIEW and its (LAZY) (see imap_args.h).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args_int.h"
#include "util/buf.h"

/* ------------------------------------------------------------------ */
/* FETCH                                                                */

static const struct {
	const char	*name;
	unsigned	 items;
} fetch_atoms[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "UID", IMAP_FETCH_UID },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	{ "SAVEDATE", IMAP_FETCH_SAVEDATE },
	{ "EMAILID", IMAP_FETCH_EMAILID },
	{ "THREADID", IMAP_FETCH_THREADID },
	{ "PREVIEW", IMAP_FETCH_PREVIEW },
};
#define NFETCH_ATOMS (sizeof(fetch_atoms) / sizeof(fetch_atoms[0]))

#define FETCH_FAST (IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | \
	IMAP_FETCH_RFC822_SIZE)
#define FETCH_ALL (FETCH_FAST | IMAP_FETCH_ENVELOPE)
#define FETCH_FULL (FETCH_ALL | IMAP_FETCH_BODY)

static const struct {
	const char	*prefix;	/* up to and including "[" */
	bool		 peek, binary, binary_size;
	const char	*label;
} section_kinds[] = {
	{ "BODY[", false, false, false, "BODY" },
	{ "BODY.PEEK[", true, false, false, "BODY" },
	{ "BINARY[", false, true, false, "BINARY" },
	{ "BINARY.PEEK[", true, true, false, "BINARY" },
	{ "BINARY.SIZE[", false, false, true, "BINARY.SIZE" },
};
#define NSECTION_KINDS (sizeof(section_kinds) / sizeof(section_kinds[0]))

static void
fetch_body_free(struct imap_fetch_body *b)
{
	unsigned i;

	free(b->section);
	free(b->part);
	for (i = 0; i < b->field_count; i++)
		free(b->fields[i]);
	free(b->fields);
	free(b->label);
	memset(b, 0, sizeof(*b));
}

/* section-part: nz-number *("." nz-number). Leaves *sp at what follows
   (".TEXT", "]"). */
static int
parse_section_part(const char **sp, struct imap_fetch_body *b)
{
	const char *s = *sp;
	uint64_t n;

	while (is_digit(*s)) {
		if (*s == '0' || b->part_count == IMAP_FETCH_PARTS_MAX)
			return -1;
		for (n = 0; is_digit(*s); s++) {
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > UINT32_MAX)
				return -1;
		}
		b->part = xrealloc(b->part,
		    (b->part_count + 1) * sizeof(*b->part));
		b->part[b->part_count++] = (uint32_t)n;
		if (s[0] != '.' || !is_digit(s[1]))
			break;
		s++;
	}
	*sp = s;
	return 0;
}

/* A header field name: printable ASCII except ":" (RFC 5322 ftext). */
static bool
field_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':')
			return false;
	return true;
}

/* header-list: "(" header-fld-name *(SP header-fld-name) ")", names as
   atoms or quoted strings. */
static int
parse_header_list(const char **sp, struct imap_fetch_body *b)
{
	const char *s = *sp;
	struct buf name;
	int r = -1;

	if (*s++ != '(')
		return -1;
	buf_init(&name, 0);
	for (;;) {
		buf_reset(&name);
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				else if (*s == '\0' || *s == '\\')
					goto out;
				buf_putc(&name, *s);
			}
			s++;
		} else
			for (; is_atom_char((unsigned char)*s); s++)
				buf_putc(&name, *s);
		if (!field_name_valid(buf_cstr(&name), name.len) ||
		    name.len > IMAP_FETCH_FIELD_LEN_MAX ||
		    b->field_count == IMAP_FETCH_FIELDS_MAX)
			goto out;
		b->fields = xrealloc(b->fields,
		    (b->field_count + 1) * sizeof(*b->fields));
		b->fields[b->field_count++] = xstrdup(buf_cstr(&name));
		if (*s == ')')
			break;
		if (*s++ != ' ')
			goto out;
	}
	*sp = s + 1;
	r = 0;
out:
	buf_free(&name);
	return r;
}

/* section-text after a part ("." done) or section-msgtext without one. */
static int
parse_section_text(const char **sp, struct imap_fetch_body *b)
{
	static const struct {
		const char		*name;
		enum imap_fetch_section_text	 text;
	} texts[] = {
		{ "HEADER.FIELDS.NOT ", IMAP_FETCH_SECTION_HEADER_FIELDS_NOT },
		{ "HEADER.FIELDS ", IMAP_FETCH_SECTION_HEADER_FIELDS },
		{ "HEADER", IMAP_FETCH_SECTION_HEADER },
		{ "TEXT", IMAP_FETCH_SECTION_TEXT },
		{ "MIME", IMAP_FETCH_SECTION_MIME },
	};
	size_t i, n;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		n = strlen(texts[i].name);
		if (strncasecmp(*sp, texts[i].name, n) != 0)
			continue;
		if (texts[i].name[n - 1] != ' ' && (*sp)[n] != ']')
			continue;
		if (texts[i].text == IMAP_FETCH_SECTION_MIME && b->part_count == 0)
			return -1;
		b->text = texts[i].text;
		*sp += n;
		if (texts[i].name[n - 1] == ' ')
			return parse_header_list(sp, b);
		return 0;
	}
	return -1;
}

/* partial: "<" number64 "." nz-number64 ">" at the end of the item. */
static int
parse_partial(const char *s, struct imap_fetch_body *b)
{
	char tmp[48];
	const char *dot, *end;

	if (*s == '\0')
		return 0;
	if (*s != '<' || (end = strchr(s, '>')) == NULL || end[1] != '\0' ||
	    (size_t)(end - s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s + 1, (size_t)(end - s - 1));
	tmp[end - s - 1] = '\0';
	if ((dot = strchr(tmp, '.')) == NULL)
		return -1;
	tmp[dot - tmp] = '\0';
	if (imap_parse_number64(tmp, &b->offset) < 0 ||
	    imap_parse_number64(dot + 1, &b->length) < 0 || b->length == 0 ||
	    dot[1] == '0')
		return -1;
	b->partial = true;
	return 0;
}

/* Appends a header name to a label: as an atom when it can be one. */
static void
label_field(struct buf *l, const char *f)
{
	const char *p;

	for (p = f; *p != '\0' && is_atom_char((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		for (p = f; *p != '\0'; p++)
			buf_putc(l, (char)toupper((unsigned char)*p));
		return;
	}
	buf_putc(l, '"');
	for (p = f; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(l, '\\');
		buf_putc(l, (char)toupper((unsigned char)*p));
	}
	buf_putc(l, '"');
}

static void
make_label(struct imap_fetch_body *b, const char *kind)
{
	static const char *const text_names[] = {
		"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT",
		"MIME",
	};
	struct buf l;
	unsigned i;

	buf_init(&l, 0);
	buf_printf(&l, "%s[", kind);
	for (i = 0; i < b->part_count; i++)
		buf_printf(&l, "%s%u", i ? "." : "", b->part[i]);
	if (b->text != IMAP_FETCH_SECTION_WHOLE)
		buf_printf(&l, "%s%s", b->part_count ? "." : "",
		    text_names[b->text]);
	if (b->field_count > 0) {
		buf_puts(&l, " (");
		for (i = 0; i < b->field_count; i++) {
			if (i > 0)
				buf_putc(&l, ' ');
			label_field(&l, b->fields[i]);
		}
		buf_putc(&l, ')');
	}
	buf_putc(&l, ']');
	if (b->partial)
		buf_printf(&l, "<%llu>", (unsigned long long)b->offset);
	b->label = buf_steal(&l, NULL);
}

/* One BODY[...] / BINARY[...] item; s is the whole atom. Returns 1 when s
   is such an item and was parsed into b, 0 when it is not one, -1 when it
   is one but malformed. */
static int
parse_body_item(const char *s, struct imap_fetch_body *b)
{
	const char *start;
	size_t i, n;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < NSECTION_KINDS; i++) {
		n = strlen(section_kinds[i].prefix);
		if (strncasecmp(s, section_kinds[i].prefix, n) == 0)
			break;
	}
	if (i == NSECTION_KINDS)
		return 0;
	b->peek = section_kinds[i].peek;
	b->binary = section_kinds[i].binary;
	b->binary_size = section_kinds[i].binary_size;
	s += n;
	start = s;
	if (parse_section_part(&s, b) < 0)
		goto bad;
	if (!b->binary && !b->binary_size && *s != ']') {
		if (b->part_count > 0 && *s++ != '.')
			goto bad;
		if (parse_section_text(&s, b) < 0)
			goto bad;
	}
	if (*s != ']')
		goto bad;
	b->section = xstrndup(start, (size_t)(s - start));
	if (parse_partial(s + 1, b) < 0 || (b->binary_size && b->partial))
		goto bad;
	make_label(b, section_kinds[i].label);
	return 1;
bad:
	fetch_body_free(b);
	return -1;
}

static int
parse_fetch_att(struct imap_fetch *f, const struct imap_arg *a,
    const char **error_r)
{
	struct imap_fetch_body b;
	size_t i;
	int r;

	if (a->type != IMAP_ARG_ATOM)
		return err(error_r, "Invalid FETCH item");
	for (i = 0; i < NFETCH_ATOMS; i++) {
		if (strcasecmp(a->str, fetch_atoms[i].name) == 0) {
			f->items |= fetch_atoms[i].items;
			return 0;
		}
	}
	if ((r = parse_body_item(a->str, &b)) <= 0)
		return err(error_r, r < 0 ? "Invalid FETCH section" :
		    "Unknown FETCH item");
	f->bodies = xrealloc(f->bodies,
	    (f->body_count + 1) * sizeof(*f->bodies));
	f->bodies[f->body_count++] = b;
	return 0;
}

/* fetch-modifiers: (CHANGEDSINCE n) and (VANISHED), RFC 7162. */
static int
parse_fetch_modifiers(struct imap_fetch *f, const struct imap_arg *a,
    bool uid, const char **error_r)
{
	const struct imap_arg *m;
	unsigned i;

	if (a->type != IMAP_ARG_LIST || a->list_count == 0)
		return err(error_r, "Invalid FETCH modifiers");
	for (i = 0; i < a->list_count; i++) {
		m = &a->list[i];
		if (imap_arg_atom_equals(m, "CHANGEDSINCE") &&
		    i + 1 < a->list_count && !f->changedsince_given &&
		    m[1].type == IMAP_ARG_ATOM &&
		    imap_parse_number64(m[1].str, &f->changedsince) == 0) {
			f->changedsince_given = true;
			f->items |= IMAP_FETCH_MODSEQ;
			i++;
		} else if (imap_arg_atom_equals(m, "VANISHED") &&
		    !f->vanished)
			f->vanished = true;
		else
			return err(error_r, "Invalid FETCH modifier");
	}
	if (f->vanished && (!uid || !f->changedsince_given))
		return err(error_r,
		    "VANISHED needs UID FETCH and CHANGEDSINCE");
	return 0;
}

/* PREVIEW's modifiers (RFC 8970): only LAZY, which changes nothing here
   (a preview is always computed, never "not yet"). */
static int
parse_preview_mods(const struct imap_arg *a, const char **error_r)
{
	unsigned i;

	if (a->list_count == 0)
		return err(error_r, "Invalid PREVIEW modifiers");
	for (i = 0; i < a->list_count; i++)
		if (!imap_arg_atom_equals(&a->list[i], "LAZY"))
			return err(error_r, "Unknown PREVIEW modifier");
	return 0;
}

static int
parse_fetch_items(struct imap_fetch *f, const struct imap_arg *a,
    const char **error_r)
{
	const char *s;

	if ((s = atom_of(a)) != NULL) {
		if (strcasecmp(s, "ALL") == 0)
			f->items |= FETCH_ALL;
		else if (strcasecmp(s, "FAST") == 0)
			f->items |= FETCH_FAST;
		else if (strcasecmp(s, "FULL") == 0)
			f->items |= FETCH_FULL;
		else
			return parse_fetch_att(f, a, error_r);
		return 0;
	}
	return imap_args_parse_fetch_atts(a, f, error_r);
}

int
imap_args_parse_fetch_atts(const struct imap_arg *a, struct imap_fetch *f,
    const char **error_r)
{
	unsigned i;

	if (a->type != IMAP_ARG_LIST || a->list_count == 0)
		return err(error_r, "Invalid FETCH items");
	for (i = 0; i < a->list_count; i++) {
		if (parse_fetch_att(f, &a->list[i], error_r) < 0)
			return -1;
		if (imap_arg_atom_equals(&a->list[i], "PREVIEW") &&
		    i + 1 < a->list_count &&
		    a->list[i + 1].type == IMAP_ARG_LIST &&
		    parse_preview_mods(&a->list[++i], error_r) < 0)
			return -1;
	}
	return 0;
}

int
imap_args_parse_fetch(const struct imap_arg *args, unsigned count,
    bool uid, struct imap_fetch *f, const char **error_r)
{
	memset(f, 0, sizeof(*f));
	if (count < 2 || count > 3)
		return err(error_r, "FETCH needs a sequence set and items");
	if (imap_seqset_from_arg(&args[0], true, &f->set, error_r) < 0)
		return -1;
	if (parse_fetch_items(f, &args[1], error_r) < 0 ||
	    (count == 3 &&
	    parse_fetch_modifiers(f, &args[2], uid, error_r) < 0)) {
		imap_fetch_free(f);
		return -1;
	}
	if (uid)
		f->items |= IMAP_FETCH_UID;
	return 0;
}

void
imap_fetch_free(struct imap_fetch *f)
{
	unsigned i;

	imap_seqset_free(&f->set);
	for (i = 0; i < f->body_count; i++)
		fetch_body_free(&f->bodies[i]);
	free(f->bodies);
	memset(f, 0, sizeof(*f));
}
