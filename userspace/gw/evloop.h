/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * evloop.h - the one way the daemon includes libh2o.
 *
 * Debian's libh2o-evloop is h2o 2.2.5 built with its own event loop; its headers pick libuv
 * unless told otherwise, so every gw file includes this instead of <h2o.h>.
 */
#ifndef GW_EVLOOP_H
#define GW_EVLOOP_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <h2o/http1client.h>
#include <h2o/socketpool.h>

#endif /* GW_EVLOOP_H */
