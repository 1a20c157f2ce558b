/*
 * metrics_list - tem's metrics table (see metrics_list.h): names, help,
 * types and label values, fixed at compile time.
 *
 * Trust: internal.
 */
#include <string.h>

#include "util/metrics_list.h"
#include "version.h"

static const char *const protos[] = { "smtp", "submission", "imap", "pop3",
    "managesieve", "http", NULL };
static const char *const where[] = { "local", "remote", NULL };
static const char *const reasons[] = { "policy", "spam", "sieve", "size",
    "quota", NULL };
static const char *const services[] = { "smtp", "submission", "submissions",
    "imap", "imaps", "pop3", "pop3s", "managesieve", "https", "outbound",
    NULL };
static const char *const results[] = { "pass", "fail", "softfail",
    "neutral", "none", "temperror", "permerror", "policy", NULL };
static const char *const committers[] = { "maildir", "queue", NULL };
static const char *const version[] = { TEM_VERSION, NULL };

/* fsync-bound: 100 us (page cache, tmpfs) to 10 s (a stalled disk) */
static const double commit_buckets[] = { 0.0001, 0.00025, 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10, 0 };

#define C(n, h, l, v) { .name = (n), .help = (h), .type = METRIC_COUNTER, \
	.label = (l), .values = (v) }
#define G(n, h, l, v) { .name = (n), .help = (h), .type = METRIC_GAUGE, \
	.label = (l), .values = (v) }

struct metric metrics_tem[M_COUNT] = {
	[M_BUILD_INFO] = G("tem_build_info", "Always 1; the version as a "
	    "label.", "version", version),
	[M_START_TIME] = G("process_start_time_seconds", "Start time of the "
	    "process since the Unix epoch in seconds.", NULL, NULL),
	[M_RSS] = G("process_resident_memory_bytes", "Resident memory size "
	    "in bytes.", NULL, NULL),
	[M_FDS] = G("process_open_fds", "Number of open file descriptors.",
	    NULL, NULL),
	[M_SESSIONS] = C("tem_sessions_total", "Sessions accepted, by "
	    "protocol.", "protocol", protos),
	[M_SESSIONS_OPEN] = G("tem_sessions_open", "Sessions open now, by "
	    "protocol.", "protocol", protos),
	[M_MSG_RECEIVED] = C("tem_messages_received_total", "Messages "
	    "accepted with 250 (SMTP and submission).", NULL, NULL),
	[M_MSG_DELIVERED] = C("tem_messages_delivered_total", "Deliveries: "
	    "local copies made and remote recipients accepted.", "where",
	    where),
	[M_MSG_DEFERRED] = C("tem_messages_deferred_total", "Remote "
	    "delivery attempts deferred (recipients left for a retry).",
	    NULL, NULL),
	[M_MSG_BOUNCED] = C("tem_messages_bounced_total", "Delivery status "
	    "notifications (bounces) made.", NULL, NULL),
	[M_MSG_REJECTED] = C("tem_messages_rejected_total", "Messages or "
	    "recipients refused, by reason class.", "reason", reasons),
	[M_QUEUE_SIZE] = G("tem_queue_messages", "Messages in the outbound "
	    "queue.", NULL, NULL),
	[M_QUEUE_OLDEST] = G("tem_queue_oldest_seconds", "Age of the oldest "
	    "queued message in seconds (0: empty).", NULL, NULL),
	[M_AUTH_OK] = C("tem_auth_successes_total", "Successful logins, by "
	    "protocol.", "protocol", protos),
	[M_AUTH_FAIL] = C("tem_auth_failures_total", "Failed logins, by "
	    "protocol.", "protocol", protos),
	[M_TLS_OK] = C("tem_tls_handshakes_total", "TLS handshakes "
	    "completed, by service.", "service", services),
	[M_TLS_FAIL] = C("tem_tls_handshake_failures_total", "TLS handshakes "
	    "failed, by service.", "service", services),
	[M_SPF] = C("tem_spf_results_total", "SPF results of received "
	    "mail.", "result", results),
	[M_DKIM] = C("tem_dkim_results_total", "DKIM results of received "
	    "mail (one per signature; none when unsigned).", "result",
	    results),
	[M_DMARC] = C("tem_dmarc_results_total", "DMARC results of received "
	    "mail.", "result", results),
	[M_COMMIT_SECONDS] = { .name = "tem_commit_seconds", .help = "Time "
	    "of one group commit (a batch made durable), by committer.",
	    .type = METRIC_HISTOGRAM, .label = "committer",
	    .values = committers, .buckets = commit_buckets },
};

unsigned
metrics_result_index(const char *r)
{
	for (unsigned i = 0; results[i] != NULL; i++)
		if (strcmp(r, results[i]) == 0)
			return i;
	return MX_PERMERROR;
}
