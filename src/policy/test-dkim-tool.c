/*
 * test-dkim-tool - tem's DKIM signer and verifier as a command, for the
 * interoperability tests (tests/integration/test_dkim.py against dkimpy).
 *
 * With no arguments (make unit, tests/run.sh) it signs and verifies a
 * message with a fresh key of each type in memory and prints
 * "test-dkim-tool: N passed, N failed".
 *
 * With arguments (messages are read as tem stores them: every CRLF of the
 * file becomes LF first):
 *   sign FILE KEYFILE DOMAIN SELECTOR [TIME]
 *       prints the DKIM-Signature field (LF line ends) for FILE, signed
 *       with the PEM private key in KEYFILE; t= is TIME or now.
 *   verify FILE [NAME=RECORD ...] [--now TIME]
 *       verifies FILE with the key records given (NAME is
 *       SELECTOR._domainkey.DOMAIN; a signature whose NAME is not given
 *       gets "no key"), and prints one line per signature:
 *         STATUS d=D s=S a=ALG bits=N [l=N] [partial] [testing] [reason=...]
 *       or "none" for an unsigned message.
 *   verify-dns SERVER FILE
 *       the same through the asynchronous verifier, asking SERVER (ip:port).
 *   record KEYFILE
 *       prints the TXT record value of KEYFILE's public key.
 * Exit status 0, or 2 on a usage error / unreadable input.
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns.h"
#include "policy/dkim.h"
#include "policy/dkim_keys.h"
#include "policy/dkim_verify.h"
#include "util/buf.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static int
usage(void)
{
	fputs("usage: test-dkim-tool sign FILE KEYFILE DOMAIN SELECTOR [TIME]\n"
	    "       test-dkim-tool verify FILE [NAME=RECORD ...] [--now TIME]\n"
	    "       test-dkim-tool verify-dns SERVER FILE\n"
	    "       test-dkim-tool record KEYFILE\n", stderr);
	return 2;
}

/* Reads path into b with every CRLF made LF (tem's stored form). */
static int
read_message(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	int c, prev = -1;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while ((c = getc(f)) != EOF) {
		if (prev == '\r' && c == '\n')
			b->data[b->len - 1] = '\n';
		else
			buf_putc(b, (char)c);
		prev = c;
	}
	fclose(f);
	return 0;
}

static void
print_results(struct dkim_results *r)
{
	if (r->n == 0)
		printf("none\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct dkim_sig_result *s = &r->sig[i];

		printf("%s d=%s s=%s a=%s bits=%u", dkim_status_str(s->status),
		    s->domain ? s->domain : "-",
		    s->selector ? s->selector : "-",
		    s->domain ? dkim_alg_str(s->key_type) : "-", s->key_bits);
		if (s->has_length)
			printf(" l=%llu", (unsigned long long)s->length);
		if (s->partial)
			printf(" partial");
		if (s->testing)
			printf(" testing");
		if (s->reason != NULL)
			printf(" reason=%s", s->reason);
		putchar('\n');
	}
	if (r->skipped > 0)
		printf("skipped %zu\n", r->skipped);
}

/* ---- sign, record ------------------------------------------------------ */

