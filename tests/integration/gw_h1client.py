#!/usr/bin/env python3
"""gw_h1client.py - an HTTP/1.1 client for the gateway tests that curl cannot be: requests
pipelined on one connection, or several requests on one connection with a command run
between them (a key revoked while the connection stays open).

    gw_h1client.py [--tls] PORT STEP...

STEP is one of
    "METHOD PATH|Header: value|..."  queue a request (Host is added)
    "!"                              send the queued requests at once, read their answers
    "!COMMAND"                       the same, then run COMMAND with sh
Queued requests are sent at the end too. For each answer one line is printed:
    STATUS BODY_BYTES SHA256_OF_BODY[:16] CONTENT_LENGTH_HEADER|chunked|-
Loopback only; every read is bounded by a timeout.
"""
import hashlib
import socket
import ssl
import subprocess
import sys


class Conn:
    def __init__(self, port, tls):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            s = ctx.wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_only):
        status = int(self.line().split(" ")[1])
        headers = {}
        while True:
            ln = self.line()
            if not ln:
                break
            k, v = ln.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        framing = "-"
        body = b""
        if "content-length" in headers:
            framing = headers["content-length"]
            if not head_only:
                body = self.take(int(framing))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            framing = "chunked"
            if not head_only:
                while True:
                    size = int(self.line().split(";")[0], 16)
                    body += self.take(size)
                    self.take(2)
                    if size == 0:
                        break
        return "%d %d %s %s" % (status, len(body), hashlib.sha256(body).hexdigest()[:16], framing)


def main():
    args = sys.argv[1:]
    tls = args[0] == "--tls"
    if tls:
        args = args[1:]
    conn = Conn(int(args[0]), tls)
    queued = []

    def flush():
        if not queued:
            return
        conn.s.sendall(b"".join(r for r, _ in queued))
        for _, head in queued:
            print(conn.response(head), flush=True)
        queued.clear()

    for step in args[1:] + ["!"]:
        if step.startswith("!"):
            flush()
            if len(step) > 1:
                subprocess.run(step[1:], shell=True, check=False, timeout=20)
            continue
        parts = step.split("|")
        method, path = parts[0].split(" ", 1)
        req = "%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, path)
        req += "".join(h + "\r\n" for h in parts[1:]) + "\r\n"
        queued.append((req.encode("latin-1"), method == "HEAD"))


if __name__ == "__main__":
    main()
