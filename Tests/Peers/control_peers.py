#!/usr/bin/env python3
"""Peers for the proxy's message-control tests (hold, edit, drop, inject).

usage: control_peers.py server PORT [--no-deflate]
       control_peers.py client URL COUNT [--no-deflate]

The server answers every request {"id", "type", ...} with {"id", "type", "ok": true,
"payload": {"echo": <the request's payload.text>}} and prints "got <message>" for each one.
The client sends COUNT requests m0 … m(COUNT-1) without waiting, prints "recv <message>" for
everything it receives, and once m(COUNT-1) is answered sends one more, "last", and closes with
1000 when that is answered: whatever basetap queued behind the client's requests (an injected
request) has then been answered too. Texts repeat so
that permessage-deflate (on unless --no-deflate, context takeover both ways) refers back to
earlier messages: a receiver whose window went wrong fails to inflate.
"""
import json
import sys
import threading

from websockets.sync.client import connect
from websockets.sync.server import serve


def server(port, deflate):
    def handler(ws):
        for message in ws:
            print("got " + message, flush=True)
            request = json.loads(message)
            text = (request.get("payload") or {}).get("text", "")
            ws.send(json.dumps({"id": request.get("id"), "type": request.get("type"), "ok": True, "payload": {"echo": text}}))

    with serve(handler, "127.0.0.1", port, compression="deflate" if deflate else None) as srv:
        print("listening on %d" % srv.socket.getsockname()[1], flush=True)
        srv.serve_forever()


def client(url, count, deflate):
    with connect(url, compression="deflate" if deflate else None, max_size=None) as ws:
        def send_all():
            for i in range(count):
                text = "the quick brown fox jumps over the lazy dog %d " % i * 3
                ws.send(json.dumps({"id": "m%d" % i, "type": "chat.send", "payload": {"text": text}}))

        sender = threading.Thread(target=send_all)
        sender.start()
        last = "m%d" % (count - 1)
        for message in ws:
            print("recv " + message, flush=True)
            answered = json.loads(message).get("id")
            if answered == last:
                ws.send(json.dumps({"id": "last", "type": "chat.send", "payload": {"text": "bye"}}))
            if answered == "last":
                break
        sender.join()
        ws.close(1000)
    print("done", flush=True)


if __name__ == "__main__":
    deflate = "--no-deflate" not in sys.argv
    args = [a for a in sys.argv[1:] if a != "--no-deflate"]
    if args[0] == "server":
        server(int(args[1]), deflate)
    else:
        client(args[1], int(args[2]), deflate)
