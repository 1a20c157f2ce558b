/*
 * test-dmarc-tool - the live driver of tests/integration/test_dmarc_lookup.py
 * for DMARC policy discovery (policy/dmarc_lookup.c) against a real DNS
 * server.
 *
 * With no arguments (make unit, tests/run.sh) it has nothing to test and
 * prints "test-dmarc-tool: 0 passed, 0 failed".
 *
 * With arguments:
 *   test-dmarc-tool [-p PSLFILE] [-t MS] [-c] SERVER DOMAIN [DOMAIN ...]
 * starts one check per From DOMAIN, all in parallel on one resolver
 * pointed at SERVER ("127.0.0.1:PORT"), then prints one line per domain,
 * in argument order:
 *   DOMAIN STATUS
 *   DOMAIN ok at=NAME org=yes|no p=P sp=SP np=NP adkim=r|s aspf=r|s
 *       pct=N nonexistent=yes|no rua=N     (one line)
 * STATUS is none, multiple, invalid or temperror (dmarc_lookup_status_str).
 * -p uses another list file (a missing one gives the two-label fallback),
 * -t sets the DNS timeout, -c cancels every check at once (then prints
 * "cancelled callbacks=0" if none ran).
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dns/dns.h"
#include "policy/dmarc.h"
#include "policy/psl.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct job {
	const char		*domain;
	struct dmarc_check	*check;
	struct buf		 out;
};

static struct loop *loop;
static int callbacks, expected;

static void
print_policy(struct buf *b, const struct dmarc_policy *p)
{
	buf_printf(b, " at=%s org=%s p=%s sp=%s np=%s adkim=%c aspf=%c "
	    "pct=%u nonexistent=%s rua=%d", p->domain,
	    p->at_org ? "yes" : "no", dmarc_disposition_str(p->p),
	    dmarc_disposition_str(p->sp), dmarc_disposition_str(p->np),
	    p->adkim_strict ? 's' : 'r', p->aspf_strict ? 's' : 'r', p->pct,
	    p->from_nonexistent ? "yes" : "no", p->nrua);
}

static void
done_cb(struct dmarc_policy *pol, enum dmarc_lookup_status st, void *arg)
{
	struct job *j = arg;

	j->check = NULL;
	buf_printf(&j->out, "%s %s", j->domain, dmarc_lookup_status_str(st));
	if (pol != NULL)
		print_policy(&j->out, pol);
	buf_putc(&j->out, '\n');
	dmarc_policy_free(&pol);
	if (++callbacks == expected)
		loop_break(loop);
}

static void
deadline_cb(void *arg)
{
	(void)arg;
	loop_break(loop);
}

static int
usage(void)
{
	fprintf(stderr, "usage: test-dmarc-tool [-p PSLFILE] [-t MS] [-c] "
	    "SERVER DOMAIN ...\n");
	return 2;
}

/* Runs the loop until every check answered or 60 s have passed. */
static void
run(void)
{
	struct loop_timer *t = loop_timer_new(loop, deadline_cb, NULL);

	loop_timer_add(t, 60000);
	loop_run(loop);
	loop_timer_free(&t);
}

static int
live(int argc, char **argv)
{
	const char *psl_path = NULL;
	int opt, timeout = 0, n;
	bool cancel = false;
	struct dns_resolver *r;
	struct psl *psl;
	struct job *jobs;
	char *err;

	while ((opt = getopt(argc, argv, "p:t:c")) != -1) {
		if (opt == 'p')
			psl_path = optarg;
		else if (opt == 't')
			timeout = atoi(optarg);
		else if (opt == 'c')
			cancel = true;
		else
			return usage();
	}
	if (argc - optind < 2)
		return usage();
	if ((r = dns_resolver_new(loop, argv[optind], &err)) == NULL) {
		fprintf(stderr, "test-dmarc-tool: %s\n", err);
		free(err);
		return 1;
	}
	if (timeout > 0)
		dns_resolver_set_timeout(r, (unsigned)timeout);
	psl = psl_load(psl_path);
	n = argc - optind - 1;
	jobs = xcalloc((size_t)n, sizeof(*jobs));
	expected = n;
	for (int i = 0; i < n; i++) {
		jobs[i].domain = argv[optind + 1 + i];
		jobs[i].check = dmarc_check_start(r, psl, jobs[i].domain,
		    done_cb, &jobs[i]);
	}
	if (cancel) {
		for (int i = 0; i < n; i++)
			dmarc_check_cancel(&jobs[i].check);
		expected = 0;
	}
	if (callbacks == 0 && !cancel)
		run();
	if (cancel) {
		/* Give any wrongly surviving callback the chance to run. */
		struct loop_timer *t = loop_timer_new(loop, deadline_cb, NULL);

		loop_timer_add(t, 500);
		loop_run(loop);
		loop_timer_free(&t);
		printf("cancelled callbacks=%d\n", callbacks);
	}
	for (int i = 0; i < n; i++) {
		fputs(buf_cstr(&jobs[i].out), stdout);
		dmarc_check_cancel(&jobs[i].check);	/* if timed out */
		buf_free(&jobs[i].out);
	}
	free(jobs);
	dns_resolver_free(&r);
	psl_free(&psl);
	return callbacks == expected ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int rc;

	log_init(LOG_WARN);
	if (argc < 2) {
		/* Nothing to test offline (tests/run.sh reads this). */
		printf("test-dmarc-tool: 0 passed, 0 failed\n");
		return 0;
	}
	loop_global_init();
	loop = loop_new();
	rc = live(argc, argv);
	loop_free(&loop);
	return rc;
}
