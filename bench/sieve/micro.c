/*
 * bench/sieve/micro - the Sieve interpreter alone: µs per sieve_run() of
 * a script (default bench/data/sieve-20-rules.sieve) on a typical 5 KB
 * message (a realistic header of ~25 fields, a text body). Built by
 * bench/sieve/micro.sh against the release objects; prints, asserts
 * nothing.
 *
 * Trust: a benchmark; its inputs are the repository's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sieve/sieve.h"

static const char head[] =
    "Return-Path: <alice@example.org>\n"
    "Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
    "\tby mail.bench.test (tem) with ESMTPS id 4XYZ123\n"
    "\tfor <bench@bench.test>; Sun, 06 Dec 2026 10:00:00 +0000\n"
    "Received: from laptop.example.org (laptop [10.0.0.2])\n"
    "\tby mx.example.org with ESMTPSA id abc\n"
    "\tfor <bench@bench.test>; Sun, 06 Dec 2026 09:59:58 +0000\n"
    "Authentication-Results: mail.bench.test; spf=pass\n"
    " smtp.mailfrom=example.org; dkim=pass header.d=example.org\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;\n"
    " s=sel; h=from:to:subject:date:message-id;\n"
    " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
    " b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaXMgbG9uZyBl\n"
    "  bm91Z2ggdG8gbG9vayBsaWtlIG9uZSBpbiBhIGJlbmNobWFyaw==\n"
    "From: Alice Example <alice@example.org>\n"
    "To: Bench User <bench@bench.test>, \"Bob B.\" <bob@example.net>\n"
    "Cc: team@example.org\n"
    "Subject: =?UTF-8?Q?Re=3A_the_quarterly_r=C3=A9sum=C3=A9?= and plans\n"
    "Date: Sun, 06 Dec 2026 09:59:57 +0000\n"
    "Message-ID: <20261206095957.12345@laptop.example.org>\n"
    "In-Reply-To: <20261205120000.999@bench.test>\n"
    "References: <20261204110000.111@bench.test>\n"
    " <20261205120000.999@bench.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "User-Agent: Mutt/2.2.12\n"
    "X-Mailer: bench\n"
    "\n";

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] :
	    "bench/data/sieve-20-rules.sieve";
	long iters = argc > 2 ? atol(argv[2]) : 20000;
	struct sieve_script *sc;
	struct sieve_error err;
	struct sieve_result r;
	struct sieve_msg m;
	struct sieve_env env;
	struct timespec a, b;
	char *text;
	size_t len;
	FILE *f;
	double us;

	if ((f = fopen(path, "rb")) == NULL)
		return perror(path), 1;
	text = malloc(1 << 20);
	len = fread(text, 1, 1 << 20, f);
	fclose(f);
	sc = sieve_compile(text, len, NULL, &err);
	if (sc == NULL)
		return fprintf(stderr, "%s: %s\n", path, err.msg), 1;
	memset(&m, 0, sizeof(m));
	m.head = head;
	m.head_len = sizeof(head) - 1;
	m.size = 5120;
	m.env_from = "alice@example.org";
	m.env_to = "bench@bench.test";
	m.now = 1796551200;
	memset(&env, 0, sizeof(env));
	env.user = "bench@bench.test";
	env.addresses = &env.user;
	env.naddresses = 1;
	env.subaddress_sep = "+";
	for (int round = 0; round < 3; round++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < iters; i++) {
			sieve_run(&sc, 1, &m, &env, NULL, &r);
			sieve_result_free(&r);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		us = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
		    (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / (double)iters;
		printf("%s: %.2f us per run (%ld runs)\n", path, us, iters);
	}
	sieve_script_free(&sc);
	free(text);
	return 0;
}
