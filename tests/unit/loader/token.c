/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of how fgctl reads the admin token (loader/keys.c): fgctl_token_parse() on
 * the bytes of a file or of $FLOODGATE_ADMIN_TOKEN, and fgctl_token_read() on files of
 * every kind in a temporary directory. A FIFO must be refused at once, never waited on:
 * an alarm turns a hang into a failure of the whole program.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fgctl.h"

#define HANG_S 5 /* longer than any read of a small file; a FIFO would wait forever */

static char dir[] = "/tmp/fgt-token-XXXXXX";

/* dir/name holding the n bytes at s; returns the path (static). */
static const char *file_with(const char *name, const char *s, size_t n)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return path;
}

#define FILE_WITH(name, lit) file_with(name, lit, sizeof(lit) - 1)

/* fgctl_token_read() must fail with err and a message containing want. */
static void read_fails(const char *path, int err, const char *want)
{
	char tok[FGCTL_TOKEN_MAX + 1] = "", why[FGCTL_ERR_LEN] = "";
	int r;

	alarm(HANG_S);
	r = fgctl_token_read(path, tok, sizeof(tok), why, sizeof(why));
	alarm(0);
	if (r != err || !strstr(why, want) || strchr(why, '\n')) {
		print_message("# %s: returned %d, '%s'; expected %d, '%s'\n", path, r, why, err,
			      want);
		fail();
	}
}

static void read_gives(const char *path, const char *want)
{
	char tok[FGCTL_TOKEN_MAX + 1] = "", why[FGCTL_ERR_LEN] = "";

	if (fgctl_token_read(path, tok, sizeof(tok), why, sizeof(why))) {
		print_message("# %s: refused: %s\n", path, why);
		fail();
	}
	assert_string_equal(tok, want);
}

static void files(void **state)
{
	char big[FGCTL_TOKEN_MAX + 2], path[256];

	read_gives(FILE_WITH("plain", "s3cret"), "s3cret");
	read_gives(FILE_WITH("newline", "s3cret\n"), "s3cret");
	read_gives(FILE_WITH("crlf", "s3cret\r\n"), "s3cret");
	read_gives(FILE_WITH("trailing", "s3cret \t\n\n"), "s3cret");

	read_fails(FILE_WITH("empty", ""), -EINVAL, "Couldn't use the admin token in file ");
	read_fails(FILE_WITH("empty", ""), -EINVAL, "/empty: it is empty");
	read_fails(FILE_WITH("blank", "\n"), -EINVAL, "it is empty");
	read_fails(FILE_WITH("crlf-only", "\r\n"), -EINVAL, "it is empty");
	/* Before, the token silently ended at the NUL: "abc" was sent. */
	read_fails(FILE_WITH("nul", "abc\0def\n"), -EINVAL, "it has a NUL byte (byte 4)");
	read_fails(FILE_WITH("two-lines", "abc\ndef\n"), -EINVAL, "more than one line");
	read_fails(FILE_WITH("cr-inside", "abc\rdef\n"), -EINVAL, "more than one line");
	read_fails(FILE_WITH("space", "ab c\n"), -EINVAL, "byte 3 (0x20) cannot go in an HTTP");

	/* The cap: FGCTL_TOKEN_MAX bytes are a token, one more is refused unread. */
	memset(big, 'a', sizeof(big));
	big[FGCTL_TOKEN_MAX] = '\0';
	read_gives(file_with("max", big, FGCTL_TOKEN_MAX), big);
	read_fails(file_with("over", big, FGCTL_TOKEN_MAX + 1), -EFBIG,
		   "too large (over 4096 bytes)");

	/* Not regular files: refused before they are read, never waited on. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	read_fails(path, -EINVAL, "Couldn't read admin token file ");
	read_fails(path, -EINVAL, "/fifo: not a regular file (a FIFO)");
	/* Before, "the admin token is empty". */
	read_fails(dir, -EINVAL, "not a regular file (a directory)");
	read_fails("/dev/null", -EINVAL, "not a regular file (a character device)");
	read_fails("/dev/zero", -EINVAL, "not a regular file (a character device)");
	snprintf(path, sizeof(path), "%s/missing", dir);
	read_fails(path, -ENOENT, "No such file or directory");
}

static void text(void **state)
{
	char tok[8], why[FGCTL_ERR_LEN];

	assert_int_equal(fgctl_token_parse("in X", "abc\n", 4, tok, sizeof(tok), why, sizeof(why)),
			 0);
	assert_string_equal(tok, "abc");
	/* 7 bytes fill tok[8]; 8 do not fit. */
	assert_int_equal(
		fgctl_token_parse("in X", "abcdefg", 7, tok, sizeof(tok), why, sizeof(why)), 0);
	assert_string_equal(tok, "abcdefg");
	assert_int_equal(
		fgctl_token_parse("in X", "abcdefgh", 8, tok, sizeof(tok), why, sizeof(why)),
		-EINVAL);
	assert_string_equal(why, "Couldn't use the admin token in X: longer than 7 bytes");
	assert_int_equal(fgctl_token_parse("in $V", "", 0, tok, sizeof(tok), why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "Couldn't use the admin token in $V: it is empty");
	assert_int_equal(fgctl_token_parse("in $V", "a\x7f", 2, tok, sizeof(tok), why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "byte 2 (0x7f)"));
}

static int cleanup(void **state)
{
	static const char *const names[] = { "plain", "newline",   "crlf", "trailing",	"empty",
					     "blank", "crlf-only", "nul",  "two-lines", "cr-inside",
					     "space", "max",	   "over", "fifo" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(files),
		cmocka_unit_test(text),
	};

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
