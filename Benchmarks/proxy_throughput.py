#!/usr/bin/env python3
"""Proxy throughput and latency: direct, through basetap (checking on), through mitmproxy; one run.

Usage: proxy_throughput.py BASETAP [--seconds S] [--connections N]

An asyncio `websockets` echo server on loopback; a load client with N connections sends 1 KiB and
64 KiB text BaseMessages (32 in flight per connection) for S seconds each way, and measures
messages/s, MB/s and p50/p99 round-trip latency; peak RSS of the proxy is read from /proc.
mitmproxy runs as `mitmdump --mode reverse:http://HOST:PORT` when it is installed in the venv.
"""
import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo_server(port):
    code = ("import asyncio, signal\n"
            "from websockets.asyncio.server import serve\n"
            "async def echo(ws):\n"
            "    async for m in ws:\n"
            "        await ws.send(m)\n"
            "async def main():\n"
            "    async with serve(echo, '127.0.0.1', %d, compression=None, max_size=None):\n"
            "        print('listening', flush=True)\n"
            "        await asyncio.Future()\n"
            "asyncio.run(main())\n" % port)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    return proc


async def load(port, size, seconds, connections, window=16):
    """Each connection keeps `window` messages in flight: one new send per answer received."""
    from websockets.asyncio.client import connect
    body = json.dumps({"id": "0", "type": "chat.send", "from": "@bench@example.org", "to": "#room:example.org",
                       "payload": {"text": "x" * max(0, size - 110)}})
    latencies = []
    done = [0]

    async def one(n):
        async with connect("ws://127.0.0.1:%d/bench" % port, compression=None, max_size=None,
                           ping_interval=None) as ws:
            sent = []
            for _ in range(window):
                sent.append(time.perf_counter())
                await ws.send(body)
            deadline = time.perf_counter() + seconds
            while sent:
                await ws.recv()
                latencies.append(time.perf_counter() - sent.pop(0))
                done[0] += 1
                if time.perf_counter() < deadline:
                    sent.append(time.perf_counter())
                    await ws.send(body)

    start = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(connections))), seconds + 20)
    except (asyncio.TimeoutError, OSError, Exception) as error:  # a stalled or failing proxy is a result too
        return None, repr(error)
    elapsed = time.perf_counter() - start
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0
    return (done[0] / elapsed, done[0] * len(body) / elapsed / 1e6, pick(0.5), pick(0.99)), None


def peak_rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("basetap")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    upstream = free_port()
    server = echo_server(upstream)
    rows = []
    try:
        targets = [("direct", upstream, None)]
        bport = free_port()
        basetap = subprocess.Popen([args.basetap, "proxy", "--listen", "127.0.0.1:%d" % bport,
                                    "--upstream", "ws://127.0.0.1:%d" % upstream, "--quiet"],
                                   stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        targets.append(("basetap proxy", bport, basetap))
        mitmdump = shutil.which("mitmdump", path=os.path.dirname(sys.executable))
        mitm = None
        if mitmdump:
            mport = free_port()
            mitm = subprocess.Popen([mitmdump, "--mode", "reverse:http://127.0.0.1:%d" % upstream, "-p", str(mport), "-q"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            targets.append(("mitmproxy", mport, mitm))
        time.sleep(2)
        for size in (1024, 65536):
            for name, port, proc in targets:
                result, failure = asyncio.run(load(port, size, args.seconds, args.connections))
                if result is None:
                    print("%6d B  %-14s failed: %s" % (size, name, failure[:120]), flush=True)
                    rows.append((size, name, 0, 0, 0, 0, 0))
                    continue
                rate, mbps, p50, p99 = result
                rss = peak_rss(proc.pid) if proc else 0
                rows.append((size, name, rate, mbps, p50, p99, rss))
                print("%6d B  %-14s %9.0f msg/s  %7.1f MB/s  p50 %6.2f ms  p99 %7.2f ms  %s"
                      % (size, name, rate, mbps, p50, p99, "peak RSS %.0f MB" % rss if proc else ""), flush=True)
        for size in (1024, 65536):
            by = {r[1]: r for r in rows if r[0] == size}
            line = "%6d B: basetap relays %.0f%% of direct" % (size, 100 * by["basetap proxy"][2] / max(by["direct"][2], 1e-9))
            if "mitmproxy" in by:
                line += ", %.1fx mitmproxy" % (by["basetap proxy"][2] / max(by["mitmproxy"][2], 1e-9))
            print(line)
        if not mitmdump:
            print("(mitmproxy not installed in the venv: pip install mitmproxy==11.0.2 to compare)")
    finally:
        for _, _, proc in targets[1:]:
            proc.terminate()
            proc.wait()
        server.terminate()


if __name__ == "__main__":
    main()
