/*
 * test-spf-tool - runs SPF checks (spf.c) on a real resolver, for
 * tests/integration/test_spf.py, which compares the results with pyspf.
 *
 * With no arguments (make unit, tests/run.sh) it has nothing to test and
 * prints "test-spf-tool: 0 passed, 0 failed".
 *
 *   test-spf-tool SERVER IP SENDER HELO [IP SENDER HELO ...]
 *
 * SERVER is the DNS server ("127.0.0.1:PORT"). Each triple is one check:
 * the MAIL FROM identity when SENDER is not empty (<domain> is the part
 * after its last '@'), else the HELO identity (<domain> is HELO, <sender>
 * "postmaster@HELO"). All checks run in parallel on one resolver; then one
 * line per check, in argument order:
 *   RESULT[ EXPLANATION]
 * Exit status 0 when every check answered, 1 otherwise, 2 on bad usage.
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_rr.h"
#include "policy/spf.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define TOOL_DEADLINE_MS	120000

struct job {
	struct spf_check *c;		/* NULL once done */
	bool		 done;
	enum spf_result	 res;
	char		*text;
};

static struct loop *loop;
static int pending;

static void
done_cb(enum spf_result res, const char *text, void *arg)
{
	struct job *j = arg;

	j->c = NULL;
	j->done = true;
	j->res = res;
	j->text = text ? xstrdup(text) : NULL;
	if (--pending == 0)
		loop_break(loop);
}

static void
deadline_cb(void *arg)
{
	(void)arg;
	loop_break(loop);
}

static int
start_job(struct dns_resolver *r, struct job *j, const char *ip,
    const char *sender, const char *helo)
{
	struct dns_addr a;
	const char *at = strrchr(sender, '@');
	char *postmaster = NULL;

	if (!dns_addr_literal(ip, &a)) {
		fprintf(stderr, "test-spf-tool: not an address: %s\n", ip);
		return -1;
	}
	pending++;
	if (sender[0] == '\0') {
		postmaster = xasprintf("postmaster@%s", helo);
		j->c = spf_check_start(r, (struct sockaddr *)&a.ss, helo,
		    postmaster, helo, done_cb, j);
		free(postmaster);
	} else {
		j->c = spf_check_start(r, (struct sockaddr *)&a.ss,
		    at ? at + 1 : sender, sender, helo, done_cb, j);
	}
	return 0;
}

static int
live(int argc, char **argv)
{
	int n = (argc - 2) / 3, ret = 0;
	struct loop_timer *t;
	struct dns_resolver *r;
	struct job *jobs;
	char *err = NULL;

	if (argc < 5 || (argc - 2) % 3 != 0) {
		fprintf(stderr, "usage: test-spf-tool SERVER IP SENDER HELO "
		    "[IP SENDER HELO ...]\n");
		return 2;
	}
	r = dns_resolver_new(loop, argv[1], &err);
	if (r == NULL) {
		fprintf(stderr, "test-spf-tool: %s\n", err);
		free(err);
		return 2;
	}
	jobs = xcalloc((size_t)n, sizeof(*jobs));
	for (int i = 0; i < n; i++) {
		if (start_job(r, &jobs[i], argv[2 + 3 * i], argv[3 + 3 * i],
		    argv[4 + 3 * i]) < 0) {
			ret = 2;
			break;
		}
	}
	t = loop_timer_new(loop, deadline_cb, NULL);
	loop_timer_add(t, TOOL_DEADLINE_MS);
	if (ret == 0)
		loop_run(loop);
	loop_timer_free(&t);
	for (int i = 0; i < n && ret != 2; i++) {
		if (!jobs[i].done) {
			printf("NO ANSWER\n");
			ret = 1;
			continue;
		}
		printf("%s%s%s\n", spf_result_name(jobs[i].res),
		    jobs[i].text ? " " : "", jobs[i].text ? jobs[i].text : "");
		free(jobs[i].text);
	}
	for (int i = 0; i < n; i++)
		spf_check_cancel(&jobs[i].c);	/* unanswered, or not run */
	dns_resolver_free(&r);
	free(jobs);
	return ret;
}

int
main(int argc, char **argv)
{
	int ret;

	if (argc == 1) {
		printf("test-spf-tool: 0 passed, 0 failed\n");
		return 0;
	}
	loop_global_init();
	loop = loop_new();
	ret = live(argc, argv);
	loop_free(&loop);
	return ret;
}
