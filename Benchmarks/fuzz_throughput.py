#!/usr/bin/env python3
"""Fuzz throughput: `basetap fuzz` against the native echo server (Benchmarks/native/wsbench.c)
for a fixed time, with the native session client running the same shape of work (one connection
per session, each message answered before the Close) as the baseline in the same run. Both peers
are C: a Python peer is slower than basetap and would measure itself.

Usage: fuzz_throughput.py BASETAP WSBENCH [--seconds S] [--workers N]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

from proxy_throughput import free_port

SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Captures", "fuzz-seed.jsonl")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("basetap")
    parser.add_argument("wsbench")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=128)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([args.wsbench, "echo", str(port)], stdout=subprocess.PIPE, text=True)
    server.stdout.readline()  # "listening"
    try:
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([args.basetap, "fuzz", "--target", "ws://127.0.0.1:%d/fuzz" % port, "--seed-capture", SEED,
                                     "--duration", "%gs" % args.seconds, "--workers", str(args.workers), "--no-minimize", "--timeout", "1s",
                                     "--out", out, "--color", "never"], capture_output=True, text=True)
            messages = [json.loads(line)["text"] for line in open(SEED) if '"c2s"' in line and '"text"' in line]
            messages.append(messages[0])  # the probe
            lines = os.path.join(out, "session.txt")
            with open(lines, "w") as f:
                f.write("\n".join(messages) + "\n")
            native = subprocess.run([args.wsbench, "sessions", str(port), "5", str(args.workers), lines], capture_output=True, text=True)
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
        match = re.search(r"(\d+) connections, (\d+) messages \((\d+)/s\) in ([\d.]+) s", summary)
        if not match:
            sys.exit("basetap fuzz did not report its rate: %s" % summary)
        connections, sent, rate = (int(g) for g in match.groups()[:3])
        findings = re.search(r"(\d+) findings?", summary)
        baseline = float(native.stdout.split()[0])
    finally:
        server.terminate()
        server.wait()
    print("basetap fuzz:            %8d mutated messages/s  (%d connections, %d messages in %s s, %s findings, unminimized, %d workers)"
          % (rate, connections, sent, match.group(4), findings.group(1) if findings else "no", args.workers))
    print("native session client:   %8.0f messages/s          (the same sessions unmutated, %d at once)" % (baseline, args.workers))
    print("ratio: basetap fuzzes at %.2fx the rate a native client runs the plain sessions; target 5 000 mutated messages/s" % (rate / baseline))


if __name__ == "__main__":
    main()
