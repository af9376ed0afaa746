/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * looptimeout.c - h2o timeout lists shared by duration within an event loop (see
 * looptimeout.h). The registry is per thread: a loop is only ever used by its own thread.
 */
#include <stdlib.h>
#include <string.h>

#include "gw/looptimeout.h"

struct shared_timeout {
	h2o_timeout_t t; /* first: linked into the loop, so it must not move */
	h2o_loop_t *loop;
	unsigned refs;
};

static __thread struct shared_timeout **reg;
static __thread size_t nreg, capreg;

h2o_timeout_t *gw_looptimeout_get(h2o_loop_t *loop, uint64_t ms)
{
	struct shared_timeout *s;

	for (size_t i = 0; i < nreg; i++)
		if (reg[i]->loop == loop && reg[i]->t.timeout == ms) {
			reg[i]->refs++;
			return &reg[i]->t;
		}
	if (nreg == capreg) {
		size_t cap = capreg ? capreg * 2 : 8;
		struct shared_timeout **n = realloc(reg, cap * sizeof(*n));

		if (!n)
			return NULL;
		reg = n;
		capreg = cap;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	h2o_timeout_init(loop, &s->t, ms);
	s->loop = loop;
	s->refs = 1;
	reg[nreg++] = s;
	return &s->t;
}

void gw_looptimeout_put(h2o_loop_t *loop, h2o_timeout_t *t)
{
	for (size_t i = 0; t && i < nreg; i++) {
		struct shared_timeout *s = reg[i];

		if (&s->t != t)
			continue;
		if (--s->refs)
			return;
		h2o_timeout_dispose(loop, &s->t);
		free(s);
		reg[i] = reg[--nreg];
		if (!nreg) {
			free(reg);
			reg = NULL;
			capreg = 0;
		}
		return;
	}
}

void gw_looptimeout_thread_done(void)
{
	/* The lists stay linked into their loops (h2o may still walk them while the loop
	 * goes); only this thread's index of them goes. */
	free(reg);
	reg = NULL;
	nreg = capreg = 0;
}

size_t gw_looptimeout_count(h2o_loop_t *loop)
{
	size_t n = 0;

	for (size_t i = 0; i < nreg; i++)
		n += reg[i]->loop == loop;
	return n;
}
