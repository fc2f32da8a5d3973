#!/usr/bin/env python3
"""A BaseMessage server with planted bugs, each reachable through one family of mutations only,
for basetap's fuzz tests. Answers well-formed requests like sample_server.py otherwise.

usage: buggy_server.py PORT [--fixed] [--slow-second-crash FILE] [--slow-first-connection FILE]

- crashes (the process exits with status 3) when "from" or "to" names port 65536   (id family)
- hangs its connection on a payload nested deeper than 500 levels                  (value family)
- closes with 1011 when the message has a duplicate key                            (envelope.duplicate)
- drops the connection without a Close when "id" is longer than 10 000 characters  (envelope.id-huge)

--fixed: none of the four; the same answers otherwise.
--slow-second-crash FILE: the second time a crashing message comes (counted in FILE, across
restarts), the server gets to it only once the client has given up on the connection, and lives:
a server slow for a moment on a busy machine.
--slow-first-connection FILE: likewise for the first connection that sends a message (counted in
FILE, across restarts): it is answered only once the client has given up on it.
"""
import json
import os
import signal
import socket
import struct
import sys
import threading

FIXED = "--fixed" in sys.argv


def option(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


SLOW_CRASH = option("--slow-second-crash")
SLOW_FIRST = option("--slow-first-connection")

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve


def nesting(text):
    """The deepest bracket nesting of the text (strings are not skipped: close enough for a test)."""
    deepest = level = 0
    for c in text:
        if c in "[{":
            level += 1
            deepest = max(deepest, level)
        elif c in "]}":
            level -= 1
    return deepest


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise KeyError("duplicate")
    return dict(pairs)


def too_slow_for(ws, path, time_seen):
    """True when this is the `time_seen`th time of what `path` counts: then waits until the client
    has closed the connection."""
    if path is None:
        return False
    with open(path, "a+") as counter:
        counter.write("x")
        counter.seek(0)
        seen = len(counter.read())
    if seen != time_seen:
        return False
    ws.recv_events_thread.join(30)  # ends when the connection does
    return True


def handler(ws):
    first = True
    try:
        for text in ws:
            if first and too_slow_for(ws, SLOW_FIRST, 1):
                return
            first = False
            if isinstance(text, bytes):
                ws.send(text)
                continue
            if nesting(text) > 500 and not FIXED:
                threading.Event().wait()  # stuck for good
            try:
                request = json.loads(text, object_pairs_hook=no_duplicates)
            except KeyError:
                if not FIXED:
                    ws.close(1011, "duplicate key")
                    return
                request = json.loads(text)
            except (ValueError, RecursionError):
                ws.send(json.dumps({"id": "0", "type": "parse:error", "from": "server.example.org", "to": "",
                                    "payload": {"errCode": 1, "errText": "not JSON"}}))
                continue
            if not isinstance(request, dict):
                continue
            for field in ("from", "to"):
                if isinstance(request.get(field), str) and request[field].endswith(":65536") and not FIXED:
                    if too_slow_for(ws, SLOW_CRASH, 2):
                        return
                    os._exit(3)
            rid = request.get("id")
            if isinstance(rid, str) and len(rid) > 10000 and not FIXED:
                ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                ws.socket.close()
                return
            rtype = request.get("type")
            if not isinstance(rid, str) or not rid or not isinstance(rtype, str) or not rtype or rtype.endswith(":error"):
                continue  # what it cannot answer correctly it does not answer
            ws.send(json.dumps({"id": rid, "type": request["type"], "from": "server.example.org", "to": "",
                                "ok": True, "payload": {}}))
    except ConnectionClosed:
        pass


def main():
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None) as server:
        print("listening on %d" % server.socket.getsockname()[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
