/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * usageflush.h - the embedded counters' durability: restore at start, flush while running.
 *
 * A thread writes the counters changed since its last pass (usage.h) to the store in one
 * transaction every usage.flush_ms (1 s by default, at most), and once more when the
 * daemon stops; a kill -9 therefore loses at most one interval of counting. Keys, plan
 * changes and audit entries do not wait for it: the admin API writes those before it
 * answers. A failed write keeps the rows dirty for the next pass.
 */
#ifndef GW_USAGEFLUSH_H
#define GW_USAGEFLUSH_H

#include <stddef.h>

/* Load stored counters into gw_server.usage (periods already over are skipped). 0/-EIO. */
int gw_usageflush_restore(char *err, size_t errlen);

/* Start the flusher thread. 0 or -errno. */
int gw_usageflush_start(void);

/* Write every dirty counter now (under the store lock). 0, -ENOMEM or -EIO. */
int gw_usageflush_now(void);

/* Stop the thread (if started) and flush one last time. */
void gw_usageflush_stop(void);

#endif /* GW_USAGEFLUSH_H */
