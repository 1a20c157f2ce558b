/*
 * test-conf-keys - the settings table as documentation: every key has a
 * meaning, an example and an area for tem.conf(5), the example is a
 * valid value of the key's type (parsed by the real parser), and the
 * page printed from the table names every key with its roff escaped.
 * (test-conf.c checks the defaults and the value parsers.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_keys.h"
#include "util/roff.h"
#include "util/test.h"
#include "util/xmalloc.h"

static void
test_texts(void)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (!k->meaning || !*k->meaning || !k->example ||
		    !*k->example || !k->area || !*k->area)
			fprintf(stderr, "  key %s lacks a text\n", k->name);
		TEST_ASSERT(k->meaning && *k->meaning);
		TEST_ASSERT(k->example && *k->example);
		TEST_ASSERT(k->area && *k->area);
		TEST_ASSERT(*conf_type_name(k->type) != '\0');
		/* the page ends each meaning with the default: a sentence */
		TEST_ASSERT(k->meaning[strlen(k->meaning) - 1] == '.');
	}
}

/* "key = example" read by the parser, as from a config file. */
static void
test_examples_parse(void)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		struct conf *c = conf_new_defaults("/etc/tem/tem.conf");
		char *text = xasprintf("%s = %s\n", k->name, k->example);
		char *err = NULL;
		int r = conf_parse(c, "tem.conf", text, strlen(text), &err);

		if (r != 0)
			fprintf(stderr, "  example of %s: %s\n", k->name, err);
		free(err);
		free(text);
		conf_free(&c);
		TEST_ASSERT(r == 0);
	}
}

/* The keys of one area are together: the page has one heading each. */
static void
test_areas_contiguous(void)
{
	for (size_t i = 1; i < conf_nkeys; i++)
		for (size_t j = 0; j + 1 < i; j++)
			if (strcmp(conf_keys[j].area, conf_keys[i].area) == 0)
				TEST_ASSERT(strcmp(conf_keys[i - 1].area,
				    conf_keys[i].area) == 0);
}

static char *
page(void)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		abort();
	conf_man(f, "0");
	fclose(f);
	return s;
}

static void
test_page_names_every_key(void)
{
	char *p = page();
	bool all = true;

	TEST_ASSERT(strncmp(p, ".\\\"", 3) == 0);
	for (size_t i = 0; i < conf_nkeys; i++) {
		char *tag = xasprintf("\\fB%s\\fR = ", conf_keys[i].name);
		/* names have '_' only, nothing roff would escape */
		if (strstr(p, tag) == NULL) {
			fprintf(stderr, "  %s not in the page\n", tag);
			all = false;
		}
		free(tag);
	}
	free(p);
	TEST_ASSERT(all);
}

static void
test_roff_escaping(void)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	TEST_ASSERT(f != NULL);
	roff_text(f, ".start -x a\\b\n'quote mid.dle 'x\n.");
	fclose(f);
	TEST_ASSERT_STREQ(s, "\\&.start \\-x a\\eb\n\\&'quote mid.dle 'x\n"
	    "\\&.");
	free(s);
	/* a long text is cut at a space into short input lines, and a '.'
	 * that then starts a line is escaped too; a tag is never cut */
	f = open_memstream(&s, &len);
	TEST_ASSERT(f != NULL);
	roff_text(f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    " .b");
	roff_tag(f, " x                                                          "
	    "                  y");
	fclose(f);
	TEST_ASSERT(strstr(s, "a\n\\&.b x ") != NULL);
	TEST_ASSERT(strchr(s, '\n') == strrchr(s, '\n'));
	free(s);
}

int
main(void)
{
	TEST_RUN(test_texts);
	TEST_RUN(test_examples_parse);
	TEST_RUN(test_areas_contiguous);
	TEST_RUN(test_page_names_every_key);
	TEST_RUN(test_roff_escaping);
	return test_done("test-conf-keys");
}
