#!/usr/bin/env bash
# gw_tls: floodgate's own TLS 1.3 record layer (tls.fast_records, userspace/gw/tlsfast.c)
# against real clients: curl over HTTP/1.1 and HTTP/2 (OpenSSL), gnutls-cli (GnuTLS, another
# implementation, takes the server's KeyUpdate), openssl s_client sending KeyUpdates in the
# middle of a keep-alive connection; a 1 MB answer and a 60 kB upload through the proxy,
# byte for byte; the counters in /metrics. Left to OpenSSL: ChaCha20-Poly1305, TLS 1.2, and
# every connection when fast_records is false.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

gw_upstream "$UP_ECHO" --echo
gw_upstream "$UP_FAST" --size 1000000
gw_config >"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish

URL=https://127.0.0.1:$GW_PORT
KEY=$(gw_key premium)

fast() { # fast EVENT: floodgate_tls_fast_records_total{event=EVENT}
	bounded 5 curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk -v want="floodgate_tls_fast_records_total{event=\"$1\"}" '$1 == want {print $2}'
}
# a GET of /v1/items with the key, as an HTTP/1.1 client writes it (s_client -crlf adds CRs)
get_lf() { printf 'GET /v1/items/%s HTTP/1.1\nHost: localhost\nX-API-Key: %s\n\n' "$1" "$KEY"; }

# ---- curl, TLS 1.3 with AES-GCM: taken over both ways ----
r0=$(fast reading_taken) w0=$(fast writing_taken) e0=$(fast closed_on_error)
is "TLS 1.3: 200" "$(status_of --tlsv1.3 -H "X-API-Key: $KEY" "$URL/v1/items/1")" 200
cmp_ok "... its reading became floodgate's" "$(fast reading_taken)" -gt "$r0"
cmp_ok "... and its writing" "$(fast writing_taken)" -gt "$w0"

want=$(bounded 10 curl -s "http://127.0.0.1:$UP_FAST/" | sha256sum)
got=$(req --http1.1 --tlsv1.3 -H "X-API-Key: $KEY" "$URL/v1/fast" | sha256sum)
is "1 MB answer over HTTP/1.1, byte for byte (about 62 records)" "$got" "$want"
got=$(req --http2 --tlsv1.3 -H "X-API-Key: $KEY" "$URL/v1/fast" | sha256sum)
is "... over HTTP/2" "$got" "$want"
head -c 60000 /dev/urandom >"$GW_DIR/up.bin"
got=$(req --http1.1 --tlsv1.3 -H "X-API-Key: $KEY" --data-binary @"$GW_DIR/up.bin" \
	"$URL/v1/items" | jq -r .body_bytes)
is "60 kB upload reaches the upstream whole (4 records)" "$got" 60000
got=$(req --http2 --tlsv1.3 -H "X-API-Key: $KEY" --data-binary @"$GW_DIR/up.bin" \
	"$URL/v1/items" | jq -r .body_bytes)
is "... over HTTP/2" "$got" 60000

# ---- both suites, chosen by the client ----
for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384; do
	r0=$(fast reading_taken)
	is "$s: 200" "$(status_of --tlsv1.3 --tls13-ciphers "$s" -H "X-API-Key: $KEY" "$URL/v1/items/2")" 200
	cmp_ok "... taken over" "$(fast reading_taken)" -gt "$r0"
done

# ---- GnuTLS: another implementation receives the KeyUpdate that starts our records ----
out=$( (printf 'GET /v1/items/3 HTTP/1.1\r\nHost: localhost\r\nX-API-Key: %s\r\n\r\n' "$KEY"
	sleep 1) | bounded 10 gnutls-cli --insecure --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' \
	-p "$GW_PORT" 127.0.0.1 2>&1)
like "gnutls-cli over TLS 1.3: 200" "$out" "HTTP/1.1 200"
like "... with the upstream's answer" "$out" '"/v1/items/3"'

# ---- the client's KeyUpdates, asked-for (K) and not (k), between requests ----
k0=$(fast client_key_update)
out=$( (get_lf 4; sleep 0.5; echo K; sleep 0.3; get_lf 5; sleep 0.5; echo k; sleep 0.3; get_lf 6
	sleep 0.8) | bounded 15 openssl s_client -connect "127.0.0.1:$GW_PORT" -tls1_3 -crlf 2>&1)
is "s_client: three answers on one connection across two KeyUpdates" \
	"$(grep -c '^HTTP/1.1 200' <<<"$out")" 3
like "... the last one after both" "$out" '"/v1/items/6"'
is "... both KeyUpdates counted" "$(($(fast client_key_update) - k0))" 2
is "no connection closed on a bad record" "$(fast closed_on_error)" "$e0"

# ---- left to OpenSSL ----
l0=$(fast left_to_openssl) r0=$(fast reading_taken)
is "TLS 1.3 ChaCha20-Poly1305: 200" "$(status_of --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 \
	-H "X-API-Key: $KEY" "$URL/v1/items/7")" 200
cmp_ok "... left to OpenSSL" "$(fast left_to_openssl)" -gt "$l0"
is "TLS 1.2: 200" "$(status_of --tls-max 1.2 -H "X-API-Key: $KEY" "$URL/v1/items/8")" 200
is "... not taken over" "$(fast reading_taken)" "$r0"

# ---- fast_records false: every record OpenSSL's ----
KU=$(fast writing_taken_by_key_update)
gw_stop
gw_config '.listen[0].tls.fast_records = false' >"$GW_DIR/off.json"
gw_start "$GW_DIR/off.json" "daemon starts with fast_records false" || finish
KEY=$(gw_key premium)
is "fast_records false: TLS 1.3 200" "$(status_of --tlsv1.3 -H "X-API-Key: $KEY" "$URL/v1/items/9")" 200
got=$(req --http1.1 --tlsv1.3 -H "X-API-Key: $KEY" "$URL/v1/fast" | sha256sum)
is "... 1 MB answer byte for byte" "$got" "$want"
is "... nothing taken over" "$(fast reading_taken)/$(fast writing_taken)/$(fast left_to_openssl)" "0/0/0"
is "the sending side was taken over by counting, never by a KeyUpdate" "$KU" 0

finish
