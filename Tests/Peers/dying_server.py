#!/usr/bin/env python3
"""A BaseMessage server that kills its own process the way Go and C servers die, for basetap's fuzz
tests. Plain sockets and threads, no WebSocket library: it parses the upgrade itself, as servers
that crash on one do.

usage: dying_server.py PORT [--fixed]

- an upgrade request without Sec-WebSocket-Version: prints a Go panic and exits with status 2
- ten or more connections open at once: prints "fatal error: concurrent map writes" and a long
  goroutine dump (the fatal line ~130 lines before the end), exits with status 2 (a race on its
  connection table under connection churn)
- a request of type "broken.op": drops the connection without a Close (RST)
- every other request {"id", "type"} is answered {"id", "type", "ok": true, "payload": {}}

--fixed: none of the three; the same answers otherwise.
"""
import base64
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading

FIXED = "--fixed" in sys.argv
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
table_lock = threading.Lock()
open_connections = {}


def die(first_line, frames):
    out = [first_line, ""]
    for g in range(frames):
        out.append(f"goroutine {g + 1} [running]:")
        out.append(f"main.(*hub).register(0xc000{g:04x}0, 0xc0001{g:03x}00)")
        out.append(f"\t/src/server/hub.go:{40 + g} +0x{g * 16 + 64:x}")
    sys.stderr.write("\n".join(out) + "\n")
    sys.stderr.flush()
    os._exit(2)


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk or len(data) > 1 << 20:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def frames(sock, rest):
    """Yields (opcode, payload) of the client's frames."""
    buffer = rest
    while True:
        while True:
            if len(buffer) >= 2:
                length = buffer[1] & 0x7F
                offset = 2
                if length == 126 and len(buffer) >= 4:
                    length, offset = struct.unpack(">H", buffer[2:4])[0], 4
                elif length == 127 and len(buffer) >= 10:
                    length, offset = struct.unpack(">Q", buffer[2:10])[0], 10
                elif length >= 126:
                    length = None
                if length is not None and len(buffer) >= offset + 4 + length:
                    mask = buffer[offset:offset + 4]
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buffer[offset + 4:offset + 4 + length]))
                    opcode = buffer[0] & 0x0F
                    buffer = buffer[offset + 4 + length:]
                    yield opcode, payload
                    continue
            break
        chunk = sock.recv(65536)
        if not chunk:
            return
        buffer += chunk


def send(sock, opcode, payload):
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([len(payload)])
    elif len(payload) < 65536:
        header += bytes([126]) + struct.pack(">H", len(payload))
    else:
        header += bytes([127]) + struct.pack(">Q", len(payload))
    sock.sendall(header + payload)


def serve(sock, number):
    lines, rest = read_head(sock)
    if not lines:
        return
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "sec-websocket-version" not in headers and not FIXED:
        die("panic: runtime error: index out of range [1] with length 1", 12)
    key = headers.get("sec-websocket-key")
    if not lines[0].startswith("GET ") or headers.get("upgrade", "").lower() != "websocket" or not key:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    sock.sendall(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode())
    with table_lock:
        open_connections[number] = sock
        crowded = len(open_connections) >= 10
    if crowded and not FIXED:
        die("fatal error: concurrent map writes", 45)
    for opcode, payload in frames(sock, rest):
        if opcode == 8:
            send(sock, 8, payload[:2])
            return
        if opcode == 9:
            send(sock, 10, payload)
            continue
        if opcode != 1:
            continue
        try:
            request = json.loads(payload)
        except ValueError:
            continue
        if not isinstance(request, dict) or not isinstance(request.get("id"), str) or not isinstance(request.get("type"), str):
            continue
        if request["type"] == "broken.op" and not FIXED:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        answer = {"id": request["id"], "type": request["type"], "from": "server.example.org", "to": "", "ok": True, "payload": {}}
        send(sock, 1, json.dumps(answer).encode())


def handle(sock, number):
    try:
        serve(sock, number)
    except OSError:
        pass
    finally:
        with table_lock:
            open_connections.pop(number, None)
        sock.close()


def main():
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1])), backlog=512)
    print("listening on %d" % listener.getsockname()[1], flush=True)
    number = 0
    while True:
        sock, _ = listener.accept()
        number += 1
        threading.Thread(target=handle, args=(sock, number), daemon=True).start()


if __name__ == "__main__":
    main()
