#!/usr/bin/env python3
"""scripts/bench-gw/mkstore.py - write a floodgate key store (SQLite) with N keys, fast.

    mkstore.py DB N [PLAN=KEY ...]

The daemon has no bulk-import endpoint (POST /v1/keys makes one random key per call, an
fsync'd transaction each), so the benchmark writes the store itself, in the documented
schema of userspace/gw/store_sqlite.c (table `keys`, PRAGMA user_version 1): N keys
"fgb-bulk-NNNNNNNN" of plan "bench", plus the named PLAN=KEY pairs, digests only. The
daemon then loads it at start or on SIGHUP, as it would any store. DB is replaced.
"""
import hashlib
import os
import sqlite3
import sys
import time

SCHEMA = """CREATE TABLE IF NOT EXISTS keys (
 id TEXT PRIMARY KEY,
 digest BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
 plan TEXT NOT NULL,
 status TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'revoked')),
 created INTEGER NOT NULL,
 expires INTEGER NOT NULL DEFAULT 0,
 label TEXT NOT NULL DEFAULT ''
);"""


def rows(n, extra, now):
    # In id order, so both indexes (id, digest) are filled by appending: 4x faster.
    keys = [(hashlib.sha256(b"fgb-bulk-%08d" % i).digest(), "bench", "") for i in range(n)]
    keys += [(hashlib.sha256(k.encode()).digest(), p, "bench") for p, k in extra]
    keys.sort()
    for d, plan, label in keys:
        yield (d[:8].hex(), d, plan, "active", now, 0, label)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: mkstore.py DB N [PLAN=KEY ...]")
    db, n = sys.argv[1], int(sys.argv[2])
    extra = [a.split("=", 1) for a in sys.argv[3:]]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(SCHEMA)
    with con:
        con.executemany("INSERT INTO keys VALUES (?,?,?,?,?,?,?)", rows(n, extra, int(time.time())))
    con.execute("PRAGMA user_version = 1")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()


if __name__ == "__main__":
    main()
