/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * health.h - active health checks of upstream servers, on a thread of their own.
 *
 * Every upstream with a `health_check` has each of its servers probed every interval_ms:
 * a new connection, `GET path HTTP/1.1` with Connection: close, and a 2xx or 3xx status
 * line within timeout_ms passes. Results go to the server's shared record
 * (gw_upgroup_checked(): `fall` failures in a row take it out, `rise` passes bring it
 * back and close its breaker). The thread follows reloads (it reads the current config
 * every turn, and a reload wakes it); probes of one turn run one after the other, so a turn with many dead
 * servers takes up to their timeouts added up (the intervals stretch, nothing else).
 */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

/* Start the checker thread (a no-op turn when no upstream has checks). 0 or -errno. */
int gw_health_start(void);
/* Have the thread read the config again now (after a reload): it otherwise sleeps until
 * the next check of the config it read is due, or a second when none is. */
void gw_health_kick(void);
/* Stop it and wait for it (a probe in progress ends within its timeout). */
void gw_health_stop(void);

#endif /* GW_HEALTH_H */
