/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banstore.h - where bans outlive the daemon: a `bans` table in the key store's SQLite
 * database (WAL), on a connection of its own so the ban thread never shares one with
 * the admin thread's key writes. One row per banned network, kept after the ban expires
 * so a repeat offence still finds how many came before (rows are pruned once they are
 * older than the forgiveness period).
 */
#ifndef GW_BANSTORE_H
#define GW_BANSTORE_H

#include <stddef.h>

#include "gw/ban.h"

typedef struct st_gw_banstore_t gw_banstore_t;

/* Open (creating the table if needed). NULL with err set. */
gw_banstore_t *gw_banstore_open(const char *path, char *err, size_t errlen);
void gw_banstore_close(gw_banstore_t *s);

/* Insert or replace the row of b->cidr. 0 or -EIO (message in err). */
int gw_banstore_put(gw_banstore_t *s, const gw_ban_t *b, char *err, size_t errlen);
/* Mark the row of cidr lifted (expires = now); 0, -ENOENT or -EIO. */
int gw_banstore_lift(gw_banstore_t *s, const struct fg_cidr *c, int64_t now, char *err,
		     size_t errlen);
/* Delete rows that expired before `before` (unix seconds). */
int gw_banstore_prune(gw_banstore_t *s, int64_t before, char *err, size_t errlen);
/* Every row, in no particular order; a non-zero return of fn stops and is returned. */
int gw_banstore_load(gw_banstore_t *s, int (*fn)(void *arg, const gw_ban_t *b), void *arg,
		     char *err, size_t errlen);

#endif /* GW_BANSTORE_H */
