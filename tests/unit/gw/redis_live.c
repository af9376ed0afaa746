/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Tests of userspace/gw/redis.c and cluster.c against a real redis-server, which the test
 * starts on a free loopback port (and stops, freezes and restarts): pipelined commands
 * each answered exactly once; the admission script with a hand-made counter list (all or
 * nothing, hard and soft counters, expiry); NOSCRIPT after SCRIPT FLUSH; a frozen Redis
 * (SIGSTOP) answered by the timeout within the bound; a killed Redis refused at once and
 * reconnected after a restart; counters counted locally meanwhile reconciled into Redis;
 * closing the client with commands in flight. Skipped, loudly, without redis-server.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw/cluster.h"
#include "gw/redis.h"

#define TIMEOUT_MS 100

static int port;
static pid_t redis_pid = -1;
static h2o_evloop_t *loop;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static bool port_open(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a));

	if (fd >= 0)
		close(fd);
	return ok;
}

static void redis_start(void)
{
	char p[16];
	uint64_t end = now_ms() + 5000;

	snprintf(p, sizeof(p), "%d", port);
	redis_pid = fork();
	assert_true(redis_pid >= 0);
	if (!redis_pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save",
		       "", "--appendonly", "no", "--dir", "/tmp", (char *)NULL);
		_exit(127);
	}
	while (!port_open() && now_ms() < end)
		usleep(20000);
	assert_true(port_open());
}

static void redis_stop(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGCONT);
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
	}
	redis_pid = -1;
}

/* Run the loop until *flag or ms pass; returns *flag. */
static bool run_until(const bool *flag, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (!*flag && now_ms() < end)
		h2o_evloop_run(loop, 10);
	return *flag;
}

static bool ready_of(gw_cluster_t *c, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (!gw_cluster_ready(c) && now_ms() < end)
		h2o_evloop_run(loop, 10);
	return gw_cluster_ready(c);
}

static gw_redis_conf_t conf(void)
{
	gw_redis_conf_t c = { .port = (uint16_t)port,
			      .timeout_ms = TIMEOUT_MS,
			      .connect_timeout_ms = 500 };

	snprintf(c.host, sizeof(c.host), "127.0.0.1");
	snprintf(c.prefix, sizeof(c.prefix), "t%d:", (int)getpid());
	return c;
}

/* ---- a command and its answer ---- */

struct answer {
	int calls;
	bool done;
	long long integer;
	char str[64];
	char err[64];
	int type;
};

static void on_answer(void *data, redisReply *r, const char *err)
{
	struct answer *a = data;

	a->calls++;
	a->done = true;
	a->type = r ? r->type : -1;
	if (r && r->type == REDIS_REPLY_INTEGER)
		a->integer = r->integer;
	if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
		  r->type == REDIS_REPLY_ERROR))
		snprintf(a->str, sizeof(a->str), "%s", r->str);
	if (err)
		snprintf(a->err, sizeof(a->err), "%s", err);
}

static void cmd(gw_cluster_t *c, struct answer *a, int argc, const char **argv)
{
	size_t len[8];

	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	memset(a, 0, sizeof(*a));
	assert_int_equal(
		gw_redis_command((gw_redis_t *)gw_cluster_redis(c), on_answer, a, argc, argv, len),
		0);
	assert_true(run_until(&a->done, 2000));
	assert_int_equal(a->calls, 1);
}

/* ---- an admission and its result ---- */

struct verdict {
	int calls;
	bool done;
	gw_cluster_result_t res;
};

static void on_verdict(void *data, const gw_cluster_result_t *res)
{
	struct verdict *v = data;

	v->calls++;
	v->done = true;
	v->res = *res;
}

static void admit(gw_cluster_t *c, const char *id, const gw_limit_t *l,
		  const gw_cluster_counter_t *ctrs, size_t n, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(gw_cluster_admit(c, id, l, ctrs, n, on_verdict, v), 0);
	assert_true(run_until(&v->done, 2000));
	assert_int_equal(v->calls, 1);
}

static long long get_int(gw_cluster_t *c, const char *key)
{
	struct answer a;
	const char *argv[2] = { "GET", key };

	cmd(c, &a, 2, argv);
	return a.type == REDIS_REPLY_STRING ? atoll(a.str) : a.type == REDIS_REPLY_NIL ? 0 : -1;
}

