#!/usr/bin/env bash
# scripts/bench-gw/report.sh GW.JSON - the markdown of the "gw" section of docs/benchmarks.md
# from build/bench/gw.json (written by scripts/bench-gw.sh), on stdout.
set -eu
json=$1

jq -r '
def f0: if . == null then "–" else (. | round | tostring) end;
def f2: if . == null then "–" else ((. * 100 | round) / 100 | tostring) end;
def ms: if . == null then "–" else ((. * 100 | round) / 100 | tostring) end;
def r: if . == null then "–" else (((. * 100 | round) / 100 | tostring) + "×") end;
def name: {"proxy": "authenticated, rate-limited, proxied (cache miss)", "401": "401 (unknown key)",
	"429": "429 (empty bucket)", "cache": "authenticated, rate-limited, cache hit", "tls-full": "TLS full handshake + 1 request",
	"tls-resumed": "TLS resumed handshake + 1 request"}[.];
def proto: {"h1": "HTTP/1.1", "h2": "HTTP/2", "tls": "HTTP/1.0, new connection each"}[.];
def yes($ok): if $ok == null then "not measured" elif $ok then "**met**" else "**missed**" end;
def ge($a; $b): if $a == null or $b == null then null else $a >= $b end;
def le($a; $b): if $a == null or $b == null then null else $a <= $b end;
. as $g
| ($g.scenarios | map({key: (.scenario + "/" + .proto), value: .}) | from_entries) as $s
| ($g.latency | map({key: .scenario, value: .}) | from_entries) as $l
| "## Gateway: floodgate, nginx, HAProxy and the bare h2o floor (`make bench-gw`)",
  "",
  "\($g.date[0:10]), \($g.machine.cpus) CPUs (\($g.machine.cpu)), Linux \($g.machine.kernel);"
  + " nginx \($g.versions.nginx), HAProxy \($g.versions.haproxy), libh2o-evloop \($g.versions.libh2o)"
  + " (h2o 2.2.5), OpenSSL \($g.versions.openssl).",
  "Command: `\($g.command // "make bench-gw")` (scripts/bench-gw.sh), floodgate at \($g.floodgate_rev // "?"): every server with one worker pinned to CPU 1"
  + " (floodgate `threads: 1`, nginx `worker_processes 1`, HAProxy `nbthread 1`); wrk, h2load,"
  + " openssl s_time, fg-fixedrate and the shared upstream (fg-upstream, \($g.knobs.body_bytes)-byte"
  + " body) on CPU 0; TLS 1.3 with one ECDSA P-256 certificate; loopback; no access logs."
  + " Medians of \($g.knobs.rounds) rounds of \($g.knobs.duration_s) s; in each round every"
  + " scenario × protocol measures all servers back to back (order rotated), and a ratio is"
  + " the median over the rounds of the ratio within a round"
  + " (wrk \($g.knobs.wrk_connections) connections; h2load \($g.knobs.h2_connections)"
  + " connections × \($g.knobs.h2_streams) streams). Configs: scripts/bench-gw/."
  + " The floor is tools/fg-h2o-floor: a bare h2o handler answering a fixed 200 over TLS."
  + " The machine is shared with other work and noisy: read the ratios (same run), not the"
  + " absolute figures.",
  "",
  "### Requests per CPU-second of the server (utime+stime of all its processes)",
  "",
  "| scenario | protocol | floodgate | nginx | HAProxy | floor | floodgate/nginx | floodgate/HAProxy | floodgate/floor |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ($g.scenarios[] | "| \(.scenario | name) | \(.proto | proto) | \(.req_per_cpu_s.floodgate | f0) | \(.req_per_cpu_s.nginx | f0) | \(.req_per_cpu_s.haproxy | f0) | \(.req_per_cpu_s.floor | f0) | \(.ratios.fg_nginx | r) | \(.ratios.fg_haproxy | r) | \(.ratios.fg_floor | r) |"),
  "",
  "The floor column is the bare fixed 200, sent the same request in the same group; for TLS, the floor handshaking.",
  "Cache hit: the same authenticated, rate-limited request on a second route whose upstream (the same fg-upstream answer, plus `Cache-Control: max-age=600`) every server has cached: floodgate `cache.ttl`, nginx `proxy_cache`, HAProxy'"'"'s `cache` section; checked before measuring (X-Cache: HIT, X-Cache-Status: HIT, Age). The proxied (miss) scenario keeps the peers'"'"' caches configured, and its upstream answer carries no freshness information, so none stores it (nginx cache files after the run: \($g.nginx_cache_files_after), the cached route'"'"'s one entry). floodgate'"'"'s /metrics at the end: \($g.floodgate_proxied.responses_200 // "–") responses 200, \($g.floodgate_proxied.upstream_requests // "–") upstream requests (the difference: cache hits).",
  "",
  "### Maximum requests per second",
  "",
  "Client-bound as much as server-bound: the load generator and the upstream share CPU 0.",
  "",
  "| scenario | protocol | floodgate | nginx | HAProxy | floor | floodgate/nginx | floodgate/HAProxy |",
  "|---|---|---:|---:|---:|---:|---:|---:|",
  ($g.scenarios[] | "| \(.scenario | name) | \(.proto | proto) | \(.rps.floodgate | f0) | \(.rps.nginx | f0) | \(.rps.haproxy | f0) | \(.rps.floor | f0) | \(.ratios.rps_fg_nginx | r) | \(.ratios.rps_fg_haproxy | r) |"),
  "",
  "### Latency at a fixed rate of 50 % of nginx'"'"'s maximum (HTTP/1.1)",
  "",
  "tools/fg-fixedrate, open loop, 64 keep-alive connections, \($g.knobs.latency_duration_s) s × \($g.knobs.latency_rounds) rounds (medians; max over rounds); latency counted from when each request was due, so a request that waited for a free connection counts its wait. \"held\": ≥ 99 % of the requests completed and the client itself sent ≤ 1 % more than 1 ms late; only rounds that held count (rounds used, over all servers, in the \"held\" column). The last column is requests per CPU-second of the server at this same offered rate (no server saturated: the fairest efficiency comparison).",
  "",
  "| scenario | rate (req/s) | floodgate p50 / p99 (ms) | nginx p50 / p99 | HAProxy p50 / p99 | floor p50 / p99 | max (fg / nginx / HAProxy) | rounds that held the rate | req/CPU-s at this rate (fg / nginx / HAProxy / floor) |",
  "|---|---:|---|---|---|---|---|---|---|",
  ($g.latency[] | "| \(.scenario | name) | \((.nginx // .floodgate // {}).rate | f0) | \(.floodgate.p50_ms | ms) / \(.floodgate.p99_ms | ms) | \(.nginx.p50_ms | ms) / \(.nginx.p99_ms | ms) | \(.haproxy.p50_ms | ms) / \(.haproxy.p99_ms | ms) | \(.floor.p50_ms | ms) / \(.floor.p99_ms | ms) | \(.floodgate.max_ms | ms) / \(.nginx.max_ms | ms) / \(.haproxy.max_ms | ms) | \([.floodgate, .nginx, .haproxy, .floor | select(. != null)] | "\(map(.rounds) | add)/\(map(.of) | add)") | \(.floodgate.req_per_cpu_s | f0) / \(.nginx.req_per_cpu_s | f0) / \(.haproxy.req_per_cpu_s | f0) / \(.floor.req_per_cpu_s | f0) |"),
  "",
  "### Memory per API key, start and reload",
  "",
  (if $g.memory == null then "Not measured (FG_BENCH_GW_KEYS=0)." else
   ($g.memory | "floodgate RSS after start and the same 1 s warm-up: \(.rss_kb_0) kB with 0 keys, \(.rss_kb_n) kB with \(.keys_loaded) keys → **\(.bytes_per_key) bytes per key**. Keys written to the SQLite store in the documented schema (scripts/bench-gw/mkstore.py: the daemon has no bulk import), loaded at start: ready in \(.start_s) s.",
    "",
    "",
    "Reload of the \(.keys) keys (SIGHUP) 2 s into a fixed-rate load of proxied requests (HTTP/1.1, open loop, latency from when each request was due):",
    "",
    "| load during the reload | reload took (s) | reload CPU (s, fg-reload thread) | max latency before / during / after (ms) | longest time without a response during it (ms) | non-200 |",
    "|---|---:|---:|---|---:|---:|",
    ((["light", .reload_light], ["50 % of nginx'"'"'s max", .reload_half]) as [$t, $x] | $x
     | "| \(.rate | f0) req/s (\($t)) | \(.reload_s | ms) | \(.reload_cpu_s | ms) | \(.before.max_ms | ms) / \(.during.max_ms | ms) / \(.after.max_ms | ms) | \(.during.longest_gap_ms | ms) | \(.non_200 // "–") |"),
    "",
    "RSS after the reloads: \(.rss_kb_after_reloads) kB. The reload runs on a thread of its own (fg-reload) at nice +10, pinned with the worker to CPU 1: at the light rate its latency shows whether the reload stalls the worker (locks); at 50 % of nginx'"'"'s max it shows whether the worker still gets the CPU it needs (the reload then takes longer).") end),
  "",
  "### Targets (issues 3 and 5)",
  "",
  "| target | measured | |",
  "|---|---|---|",
  ($s["proxy/h1"] | "| proxied: req/CPU-s ≥ 1.25× nginx | \(.ratios.fg_nginx | r) (HTTP/1.1), \($s["proxy/h2"].ratios.fg_nginx | r) (HTTP/2) | \(yes(ge(.ratios.fg_nginx; 1.25))) / \(yes(ge($s["proxy/h2"].ratios.fg_nginx; 1.25))) |"),
  ($s["proxy/h1"] | "| proxied: req/CPU-s ≥ 1.1× HAProxy | \(.ratios.fg_haproxy | r) (HTTP/1.1), \($s["proxy/h2"].ratios.fg_haproxy | r) (HTTP/2) | \(yes(ge(.ratios.fg_haproxy; 1.1))) / \(yes(ge($s["proxy/h2"].ratios.fg_haproxy; 1.1))) |"),
  ($l["proxy"] | "| proxied: p99 at 50 % of nginx'"'"'s max ≤ nginx'"'"'s p99 | \(.floodgate.p99_ms | ms) ms vs \(.nginx.p99_ms | ms) ms | \(yes(le(.floodgate.p99_ms; .nginx.p99_ms))) |"),
  (("401", "429") as $c | $s[$c + "/h1"] | "| \($c): req/CPU-s ≥ 0.9× the floor | \(.ratios.fg_floor | r) (HTTP/1.1), \($s[$c + "/h2"].ratios.fg_floor | r) (HTTP/2) | \(yes(ge(.ratios.fg_floor; 0.9))) / \(yes(ge($s[$c + "/h2"].ratios.fg_floor; 0.9))) |",
	"| \($c): req/CPU-s ≥ 1.0× nginx | \(.ratios.fg_nginx | r) (HTTP/1.1), \($s[$c + "/h2"].ratios.fg_nginx | r) (HTTP/2) | \(yes(ge(.ratios.fg_nginx; 1.0))) / \(yes(ge($s[$c + "/h2"].ratios.fg_nginx; 1.0))) |"),
  ($s["cache/h1"] | "| cache hit: req/CPU-s ≥ 1.8× nginx (issue 5) | \(.ratios.fg_nginx | r) (HTTP/1.1), \($s["cache/h2"].ratios.fg_nginx | r) (HTTP/2) | \(yes(ge(.ratios.fg_nginx; 1.8))) / \(yes(ge($s["cache/h2"].ratios.fg_nginx; 1.8))) |"),
  ($s["cache/h1"] | "| cache hit: req/CPU-s ≥ 1.6× HAProxy (issue 5) | \(.ratios.fg_haproxy | r) (HTTP/1.1), \($s["cache/h2"].ratios.fg_haproxy | r) (HTTP/2) | \(yes(ge(.ratios.fg_haproxy; 1.6))) / \(yes(ge($s["cache/h2"].ratios.fg_haproxy; 1.6))) |"),
  ($s["cache/h1"] | "| cache hit: req/CPU-s ≥ 0.8× the floor (issue 5) | \(.ratios.fg_floor | r) (HTTP/1.1), \($s["cache/h2"].ratios.fg_floor | r) (HTTP/2) | \(yes(ge(.ratios.fg_floor; 0.8))) / \(yes(ge($s["cache/h2"].ratios.fg_floor; 0.8))) |"),
  ($l["cache"] | "| cache hit: p99 at 50 % of nginx'"'"'s max ≤ nginx'"'"'s p99 (issue 5) | \(.floodgate.p99_ms | ms) ms vs \(.nginx.p99_ms | ms) ms | \(yes(le(.floodgate.p99_ms; .nginx.p99_ms))) |"),
  (if $g.memory == null then "| ≤ 256 bytes per key at 1M keys | – | not measured |" else "| ≤ 256 bytes per key at \($g.memory.keys) keys | \($g.memory.bytes_per_key) B | \(yes($g.memory.bytes_per_key <= 256)) |" end),
  (if $g.memory == null or $g.memory.reload_light.reload_s == null then "| reload of 1M keys without stalling | – | not measured |" else ($g.memory | "| reload of \(.keys) keys without stalling | light load: max latency \(.reload_light.during.max_ms | ms) ms during the \(.reload_light.reload_s | ms)-s reload (\(.reload_light.before.max_ms | ms) ms before), longest gap \(.reload_light.during.longest_gap_ms | ms) ms; at 50 % of nginx'"'"'s max: \(.reload_half.during.max_ms | ms) ms (\(.reload_half.before.max_ms | ms) ms before) | see above |") end),
  ($s["tls-full/tls"] | "| full ECDSA TLS handshakes within 10 % of nginx | \(.ratios.fg_nginx | r) per CPU-second, \(.ratios.rps_fg_nginx | r) per second | \(yes(if .ratios.fg_nginx == null then null else .ratios.fg_nginx >= 0.9 end)) |"),
  ""
' "$json"
