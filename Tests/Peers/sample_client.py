#!/usr/bin/env python3
"""A scripted BaseMessage client for basetap's demo and proxy tests.

usage: sample_client.py URL [--messages N] [--size BYTES] [--no-deflate] [--quiet]

Logs in, sends N chat messages (some with protocol mistakes: an uppercase user name, a port out
of range, a duplicated key, an error type the server never asked for), waits for every answer,
and closes with 1000. Prints one line per exchange, or a count with --quiet; exits non-zero if an
answer is missing.
"""
import argparse
import json
import sys

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
    args = parser.parse_args()
    with connect(args.url, compression=None if args.no_deflate else "deflate", subprotocols=["basemessage.v1"],
                 max_size=None) as ws:
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


if __name__ == "__main__":
    main()
