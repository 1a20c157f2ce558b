/*
 * sieve_hindex - the header section as one run's tests read it, parsed
 * once: the fields in order (raw name and value ranges, built on the
 * first header, address, exists, date or duplicate test), the fields of
 * each name asked for, and per field its decoded value, its addresses
 * and its date, each made on first use and kept for the run. Twenty
 * rules on a 5 KB header used to walk and re-parse the whole section for
 * every test; now each field is parsed at most once per kind.
 * editheader drops the index (sr_hindex_drop) and the next test builds
 * it again from the edited section.
 *
 * Trust: the header is message text from anyone; the parsing is
 * rfc5322's and sieve_header.c's (bounded). The index holds at most one
 * entry per field of the section (itself bounded by MSG_HEAD_MAX) and
 * SR_HNAMES name lists (a script's names may come from variables: past
 * that many the last slot is reused).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_run_int.h"
#include "util/xmalloc.h"

#define SR_HNAMES	64

struct sr_hfield {
	struct rfc5322_field f;
	char		*dec;		/* the decoded value, once asked */
	char		**addrs;	/* its addresses, once asked */
	size_t		 naddrs;
	bool		 addrs_done;
	signed char	 date;		/* 0 not parsed, 1 parsed, -1 none */
	time_t		 when;
	int		 zone;
};

struct sr_hname {
	char		*name;
	size_t		*idx;		/* indexes into fields */
	size_t		 n;
};

struct sr_hindex {
	struct sr_hfield *f;
	size_t		 nf;
	struct sr_hname	 names[SR_HNAMES];
	size_t		 nnames;
};

static struct sr_hindex *
hindex(struct sieve_run *s)
{
	struct sr_hindex *h = s->hindex;
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t cap = 0;

	if (h != NULL)
		return h;
	h = xcalloc(1, sizeof(*h));
	rfc5322_iter_init(&it, s->head, s->head_len);
	while (rfc5322_iter_next(&it, &f) == 1) {
		if (h->nf == cap) {
			cap = cap ? cap * 2 : 32;
			h->f = xrealloc(h->f, cap * sizeof(*h->f));
		}
		memset(&h->f[h->nf], 0, sizeof(h->f[h->nf]));
		h->f[h->nf++].f = f;
	}
	s->hindex = h;
	return h;
}

size_t
sr_hfind(struct sieve_run *s, const char *name, const size_t **idx)
{
	struct sr_hindex *h = hindex(s);
	struct sr_hname *e;
	size_t i;

	for (i = 0; i < h->nnames; i++)
		if (strcasecmp(h->names[i].name, name) == 0) {
			*idx = h->names[i].idx;
			return h->names[i].n;
		}
	if (h->nnames < SR_HNAMES)
		e = &h->names[h->nnames++];
	else {
		e = &h->names[SR_HNAMES - 1];
		free(e->name);
		free(e->idx);
	}
	e->name = xstrdup(name);
	e->idx = NULL;
	e->n = 0;
	for (i = 0; i < h->nf; i++) {
		if (!rfc5322_field_is(&h->f[i].f, name))
			continue;
		if (e->idx == NULL)
			e->idx = xcalloc(h->nf - i, sizeof(*e->idx));
		e->idx[e->n++] = i;
	}
	*idx = e->idx;
	return e->n;
}

const char *
sr_hvalue(struct sieve_run *s, size_t fi)
{
	struct sr_hfield *f = &hindex(s)->f[fi];

	if (f->dec == NULL)
		f->dec = sieve_field_value(f->f.value, f->f.value_len);
	return f->dec;
}

size_t
sr_haddrs(struct sieve_run *s, size_t fi, char * const **addrs)
{
	struct sr_hfield *f = &hindex(s)->f[fi];

	if (!f->addrs_done) {
		sieve_field_addresses(f->f.value, f->f.value_len, &f->addrs,
		    &f->naddrs);
		f->addrs_done = true;
	}
	*addrs = f->addrs;
	return f->naddrs;
}

bool
sr_hdate(struct sieve_run *s, size_t fi, time_t *when, int *zone)
{
	struct sr_hfield *f = &hindex(s)->f[fi];
	const char *v;

	if (f->date == 0) {
		v = sr_hvalue(s, fi);
		/* Received: the date follows the last ';' (RFC 5260 4) */
		if (rfc5322_field_is(&f->f, "received") &&
		    strrchr(v, ';') != NULL)
			v = strrchr(v, ';') + 1;
		f->date = rfc5322_date_parse(v, strlen(v), &f->when,
		    &f->zone) < 0 ? -1 : 1;
	}
	*when = f->when;
	*zone = f->zone;
	return f->date > 0;
}

void
sr_hindex_drop(struct sieve_run *s)
{
	struct sr_hindex *h = s->hindex;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nf; i++) {
		free(h->f[i].dec);
		sieve_strings_free(&h->f[i].addrs, h->f[i].naddrs);
	}
	free(h->f);
	for (i = 0; i < h->nnames; i++) {
		free(h->names[i].name);
		free(h->names[i].idx);
	}
	free(h);
	s->hindex = NULL;
}