static int setup(void **state)
{
	if (system("command -v redis-server >/dev/null 2>&1")) {
		print_message("redis-server is not installed (scripts/deps.sh installs it)\n");
		return -1;
	}
	port = free_port();
	assert_true(port > 0);
	loop = h2o_evloop_create();
	redis_start();
	return 0;
}

static int teardown(void **state)
{
	redis_stop();
	return 0;
}

static void pipelined(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c = gw_cluster_new(loop, &rc);
	struct answer a[200];
	const char *argv[1] = { "PING" };
	size_t len[1] = { 4 };
	bool all = false;
	uint64_t sent;

	assert_non_null(c);
	assert_true(ready_of(c, 3000));
	/* before any command: SCRIPT LOAD went out on connect */
	sent = gw_redis_stats(gw_cluster_redis(c))->commands;
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 200; i++)
		assert_int_equal(gw_redis_command((gw_redis_t *)gw_cluster_redis(c), on_answer,
						  &a[i], 1, argv, len),
				 0);
	for (uint64_t end = now_ms() + 3000; !all && now_ms() < end;) {
		h2o_evloop_run(loop, 10);
		all = true;
		for (int i = 0; i < 200; i++)
			all &= a[i].done;
	}
	assert_true(all);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(a[i].calls, 1);
		assert_string_equal(a[i].str, "PONG");
	}
	assert_int_equal(gw_redis_stats(gw_cluster_redis(c))->commands - sent, 200);
	assert_int_equal(gw_redis_stats(gw_cluster_redis(c))->connects, 1);
	gw_cluster_free(c);
}

