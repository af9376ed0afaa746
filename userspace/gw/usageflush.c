/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * usageflush.c - counters to the store and back (see usageflush.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "gw/server.h"
#include "gw/usage.h"
#include "gw/usageflush.h"

static pthread_t flusher;
static bool started, stopping;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static int restore_one(void *arg, const gw_usage_row_t *r)
{
	return gw_usage_restore(gw_server.usage, r, *(const int64_t *)arg) ? 1 : 0;
}

int gw_usageflush_restore(char *err, size_t errlen)
{
	int64_t now = (int64_t)time(NULL);
	int ret;

	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_usage_load(gw_server.store, restore_one, &now);
	pthread_mutex_unlock(&gw_server.store_lock);
	if (ret) {
		snprintf(err, errlen, "Couldn't restore quota counters: %s",
			 ret > 0 ? "out of memory" : gw_server.store->errmsg);
		return -EIO;
	}
	pr_debug("restored quota counters of %zu keys", gw_usage_count(gw_server.usage));
	return 0;
}

int gw_usageflush_now(void)
{
	gw_usage_row_t *rows = NULL;
	size_t n = 0;
	int ret;

	/* A store that keeps no counters (they live elsewhere): nothing to write. */
	if (!gw_server.usage || !gw_server.store || !gw_server.store->ops->usage_save)
		return 0;
	if ((ret = gw_usage_collect(gw_server.usage, (int64_t)time(NULL), &rows, &n)))
		return ret;
	if (!n)
		return 0;
	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_usage_save(gw_server.store, rows, n);
	if (ret)
		pr_err("%s (kept for the next flush)", gw_server.store->errmsg);
	pthread_mutex_unlock(&gw_server.store_lock);
	if (ret)
		gw_usage_redirty(gw_server.usage, rows, n);
	free(rows);
	return ret;
}

static uint64_t interval_ms(void)
{
	gw_config_t *cfg = gw_server_config(NULL);
	uint64_t ms = cfg ? cfg->usage.flush_ms : 1000;

	gw_config_unref(cfg);
	return ms ? ms : 1000;
}

static void *run(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec ts;
		uint64_t ms = interval_ms();

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cond, &lock, &ts);
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);
		gw_usageflush_now();
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int gw_usageflush_start(void)
{
	int rc = pthread_create(&flusher, NULL, run, NULL);

	if (rc) {
		pr_err("Couldn't start the quota flusher: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(flusher, "fg-quotaflush");
	started = true;
	return 0;
}

void gw_usageflush_stop(void)
{
	if (started) {
		pthread_mutex_lock(&lock);
		stopping = true;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&lock);
		pthread_join(flusher, NULL);
		started = false;
	}
	if (gw_usageflush_now())
		pr_err("Couldn't write the quota counters at stop");
}
