/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ptimer.c - timers of one event loop that fire on time (see ptimer.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "gw/ptimer.h"
#include "gw/worker.h"

static gw_ptimer_t *first(const gw_ptimers_t *pt)
{
	if (h2o_linklist_is_empty((h2o_linklist_t *)&pt->list))
		return NULL;
	return H2O_STRUCT_FROM_MEMBER(gw_ptimer_t, link, pt->list.next);
}

uint64_t gw_ptimers_next(const gw_ptimers_t *pt)
{
	const gw_ptimer_t *t = first(pt);

	return t ? t->due_ns : 0;
}

/* Arm the fd for `due_ns` (absolute, CLOCK_MONOTONIC, > 0). A time already past fires at
 * once. A failed settime leaves it as it was: the loop's next run re-arms (see run()). */
static void arm(gw_ptimers_t *pt, uint64_t due_ns)
{
	struct itimerspec its = { .it_value = { (time_t)(due_ns / 1000000000ULL),
						(long)(due_ns % 1000000000ULL) } };

	if (pt->fd < 0 || due_ns == pt->armed_ns)
		return;
	if (!timerfd_settime(pt->fd, TFD_TIMER_ABSTIME, &its, NULL))
		pt->armed_ns = due_ns;
}

void gw_ptimer_link(gw_ptimers_t *pt, gw_ptimer_t *t, uint64_t now_ns, uint64_t delay_ns)
{
	h2o_linklist_t *pos = &pt->list;

	/* 0 would disarm a timerfd: the earliest time is 1 ns */
	t->due_ns = now_ns + delay_ns ? now_ns + delay_ns : 1;
	/* from the tail: timers of one duration come in due order */
	while (pos->prev != &pt->list &&
	       H2O_STRUCT_FROM_MEMBER(gw_ptimer_t, link, pos->prev)->due_ns > t->due_ns)
		pos = pos->prev;
	h2o_linklist_insert(pos, &t->link);
	if (!pt->armed_ns || t->due_ns < pt->armed_ns)
		arm(pt, t->due_ns);
}

unsigned gw_ptimers_run(gw_ptimers_t *pt, uint64_t now_ns)
{
	h2o_linklist_t due;
	unsigned n = 0;
	gw_ptimer_t *t;

	/* the fd fired or is about to: it is not armed for anything later */
	if (pt->armed_ns && pt->armed_ns <= now_ns)
		pt->armed_ns = 0;
	/* What is due now moves to a list of its own first: a callback may link a timer (a
	 * retry's connect) or unlink one of these, and one that links itself with no delay
	 * runs on the loop's next turn, not in a loop here. */
	h2o_linklist_init_anchor(&due);
	while ((t = first(pt)) && t->due_ns <= now_ns) {
		h2o_linklist_unlink(&t->link);
		h2o_linklist_insert(&due, &t->link);
	}
	while (!h2o_linklist_is_empty(&due)) {
		t = H2O_STRUCT_FROM_MEMBER(gw_ptimer_t, link, due.next);
		h2o_linklist_unlink(&t->link);
		n++;
		t->cb(t);
	}
	if ((t = first(pt)) && (!pt->armed_ns || t->due_ns < pt->armed_ns))
		arm(pt, t->due_ns);
	return n;
}

static void on_fd(h2o_socket_t *sock, const char *err)
{
	gw_ptimers_t *pt = sock->data;
	uint64_t expirations;

	/* drain the count (EAGAIN when another run already did); the list says what is due */
	if (read(pt->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		pt->armed_ns = 0;
	gw_ptimers_run(pt, gw_now_ns());
}

int gw_ptimers_init(gw_ptimers_t *pt, h2o_loop_t *loop, char *err, size_t errlen)
{
	memset(pt, 0, sizeof(*pt));
	h2o_linklist_init_anchor(&pt->list);
	pt->fd = -1;
	if (!loop)
		return 0;
	if ((pt->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		int e = errno;

		snprintf(err, errlen, "Couldn't create the loop's timer (timerfd): %s",
			 strerror(e));
		return -e;
	}
	pt->sock = h2o_evloop_socket_create(loop, pt->fd, H2O_SOCKET_FLAG_DONT_READ);
	pt->sock->data = pt;
	h2o_socket_read_start(pt->sock, on_fd);
	return 0;
}

void gw_ptimers_dispose(gw_ptimers_t *pt)
{
	while (!h2o_linklist_is_empty(&pt->list))
		h2o_linklist_unlink(pt->list.next);
	if (pt->sock) {
		h2o_socket_read_stop(pt->sock);
		h2o_socket_close(pt->sock); /* closes the fd */
		pt->sock = NULL;
	} else if (pt->fd >= 0) {
		close(pt->fd);
	}
	pt->fd = -1;
	pt->armed_ns = 0;
}
