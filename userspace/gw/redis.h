/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redis.h - an asynchronous Redis client on an h2o 2.2.5 event loop (hiredis 0.14 async).
 *
 * h2o 2.2.5 has no Redis client and hiredis ships no adapter for h2o's loop, so this is
 * one: the hiredis connection's socket is watched through an h2o_socket_t (a dup of the
 * fd, so h2o and hiredis each close their own), replies h2o reads are fed to hiredis's
 * reader, and hiredis writes its output buffer itself when h2o says the socket is
 * writable. Everything one loop turn sends leaves in one write: commands from concurrent
 * requests are pipelined on the one connection.
 *
 * Contract of a command: gw_redis_command() either fails at once (-ENOTCONN while there
 * is no connection, -ENOMEM) and never calls back, or returns 0 and calls back exactly
 * once - with the reply, or with reply NULL and an error ("timeout", "disconnected",
 * "closing") no later than the configured timeout_ms after the call. A timeout also drops
 * the connection: Redis not answering within the bound is a Redis in trouble, and what
 * was pipelined behind the late command would be late too.
 *
 * Lost connections are retried with backoff (gw_redis_backoff_ms()). On every new
 * connection AUTH and SELECT go first, then the on_connect hook runs, so anything it
 * sends (SCRIPT LOAD, a reconciliation) precedes later commands on the wire.
 * One gw_redis_t belongs to one thread: the thread running its loop.
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "gw/evloop.h"
#include "gw/redis_conf.h"

typedef struct st_gw_redis_t gw_redis_t;

/* A command's outcome: reply (error replies included) or err. reply is hiredis's and is
 * freed when the callback returns. */
typedef void (*gw_redis_cb)(void *data, redisReply *reply, const char *err);

typedef struct st_gw_redis_hooks_t {
	void (*on_connect)(gw_redis_t *r, void *data);			   /* ready for commands */
	void (*on_disconnect)(gw_redis_t *r, void *data, const char *why); /* was ready */
	void *data;
} gw_redis_hooks_t;

/* Counters of one client (its thread writes, others read relaxed). */
typedef struct st_gw_redis_stats_t {
	uint64_t commands;	   /* sent */
	uint64_t replies;	   /* answered (error replies included) */
	uint64_t errors;	   /* called back without a reply (timeout, disconnect, closing) */
	uint64_t timeouts;	   /* of those, timeouts */
	uint64_t connects;	   /* connections established */
	uint64_t connect_failures; /* attempts that failed */
	uint64_t disconnects;	   /* established connections lost */
	uint64_t refused;	   /* commands refused at once: no connection */
} gw_redis_stats_t;

/* A client on loop; it starts connecting at once. NULL on allocation failure. */
gw_redis_t *gw_redis_new(h2o_evloop_t *loop, const gw_redis_conf_t *conf,
			 const gw_redis_hooks_t *hooks);

/* Close the connection for good (pending commands are called back with "closing"); r
 * stays readable (stats) until gw_redis_free(), which closes it too and frees it. */
void gw_redis_close(gw_redis_t *r);
void gw_redis_free(gw_redis_t *r);

/* Whether commands are accepted now. */
bool gw_redis_ready(const gw_redis_t *r);

/* Send a command given as argv (binary-safe); see the contract above. */
int gw_redis_command(gw_redis_t *r, gw_redis_cb cb, void *data, int argc, const char **argv,
		     const size_t *argvlen);

/* Send one command already in RESP (cmd: len bytes, one complete command, copied before
 * the call returns): spares hiredis formatting it. Same contract as gw_redis_command(). */
int gw_redis_command_resp(gw_redis_t *r, gw_redis_cb cb, void *data, const char *cmd, size_t len);

/* The client's counters. */
const gw_redis_stats_t *gw_redis_stats(const gw_redis_t *r);

/* The last connection error ("" when none), for logs and tests. */
const char *gw_redis_last_error(const gw_redis_t *r);

/*
 * A blocking connection to conf's server for a thread of its own (the key store, ban
 * publication; never an event loop): connected within conf's connect timeout,
 * authenticated, on conf's database, every command bounded by timeout_ms. NULL with why set
 * ("redis HOST:PORT: ...") on failure.
 */
redisContext *gw_redis_connect_sync(const gw_redis_conf_t *conf, uint64_t timeout_ms, char *why,
				    size_t len);

#endif /* GW_REDIS_H */
