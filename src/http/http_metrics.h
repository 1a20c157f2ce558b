/*
 * http_metrics - the /metrics route (Prometheus text format, only from
 * metrics_allow) and the scrape-time gauges: process start time, RSS,
 * open descriptors, queue size and oldest age.
 */
#ifndef TEM_HTTP_METRICS_H
#define TEM_HTTP_METRICS_H

#include "http/http.h"

/* At start, before loops run: prepares the table, sets the gauges'
 * callbacks and registers GET|HEAD /metrics. */
void http_metrics_init(void);
/* At exit: frees the histograms. */
void http_metrics_free(void);

extern http_handler_fn *const http_metrics_handler;

#endif
