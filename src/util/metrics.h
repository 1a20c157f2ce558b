/*
 * metrics - counters, gauges and histograms, rendered in the Prometheus
 * text exposition format (version 0.0.4) for GET /metrics.
 *
 * The registry is a table of struct metric fixed at compile time (tem's
 * own: metrics_list.h): name, help, type, one optional label whose values
 * are fixed too, and for histograms the bucket bounds. Nothing is ever
 * registered at run time, so a series is never duplicated, never missing
 * and a render needs no lock on the table.
 *
 * Cost: an increment is one relaxed atomic add on a per-thread-stripe
 * cell (METRICS_STRIPES cache lines per series, picked by a thread-local
 * index), so loop threads do not bounce one cache line between cores;
 * measured in test-metrics (a few ns). A render sums the stripes.
 *
 * Gauges are either stored (metric_add with +1/-1: sessions open now) or
 * computed at scrape time by a callback set at start (metric_gauge_fn:
 * queue size, RSS), which runs on the scraping loop thread and must be
 * cheap and non-blocking.
 *
 * Trust: no outside input; label values are ours but escaped anyway.
 */
#ifndef TEM_METRICS_H
#define TEM_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define METRICS_STRIPES		4	/* cells per series (threads spread) */
#define METRICS_MAX_VALUES	12	/* label values of one metric */
#define METRICS_MAX_BUCKETS	14	/* histogram bounds, +Inf extra */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* A gauge's value at scrape time for label value i. */
typedef double metric_gauge_fn(unsigned i);

/* One cache line per stripe of a counter or stored gauge. */
struct metric_cell {
	_Alignas(64) _Atomic int64_t v[METRICS_MAX_VALUES];
};

/* A histogram's stripe: bucket counts (last = +Inf), sum in ns. */
struct metric_hcell {
	_Alignas(64) _Atomic uint64_t b[METRICS_MAX_VALUES]
	    [METRICS_MAX_BUCKETS + 1];
	_Atomic uint64_t sum_ns[METRICS_MAX_VALUES];
};

struct metric {
	const char		*name;		/* [a-zA-Z_:][a-zA-Z0-9_:]* */
	const char		*help;
	enum metric_type	 type;
	const char		*label;		/* NULL: one series */
	const char *const	*values;	/* label values, NULL-ended */
	const double		*buckets;	/* seconds, ascending, ended
						 * by 0 (histograms) */
	/* state */
	_Atomic(metric_gauge_fn *) fn;		/* gauges: NULL = stored */
	struct metric_cell	 cells[METRICS_STRIPES];
	struct metric_hcell	*hcells;	/* histograms: [STRIPES] */
};

/* This thread's stripe (set on first use). */
unsigned metrics_stripe(void);

/* Adds n to series i (label value index; 0 without a label). */
static inline void
metric_add(struct metric *m, unsigned i, int64_t n)
{
	atomic_fetch_add_explicit(&m->cells[metrics_stripe()].v[i], n,
	    memory_order_relaxed);
}

/* Records one observation of ns nanoseconds in histogram series i. */
void metric_observe_ns(struct metric *m, unsigned i, uint64_t ns);

/* Sets the scrape-time callback of a gauge (at start). */
void metric_gauge_fn_set(struct metric *m, metric_gauge_fn *fn);

/* Checks a table (names, value and bucket counts) and allocates the
 * histograms' cells; aborts on a programming error. */
void metrics_table_init(struct metric *tab, size_t n);
void metrics_table_free(struct metric *tab, size_t n);

/* The sum of series i over the stripes (counters and stored gauges). */
int64_t metric_value(const struct metric *m, unsigned i);

/* Appends the whole table in text format 0.0.4. -1 if b is full. */
int metrics_render(struct buf *b, const struct metric *tab, size_t n);

/* Appends s as a label value: \ " and newline escaped. */
int metrics_escape(struct buf *b, const char *s);

/* Monotonic nanoseconds, for timing what a histogram records. */
uint64_t metrics_now_ns(void);

#endif
