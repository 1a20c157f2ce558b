/*
 * test-metrics - rendering, escaping, histogram buckets, concurrent
 * increments, and the cost of one increment (printed, not asserted).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/metrics.h"
#include "util/metrics_list.h"
#include "util/test.h"

static const char *const vals[] = { "a", "we\"ird\\\nv", NULL };
static const double bk[] = { 0.001, 0.01, 0.1, 0 };

static struct metric tab[] = {
	{ .name = "t_c_total", .help = "A counter\\with\nescapes.",
	  .type = METRIC_COUNTER, .label = "k", .values = vals },
	{ .name = "t_g", .help = "A gauge.", .type = METRIC_GAUGE },
	{ .name = "t_h_seconds", .help = "A histogram.",
	  .type = METRIC_HISTOGRAM, .buckets = bk },
	{ .name = "t_hl_seconds", .help = "Labelled.",
	  .type = METRIC_HISTOGRAM, .label = "k", .values = vals,
	  .buckets = bk },
};
#define NTAB (sizeof(tab) / sizeof(tab[0]))

static double
gauge(unsigned i)
{
	return 42.5 + i;
}

static struct buf b;	/* freed in main: an assert returns early */

static const char *
render(struct buf *bp)
{
	buf_reset(bp);
	if (metrics_render(bp, tab, NTAB) < 0)
		return NULL;
	return buf_cstr(bp);
}

static void
test_render(void)
{
	const char *t;

	metric_add(&tab[0], 0, 3);
	metric_add(&tab[0], 1, 1);
	metric_gauge_fn_set(&tab[1], gauge);
	metric_observe_ns(&tab[2], 0, 500000);		/* 0.0005 */
	metric_observe_ns(&tab[2], 0, 5000000);		/* 0.005 */
	metric_observe_ns(&tab[2], 0, 2000000000);	/* 2 s: +Inf only */
	metric_observe_ns(&tab[3], 1, 10000000);	/* exactly 0.01 */
	t = render(&b);
	TEST_ASSERT(t != NULL);
	TEST_ASSERT(strstr(t, "# HELP t_c_total A counter\\\\with\\nescapes."
	    "\n# TYPE t_c_total counter\n") != NULL);
	TEST_ASSERT(strstr(t, "t_c_total{k=\"a\"} 3\n") != NULL);
	TEST_ASSERT(strstr(t, "t_c_total{k=\"we\\\"ird\\\\\\nv\"} 1\n"));
	TEST_ASSERT(strstr(t, "# TYPE t_g gauge\nt_g 42.5\n") != NULL);
	TEST_ASSERT(strstr(t, "t_h_seconds_bucket{le=\"0.001\"} 1\n"
	    "t_h_seconds_bucket{le=\"0.01\"} 2\n"
	    "t_h_seconds_bucket{le=\"0.1\"} 2\n"
	    "t_h_seconds_bucket{le=\"+Inf\"} 3\n"
	    "t_h_seconds_sum 2.0055\n"
	    "t_h_seconds_count 3\n") != NULL);
	/* le is an upper bound, inclusive */
	TEST_ASSERT(strstr(t, "t_hl_seconds_bucket{k=\"a\",le=\"+Inf\"} 0\n"));
	TEST_ASSERT(strstr(t, "t_hl_seconds_bucket{k=\"we\\\"ird\\\\\\nv\","
	    "le=\"0.001\"} 0\n"));
	TEST_ASSERT(strstr(t, "t_hl_seconds_bucket{k=\"we\\\"ird\\\\\\nv\","
	    "le=\"0.01\"} 1\n"));
	/* a bounded buffer that is too small fails, not truncates quietly */
	{
		struct buf small;
		buf_init(&small, 64);
		TEST_ASSERT(metrics_render(&small, tab, NTAB) < 0);
		buf_free(&small);
	}
}

/* tem's own table renders, every name once */
static void
test_tem_table(void)
{
	const char *t;

	metrics_table_init(metrics_tem, M_COUNT);
	buf_reset(&b);
	METRIC_INC(M_AUTH_FAIL, MP_IMAP);
	metric_observe_ns(&metrics_tem[M_COMMIT_SECONDS], MC_QUEUE, 1000);
	TEST_ASSERT(metrics_render(&b, metrics_tem, M_COUNT) == 0);
	t = buf_cstr(&b);
	TEST_ASSERT(strstr(t, "tem_auth_failures_total{protocol=\"imap\"} 1\n"));
	TEST_ASSERT(strstr(t, "tem_commit_seconds_count{committer=\"queue\"} "
	    "1\n"));
	TEST_ASSERT(metrics_result_index("softfail") == MX_SOFTFAIL);
	TEST_ASSERT(metrics_result_index("bogus") == MX_PERMERROR);
}

#define NTHREADS 4
#define NINC 1000000

static void *
hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < NINC; i++) {
		metric_add(&tab[0], 0, 1);
		if (i % 100 == 0)
			metric_observe_ns(&tab[2], 0, 1);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[NTHREADS];
	int64_t before = metric_value(&tab[0], 0);
	uint64_t t0, t1;

	t0 = metrics_now_ns();
	for (int i = 0; i < NTHREADS; i++)
		TEST_ASSERT(pthread_create(&th[i], NULL, hammer, NULL) == 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	t1 = metrics_now_ns();
	TEST_ASSERT(metric_value(&tab[0], 0) - before ==
	    (int64_t)NTHREADS * NINC);
	/* one thread alone: the cost of an increment */
	t0 = metrics_now_ns();
	for (int i = 0; i < NINC; i++)
		metric_add(&tab[0], 1, 1);
	t1 = metrics_now_ns();
	printf("metrics: %.1f ns per increment (1 thread), %d threads ok\n",
	    (double)(t1 - t0) / NINC, NTHREADS);
}

int
main(void)
{
	buf_init(&b, 0);
	metrics_table_init(tab, NTAB);
	TEST_RUN(test_render);
	TEST_RUN(test_tem_table);
	TEST_RUN(test_threads);
	metrics_table_free(tab, NTAB);
	metrics_table_free(metrics_tem, M_COUNT);
	buf_free(&b);
	return test_done("test-metrics");
}
