/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * topkeys.h - which API keys are used most, approximately, for the status page.
 *
 * Each worker thread counts admitted requests per key id in a direct-mapped table of its
 * own (no lock, no atomic read-modify-write on the request path): a key whose slot is
 * taken by another decrements that count and takes the slot when it reaches zero, so a
 * heavy key keeps its slot and rare ones come and go (the "frequent items" idea). The
 * reader sums the threads' tables. Counts are lower bounds; the order of the heavy keys
 * is what the page shows. Per-key quotas and billing are not this module's business.
 */
#ifndef GW_TOPKEYS_H
#define GW_TOPKEYS_H

#include <stddef.h>
#include <stdint.h>

#define GW_TOPKEYS_SLOTS 1024 /* per thread */

typedef struct st_gw_topkey_t {
	char id[17]; /* key id (16 hex digits) */
	uint64_t count;
} gw_topkey_t;

/* Count one admitted request of key id (16 hex digits) on the calling thread. */
void gw_topkeys_note(const char *id);

/* The n most used keys over every thread into out (most first); returns how many. */
size_t gw_topkeys_top(gw_topkey_t *out, size_t n);

#endif /* GW_TOPKEYS_H */
