/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ptimer.h - timers of one event loop that fire on time, to the microsecond.
 *
 * Why: h2o 2.2.5 keeps its loop's time in whole milliseconds (gettimeofday truncated) and
 * waits in epoll_wait's milliseconds, whose kernel slack is a further 0.1 % of the wait, so
 * an h2o_timeout_t fires 0-2 ms after it is due (about 1 ms late at the median, measured
 * with the failover step of `make bench-gw`). For most timeouts that does not matter. For
 * the upstream connect timeout it is the whole point: a failover is promised to add one
 * connect timeout to a request, not one and a bit. These timers sit in a list sorted by
 * due time (CLOCK_MONOTONIC, ns) behind one timerfd that the loop polls.
 *
 * Cost: linking and unlinking touch the list only. The timerfd is armed when the new entry
 * is due before what it is armed for, and never disarmed when an entry goes: a timer that
 * was unlinked (the connect that succeeded) makes the fd fire once for nothing, and the
 * loop re-arms it for the next entry if there is one. Entries of one duration arrive in
 * due order, so an insertion walks back from the tail one step.
 */
#ifndef GW_PTIMER_H
#define GW_PTIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/evloop.h"

typedef struct st_gw_ptimer_t gw_ptimer_t;
typedef void (*gw_ptimer_cb)(gw_ptimer_t *t);

/* One timer; zero it (or set only cb) to start. Embedded in its owner. */
struct st_gw_ptimer_t {
	h2o_linklist_t link;
	uint64_t due_ns; /* CLOCK_MONOTONIC */
	gw_ptimer_cb cb;
};

/* A loop's timers. */
typedef struct st_gw_ptimers_t {
	h2o_linklist_t list; /* by due_ns, earliest first */
	h2o_socket_t *sock;  /* the timerfd in the loop; NULL: no fd (the list alone, tests) */
	int fd;
	uint64_t armed_ns; /* what the fd is armed for; 0: not armed */
} gw_ptimers_t;

/* Set up `pt` on `loop` (a timerfd the loop polls). loop NULL: the list alone, run only by
 * gw_ptimers_run() (tests). 0, or -errno with a message in err. */
int gw_ptimers_init(gw_ptimers_t *pt, h2o_loop_t *loop, char *err, size_t errlen);

/* Close the fd. Linked entries are unlinked without being called. */
void gw_ptimers_dispose(gw_ptimers_t *pt);

/* Link `t` to fire `delay_ns` after `now_ns` (gw_now_ns()). It must not be linked. */
void gw_ptimer_link(gw_ptimers_t *pt, gw_ptimer_t *t, uint64_t now_ns, uint64_t delay_ns);

static inline bool gw_ptimer_is_linked(const gw_ptimer_t *t)
{
	return h2o_linklist_is_linked((h2o_linklist_t *)&t->link);
}

/* Unlink `t` when it is linked; it will not be called. */
static inline void gw_ptimer_unlink(gw_ptimer_t *t)
{
	if (h2o_linklist_is_linked(&t->link))
		h2o_linklist_unlink(&t->link);
}

/* Call (unlinked first) every timer due at `now_ns`, earliest first, including those a
 * callback links that are due by then; re-arm the fd for the next. The number called. */
unsigned gw_ptimers_run(gw_ptimers_t *pt, uint64_t now_ns);

/* The earliest due time linked, 0 when none. */
uint64_t gw_ptimers_next(const gw_ptimers_t *pt);

#endif /* GW_PTIMER_H */
