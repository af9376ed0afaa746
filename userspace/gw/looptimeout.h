/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * looptimeout.h - h2o timeout lists shared by duration within an event loop.
 *
 * Why: h2o 2.2.5's loop walks every h2o_timeout_t registered with it twice per iteration
 * (to compute its wait, then to run what is due), whether or not it holds entries. Each
 * upstream group had four of its own per worker (connect, first byte, total, keep-alive
 * idle), so a config with many groups made every loop iteration, hence every request,
 * dearer. One list can hold any entries of the same duration, so groups with the same
 * timeouts now share them: the loop walks one list per distinct duration.
 */
#ifndef GW_LOOPTIMEOUT_H
#define GW_LOOPTIMEOUT_H

#include <stddef.h>
#include <stdint.h>

#include "gw/evloop.h"

/* The loop's list for timeouts of `ms`, created on first use; each call takes a reference.
 * NULL: out of memory. Call from the loop's thread only. */
h2o_timeout_t *gw_looptimeout_get(h2o_loop_t *loop, uint64_t ms);

/* Drop a reference taken by gw_looptimeout_get(); the last one disposes of the list
 * (which must hold no entry by then, as h2o requires). NULL is ignored. */
void gw_looptimeout_put(h2o_loop_t *loop, h2o_timeout_t *t);

/* The thread is done with its loops: forget its index of lists (which stay with their
 * loops). No call of the functions above may follow on this thread. */
void gw_looptimeout_thread_done(void);

/* Lists this thread holds for `loop` (tests). */
size_t gw_looptimeout_count(h2o_loop_t *loop);

#endif /* GW_LOOPTIMEOUT_H */
