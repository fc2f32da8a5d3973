#!/usr/bin/env python3
"""Fuzz throughput: `basetap fuzz` against a local echo server for a fixed time, with a Python
`websockets` client running the same shape of work (one connection per session, each request
answered before the connection closes) as the baseline in the same run.

Usage: fuzz_throughput.py BASETAP [--seconds S] [--workers N]
"""
import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from proxy_throughput import echo_server, free_port

SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Captures", "fuzz-seed.jsonl")


async def python_sessions(port, seconds, workers):
    """Sessions of the seed's client messages plus a probe, as the fuzzer sends them, for `seconds`."""
    from websockets.asyncio.client import connect
    messages = [json.loads(line)["text"] for line in open(SEED) if '"c2s"' in line and '"text"' in line]
    messages.append(messages[0])
    sent = [0]
    deadline = time.perf_counter() + seconds

    async def worker():
        while time.perf_counter() < deadline:
            async with connect("ws://127.0.0.1:%d/fuzz" % port, compression=None, max_size=None) as ws:
                for text in messages:
                    await ws.send(text)
                for _ in messages:
                    await ws.recv()
                sent[0] += len(messages)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return sent[0] / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("basetap")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()
    port = free_port()
    server = echo_server(port)
    try:
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([args.basetap, "fuzz", "--target", "ws://127.0.0.1:%d/fuzz" % port, "--seed-capture", SEED,
                                     "--duration", "%gs" % args.seconds, "--workers", str(args.workers), "--no-minimize", "--timeout", "1s",
                                     "--out", out, "--color", "never"], capture_output=True, text=True)
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
        match = re.search(r"(\d+) connections, (\d+) messages \((\d+)/s\)", summary)
        if not match:
            sys.exit("basetap fuzz did not report its rate: %s" % summary)
        connections, messages, rate = (int(g) for g in match.groups())
        findings = re.search(r"(\d+) findings?", summary)
        baseline = asyncio.run(python_sessions(port, args.seconds, args.workers))
    finally:
        server.terminate()
        server.wait()
    print("basetap fuzz:           %8d mutated messages/s  (%d connections, %d messages in %gs, %s findings, unminimized)"
          % (rate, connections, messages, args.seconds, findings.group(1) if findings else "no"))
    print("python client sessions: %8.0f messages/s          (the same sessions unmutated, %d connections at once)" % (baseline, args.workers))
    print("ratio: basetap fuzzes at %.1fx the rate a Python client runs the plain sessions" % (rate / baseline))


if __name__ == "__main__":
    main()
