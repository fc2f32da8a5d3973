#!/usr/bin/env python3
"""Replay throughput: `basetap replay --pace fast` against a local echo server, with a Python
`websockets` client sending the same messages as the baseline in the same run.

Usage: replay_throughput.py BASETAP [--messages N] [--connections C]

The capture holds C connections of N/C 200-byte requests, each answered by its echo. basetap's
send rate is read from its own recording of the new session (first to last message sent); the
whole run, which also waits for every echo, is timed too.
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

from proxy_throughput import echo_server, free_port


def message(conn, n):
    return json.dumps({"id": "%d-%d" % (conn, n), "type": "chat.send", "from": "@bench@example.org",
                       "to": "#room:example.org", "payload": {"text": "x" * 64}}, separators=(",", ":"))


def write_capture(path, connections, per_connection):
    with open(path, "w") as out:
        out.write('{"format":"basetap-capture","version":1}\n')
        for c in range(connections):
            conn = "c%d" % (c + 1)
            out.write(json.dumps({"ts": "2026-01-01T00:00:00Z", "conn": conn, "kind": "open", "url": "/", "headers": []}) + "\n")
            for n in range(per_connection):
                text = message(c, n)
                for direction in ("c2s", "s2c"):
                    out.write(json.dumps({"ts": "2026-01-01T00:00:00Z", "conn": conn, "dir": direction, "kind": "text", "text": text}) + "\n")
            for direction in ("c2s", "s2c"):
                out.write(json.dumps({"ts": "2026-01-01T00:00:01Z", "conn": conn, "dir": direction, "kind": "close", "code": 1000}) + "\n")


async def python_client(port, connections, per_connection):
    from websockets.asyncio.client import connect

    async def one(c):
        async with connect("ws://127.0.0.1:%d/" % port, compression=None, max_size=None) as ws:
            for n in range(per_connection):
                await ws.send(message(c, n))
            for _ in range(per_connection):
                await ws.recv()

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(connections)))
    return time.perf_counter() - started


def seconds(ts):
    # 2026-01-01T00:00:00.123456Z: only the time of day matters within one run.
    hours, minutes, rest = ts[11:].rstrip("Zz").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("basetap")
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    per = args.messages // args.connections
    total = per * args.connections
    with tempfile.TemporaryDirectory() as tmp:
        capture = os.path.join(tmp, "echo.jsonl")
        record = os.path.join(tmp, "new.jsonl")
        write_capture(capture, args.connections, per)
        port = free_port()
        server = echo_server(port)
        try:
            started = time.perf_counter()
            result = subprocess.run([args.basetap, "replay", capture, "--target", "ws://127.0.0.1:%d" % port, "--pace", "fast",
                                     "--parallel", str(args.connections), "--record", record, "--timeout", "60s", "--color", "never"],
                                    capture_output=True, text=True)
            wall = time.perf_counter() - started
            if result.returncode != 0:
                sys.exit("basetap replay failed (%d): %s%s" % (result.returncode, result.stdout[-2000:], result.stderr))
            sends = [seconds(json.loads(line)["ts"]) for line in open(record) if '"c2s","kind":"text"' in line]
            send_span = max(sends) - min(sends)
            python_wall = asyncio.run(python_client(port, args.connections, per))
        finally:
            server.terminate()
            server.wait()
    print("capture: %d messages of %d bytes on %d connections, each echoed" % (total, len(message(0, 0)), args.connections))
    print("basetap replay --pace fast: %8.0f messages/s sent   %6.2f s from first to last send   %6.2f s in all (waiting for every echo)"
          % (len(sends) / send_span, send_span, wall))
    print("python websockets client:   %8.0f messages/s         %6.2f s in all (sending, then reading every echo)"
          % (total / python_wall, python_wall))
    print("ratio: whole exchange, basetap (reading, replaying, comparing and checking) at %.2fx the Python client's rate"
          % (python_wall / wall))


if __name__ == "__main__":
    main()
