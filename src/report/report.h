/*
 * report - aggregate reports tem sends: SMTP TLS reports (RFC 8460) about
 * its outbound TLS attempts and DMARC aggregate reports (RFC 7489 7.2)
 * about the mail it received.
 *
 * Data flow: the delivery engine calls tlsrpt_note() (policy/tlsrpt.h),
 * the inbound check calls report_note_dmarc(); both only add to counters
 * in memory (report_store.c, any thread, bounded). The report thread
 * (report_run.c) moves those counters into data_dir/reports/reports.db
 * every REPORT_FLUSH_SEC and at stop, and once a day, shortly after UTC
 * midnight, builds one report per finished day and domain (the builders
 * below, I/O-free) and queues it as a message (msg_author.h).
 *
 * Trust: what is counted comes from peers and DNS: every field is
 * cleaned (no control bytes) and cut at REPORT_FIELD_MAX octets before it
 * is kept; the builders escape what they write (JSON by jansson, XML
 * entities here).
 */
#ifndef TEM_REPORT_H
#define TEM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct dmarc_policy;
struct psl;
struct dkim_sig_result;
struct buf;

/* ---- limits (each with its reason) -------------------------------- */

#define REPORT_FIELD_MAX	255	/* a host name, an address, a reason */
#define REPORT_POLICY_MAX	8192	/* a TLS policy as JSON: 32 TLSA
					   records or an MTA-STS policy */
#define REPORT_PENDING_MAX	20000	/* distinct counters in memory
					   between two flushes ... */
#define REPORT_PENDING_BYTES	(16u << 20)	/* ... and their keys' bytes
					   (a key holds a policy: up to
					   REPORT_POLICY_MAX) */
#define REPORT_DOMAINS_MAX	2000	/* domains per day and kind */
#define REPORT_TLS_POLICIES_MAX	8	/* TLS policies per domain and day */
#define REPORT_DETAILS_MAX	100	/* failure rows per policy and day */
#define REPORT_DMARC_ROWS_MAX	1000	/* DMARC rows per domain and day */
#define REPORT_FLUSH_SEC	60	/* what a crash may lose */
#define REPORT_KEEP_DAYS	7	/* days kept on disk */

/* ---- the inbound side: one DMARC evaluation ----------------------- */

struct report_dmarc_event {
	const char		*source_ip;
	const char		*header_from;	/* the From domain */
	const char		*envelope_from;	/* MAIL FROM domain, or HELO */
	const struct dmarc_policy *pol;		/* the record (domain, rua) */
	const char		*disposition;	/* none|quarantine|reject */
	bool			 dkim_aligned_pass, spf_aligned_pass;
	const struct dkim_sig_result *dkim;	/* every signature */
	size_t			 ndkim;
	const char		*spf_domain;
	const char		*spf_scope;	/* "mfrom" or "helo" */
	const char		*spf_result;	/* RFC 7489 SPFResultType */
};

/* Counts one evaluation of a message whose From domain has a DMARC
 * record with rua (others have nobody to report to). Never blocks
 * longer than a mutex; drops (counted) over the limits. Any thread. */
void report_note_dmarc(const struct report_dmarc_event *ev);

/* Turns counting on or off (the config switches tlsrpt and
 * dmarc_reports; off before the report thread starts). */
void report_counting(bool tls, bool dmarc);
/* "YYYY-MM-DD" of t in UTC into day[11]. */
void report_day(time_t t, char day[11]);
/* The UTC midnight that starts day; -1 for a malformed day. */
time_t report_day_start(const char *day);

/* ---- the day's data, as read back for a report -------------------- */

struct report_tls_detail {
	char		*result, *sending_ip, *receiving_mx, *receiving_helo,
			*receiving_ip, *additional;
	uint64_t	 count;
};

struct report_tls_policy {
	char			*policy;	/* the RFC 8460 "policy" object
						   as JSON text */
	uint64_t		 success, failure;
	struct report_tls_detail *d;
	size_t			 nd;
};

struct report_tls {
	char			 day[11];
	char			*domain;
	struct report_tls_policy *p;
	size_t			 np;
};

struct report_dmarc_row {
	char		*source_ip, *disposition, *dkim_eval, *spf_eval,
			*header_from, *envelope_from;
	char		*dkim;		/* JSON [[domain, selector, result]] */
	char		*spf;		/* JSON [domain, scope, result] */
	uint64_t	 count;
};

struct report_dmarc {
	char			 day[11];
	char			*domain;	/* where the record was */
	char			*policy;	/* JSON {p, sp, pct, adkim,
						   aspf, fo, rua[]} */
	struct report_dmarc_row	*r;
	size_t			 nr;
};

void report_tls_clear(struct report_tls *t);
void report_dmarc_clear(struct report_dmarc *d);

/* ---- the builders (I/O-free) -------------------------------------- */

struct report_who {
	const char	*org;		/* organization-name / org_name */
	const char	*contact;	/* contact-info / email */
	const char	*report_id;
};

/* The RFC 8460 4.4 JSON report of t (malloc'd, NUL-terminated). */
char *report_tls_json(const struct report_tls *t,
    const struct report_who *who);
/* The RFC 7489 appendix C XML report of d (malloc'd). */
char *report_dmarc_xml(const struct report_dmarc *d,
    const struct report_who *who);
/* gzip of in[0..len) into out; -1 on a zlib failure. */
int report_gzip(const void *in, size_t len, struct buf *out);

/* A complete report message (LF line ends), its attachment the gzip'd
 * report. tls: multipart/report; report-type="tlsrpt" with the
 * TLS-Report-* fields (RFC 8460 5.3); else multipart/mixed with
 * application/gzip (RFC 7489 7.2.1.1). */
struct report_mail {
	bool		 tls;
	const char	*from, *to;
	const char	*domain;	/* the report domain */
	const char	*submitter;	/* our host name */
	const char	*report_id;
	const char	*filename;	/* the attachment's */
	const void	*gz;
	size_t		 gzlen;
	time_t		 now;
};
char *report_mail_build(const struct report_mail *m, size_t *len_r);

#endif
