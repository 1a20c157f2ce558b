/*
 * cli_report - `tem report run` (see cli_report.h).
 * Trust: the administrator's arguments, checked here; the server checks
 * the request again (control.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_commands.h"
#include "cli/cli_report.h"
#include "conf/conf.h"
#include "server/control.h"
#include "util/xmalloc.h"

#define EXIT_USAGE 2

int
cli_report(const struct conf *c, int argc, char **argv)
{
	const char *day = NULL;
	char *reply = NULL, *err = NULL, check[11];
	enum control_result r;

	if (cli_wants_help(argc, argv)) {
		cli_help(stdout, "report");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "run") == 0 &&
	    strcmp(argv[2], "--date") == 0)
		day = argv[3];
	else if (argc != 2 || strcmp(argv[1], "run") != 0)
		return cli_fail(EXIT_USAGE, xstrdup("usage: tem report run "
		    "[--date YYYY-MM-DD]"));
	if (day != NULL) {
		char *line = xasprintf("report run %s", day);
		bool ok = control_parse_report(line, strlen(line), check);

		free(line);
		if (!ok)
			return cli_fail(EXIT_USAGE, xasprintf("bad date '%s' "
			    "(YYYY-MM-DD)", day));
	}
	r = control_report_run(c->data_dir, day, &reply, &err);
	if (r == CONTROL_NO_SERVER)
		return cli_fail(1, xstrdup("no server is running on this "
		    "data_dir"));
	if (r == CONTROL_FAILED)
		return cli_fail(1, err);
	printf("%s\n", reply);
	free(reply);
	return fflush(stdout) == 0 ? 0 : 1;
}
