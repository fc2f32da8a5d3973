#!/usr/bin/env python3
"""Records real WebSocket sessions on loopback with tcpdump, for basetap's decode tests and samples.

usage: record_session.py OUT.pcap [--deflate] [--ipv6] [--connections N] [--tls 1.3[:SUITE]|1.2:CIPHER] [--peer python|lws]

--peer python (default): a Python `websockets` BaseMessage server and scripted clients exchanging
  requests and answers: 16- and 64-bit frame lengths, a fragmented message, a binary message,
  ping/pong, a message with rule violations, and a close with a code. Writes OUT.expected.json
  with every message each client sent and received, in order, for the tests to compare with.
  With --tls the session is wss (TLS 1.3, with the suite named if one is, e.g.
  1.3:TLS_CHACHA20_POLY1305_SHA256, or TLS 1.2 with the OpenSSL cipher named, e.g.
  1.2:ECDHE-RSA-AES128-GCM-SHA256) with a throwaway certificate, and the clients write their
  NSS key log to OUT.keys as browsers do with SSLKEYLOGFILE.
--peer lws: the libwebsockets test server and test client (dumb-increment and mirror protocols).
--peer lws-keep-alive: the libwebsockets test server and a client that first fetches two files on
  the connection (HTTP/1.1 keep-alive, as connection pools do), then upgrades it to the
  dumb-increment protocol, reads 20 messages and closes; OUT.expected.json lists them.

tcpdump runs on `lo` with a filter for the session's port and is stopped with SIGTERM (SIGINT may be
ignored by processes started from a test runner).
"""
import argparse
import base64
import ctypes
import ctypes.util
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time


def default_signals():
    """Runs in each child before exec: a test runner may start us with signals blocked or ignored,
    and both survive exec, which would leave tcpdump and the peers deaf to SIGTERM."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def unused_port():
    """A free port outside the kernel's ephemeral range, for a peer that cannot bind port 0 and say
    which it got: no outgoing connection can take it between this check and the peer's bind."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    rng = random.Random()
    while True:
        port = rng.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
IN_MODIFY, IN_CLOSE_WRITE, IN_CREATE = 0x2, 0x8, 0x100


def wait_until(condition, what, path, seconds=20):
    """Waits until condition() holds, asking it again whenever the file at `path` (which tcpdump
    is writing) changes: inotify on its directory, watched before the first ask."""
    fd = _libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
    if fd < 0 or _libc.inotify_add_watch(fd, os.fsencode(os.path.dirname(os.path.abspath(path))), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE) < 0:
        sys.exit("cannot watch %s: %s" % (path, os.strerror(ctypes.get_errno())))
    try:
        deadline = time.monotonic() + seconds
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit("timed out waiting for " + what)
            if select.select([fd], [], [], left)[0]:
                try:
                    while os.read(fd, 4096):
                        pass
                except BlockingIOError:
                    pass
    finally:
        os.close(fd)


