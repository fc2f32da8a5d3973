#!/usr/bin/env python3
"""A small BaseMessage server on Python `websockets`, for basetap's demo and proxy tests.

usage: sample_server.py PORT [--host 127.0.0.1] [--no-deflate] [--tls-cert PEM --tls-key PEM]

Answers each text request with the same id and type (an `X:error` for types it does not know,
errCode 0 as in the draft) and echoes binary messages. Prints "listening on PORT" once it accepts (PORT 0: any free one).
"""
import argparse
import json
import signal
import ssl
import sys
import uuid

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve


def answer(message):
    try:
        request = json.loads(message)
        rid, rtype, sender = request["id"], request["type"], request.get("from", "")
    except (ValueError, KeyError, TypeError):
        return json.dumps({"id": "0", "type": "parse:error", "from": "server.example.org", "to": "",
                           "payload": {"errCode": 1, "errText": "not a BaseMessage"}})
    if not rtype.startswith(("chat.", "auth.", "room.")):
        return json.dumps({"id": rid, "type": rtype + ":error", "from": "server.example.org", "to": sender,
                           "payload": {"errCode": 0, "errText": "Incorrect type of message", "errPayload": {}}})
    payload = {}
    if rtype == "auth.login":
        payload = {"session": "9f2c01"}
    elif rtype == "chat.send":
        payload = {"messageId": "&%s:chat.example.org" % uuid.uuid4()}
    return json.dumps({"id": rid, "type": rtype, "from": "server.example.org", "to": sender, "ok": True,
                       "payload": payload})


def handler(ws):
    try:
        for message in ws:
            ws.send(message if isinstance(message, bytes) else answer(message))
    except ConnectionClosed:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-deflate", action="store_true")
    parser.add_argument("--tls-cert", help="serve wss with this certificate")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])  # a test runner may start us with signals blocked
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    def select_subprotocol(connection, offered):
        return "basemessage.v1" if "basemessage.v1" in offered else None  # also serve clients that offer none

    with serve(handler, args.host, args.port, compression=None if args.no_deflate else "deflate",
               select_subprotocol=select_subprotocol, ssl=context) as server:
        print("listening on %d" % server.socket.getsockname()[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