static void script_counters(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c = gw_cluster_new(loop, &rc);
	gw_limit_t l;
	const char *why;
	int64_t exp = (int64_t)time(NULL) + 3600;
	gw_cluster_counter_t ctr[2] = {
		{ "q:day:1", 5, 2, exp, true }, /* hard: at most 5, 2 a request */
		{ "usage:1", 0, 1, 0, false },	/* soft, no limit, never expires */
	};
	struct verdict v;
	struct answer a;
	char key[128];
	const char *ttl[2] = { "TTL", key };

	assert_non_null(c);
	assert_int_equal(gw_limit_parse_rate("1/h", 0, true, 4, &l, &why), 0);
	assert_true(ready_of(c, 3000));

	admit(c, "aaaaaaaaaaaaaaaa", &l, ctr, 2, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(v.res.nvalues, 2);
	assert_int_equal(v.res.values[0], 2);
	assert_int_equal(v.res.values[1], 1);
	/* 4 tokens of 1 h each, one taken (the clock moved a few microseconds since) */
	assert_true(v.res.credit_ns >= 3 * l.interval_ns && v.res.credit_ns < 4 * l.interval_ns);

	admit(c, "aaaaaaaaaaaaaaaa", &l, ctr, 2, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(v.res.values[0], 4);
	assert_int_equal(v.res.values[1], 2);

	/* 4 + 2 > 5: refused, and nothing at all is taken */
	admit(c, "aaaaaaaaaaaaaaaa", &l, ctr, 2, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_COUNTER);
	assert_int_equal(v.res.counter, 0);
	assert_int_equal(v.res.values[0], 4);
	assert_true(v.res.credit_ns >= 2 * l.interval_ns && v.res.credit_ns < 3 * l.interval_ns);
	snprintf(key, sizeof(key), "%s{aaaaaaaaaaaaaaaa}:q:day:1", rc.prefix);
	assert_int_equal(get_int(c, key), 4);
	cmd(c, &a, 2, ttl);
	assert_true(a.integer > 3500 && a.integer <= 3600);
	snprintf(key, sizeof(key), "%s{aaaaaaaaaaaaaaaa}:usage:1", rc.prefix);
	assert_int_equal(get_int(c, key), 2);
	cmd(c, &a, 2, ttl);
	assert_int_equal(a.integer, -1);

	/* the bucket alone: two tokens left, then none; the counters are not read then */
	admit(c, "aaaaaaaaaaaaaaaa", &l, NULL, 0, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	admit(c, "aaaaaaaaaaaaaaaa", &l, NULL, 0, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	admit(c, "aaaaaaaaaaaaaaaa", &l, ctr + 1, 1, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_BUCKET);
	assert_int_equal(v.res.nvalues, 0);
	assert_true(v.res.credit_ns < l.interval_ns);
	assert_int_equal(get_int(c, key), 2);
	/* another key has its own full bucket */
	admit(c, "bbbbbbbbbbbbbbbb", &l, NULL, 0, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(gw_cluster_stats(c)->calls, 7);
	gw_cluster_free(c);
}

static void noscript(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c = gw_cluster_new(loop, &rc);
	const char *flush[2] = { "SCRIPT", "FLUSH" };
	gw_limit_t l;
	const char *why;
	struct verdict v;
	struct answer a;
	uint64_t loads;

	assert_non_null(c);
	assert_int_equal(gw_limit_parse_rate("10/s", 0, true, 10, &l, &why), 0);
	assert_true(ready_of(c, 3000));
	cmd(c, &a, 2, flush);
	loads = gw_cluster_stats(c)->script_loads;
	admit(c, "cccccccccccccccc", &l, NULL, 0, &v);
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(gw_cluster_stats(c)->script_loads, loads + 1);
	admit(c, "cccccccccccccccc", &l, NULL, 0, &v); /* cached again by that EVAL */
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(gw_cluster_stats(c)->script_loads, loads + 1);
	gw_cluster_free(c);
}

static void frozen_redis_times_out(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c = gw_cluster_new(loop, &rc);
	gw_limit_t l;
	const char *why;
	struct verdict v[3];
	uint64_t t0, waited;

	assert_non_null(c);
	assert_int_equal(gw_limit_parse_rate("10/s", 0, true, 10, &l, &why), 0);
	assert_true(ready_of(c, 3000));
	kill(redis_pid, SIGSTOP);
	memset(v, 0, sizeof(v));
	t0 = now_ms();
	for (int i = 0; i < 3; i++)
		assert_int_equal(
			gw_cluster_admit(c, "dddddddddddddddd", &l, NULL, 0, on_verdict, &v[i]), 0);
	assert_true(run_until(&v[2].done, 2000));
	waited = now_ms() - t0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v[i].calls, 1);
		assert_int_equal(v[i].res.verdict, GW_CLUSTER_UNAVAILABLE);
	}
	kill(redis_pid, SIGCONT);
	/* The oldest command in the pipeline times out (it may be the SCRIPT LOAD sent on
	 * connect); the connection is dropped and everything behind it fails with it. */
	for (int i = 0; i < 3; i++)
		assert_true(!strcmp(v[i].res.err, "timeout") ||
			    !strcmp(v[i].res.err, "disconnected"));
	/* the bound, with room for a shared machine */
	assert_true(waited >= TIMEOUT_MS - 10 && waited < TIMEOUT_MS + 400);
	assert_int_equal(gw_redis_stats(gw_cluster_redis(c))->timeouts, 1);
	assert_true(ready_of(c, 5000));
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 100 && v[0].res.verdict != GW_CLUSTER_ADMIT; i++) {
		/* a connection made while frozen may still time out once */
		if (gw_cluster_ready(c))
			admit(c, "dddddddddddddddd", &l, NULL, 0, &v[0]);
		else
			ready_of(c, 3000);
	}
	assert_int_equal(v[0].res.verdict, GW_CLUSTER_ADMIT);
	/* late replies of the timed-out calls were dropped: still one call back each */
	for (int i = 1; i < 3; i++)
		assert_int_equal(v[i].calls, 0);
	gw_cluster_free(c);
}

static void restart_and_reconcile(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c = gw_cluster_new(loop, &rc);
	gw_cluster_counter_t ctr = { "q:month:1", 10, 3, 0, true };
	const char *argv[1] = { "PING" };
	size_t len[1] = { 4 };
	gw_cluster_result_t res;
	gw_limit_t l;
	const char *why;
	struct verdict v;
	struct answer a;
	char key[128];

	assert_non_null(c);
	assert_int_equal(gw_limit_parse_rate("10/s", 0, true, 10, &l, &why), 0);
	assert_true(ready_of(c, 3000));
	admit(c, "eeeeeeeeeeeeeeee", &l, &ctr, 1, &v); /* Redis holds 3 */
	assert_int_equal(v.res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(v.res.values[0], 3);

	/* in flight when Redis dies: called back once, with an error */
	memset(&a, 0, sizeof(a));
	kill(redis_pid, SIGSTOP);
	assert_int_equal(
		gw_redis_command((gw_redis_t *)gw_cluster_redis(c), on_answer, &a, 1, argv, len),
		0);
	redis_stop();
	assert_true(run_until(&a.done, 2000));
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.type, -1);
	assert_true(a.err[0]);
	/* no connection: refused at once, no callback */
	while (gw_cluster_ready(c))
		h2o_evloop_run(loop, 10);
	memset(&v, 0, sizeof(v));
	assert_int_equal(gw_cluster_admit(c, "eeeeeeeeeeeeeeee", &l, &ctr, 1, on_verdict, &v),
			 -ENOTCONN);
	/* fail-open accounting: 3 known + 3 + 3 = 9; a third would make 12 > 10 */
	gw_cluster_local_counters(c, "eeeeeeeeeeeeeeee", &ctr, 1, &res);
	assert_int_equal(res.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(res.values[0], 6);
	gw_cluster_local_counters(c, "eeeeeeeeeeeeeeee", &ctr, 1, &res);
	assert_int_equal(res.values[0], 9);
	gw_cluster_local_counters(c, "eeeeeeeeeeeeeeee", &ctr, 1, &res);
	assert_int_equal(res.verdict, GW_CLUSTER_COUNTER);
	assert_int_equal(res.values[0], 9);

	/* Redis back (empty: no persistence here): the 6 counted locally are added */
	redis_start();
	assert_true(ready_of(c, 5000));
	snprintf(key, sizeof(key), "%s{eeeeeeeeeeeeeeee}:q:month:1", rc.prefix);
	for (int i = 0; i < 50 && gw_cluster_stats(c)->reconciled < 6; i++)
		h2o_evloop_run(loop, 10);
	assert_int_equal(gw_cluster_stats(c)->reconciled, 6);
	assert_int_equal(get_int(c, key), 6);
	assert_true(gw_redis_stats(gw_cluster_redis(c))->disconnects >= 1);
	assert_true(gw_redis_stats(gw_cluster_redis(c))->connects >= 2);
	gw_cluster_free(c);
}

static void close_with_calls_in_flight(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c = gw_cluster_new(loop, &rc);
	gw_limit_t l;
	const char *why;
	struct verdict v[5];

	assert_non_null(c);
	assert_int_equal(gw_limit_parse_rate("10/s", 0, true, 10, &l, &why), 0);
	assert_true(ready_of(c, 3000));
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 5; i++)
		assert_int_equal(
			gw_cluster_admit(c, "ffffffffffffffff", &l, NULL, 0, on_verdict, &v[i]), 0);
	gw_cluster_free(c);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(v[i].calls, 1);
		assert_int_equal(v[i].res.verdict, GW_CLUSTER_UNAVAILABLE);
		assert_string_equal(v[i].res.err, "closing");
	}
	for (int i = 0; i < 10; i++)
		h2o_evloop_run(loop, 1);
}

static void unreachable_from_the_start(void **state)
{
	gw_redis_conf_t rc = conf();
	gw_cluster_t *c;
	gw_limit_t l;
	const char *why;
	struct verdict v;

	rc.port = (uint16_t)free_port();
	c = gw_cluster_new(loop, &rc);
	assert_non_null(c);
	assert_int_equal(gw_limit_parse_rate("10/s", 0, true, 10, &l, &why), 0);
	for (int i = 0; i < 30; i++)
		h2o_evloop_run(loop, 10);
	assert_false(gw_cluster_ready(c));
	assert_int_equal(gw_cluster_admit(c, "0000000000000000", &l, NULL, 0, on_verdict, &v),
			 -ENOTCONN);
	assert_true(gw_redis_stats(gw_cluster_redis(c))->connect_failures >= 2);
	gw_cluster_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined),
		cmocka_unit_test(script_counters),
		cmocka_unit_test(noscript),
		cmocka_unit_test(frozen_redis_times_out),
		cmocka_unit_test(restart_and_reconcile),
		cmocka_unit_test(close_with_calls_in_flight),
		cmocka_unit_test(unreachable_from_the_start),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
