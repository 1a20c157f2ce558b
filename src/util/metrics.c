/*
 * metrics - striped atomic counters and the text-format renderer (see
 * metrics.h).
 *
 * Trust: internal; renders only names and values fixed in the table.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/metrics.h"

static _Atomic unsigned next_stripe;
static _Thread_local unsigned my_stripe = ~0u;

unsigned
metrics_stripe(void)
{
	if (my_stripe == ~0u)
		my_stripe = atomic_fetch_add_explicit(&next_stripe, 1,
		    memory_order_relaxed) % METRICS_STRIPES;
	return my_stripe;
}

uint64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned
nvalues(const struct metric *m)
{
	unsigned n = 0;

	if (m->values == NULL)
		return 1;
	while (m->values[n] != NULL)
		n++;
	return n;
}

static unsigned
nbuckets(const struct metric *m)
{
	unsigned n = 0;

	while (m->buckets[n] > 0)
		n++;
	return n;
}

void
metric_observe_ns(struct metric *m, unsigned i, uint64_t ns)
{
	struct metric_hcell *h;
	double s = (double)ns / 1e9;
	unsigned k = 0;

	if (m->hcells == NULL)
		return;		/* before metrics_table_init (unit tests) */
	h = &m->hcells[metrics_stripe()];

	/* the first bucket whose bound holds s; the le= counts are made
	 * cumulative at render */
	while (m->buckets[k] > 0 && s > m->buckets[k])
		k++;
	atomic_fetch_add_explicit(&h->b[i][k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns[i], ns, memory_order_relaxed);
}

void
metric_gauge_fn_set(struct metric *m, metric_gauge_fn *fn)
{
	atomic_store(&m->fn, fn);
}

void
metrics_table_init(struct metric *tab, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		struct metric *m = &tab[j];
		if (nvalues(m) > METRICS_MAX_VALUES || (m->label == NULL) !=
		    (m->values == NULL))
			log_fatal("metrics: %s: bad label values", m->name);
		for (size_t k = 0; k < j; k++)
			if (strcmp(tab[k].name, m->name) == 0)
				log_fatal("metrics: %s twice", m->name);
		if (m->type != METRIC_HISTOGRAM || m->hcells != NULL)
			continue;
		if (m->buckets == NULL || nbuckets(m) > METRICS_MAX_BUCKETS)
			log_fatal("metrics: %s: bad buckets", m->name);
		m->hcells = aligned_alloc(64, METRICS_STRIPES *
		    sizeof(*m->hcells));
		if (m->hcells == NULL)
			log_fatal("metrics: out of memory");
		memset(m->hcells, 0, METRICS_STRIPES * sizeof(*m->hcells));
	}
}

void
metrics_table_free(struct metric *tab, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(tab[j].hcells);
		tab[j].hcells = NULL;
	}
}

int64_t
metric_value(const struct metric *m, unsigned i)
{
	int64_t v = 0;

	for (unsigned s = 0; s < METRICS_STRIPES; s++)
		v += atomic_load_explicit(&m->cells[s].v[i],
		    memory_order_relaxed);
	return v;
}

/* Label values escape \ " and newline; HELP text only \ and newline
 * (format 0.0.4). */
static int
escape(struct buf *b, const char *s, bool quote)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '\\')
			rc = buf_puts(b, "\\\\");
		else if (*s == '"' && quote)
			rc = buf_puts(b, "\\\"");
		else if (*s == '\n')
			rc = buf_puts(b, "\\n");
		else
			rc = buf_putc(b, *s);
	}
	return rc;
}

int
metrics_escape(struct buf *b, const char *s)
{
	return escape(b, s, true);
}

/* name{label="value"[,le="x"]} with the label part only when there is
 * one. */
static int
series(struct buf *b, const struct metric *m, const char *suffix,
    unsigned i, const char *le)
{
	int rc = buf_printf(b, "%s%s", m->name, suffix);

	if (m->label == NULL && le == NULL)
		return rc | buf_putc(b, ' ');
	rc |= buf_putc(b, '{');
	if (m->label != NULL) {
		rc |= buf_printf(b, "%s=\"", m->label);
		rc |= metrics_escape(b, m->values[i]);
		rc |= buf_putc(b, '"');
	}
	if (le != NULL)
		rc |= buf_printf(b, "%sle=\"%s\"", m->label ? "," : "", le);
	return rc | buf_puts(b, "} ");
}

static int
render_value(struct buf *b, double v)
{
	if (isnan(v))
		return buf_puts(b, "NaN\n");
	if (isinf(v))
		return buf_puts(b, v > 0 ? "+Inf\n" : "-Inf\n");
	if (v == (double)(long long)v && fabs(v) < 1e15)
		return buf_printf(b, "%lld\n", (long long)v);
	return buf_printf(b, "%.12g\n", v);
}

static int
render_histogram(struct buf *b, const struct metric *m, unsigned i)
{
	unsigned nb = nbuckets(m);
	uint64_t cum = 0, sum = 0;
	char le[32];
	int rc = 0;

	for (unsigned k = 0; k <= nb; k++) {
		for (unsigned s = 0; s < METRICS_STRIPES; s++)
			cum += atomic_load_explicit(&m->hcells[s].b[i][k],
			    memory_order_relaxed);
		if (k < nb)
			snprintf(le, sizeof(le), "%g", m->buckets[k]);
		else
			strcpy(le, "+Inf");
		rc |= series(b, m, "_bucket", i, le);
		rc |= buf_printf(b, "%llu\n", (unsigned long long)cum);
	}
	for (unsigned s = 0; s < METRICS_STRIPES; s++)
		sum += atomic_load_explicit(&m->hcells[s].sum_ns[i],
		    memory_order_relaxed);
	rc |= series(b, m, "_sum", i, NULL);
	rc |= render_value(b, (double)sum / 1e9);
	rc |= series(b, m, "_count", i, NULL);
	return rc | buf_printf(b, "%llu\n", (unsigned long long)cum);
}

int
metrics_render(struct buf *b, const struct metric *tab, size_t n)
{
	static const char *const types[] = { "counter", "gauge",
	    "histogram" };
	int rc = 0;

	for (size_t j = 0; j < n; j++) {
		const struct metric *m = &tab[j];
		metric_gauge_fn *fn = atomic_load(&m->fn);
		unsigned nv = nvalues(m);

		rc |= buf_printf(b, "# HELP %s ", m->name);
		rc |= escape(b, m->help, false);
		rc |= buf_printf(b, "\n# TYPE %s %s\n", m->name,
		    types[m->type]);
		for (unsigned i = 0; i < nv; i++) {
			if (m->type == METRIC_HISTOGRAM) {
				rc |= render_histogram(b, m, i);
				continue;
			}
			rc |= series(b, m, "", i, NULL);
			if (fn != NULL)
				rc |= render_value(b, fn(i));
			else
				rc |= buf_printf(b, "%lld\n",
				    (long long)metric_value(m, i));
		}
	}
	return rc < 0 ? -1 : 0;
}
