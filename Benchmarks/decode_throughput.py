#!/usr/bin/env python3
"""Decoding throughput: `basetap decode` against `tshark -Y websocket -T json`, same file, same run.

Usage: decode_throughput.py BASETAP [--megabytes N] [--tshark-megabytes N]

Generates a pcap of WebSocket traffic (64 interleaved connections on Ethernet/IPv4, masked 1 KiB
client requests and unmasked server answers in 1448-byte TCP segments), times basetap decoding it
to JSONL on one core (`--jobs 1`) and tshark dissecting it to JSON, and prints MB/s, peak RSS and
the ratio; then `decode` and `check` with `--jobs N` for every N up to the machine's cores, against
one job.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

MSS = 1448


def ws_frame(payload, mask):
    n = len(payload)
    head = bytes([0x81])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = bytes([0x11, 0x22, 0x33, 0x44])
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def packet(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + tcp


def generate(path, megabytes):
    rng = random.Random(7)
    out = open(path, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    written = 0
    ts = [1764000000, 0]

    def emit(frame_bytes):
        nonlocal written
        ts[1] += 7
        if ts[1] >= 1000000:
            ts[0] += 1
            ts[1] = 0
        out.write(struct.pack("<IIII", ts[0], ts[1], len(frame_bytes), len(frame_bytes)))
        out.write(frame_bytes)
        written += 16 + len(frame_bytes)

    conns = []
    for k in range(64):
        c = {"cip": [10, 1, k // 250, k % 250 + 2], "sip": [10, 0, 0, 1], "cport": 40000 + k, "sport": 8080,
             "cseq": rng.randrange(1 << 32), "sseq": rng.randrange(1 << 32), "n": 0}
        emit(packet(c["cip"], c["sip"], c["cport"], c["sport"], c["cseq"], 0, 0x02, b""))
        emit(packet(c["sip"], c["cip"], c["sport"], c["cport"], c["sseq"], c["cseq"] + 1, 0x12, b""))
        c["cseq"] += 1
        c["sseq"] += 1
        conns.append(c)

    def send(c, client, data):
        for i in range(0, len(data), MSS):
            piece = data[i:i + MSS]
            if client:
                emit(packet(c["cip"], c["sip"], c["cport"], c["sport"], c["cseq"], c["sseq"], 0x18, piece))
                c["cseq"] += len(piece)
            else:
                emit(packet(c["sip"], c["cip"], c["sport"], c["cport"], c["sseq"], c["cseq"], 0x18, piece))
                c["sseq"] += len(piece)

    for c in conns:
        send(c, True, b"GET /ws HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        send(c, False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    messages = 0
    text = "x" * 900
    while written < megabytes * 1_000_000:
        c = conns[rng.randrange(len(conns))]
        c["n"] += 1
        request = json.dumps({"id": str(c["n"]), "type": "chat.send", "from": "@user@chat.example.org",
                              "to": "#general:chat.example.org", "payload": {"text": text}}).encode()
        send(c, True, ws_frame(request, True))
        answer = json.dumps({"id": str(c["n"]), "type": "chat.send", "from": "chat.example.org", "to": "",
                             "ok": True, "payload": {}}).encode()
        send(c, False, ws_frame(answer, False))
        messages += 2
    out.close()
    return messages


def timed(command, stdout=subprocess.DEVNULL):
    """Runs `command`; its wall time, its own peak RSS (MB) and its standard error."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=stdout, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if process.returncode != 0:
        sys.exit("%s failed: %s" % (command[0], stderr))
    return elapsed, usage.ru_maxrss / 1024, stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("basetap")
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.pcap")
        messages = generate(path, args.megabytes)
        size = os.path.getsize(path) / 1e6
        print("capture: %.0f MB pcap, %d WebSocket messages on 64 connections" % (size, messages))
        elapsed, rss, summary = min((timed([args.basetap, "decode", "--jobs", "1", path, "-o", "/dev/null"]) for _ in range(2)),
                                    key=lambda r: r[0])
        print("basetap decode:  %7.1f MB/s  %9.0f messages/s  %6.2f s  peak RSS %.1f MB" % (size / elapsed, messages / elapsed, elapsed, rss))
        print("  " + summary.strip().splitlines()[0])
        t_elapsed, t_rss, _ = timed(["tshark", "-r", path, "-d", "tcp.port==8080,http", "-Y", "websocket", "-T", "json"])
        print("tshark -T json:  %7.1f MB/s  %9.0f messages/s  %6.2f s  peak RSS %.1f MB" % (size / t_elapsed, messages / t_elapsed, t_elapsed, t_rss))
        print("ratio: basetap decodes %.1fx as fast as tshark" % (t_elapsed / elapsed))
        c_elapsed, c_rss, _ = min((timed([args.basetap, "check", "--quiet", "--jobs", "1", path]) for _ in range(2)), key=lambda r: r[0])
        print("basetap check:   %7.1f MB/s  %9.0f messages/s  %6.2f s  peak RSS %.1f MB" % (size / c_elapsed, messages / c_elapsed, c_elapsed, c_rss))
        for jobs in range(2, (os.cpu_count() or 1) + 1):
            for command, one in (("decode", elapsed), ("check", c_elapsed)):
                extra = ["-o", "/dev/null"] if command == "decode" else ["--quiet"]
                j_elapsed, j_rss, _ = min((timed([args.basetap, command, "--jobs", str(jobs), path] + extra) for _ in range(2)),
                                          key=lambda r: r[0])
                print("basetap %s --jobs %d: %7.1f MB/s  peak RSS %.1f MB: %.2fx --jobs 1"
                      % (command, jobs, size / j_elapsed, j_rss, one / j_elapsed))


if __name__ == "__main__":
    main()
