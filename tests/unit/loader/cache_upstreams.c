/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the command lines of fgctl cache purge and fgctl upstreams
 * (loader/cache.c, loader/upstreams.c): what they parse into and what they refuse.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "fgctl.h"

#define ARGV(...)	   ((char *[]){ "fgctl", __VA_ARGS__, NULL })
#define ARGC(...)	   ((int)(sizeof((char *[]){ "fgctl", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(p, err, ...) fgctl_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), p, err, sizeof(err))

static void purge(void **state)
{
	struct fgctl_parsed p;
	char err[FGCTL_ERR_LEN];

	assert_int_equal(PARSE(&p, err, "cache", "purge", "--route", "items"), 0);
	assert_string_equal(p.cmd->name, "cache purge");
	assert_string_equal(*(const char *const *)fgctl_value(&p, "--route"), "items");
	fgctl_parsed_free(&p);
	assert_int_equal(PARSE(&p, err, "cache", "purge", "--route", "items", "--pattern",
			       "/v1/items*", "--admin", "http://127.0.0.1:9"),
			 0);
	assert_string_equal(*(const char *const *)fgctl_value(&p, "--pattern"), "/v1/items*");
	fgctl_parsed_free(&p);
	assert_int_equal(PARSE(&p, err, "cache", "purge", "--all", "--json"), 0);
	assert_true(*(const bool *)fgctl_value(&p, "--all"));
	fgctl_parsed_free(&p);

	assert_int_not_equal(PARSE(&p, err, "cache", "purge"), 0);
	assert_non_null(strstr(err, "say what to purge"));
	assert_int_not_equal(PARSE(&p, err, "cache", "purge", "--all", "--route", "x"), 0);
	assert_non_null(strstr(err, "--all purges everything"));
	assert_int_not_equal(PARSE(&p, err, "cache", "purge", "--pattern", ""), 0);
	assert_int_not_equal(PARSE(&p, err, "cache", "purge", "--what"), 0);
}

static void upstreams(void **state)
{
	struct fgctl_parsed p;
	char err[FGCTL_ERR_LEN];

	assert_int_equal(PARSE(&p, err, "upstreams", "--json", "--insecure"), 0);
	assert_string_equal(p.cmd->name, "upstreams");
	fgctl_parsed_free(&p);
	assert_int_not_equal(PARSE(&p, err, "upstreams", "extra"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(purge),
		cmocka_unit_test(upstreams),
	};

	return FG_RUN_TESTS(tests);
}
