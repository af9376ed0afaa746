#!/usr/bin/env bash
# gw_seed: the AWS usage-plan seed scenario - 30 parallel requests with a free-plan key
# (1 r/s, burst 1) admit exactly the burst and answer 429 to the rest, while a premium key
# (10 r/s, burst 100) has all 30 admitted; the per-minute tiers; the bucket refills.
# The connections land on both worker threads: the count is exact across threads.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

gw_upstream "$UP_FAST" --size 64 --threads 2
gw_upstream "$UP_ECHO" --echo
gw_config '.routes[0].upstream = "fast"' >"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish
URL=https://127.0.0.1:$GW_PORT/v1/items

count() { echo "$1" | grep -c "^$2$"; }

FREE=$(gw_key free)
t0=$(date +%s%N)
codes=$(parallel 30 -H "X-API-Key: $FREE" "$URL?i=[1-30]")
t1=$(date +%s%N)
diag "30 parallel requests took $(((t1 - t0) / 1000000)) ms"
is "free: 30 answers" "$(echo "$codes" | grep -c .)" 30
is "free: exactly the burst (1) admitted" "$(count "$codes" 200)" 1
is "free: the other 29 get 429" "$(count "$codes" 429)" 29

PREM=$(gw_key premium)
codes=$(parallel 30 -H "X-API-Key: $PREM" "$URL?i=[1-30]")
is "premium: all 30 admitted" "$(count "$codes" 200)" 30

# HTTP/2: 30 streams on one connection, same bucket rules
FREE2=$(gw_key free)
codes=$(bounded 60 curl -s -k -m 20 -Z --parallel-max 30 --http2 -H "X-API-Key: $FREE2" \
	-w 'CODE=%{http_code}\n' "$URL?i=[1-30]" 2>/dev/null | grep -o 'CODE=[0-9]*' | cut -d= -f2)
is "free over one HTTP/2 connection: exactly 1 admitted" "$(count "$codes" 200)" 1
is "... 29 x 429" "$(count "$codes" 429)" 29

TIER=$(gw_key tier-free)
codes=$(parallel 12 -H "X-API-Key: $TIER" "$URL?i=[1-12]")
is "tier-free (5/min): exactly 5 of 12 admitted" "$(count "$codes" 200)" 5
is "tier-free: 7 x 429" "$(count "$codes" 429)" 7
h=$(req -D - -o /dev/null -H "X-API-Key: $TIER" "$URL" | tr -d '\r')
like "tier-free: Retry-After is up to one token (12 s)" "$h" "retry-after: 1"
like "tier-free: RateLimit-Policy" "$h" '"tier-free";q=5;w=60'

# the free bucket refills one token per second
sleep 1.1
is "free: one more after a second" "$(status_of -H "X-API-Key: $FREE" "$URL")" 200
is "free: and then 429 again" "$(status_of -H "X-API-Key: $FREE" "$URL")" 429

# premium spent 30 of its 100: the next ones keep going
codes=$(parallel 30 -H "X-API-Key: $PREM" "$URL?i=[1-30]")
is "premium: 30 more admitted from the same burst" "$(count "$codes" 200)" 30
M=$(bounded 5 curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
like "metrics: 429s counted" "$M" 'floodgate_requests_total{route="items",status="429",plan="free"} 59'
finish
