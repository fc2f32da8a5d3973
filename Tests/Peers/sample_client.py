#!/usr/bin/env python3
"""A scripted BaseMessage client for basetap's demo and proxy tests.

usage: sample_client.py URL [--messages N] [--size BYTES] [--no-deflate] [--quiet]
                        [--ca PEM] [--proxy HOST:PORT]

Logs in, sends N chat messages (some with protocol mistakes: an uppercase user name, a port out
of range, a duplicated key, an error type the server never asked for), waits for every answer,
and closes with 1000. Prints one line per exchange, or a count with --quiet; exits non-zero if an
answer is missing. A wss URL is verified against --ca (or the system's roots); --proxy reaches the
server through an HTTP proxy's CONNECT tunnel.
"""
import argparse
import json
import socket
import ssl
import sys
from urllib.parse import urlsplit

from websockets.sync.client import connect

MISTAKES = [
    '{"id":"m%d","type":"chat.send","from":"@Alice@chat.example.org","to":"#general:chat.example.org","payload":{"text":"%s"}}',
    '{"id":"m%d","type":"chat.send","from":"@alice@chat.example.org","to":"#general:chat.example.org:65536","payload":{"text":"%s"}}',
    '{"id":"m%d","type":"chat.send","type":"chat.delete","from":"","to":"","payload":{"text":"%s"}}',
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--messages", type=int, default=6)
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--no-deflate", action="store_true")
    parser.add_argument("--clean", action="store_true", help="send only messages without mistakes")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--ca", help="trust this CA certificate for wss")
    parser.add_argument("--proxy", help="HTTP proxy HOST:PORT to CONNECT through")
    parser.add_argument("--header", action="append", default=[], help="an extra upgrade header, 'Name: value'")
    args = parser.parse_args()
    url = urlsplit(args.url)
    options = {}
    if args.header:
        options["additional_headers"] = [tuple(part.strip() for part in h.split(":", 1)) for h in args.header]
    if url.scheme == "wss":
        options["ssl"] = ssl.create_default_context(cafile=args.ca)
    if args.proxy:
        options["sock"] = tunnel(args.proxy, url.hostname, url.port or (443 if url.scheme == "wss" else 80))
        if url.scheme == "wss":
            options["server_hostname"] = url.hostname
    with connect(args.url, compression=None if args.no_deflate else "deflate", subprotocols=["basemessage.v1"],
                 max_size=None, **options) as ws:
        ws.send(json.dumps({"id": "login", "type": "auth.login", "from": "@alice@chat.example.org",
                            "to": "chat.example.org", "payload": {"password": "secret"}}))
        ws.recv(timeout=10)
        answered = 0
        for n in range(args.messages):
            text = ("hello %d " % n + "x" * args.size)[:max(args.size, 8)]
            if not args.clean and n % 3 == 2:
                message = MISTAKES[(n // 3) % len(MISTAKES)] % (n, text)
            else:
                message = json.dumps({"id": "m%d" % n, "type": "chat.send", "from": "@alice@chat.example.org",
                                      "to": "#general:chat.example.org", "payload": {"text": text}})
            ws.send(message)
            reply = ws.recv(timeout=10)
            answered += 1
            if not args.quiet:
                print("sent %s -> %s" % (message[:70], reply[:70]))
        if not args.clean:
            ws.send(json.dumps({"id": "nope", "type": "chat.send:error", "from": "", "to": "", "ok": True,
                                "payload": {"errCode": "500", "errText": "client errors are odd"}}))
            ws.recv(timeout=10)
        ws.close(code=1000, reason="done")
    if args.quiet:
        print("%d answers" % answered)


def tunnel(proxy, host, port):
    proxy_host, proxy_port = proxy.rsplit(":", 1)
    sock = socket.create_connection((proxy_host, int(proxy_port)), timeout=10)
    sock.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port, host, port)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            sys.exit("proxy closed the tunnel: %r" % head)
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("proxy refused: %s" % head.decode(errors="replace").splitlines()[0])
    sock.settimeout(None)
    return sock


if __name__ == "__main__":
    main()
