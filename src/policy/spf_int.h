/*
 * spf_int - the state of one SPF check, shared by the evaluator (spf.c:
 * frames, records, results) and its DNS mechanisms (spf_lookup.c: a, mx,
 * ptr, exists and the validation of the client's PTR names). Not for
 * other callers: their contract is spf.h.
 */
#ifndef TEM_SPF_INT_H
#define TEM_SPF_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "dns/dns.h"
#include "policy/spf.h"
#include "policy/spf_macro.h"
#include "policy/spf_record.h"

#define SPF_SLOTS	(SPF_MAX_PTR + 1)	/* PTR names, or one look-up */
#define SPF_REASON_MAX	300			/* octets of a reason */

struct spf_frame {
	char			*domain;	/* <domain> of this record */
	struct spf_record	*rec;		/* NULL while fetching */
	int			 next;		/* next term to evaluate */
	bool			 redirected;	/* reached by redirect= */
	struct spf_frame	*up;		/* the record including it */
};

struct spf_slot {
	struct spf_check	*c;
	void			*h;		/* pending handle, or NULL */
	int			 idx;		/* PTR name index */
};

enum spf_ptr_state { SPF_PTR_NONE, SPF_PTR_RUNNING, SPF_PTR_DONE };

typedef void spf_step_fn(struct spf_check *c);

struct spf_check {
	const struct spf_dns_ops *ops;
	void			*ctx;
	struct dns_addr		 ip;		/* the client, port 0 */
	int			 fam;		/* AF_INET or AF_INET6 */
	char			*sender;	/* s */
	char			*local;		/* l */
	char			*sdomain;	/* o */
	char			*helo;		/* h */
	char			 istr[64];	/* i */
	char			 cstr[INET6_ADDRSTRLEN];	/* c */
	char			 tstr[24];	/* t */
	struct spf_frame	*frame;
	int			 lookups;
	int			 voids;
	char			*target;	/* expanded domain of a term */
	struct spf_slot		 slots[SPF_SLOTS];
	int			 pending;
	/* Validated names of the client (ptr, %{p}). */
	enum spf_ptr_state	 ptr_state;
	int			 nptr;
	char			*ptr_name[SPF_MAX_PTR];
	bool			 ptr_ok[SPF_MAX_PTR];
	int			 ptr_voids;
	bool			 ptr_fail[SPF_MAX_PTR];	/* DNS error */
	bool			 ptr_temp;	/* the PTR look-up failed */
	spf_step_fn		*ptr_then;
	uint64_t		 started_ms;	/* monotonic */
	unsigned		 limit_ms;
	bool			 in_done;
	spf_done_fn		*done;
	void			*arg;
};

/* ---- spf.c ---------------------------------------------------------- */
/* Ends the check with res and a reason for the logs. */
void spf_error(struct spf_check *c, enum spf_result res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Look-up slot i (0: the one term look-up, 1..: PTR names). */
struct spf_slot *spf_slot(struct spf_check *c, int i);
/* A callback began: its handle is spent. */
struct spf_check *spf_slot_done(struct spf_slot *s);
void spf_slot_started(struct spf_check *c, struct spf_slot *s, void *h);
/* Whether the client is in a/bits (a of the client's family only). */
bool spf_addr_match(const struct spf_check *c, const struct dns_addr *a,
    unsigned bits);
/* How the query of the client's family ended, from a dns.h fam[2]. */
enum dns_status spf_fam_status(const struct spf_check *c,
    const enum dns_status fam[2]);
/* Addresses of the client's family among a[0..n). */
int spf_count_family(const struct spf_check *c, int n,
    const struct dns_addr *a);
const struct spf_term *spf_cur_term(const struct spf_check *c);
/* n more void look-ups; -1 (check ended) past the limit. */
int spf_count_void(struct spf_check *c, int n);
/* name is d or a subdomain of d (case-insensitive). */
bool spf_name_within(const char *name, const char *d);
/* Expands spec for the current frame; NULL ends the check (permerror). */
char *spf_expand(struct spf_check *c, const char *spec,
    enum spf_macro_kind kind);
/* Evaluates terms of the current frame until one needs DNS or ends it. */
void spf_run(struct spf_check *c);
/* The current frame has its result (never temperror or permerror). */
void spf_frame_result(struct spf_check *c, enum spf_result res);
/* Looks up the SPF record of the current frame's domain (4.4). */
void spf_fetch(struct spf_check *c);

/* ---- spf_lookup.c --------------------------------------------------- */
/* Runs then(c) once spec can be expanded (%{p} known). */
void spf_with_macros(struct spf_check *c, const char *spec,
    spf_step_fn *then);
/* The term's domain is known (%{p} validated if used): look it up. */
void spf_term_start(struct spf_check *c);

#endif
