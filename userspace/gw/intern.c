/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * intern.c - process-wide name ids (see intern.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gw/intern.h"

static char *names[GW_INTERN_MAX];
static uint16_t count = 1; /* id 0 is "none" */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

uint16_t gw_intern_find(const char *name)
{
	uint16_t n = __atomic_load_n(&count, __ATOMIC_ACQUIRE);

	for (uint16_t i = 1; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return 0;
}

uint16_t gw_intern(const char *name)
{
	uint16_t id;
	char *copy;

	if (!name || !*name || strlen(name) > GW_NAME_MAX)
		return 0;
	pthread_mutex_lock(&lock);
	id = gw_intern_find(name);
	if (!id && count < GW_INTERN_MAX && (copy = strdup(name))) {
		id = count;
		names[id] = copy;
		/* Readers see the name before the count that makes it visible. */
		__atomic_store_n(&count, (uint16_t)(id + 1), __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lock);
	return id;
}

const char *gw_intern_name(uint16_t id)
{
	if (!id || id >= __atomic_load_n(&count, __ATOMIC_ACQUIRE))
		return "";
	return names[id];
}

uint16_t gw_intern_count(void)
{
	return __atomic_load_n(&count, __ATOMIC_ACQUIRE);
}
