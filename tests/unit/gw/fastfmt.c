/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/fastfmt.c: every fast format writes what glibc's vsnprintf
 * writes, returns its length and aborts when the caller's object is too small, as glibc's
 * __sprintf_chk does; other formats and NULL strings go to glibc; this program's libraries
 * are bound to it.
 */
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "gw/fastfmt.h"

/* Called through a pointer: GCC knows __sprintf_chk as a builtin and would check (or fold)
 * the calls these tests make on purpose. */
static int (*volatile chk)(char *s, int flag, size_t slen, const char *fmt, ...) = __sprintf_chk;

/* glibc's answer for the same format and arguments. */
static int want(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n;
}

#define SAME(fmt, ...)                                                                             \
	do {                                                                                       \
		char got_[512], exp_[512];                                                         \
		int n_ = chk(got_, 1, sizeof(got_), fmt, __VA_ARGS__);                             \
		int w_ = want(exp_, sizeof(exp_), fmt, __VA_ARGS__);                               \
		assert_string_equal(got_, exp_);                                                   \
		assert_int_equal(n_, w_);                                                          \
	} while (0)

#define H1    "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n"
#define H1_CL H1 "Content-Length: %zu\r\n"
#define DATE  "Mon, 23 Nov 2026 06:40:42 GMT"

static void status_int(void **state)
{
	static const int v[] = { 0,   1,   -1,	 9,    10,	  99,	   100,	    200,	401,
				 429, 999, 1000, -429, 123456789, INT_MAX, INT_MIN, INT_MIN + 1 };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		SAME("%d", v[i]);
	for (int s = 100; s < 1000; s++)
		SAME("%d", s);
}

/* OpenSSL's key log, a byte at a time; wider values go to glibc */
static void hex_byte(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 0x300; v++)
		SAME("%02x", v);
	SAME("%02x", 0xdeadbeefu);
	SAME("%02X", 0xabu);
	SAME("%02xz", 0xabu);
}

static void content_length(void **state)
{
	static const size_t v[] = { 0, 1, 9, 10, 256, 65536, 4294967296ULL, SIZE_MAX };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		SAME("content-length: %zu\r\n", v[i]);
}

static void h1_heads(void **state)
{
	static const char *reason[] = { "OK", "Unauthorized", "Too Many Requests", "" };
	static const char *conn[] = { "keep-alive", "close", "upgrade" };
	static const int st[] = { 200, 101, 401, 429, 504, 999, -1 };

	for (size_t s = 0; s < sizeof(st) / sizeof(st[0]); s++)
		for (size_t r = 0; r < 4; r++)
			for (size_t c = 0; c < 3; c++) {
				SAME(H1, st[s], reason[r], DATE, conn[c]);
				SAME(H1_CL, st[s], reason[r], DATE, conn[c], (size_t)0);
				SAME(H1_CL, st[s], reason[r], "", conn[c], SIZE_MAX);
			}
}

/* Formats it does not know, and a NULL string (glibc prints "(null)"), are glibc's. */
static void others_go_to_glibc(void **state)
{
	SAME("%u", 42u);
	SAME("%s:%u", "127.0.0.1", 8443u);
	SAME("%d ", 5); /* near a fast format, not one */
	SAME("content-length: %zu", (size_t)7);
	SAME("HTTP/1.1 %d %s\r\n", 200, "OK");
	SAME("%%d%d", 3);
	SAME(H1, 200, (const char *)NULL, DATE, "close");
	SAME(H1_CL, 200, "OK", DATE, (const char *)NULL, (size_t)1);
}

/* Whether f() ends in SIGABRT, in a child (glibc's __chk_fail aborts the process). */
static int aborts(void (*f)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		/* the child's "*** buffer overflow detected ***" line is expected: hide it */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		f();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static char small[8];
/* A head of exactly 63 bytes: 63 and the NUL need 64 */
#define H1_63 H1, 200, "OK", "0123456789", "keep-alive-kee"

static void int_too_long(void)
{
	chk(small, 1, 4, "%d", 1000); /* 4 digits and the NUL in 4 bytes */
}
static void status_too_long(void)
{
	chk(small, 1, 3, "%d", 429); /* 3 digits and the NUL in 3 bytes */
}
static void status_fits(void)
{
	if (chk(small, 1, 4, "%d", 429) != 3 || strcmp(small, "429"))
		_exit(4);
}
static void cl_too_long(void)
{
	chk(small, 1, sizeof(small), "content-length: %zu\r\n", (size_t)1);
}
static void h1_too_long(void)
{
	char buf[64];

	chk(buf, 1, 63, H1_63);
}
static void h1_fits(void)
{
	char buf[64];

	if (chk(buf, 1, 64, H1_63) != 63)
		_exit(4);
}
static void int_fits(void)
{
	if (chk(small, 1, 5, "%d", 1000) != 4 || strcmp(small, "1000"))
		_exit(4);
}

static void hex_too_long(void)
{
	chk(small, 1, 2, "%02x", 0xabu); /* 2 digits and the NUL in 2 bytes */
}
static void hex_fits(void)
{
	if (chk(small, 1, 3, "%02x", 0xabu) != 2 || strcmp(small, "ab"))
		_exit(4);
}

static void overflow_aborts(void **state)
{
	char buf[128];

	assert_int_equal(want(buf, sizeof(buf), H1_63), 63);
	assert_int_equal(aborts(int_too_long), 1);
	assert_int_equal(aborts(hex_too_long), 1);
	assert_int_equal(aborts(hex_fits), 0);
	assert_int_equal(aborts(status_too_long), 1);
	assert_int_equal(aborts(status_fits), 0);
	assert_int_equal(aborts(cl_too_long), 1);
	assert_int_equal(aborts(h1_too_long), 1);
	assert_int_equal(aborts(h1_fits), 0);
	assert_int_equal(aborts(int_fits), 0);
}

/* The libraries of this program (libh2o among them) resolve __sprintf_chk to fastfmt's,
 * as floodgate's do: the executable exports it. */
static void bound(void **state)
{
	assert_int_equal(gw_fastfmt_bound(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_int),
		cmocka_unit_test(hex_byte),
		cmocka_unit_test(content_length),
		cmocka_unit_test(h1_heads),
		cmocka_unit_test(others_go_to_glibc),
		cmocka_unit_test(overflow_aborts),
		cmocka_unit_test(bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
