/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * commands.c - the registry of command groups. A group is one file defining
 * `const struct fgctl_cmd fgctl_cmds_<name>[]` (ending with { NULL }); adding one is that
 * file plus one X(<name>) line below. The order here is the order of fgctl --help.
 */
#include <stddef.h>

#include "fgctl.h"

#define FGCTL_GROUPS(X)                                                                            \
	X(attach)                                                                                  \
	X(status)                                                                                  \
	X(lists)                                                                                   \
	X(edges)                                                                                   \
	X(config)                                                                                  \
	X(stats)                                                                                   \
	X(keys)                                                                                    \
	X(cache)                                                                                   \
	X(upstreams)                                                                               \
	X(bans)

#define DECLARE(name) extern const struct fgctl_cmd fgctl_cmds_##name[];
FGCTL_GROUPS(DECLARE)
#undef DECLARE

#define ENTRY(name) fgctl_cmds_##name,
const struct fgctl_cmd *const fgctl_groups[] = { FGCTL_GROUPS(ENTRY) NULL };
#undef ENTRY