def packets(path):
    """The TCP segments in a pcap that tcpdump is still writing (it flushes each packet with -U):
    (flow, flags, payload length), as far as whole records go."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    linktype = struct.unpack_from("<I", data, 20)[0]
    out, offset = [], 24
    while offset + 16 <= len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16:offset + 16 + length]
        if len(frame) < length:
            break
        offset += 16 + length
        ip = frame[14:] if linktype == 1 else frame[4:]
        if ip[0] >> 4 == 4:
            header, proto, total = (ip[0] & 15) * 4, ip[9], struct.unpack_from(">H", ip, 2)[0]
            source, destination = ip[12:16], ip[16:20]
        else:
            header, proto, total = 40, ip[6], 40 + struct.unpack_from(">H", ip, 4)[0]
            source, destination = ip[8:24], ip[24:40]
        if proto != 6:
            continue
        tcp = ip[header:]
        ports = struct.unpack_from(">HH", tcp, 0)
        payload = total - header - (tcp[12] >> 4) * 4
        out.append(((source, ports[0]), (destination, ports[1]), tcp[13], payload))
    return out


def every_connection_ended(path):
    """Every TCP connection in the capture is over: reset, or closed both ways with the last FIN
    acknowledged. Until then tcpdump may not have read the last packets from the kernel."""
    flows = {}
    for source, destination, flags, _ in packets(path):
        key = tuple(sorted((source, destination)))
        state = flows.setdefault(key, {"fins": set(), "acked": False, "reset": False})
        if flags & 0x04:
            state["reset"] = True
        elif flags & 0x01:
            state["fins"].add(source)
            state["acked"] = False
        elif len(state["fins"]) == 2:
            state["acked"] = True
    return bool(flows) and all(s["reset"] or (len(s["fins"]) == 2 and s["acked"]) for s in flows.values())


def start_tcpdump(path, port):
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-B", "65536", "-U", "-s", "0", "-w", path, "tcp port %d" % port],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_signals)
    deadline = time.time() + 10
    while time.time() < deadline:
        line = proc.stderr.readline()
        if "listening on" in line:
            return proc
        if proc.poll() is not None:
            sys.exit("tcpdump failed: " + line + proc.stderr.read())
    sys.exit("tcpdump did not start listening")


def stop_tcpdump(proc, path):
    wait_until(lambda: every_connection_ended(path), "the capture to hold the end of every connection", path)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stats = proc.stderr.read()
    dropped = [int(line.split()[0]) for line in stats.splitlines() if "dropped by kernel" in line]
    return dropped[0] if dropped else 0


def tls_contexts(args):
    """The server's and the clients' TLS contexts for --tls: a throwaway RSA certificate (ECDHE-RSA
    suites need one), and clients that log their secrets to OUT.keys."""
    import ssl
    import tempfile

    directory = tempfile.mkdtemp()
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.keylog_filename = args.out + ".keys"
    version, _, cipher = args.tls.partition(":")
    if version == "1.2" and cipher:
        client.maximum_version = ssl.TLSVersion.TLSv1_2
        client.set_ciphers(cipher)
    elif version == "1.3":
        client.minimum_version = ssl.TLSVersion.TLSv1_3
    else:
        sys.exit("--tls takes 1.3, 1.3:SUITE or 1.2:CIPHER")
    return server, client


def tls13_suite(suite):
    """Python's ssl module cannot choose TLS 1.3 suites; OpenSSL's configuration can, if it is in
    place before the module loads OpenSSL."""
    import tempfile

    conf = os.path.join(tempfile.mkdtemp(), "openssl.cnf")
    with open(conf, "w") as f:
        f.write("openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = tls\n[tls]\nCiphersuites = %s\n" % suite)
    os.environ["OPENSSL_CONF"] = conf


def python_session(args):
    from websockets.sync.server import serve

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sample_server import answer

    family = socket.AF_INET6 if args.ipv6 else socket.AF_INET
    host = "::1" if args.ipv6 else "127.0.0.1"
    compression = "deflate" if args.deflate else None

    from websockets.exceptions import ConnectionClosed

    def handler(ws):
        try:
            for message in ws:
                ws.send(message if isinstance(message, bytes) else answer(message))
        except ConnectionClosed:
            pass  # the clients close with codes of their own

    if os.path.exists(args.out + ".keys"):
        os.remove(args.out + ".keys")  # a key log is appended to
    server_tls, client_tls = tls_contexts(args) if args.tls else (None, None)
    listener = socket.create_server((host, 0), family=family)
    port = listener.getsockname()[1]
    server = serve(handler, sock=listener, compression=compression, subprotocols=["basemessage.v1"], ssl=server_tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dump = start_tcpdump(args.out, port)
    dropped = 0
    try:
        results = run_clients(args, port, compression, client_tls)
    finally:
        dropped = stop_tcpdump(dump, args.out)
        server.shutdown()
    with open(args.out + ".expected.json", "w") as f:
        json.dump({"port": port, "dropped": dropped, "connections": results}, f, indent=1)
    return dropped


def run_clients(args, port, compression, tls):
    from websockets.sync.client import connect

    results = [None] * args.connections

    def client(n):
        sent, received = [], []
        scheme = "wss" if tls else "ws"
        url = "%s://[::1]:%d/ws?client=%d" % (scheme, port, n) if args.ipv6 else "%s://127.0.0.1:%d/ws?client=%d" % (scheme, port, n)
        with connect(url, compression=compression, subprotocols=["basemessage.v1"], ssl=tls) as ws:
            def exchange(message):
                ws.send(message)
                sent.append(message)
                reply = ws.recv()
                received.append(reply)

            user = "@user%d@chat.example.org" % n
            exchange(json.dumps({"id": "1", "type": "auth.login", "from": user, "to": "chat.example.org",
                                 "payload": {"password": "secret"}}))
            exchange(json.dumps({"id": "2", "type": "chat.send", "from": user, "to": "#general:chat.example.org",
                                 "payload": {"text": "m" * 300}}))
            exchange(json.dumps({"id": "3", "type": "chat.send", "from": user, "to": "#general:chat.example.org",
                                 "payload": {"text": "".join(chr(97 + (i * 7 + n) % 26) for i in range(70000))}}))
            parts = ['{"id":"4","type":"chat.send",', '"from":"%s","to":"#general:chat.example.org",' % user,
                     '"payload":{"text":"in three fragments"}}']
            ws.send(parts)  # an iterable is sent as a fragmented message
            sent.append("".join(parts))
            received.append(ws.recv())
            binary = json.dumps({"id": "5", "type": "chat.send", "from": user, "to": "", "payload": {}}).encode()
            ws.send(binary)
            sent.append(binary)
            received.append(ws.recv())
            ws.ping(b"heartbeat").wait(5)
            exchange(json.dumps({"id": "6", "type": "room.join", "from": "@Bad@chat.example.org",
                                 "to": "#general:chat.example.org:99999", "payload": {}}))
            ws.close(code=4000 + n, reason="done")
        results[n] = {"sent": [encode(m) for m in sent], "received": [encode(m) for m in received],
                      "close": 4000 + n}

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if None in results:
        raise ClientFailed()
    return results


class ClientFailed(Exception):
    """A recording client failed (its traceback is on standard error). Python's ssl module is not
    safe for one socket read and written by two threads at once, as the sync websockets client does,
    and a TLS 1.3 session now and then stalls in its handshake on a loaded machine."""


def encode(message):
    if isinstance(message, bytes):
        return {"kind": "binary", "base64": base64.b64encode(message).decode()}
    return {"kind": "text", "text": message}


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


def lws_server(port):
    """libwebsockets' test server, listening. With its info log on it says when it is ready (it
    listens before its context is operational); the rest of its log is read and dropped."""
    server = subprocess.Popen(["libwebsockets-test-server", "--port=%d" % port, "-d", "1039"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=default_signals)
    ready = threading.Event()

    def drain():
        for line in server.stderr:
            if b"CONTEXT_CREATED -> OPERATIONAL" in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(20):
        sys.exit("libwebsockets-test-server did not get ready")
    return server


def lws_session(args):
    port = unused_port()
    dump = start_tcpdump(args.out, port)
    server = lws_server(port)
    try:
        client = subprocess.Popen(["libwebsockets-test-client", "127.0.0.1", "--port=%d" % port],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  preexec_fn=default_signals)
        # A short session keeps tcpdump from dropping packets (the mirror protocol is chatty); 30 data
        # segments are enough to compare with tshark.
        wait_until(lambda: sum(1 for p in packets(args.out) if p[3] > 0) >= 30, "the libwebsockets session to get going", args.out)
        stop(client)
    finally:
        stop(server)
        dropped = stop_tcpdump(dump, args.out)
    with open(args.out + ".expected.json", "w") as f:
        json.dump({"port": port, "dropped": dropped}, f)
    return dropped


def recv_until(sock, done, what):
    data = b""
    sock.settimeout(20)
    while not done(data):
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("the server closed before " + what)
        data += chunk
    return data


def http_response_end(data):
    """Where a response with a content-length ends in `data`, or None before it is all there."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    length = [int(line.split(b":")[1]) for line in data[:head_end].split(b"\r\n") if line.lower().startswith(b"content-length:")]
    end = head_end + 4 + (length[0] if length else 0)
    return end if len(data) >= end else None


