/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * server.h - the daemon as a whole: start, signals, reload, graceful stop.
 *
 * The main thread owns the process: it loads the config and the keys, binds every socket
 * (so a port in use is an error before anything starts), starts the admin thread and the
 * workers, then waits for signals:
 *   SIGHUP          reload: parse and validate the file again, re-read the key store,
 *                   reopen the access log, and swap the config in; a bad config is
 *                   refused with its error logged and the old one keeps serving
 *   SIGTERM/SIGINT  graceful stop: listeners close, HTTP/2 clients get GOAWAY, HTTP/1
 *                   responses say Connection: close, in-flight requests get up to
 *                   limits.shutdown_timeout_ms to finish
 * Shared state the workers read (current config, keys, address buckets) is reached
 * through gw_server.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "gw/config.h"
#include "gw/keys.h"
#include "gw/ratelimit.h"
#include "gw/store.h"
#include "gw/usage.h"

typedef struct st_gw_worker_t gw_worker_t;
typedef struct st_gw_admin_t gw_admin_t;

typedef struct st_gw_server_t {
	const char *config_path;
	pthread_mutex_t lock; /* guards config against a concurrent swap */
	gw_config_t *config;  /* current; workers take references under lock */
	uint64_t generation;  /* atomic; bumped after each swap */
	gw_keys_t *keys;
	gw_usage_t *usage; /* quota counters (embedded backend) */
	gw_store_t *store;
	pthread_mutex_t store_lock; /* store writes and reloads of the key table */
	gw_ratelimit_table_t *ip_table;
	gw_ratelimit_table_t *edge_table;
	gw_worker_t **workers;
	unsigned nworkers;
	gw_admin_t *admin;
	uint64_t reloads_ok, reloads_failed; /* atomic */
	int stopping;			     /* atomic */
} gw_server_t;

extern gw_server_t gw_server;

/* Run the daemon with a loaded config (consumed). Returns the process exit status. */
int gw_server_run(const char *config_path, gw_config_t *cfg);

/* The current config with a reference taken, and its generation. */
gw_config_t *gw_server_config(uint64_t *generation);

/* Reload from the config file (what SIGHUP does), on a thread at a lower priority than
 * the workers ("fg-reload"), waited for. 0, or -EINVAL with err set. */
int gw_server_reload(char *err, size_t errlen);

/* Re-read every key from the store into the in-memory table. 0 or -EIO. */
int gw_server_load_keys(char *err, size_t errlen);

#endif /* GW_SERVER_H */
