/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tb.h - floodgate's token-bucket maths: pure integer functions, no state, no clock.
 *
 * Built by clang for the BPF target (bpf/bucket.h), by gcc for the daemon's plan limits,
 * and exercised on the host by tests/unit/test_tb.c. One policy, one implementation.
 *
 * A bucket holds `burst` tokens, refills at `rate` tokens per second and starts full
 * (AWS usage-plan semantics). The content is kept as *time*: credit_ns, where one token
 * is interval_ns = 1e9 / rate and a full bucket is cap_ns = burst * interval_ns. Refill is
 * then a plain addition of elapsed nanoseconds and admission a comparison, with no division
 * or multiplication on the per-packet path, and fractional rates ("5 per minute" =
 * interval 12e9 ns) need no floating point.
 *
 * Several CPUs, one rate. The XDP program keeps one bucket slot per CPU (a per-CPU map:
 * no shared cache line on the fast path). If each CPU refilled its own slot at the full
 * rate, a source whose flows land on N CPUs would get N times the rate. Instead, time is
 * *minted* into credit from one cursor shared by all CPUs of a key (kept in CPU 0's slot):
 * a CPU whose own credit (its "wallet") cannot pay for a packet claims the time elapsed
 * since the cursor with one compare-and-swap that moves the cursor to now, and adds it to
 * its wallet. Every nanosecond is minted once, by one CPU, so over any interval T the
 * admitted total is at most burst + rate * T whatever the number of CPUs (plus less than
 * one token left in each wallet), and a source on one CPU still gets the full rate.
 * A CPU that needs a token only mints when the claim is worth a whole token, so time is
 * never claimed and then stranded as a fraction. Wallets are capped at cap_ns each: after
 * an idle period one CPU may hold a full bucket, never more.
 */
#ifndef FLOODGATE_TB_H
#define FLOODGATE_TB_H

#include <linux/types.h>
#include <asm-generic/errno-base.h>
#include "edge.h"

#define TB_NS_PER_S 1000000000ULL

/* Always inlined: a BPF call takes at most 5 arguments, and some of these take 6. */
#define TB_FN static inline __attribute__((always_inline))

/* a * b, or ~0 when the product overflows 64 bits. */
TB_FN __u64 tb_mul_sat(__u64 a, __u64 b)
{
	__u64 r = a * b;

	if (a && r / a != b)
		return ~0ULL;
	return r;
}

/*
 * ns per token for `count` tokens every `per_ns` nanoseconds (5 per minute:
 * tb_interval(5, 60 * TB_NS_PER_S)). Never 0 for a non-zero count: the finest rate the
 * clock can express is one token per ns. 0 for count 0 (no tokens are ever added).
 */
TB_FN __u64 tb_interval(__u64 count, __u64 per_ns)
{
	__u64 i;

	if (!count)
		return 0;
	i = per_ns / count;
	return i ? i : 1;
}

/*
 * Fill *l from a rate in packets per second and a burst in packets.
 * Returns 0, or -EINVAL when rate or burst is 0 or above EDGE_RATE_MAX / EDGE_BURST_MAX
 * (a limit of 0 is "no limit", which callers express by not setting one).
 */
TB_FN int tb_limit_set(struct edge_limit *l, __u64 rate, __u64 burst)
{
	if (!rate || rate > EDGE_RATE_MAX || !burst || burst > EDGE_BURST_MAX)
		return -EINVAL;
	l->rate = rate;
	l->burst = burst;
	l->interval_ns = tb_interval(rate, TB_NS_PER_S);
	l->cap_ns = tb_mul_sat(burst, l->interval_ns);
	return 0;
}

/* Credit after refilling from stamp to now, capped at cap. A clock that went backwards
 * (now < stamp) refills nothing; an enormous gap saturates at cap without overflow. */
TB_FN __u64 tb_refill(__u64 credit, __u64 stamp, __u64 now, __u64 cap)
{
	__u64 gap;

	if (credit > cap)
		credit = cap;
	if (now <= stamp)
		return credit;
	gap = now - stamp;
	if (gap >= cap - credit)
		return cap;
	return credit + gap;
}

/* A full bucket as of now. */
TB_FN void tb_init(struct edge_bucket *b, __u64 now, __u64 cap)
{
	b->credit_ns = cap;
	b->stamp_ns = now;
}

/*
 * Single-owner bucket (one writer at a time): refill to now, then take `cost` tokens if
 * they are all there. Returns 1 when admitted, 0 when not (nothing is taken then).
 * The stamp never moves backwards, so a clock step back cannot refill twice.
 */
TB_FN int tb_take(struct edge_bucket *b, __u64 now, __u64 interval, __u64 cap, __u64 cost)
{
	__u64 need = tb_mul_sat(cost, interval);
	__u64 credit = tb_refill(b->credit_ns, b->stamp_ns, now, cap);

	if (now > b->stamp_ns)
		b->stamp_ns = now;
	if (credit >= need) {
		b->credit_ns = credit - need;
		return 1;
	}
	b->credit_ns = credit;
	return 0;
}

/* ns until `cost` tokens are available in a bucket holding `credit` (0 if they are);
 * ~0 when they never will be (cost beyond the bucket size). */
TB_FN __u64 tb_wait_ns(__u64 credit, __u64 interval, __u64 cap, __u64 cost)
{
	__u64 need = tb_mul_sat(cost, interval);

	if (need > cap)
		return ~0ULL;
	return credit >= need ? 0 : need - credit;
}

/* ---- Per-CPU wallets sharing one mint cursor (see the top of this file) ---- */

/* Take one token from a wallet without minting. */
TB_FN int tb_wallet_take(struct edge_bucket *w, __u64 interval)
{
	if (w->credit_ns >= interval) {
		w->credit_ns -= interval;
		return 1;
	}
	return 0;
}

/*
 * The decision of a CPU whose wallet holds `credit` (< interval) and which read the shared
 * cursor as `cursor`: returns the time to mint (now - cursor) when that pays for a token,
 * else 0, meaning "reject, and do not move the cursor". A cursor of 0 is uninitialised and
 * mints nothing (the caller sets it to now); a cursor in the future mints nothing.
 */
TB_FN __u64 tb_mint_claim(__u64 credit, __u64 cursor, __u64 now, __u64 interval)
{
	__u64 gap;

	if (!cursor || now <= cursor)
		return 0;
	gap = now - cursor;
	if (credit >= interval || gap >= interval - credit)
		return gap;
	return 0;
}

/* Earliest time at which a mint from `cursor` could pay for one token given `credit`:
 * before it, a CPU other than the cursor's owner rejects without reading the cursor. */
TB_FN __u64 tb_mint_hint(__u64 credit, __u64 cursor, __u64 interval)
{
	return credit >= interval ? 0 : cursor + (interval - credit);
}

/* Add a successful claim to a wallet, capped at the bucket size. */
TB_FN __u64 tb_wallet_add(__u64 credit, __u64 minted, __u64 cap)
{
	return tb_refill(credit, 0, minted, cap);
}

/* Compare-and-swap attempts on the cursor before giving up (and rejecting): losing three
 * races in a row means other CPUs are minting this key's time right now anyway. */
#define TB_MINT_TRIES 3

/*
 * A fresh per-CPU slot for a key seen for the first time, on the CPU that creates it: a
 * full wallet (the bucket starts full), and the cursor set to now when this CPU's slot is
 * the home slot. A creator on another CPU sets the home cursor with tb_percpu_home_init().
 */
TB_FN void tb_percpu_init(struct edge_bucket *mine, __u64 now, __u64 cap, int is_home)
{
	mine->credit_ns = cap;
	mine->stamp_ns = is_home ? now : 0;
}

/* Start the shared cursor at now unless a CPU already did. */
TB_FN void tb_percpu_home_init(struct edge_bucket *home, __u64 now)
{
	__sync_val_compare_and_swap(&home->stamp_ns, 0, now);
}

/* Results of tb_percpu_fast(). */
#define TB_REJECT 0
#define TB_ADMIT  1
#define TB_MINT	  2 /* the wallet cannot pay and a mint might: call tb_percpu_mint() */

/*
 * The part of an admission that reads only this CPU's slot: pay from the wallet, or
 * reject early when the hint says no mint can pay yet. Only TB_MINT needs the home slot.
 */
TB_FN int tb_percpu_fast(struct edge_bucket *mine, int is_home, __u64 now, __u64 interval)
{
	if (tb_wallet_take(mine, interval))
		return TB_ADMIT;
	if (!is_home && now < mine->stamp_ns)
		return TB_REJECT;
	return TB_MINT;
}

/*
 * Claim the time since the shared cursor into this CPU's wallet and pay from it.
 * `home` is the slot holding the cursor (CPU 0's; is_home when it is `mine`).
 * Returns TB_ADMIT or TB_REJECT. Only `home->stamp_ns` is ever written by another CPU,
 * and only with compare-and-swap; everything else in `mine` belongs to this CPU.
 */
TB_FN int tb_percpu_mint(struct edge_bucket *mine, struct edge_bucket *home, int is_home, __u64 now,
			 __u64 interval, __u64 cap)
{
	__u64 cursor, claim;
	int i;

	for (i = 0; i < TB_MINT_TRIES; i++) {
		cursor = *(volatile __u64 *)&home->stamp_ns;
		if (!cursor) {
			tb_percpu_home_init(home, now);
			continue;
		}
		claim = tb_mint_claim(mine->credit_ns, cursor, now, interval);
		if (!claim) {
			if (!is_home)
				mine->stamp_ns = tb_mint_hint(mine->credit_ns, cursor, interval);
			return TB_REJECT;
		}
		if (__sync_val_compare_and_swap(&home->stamp_ns, cursor, now) == cursor) {
			mine->credit_ns = tb_wallet_add(mine->credit_ns, claim, cap);
			return tb_wallet_take(mine, interval);
		}
	}
	return TB_REJECT;
}

/* Room (in ns) a bucket must have beyond one token for tb_percpu_early_reject() to be
 * used: two ticks of a HZ=100 kernel. A claim delayed by up to a tick is that much larger,
 * and with less room the excess would overflow the cap and be lost. */
#define TB_COARSE_MIN_CAP (20ULL * 1000000ULL)

/*
 * Can this CPU reject without reading the precise clock? `early` is any underestimate of
 * now (the coarse clock, up to a tick behind). Rejecting on an underestimate is safe: the
 * time stays unclaimed at the cursor and the next precise look claims all of it, so no
 * token is lost, only paid out up to a tick later (in a larger claim); the rate over any
 * interval longer than a tick is unchanged. Only an empty wallet (after tb_wallet_take
 * failed) asks. On the home CPU the hint is derived from the cursor itself.
 */
TB_FN int tb_percpu_early_reject(const struct edge_bucket *mine, int is_home, __u64 early,
				 __u64 interval, __u64 cap)
{
	__u64 hint;

	if (cap < interval || cap - interval < TB_COARSE_MIN_CAP)
		return 0;
	hint = is_home ? tb_mint_hint(mine->credit_ns, *(volatile __u64 *)&mine->stamp_ns, interval)
		       : mine->stamp_ns;
	return early < hint;
}

/* Both steps, for callers that hold both slots anyway (the host tests). */
TB_FN int tb_percpu_take(struct edge_bucket *mine, struct edge_bucket *home, int is_home, __u64 now,
			 __u64 interval, __u64 cap)
{
	int r = tb_percpu_fast(mine, is_home, now, interval);

	if (r != TB_MINT)
		return r;
	return tb_percpu_mint(mine, home, is_home, now, interval, cap);
}

#endif /* FLOODGATE_TB_H */
