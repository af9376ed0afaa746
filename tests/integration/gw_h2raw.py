#!/usr/bin/env python3
"""gw_h2raw.py - one HTTP/2 request with header fields curl refuses to send (an empty name),
written frame by frame, for the gateway tests.

    gw_h2raw.py PORT PATH NAME=VALUE...

Prints the response's :status, or "reset" when the stream or the connection was refused.
TLS with ALPN h2, loopback only, every read bounded by a timeout. The HPACK block uses only
literal fields without indexing and without Huffman coding; the answer's :status is read
from the static table index h2o uses or from its literal.
"""
import socket
import ssl
import struct
import sys

STATIC_STATUS = {8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500"}


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def literal(name, value):
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def main():
    port, path = int(sys.argv[1]), sys.argv[2].encode()
    block = literal(b":method", b"GET") + b"\x87" + literal(b":path", path) + literal(b":authority", b"localhost")
    for arg in sys.argv[3:]:
        name, value = arg.split("=", 1)
        block += literal(name.encode(), value.encode())
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 5, 1, block))
    buf = b""
    while True:
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            n, ftype, sid = int.from_bytes(buf[:3], "big"), buf[3], struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
            payload, buf = buf[9:9 + n], buf[9 + n:]
            if ftype == 1 and sid == 1:  # HEADERS of our stream: :status comes first
                b = payload[0]
                if b & 0x80:
                    print(STATIC_STATUS.get(b & 0x7F, "index %d" % (b & 0x7F)))
                else:
                    print(payload[2:5].decode())
                return
            if (ftype == 3 and sid == 1) or ftype == 7:  # RST_STREAM, GOAWAY
                print("reset")
                return
        try:
            d = s.recv(65536)
        except socket.timeout:
            print("timeout")
            return
        if not d:
            print("reset")
            return
        buf += d


main()
