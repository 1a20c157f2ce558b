/*
 * report_int - internal to src/report: the counters in memory between
 * two flushes, as report_note.c keeps them and report_db.c writes them.
 *
 * A counter's key is its kind letter and its fields joined by
 * REPORT_SEP (no field holds it: report_note.c cleans control bytes):
 *   P day domain policy                      a success, b failure
 *   F day domain policy result sip rmx rhelo rip additional     a count
 *   D day domain                              extra: the policy JSON
 *   R day domain ip disp dkim_eval spf_eval header_from envelope_from
 *     dkim spf                                                  a count
 */
#ifndef TEM_REPORT_INT_H
#define TEM_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>

struct hashmap;

#define REPORT_SEP	'\x1f'

struct report_count {
	uint64_t	 a, b;
	char		*extra;
};

/* Takes the counters gathered so far (a fresh empty set replaces them)
 * and how many events were dropped over REPORT_PENDING_MAX. */
struct hashmap *report_pending_take(uint64_t *dropped_r);
void report_pending_free(struct hashmap **m);

/* The database of data_dir/reports (report_db.c); report thread only. */
struct report_db;
struct report_tls;
struct report_dmarc;

struct report_db *report_db_open(const char *data_dir, char **error_r);
void report_db_close(struct report_db **db);
/* Adds the counters of m to the database in one transaction; counters
 * over the per-day limits are dropped and counted in *dropped_r. */
int report_db_flush(struct report_db *db, struct hashmap *m,
    uint64_t *dropped_r);

enum report_kind { REPORT_TLS, REPORT_DMARC };

struct report_job {
	enum report_kind kind;
	char		 day[11];
	char		*domain;
};

/* The reports not sent yet: every day before `before` ("YYYY-MM-DD"),
 * or only `only` when not NULL (today included). */
int report_db_jobs(struct report_db *db, const char *before,
    const char *only, struct report_job **jobs_r, size_t *n_r);
void report_jobs_free(struct report_job *jobs, size_t n);
int report_db_tls(struct report_db *db, const char *day, const char *domain,
    struct report_tls *t);
int report_db_dmarc(struct report_db *db, const char *day,
    const char *domain, struct report_dmarc *d);
int report_db_mark_sent(struct report_db *db, enum report_kind kind,
    const char *day, const char *domain);
/* Forgets the days before `before`. */
void report_db_prune(struct report_db *db, const char *before);

#endif
