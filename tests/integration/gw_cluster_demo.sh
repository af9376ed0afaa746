#!/usr/bin/env bash
# gw_cluster_demo: scripts/cluster.sh, the one-machine cluster for trying cluster mode out,
# starts its redis-server and two nodes from config/demo.json, both nodes answer with the
# key it prints, and it stops everything it started.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

OUT=$GW_DIR/cluster.out
# bounded by FG_CLUSTER_SECONDS (not by `bounded`: the TERM below must reach the script)
BUILD=$FG_BUILD FG_CLUSTER_PORT=$GW_PORT FG_CLUSTER_DIR=$GW_DIR/cluster FG_CLUSTER_SECONDS=60 \
	"$FG_ROOT/scripts/cluster.sh" >"$OUT" 2>&1 &
CPID=$!
defer "kill $CPID 2>/dev/null; wait $CPID 2>/dev/null"
ok "the cluster comes up" wait_for 30 grep -q "Ctrl-C stops everything" "$OUT"
KEY=$(grep -o "X-API-Key: fg_[A-Za-z0-9_-]*" "$OUT" | head -1 | cut -d' ' -f2)
like "it prints a key" "$KEY" "fg_"
is "node a answers with it" "$(bounded 10 curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" "http://127.0.0.1:$((GW_PORT + 2))/v1/items")" 200
is "node b answers with it" "$(bounded 10 curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" "http://127.0.0.1:$((GW_PORT + 4))/v1/items")" 200
kill -TERM "$CPID"
wait "$CPID"
like "it says it stopped" "$(cat "$OUT")" "cluster: stopped"
# ([f]: the pattern must not match pgrep's own command line)
ok "no node is left" bash -c "! pgrep -f '[f]loodgate -c $GW_DIR/cluster/node-' >/dev/null"
ok "no redis-server is left" bash -c "! pgrep -f '[r]edis-server 127.0.0.1:$GW_PORT' >/dev/null"
finish
