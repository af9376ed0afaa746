/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * intern.h - names of plans, routes and upstreams as small ids that survive reloads.
 *
 * A key remembers its plan, a metric its route, across config reloads that may reorder,
 * add or drop them; so both refer to a name by a process-wide id handed out here, never by
 * an index into one config. The table only grows (a name dropped by a reload keeps its id,
 * so a key whose plan disappears still says which plan it had). Id 0 means "none".
 * Lookups are lock-free; interning takes a mutex (config load, admin thread).
 */
#ifndef GW_INTERN_H
#define GW_INTERN_H

#include <stdint.h>

/* Most distinct names over the life of the process (plans + routes + upstreams). */
#define GW_INTERN_MAX 4096
/* Longest name accepted anywhere a name is interned. */
#define GW_NAME_MAX   64

/* The id of name, adding it when new. 0 when the name is too long or the table is full. */
uint16_t gw_intern(const char *name);

/* The id of name, or 0 when it was never interned. */
uint16_t gw_intern_find(const char *name);

/* The name of an id ("" for 0 or an unknown id). */
const char *gw_intern_name(uint16_t id);

/* One more than the highest id handed out so far. */
uint16_t gw_intern_count(void);

#endif /* GW_INTERN_H */
