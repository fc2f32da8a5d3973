#!/usr/bin/env python3
"""A BaseMessage server whose behaviour a replay test chooses, on Python `websockets`.

usage: replay_server.py PORT --mode same|changed|early-close|silent|drop [--path /ws] [--tls-cert PEM --tls-key PEM]

same:        answers each request {"id", "type", "from": "server.example.org", "to": "", "ok": true,
             "payload": {"n": <the request's payload.n>}}
changed:     as `same`, except: a3's answer is an :error, a4 says ok false, a5's n is one more,
             a6 gets no answer, a7 gets two; a "presence" message is pushed first; and the server
             closes with 4000 after a7
early-close: answers a1, then closes with 1001
silent:      never answers (the client's close is still answered)
drop:        answers a1 to a3, then drops TCP without a Close, as servers that crash a handler do

--path:      answer upgrades on this path only; any other path gets 404
"""
import argparse
import json
import signal
import socket
import ssl
import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve


def answer(request, **changes):
    message = {"id": request["id"], "type": request["type"], "from": "server.example.org", "to": "", "ok": True,
               "payload": {"n": request.get("payload", {}).get("n")}}
    message.update(changes)
    return json.dumps(message)


def handler(mode):
    def handle(ws):
        try:
            if mode == "changed":
                ws.send(json.dumps({"id": "p1", "type": "presence", "from": "server.example.org", "to": "", "payload": {}}))
            for text in ws:
                request = json.loads(text)
                rid = request["id"]
                if mode == "silent":
                    continue
                if mode == "drop" and rid == "a4":
                    ws.socket.shutdown(socket.SHUT_RDWR)
                    ws.socket.close()
                    return
                if mode == "early-close" and rid != "a1":
                    ws.close(1001, "going away")
                    return
                if mode == "changed" and rid == "a3":
                    ws.send(answer(request, type=request["type"] + ":error", ok=False,
                                   payload={"errCode": 7, "errText": "changed"}))
                elif mode == "changed" and rid == "a4":
                    ws.send(answer(request, ok=False))
                elif mode == "changed" and rid == "a5":
                    ws.send(answer(request, payload={"n": request["payload"]["n"] + 1}))
                elif mode == "changed" and rid == "a6":
                    pass
                elif mode == "changed" and rid == "a7":
                    ws.send(answer(request))
                    ws.send(answer(request))
                    ws.close(4000, "changed")
                    return
                else:
                    ws.send(answer(request))
        except ConnectionClosed:
            pass
    return handle


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--mode", default="same", choices=["same", "changed", "early-close", "silent", "drop"])
    parser.add_argument("--path")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    def only_path(connection, request):
        if args.path and request.path != args.path:
            return connection.respond(404, f"nothing at {request.path}\n")
        return None

    with serve(handler(args.mode), "127.0.0.1", args.port, ssl=context, compression=None, process_request=only_path) as server:
        print("listening on %d" % server.socket.getsockname()[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