static int
cmd_sign(int argc, char **argv)
{
	struct dkim_key *k;
	struct buf msg, h;
	char *err = NULL;
	time_t now = argc > 6 ? (time_t)strtoll(argv[6], NULL, 10) :
	    time(NULL);
	int r = 2;

	if (argc < 6 || argc > 7)
		return usage();
	buf_init(&msg, 0);
	buf_init(&h, 0);
	if ((k = dkim_key_read(argv[3], argv[4], argv[5], &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
	} else if (read_message(argv[2], &msg) == 0) {
		if (dkim_sign_message_at(msg.data ? msg.data : "", msg.len,
		    argv[4], k, now, &h) < 0)
			fprintf(stderr, "cannot sign\n");
		else {
			fputs(buf_cstr(&h), stdout);
			r = 0;
		}
	}
	dkim_key_free(&k);
	buf_free(&msg);
	buf_free(&h);
	return r;
}

static int
cmd_record(int argc, char **argv)
{
	struct dkim_key *k;
	struct buf rec;
	char *err = NULL;

	if (argc != 3)
		return usage();
	if ((k = dkim_key_read(argv[2], "x.test", "x", &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 2;
	}
	buf_init(&rec, 0);
	dkim_key_record(k, &rec);
	printf("%s\n", buf_cstr(&rec));
	buf_free(&rec);
	dkim_key_free(&k);
	return 0;
}

/* ---- verify with records given ---------------------------------------- */

static void
give_key(struct dkim_verifier *v, size_t i, int nrec, char **recs)
{
	const char *name = dkim_verifier_key_name(v, i);
	size_t nl = name != NULL ? strlen(name) : 0;

	if (name == NULL)
		return;
	for (int j = 0; j < nrec; j++) {
		char *txt[1];

		if (strncmp(recs[j], name, nl) != 0 || recs[j][nl] != '=')
			continue;
		txt[0] = recs[j] + nl + 1;
		dkim_verifier_set_key(v, i, DKIM_KEY_FOUND, txt, 1);
		return;
	}
	dkim_verifier_set_key(v, i, DKIM_KEY_NONE, NULL, 0);
}

static int
cmd_verify(int argc, char **argv)
{
	struct dkim_verifier *v;
	struct dkim_results *r;
	time_t now = time(NULL);
	struct buf msg;
	int nrec = argc - 3;

	if (argc < 3)
		return usage();
	if (argc >= 5 && strcmp(argv[argc - 2], "--now") == 0) {
		now = (time_t)strtoll(argv[argc - 1], NULL, 10);
		nrec -= 2;
	}
	buf_init(&msg, 0);
	if (read_message(argv[2], &msg) < 0)
		return 2;
	v = dkim_verifier_new(msg.data ? msg.data : "", msg.len, now);
	for (size_t i = 0; i < dkim_verifier_count(v); i++)
		give_key(v, i, nrec, argv + 3);
	r = dkim_verifier_finish(&v);
	print_results(r);
	dkim_results_free(&r);
	buf_free(&msg);
	return 0;
}

/* ---- verify through DNS ------------------------------------------------- */

static struct loop *dns_loop;

static void
dns_done(struct dkim_results *res, void *arg)
{
	(void)arg;
	print_results(res);
	dkim_results_free(&res);
	loop_break(dns_loop);
}

static int
cmd_verify_dns(int argc, char **argv)
{
	struct dns_resolver *r;
	struct buf msg;
	char *err = NULL;

	if (argc != 4)
		return usage();
	buf_init(&msg, 0);
	if (read_message(argv[3], &msg) < 0)
		return 2;
	loop_global_init();
	dns_loop = loop_new();
	if ((r = dns_resolver_new(dns_loop, argv[2], &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		loop_free(&dns_loop);
		buf_free(&msg);
		return 2;
	}
	dns_resolver_set_timeout(r, 5000);
	dkim_verify_start(r, msg.data ? msg.data : "", msg.len, dns_done, NULL);
	buf_free(&msg);		/* not needed once started */
	loop_run(dns_loop);
	dns_resolver_free(&r);
	loop_free(&dns_loop);
	return 0;
}

/* ---- no arguments: a quick self-check ----------------------------------- */

static void
test_roundtrip(void)
{
	static const char msg[] = "From: a@x.test\nSubject: t\n\nbody\n";
	enum dkim_key_type types[] = { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

	for (size_t t = 0; t < 2; t++) {
		char *err = NULL, *txt[1];
		struct dkim_key *k = dkim_key_generate(types[t], "x.test", "s",
		    &err);
		struct dkim_verifier *v;
		struct dkim_results *r;
		struct buf h, rec;

		TEST_ASSERT(k != NULL);
		buf_init(&h, 0);
		buf_init(&rec, 0);
		TEST_ASSERT(dkim_sign_message(msg, sizeof(msg) - 1, "x.test", k,
		    &h) == 0);
		dkim_key_record(k, &rec);
		buf_puts(&h, msg);
		v = dkim_verifier_new(h.data, h.len, time(NULL));
		txt[0] = rec.data;
		dkim_verifier_set_key(v, 0, DKIM_KEY_FOUND, txt, 1);
		r = dkim_verifier_finish(&v);
		TEST_ASSERT(r->n == 1 && r->sig[0].status == DKIM_PASS);
		dkim_results_free(&r);
		buf_free(&h);
		buf_free(&rec);
		dkim_key_free(&k);
	}
}

int
main(int argc, char **argv)
{
	if (argc == 1) {
		TEST_RUN(test_roundtrip);
		return test_done("test-dkim-tool");
	}
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc, argv);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	if (strcmp(argv[1], "verify-dns") == 0)
		return cmd_verify_dns(argc, argv);
	if (strcmp(argv[1], "record") == 0)
		return cmd_record(argc, argv);
	return usage();
}