def server_texts(data):
    """Unmasked text frames with 7-bit lengths, as the dumb-increment protocol sends them."""
    texts, i = [], 0
    while i + 2 <= len(data) and i + 2 + (data[i + 1] & 0x7F) <= len(data):
        n = data[i + 1] & 0x7F
        if data[i] == 0x81:
            texts.append(data[i + 2:i + 2 + n].decode())
        i += 2 + n
    return texts


def lws_keep_alive_session(args):
    port = unused_port()
    dump = start_tcpdump(args.out, port)
    server = lws_server(port)
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        for path in ("/", "/test.css"):
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n" % path.encode())
            data = recv_until(sock, lambda d: http_response_end(d) is not None, "answering GET " + path)
            if not data.startswith(b"HTTP/1.1 200") or http_response_end(data) != len(data):
                sys.exit("unexpected answer to GET %s: %r" % (path, data[:200]))
        key = base64.b64encode(os.urandom(16))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: dumb-increment-protocol\r\n\r\n")
        data = recv_until(sock, lambda d: b"\r\n\r\n" in d and len(server_texts(d.split(b"\r\n\r\n", 1)[1])) >= 20, "20 messages")
        frames = data.split(b"\r\n\r\n", 1)[1]
        received = server_texts(frames)
        # Close (masked, code 1000); the server's messages that cross it are read and discarded.
        mask = os.urandom(4)
        sock.sendall(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"\x03\xe8")))
        sock.settimeout(10)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        sock.close()
        wait_until(lambda: every_connection_ended(args.out), "the connection to end in the capture", args.out)
    finally:
        stop(server)
        dropped = stop_tcpdump(dump, args.out)
    with open(args.out + ".expected.json", "w") as f:
        json.dump({"port": port, "dropped": dropped, "received": received}, f)
    return dropped


def main():
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--ipv6", action="store_true")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--tls", help="1.3, or 1.2:CIPHER")
    parser.add_argument("--peer", choices=["python", "lws", "lws-keep-alive"], default="python")
    args = parser.parse_args()
    if args.tls and args.tls.startswith("1.3:"):
        if "ssl" in sys.modules:
            sys.exit("OpenSSL was loaded before its configuration was written")
        tls13_suite(args.tls[4:])
    # A capture that lost packets in the kernel is no reference: record again (a busy machine drops some).
    for attempt in range(8):
        if os.path.exists(args.out):
            os.remove(args.out)
        sessions = {"lws": lws_session, "lws-keep-alive": lws_keep_alive_session, "python": python_session}
        try:
            dropped = sessions[args.peer](args)
        except ClientFailed:
            print("a client failed; recording again", file=sys.stderr)
            continue
        if dropped == 0:
            return
        print("tcpdump dropped %d packets; recording again" % dropped, file=sys.stderr)
    sys.exit("tcpdump kept dropping packets, or the clients kept failing")


if __name__ == "__main__":
    main()
