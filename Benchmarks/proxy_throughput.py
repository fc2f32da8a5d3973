#!/usr/bin/env python3
"""Proxy throughput, latency and memory with native peers, every baseline in the same run.

usage: proxy_throughput.py BASETAP WSBENCH [--seconds S]

The load client and the echo server are `wsbench` (C, epoll): Python peers are slower than the
proxy and would measure themselves. This script only starts processes and prints the table.

For 1 KiB and 64 KiB text BaseMessages (8 connections, 16 in flight each): direct to the echo
server; through haproxy in `mode tcp` (a plain byte relay, the practical limit for a relay on this
machine); through basetap with checking on; basetap recording JSONL and pcap as well; and through
mitmproxy (`mitmdump --mode reverse:...`, when it is installed in the venv). Then the added p99
latency over haproxy's at 10 000 messages/s offered, basetap's resident memory after 2 GiB
relayed, and after a flood of 5 000 000 empty continuation frames in one message.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CONNECTIONS, INFLIGHT = 8, 16


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("a peer exited before listening on %d" % port)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d" % port)


def memory(pid):
    """(resident now, peak) in MB, from /proc."""
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def load(wsbench, port, seconds, size, rate=None):
    args = [wsbench, "load", str(port), str(seconds), str(CONNECTIONS), str(INFLIGHT), str(size)] + ([str(rate)] if rate else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        return None
    return dict((k, float(v)) for k, v in (part.split("=") for part in out.stdout.split()))


def main():
    basetap, wsbench = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 3.0
    work = tempfile.mkdtemp(prefix="basetap-bench-")
    echo_port = free_port()
    echo = subprocess.Popen([wsbench, "echo", str(echo_port)], stdout=subprocess.DEVNULL)
    started = [echo]
    try:
        wait_port(echo_port, echo)
        targets = [("direct", echo_port, None)]
        haproxy = shutil.which("haproxy")
        if haproxy:
            port = free_port()
            config = os.path.join(work, "haproxy.cfg")
            with open(config, "w") as f:
                f.write("global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n"
                        "frontend relay\n  bind 127.0.0.1:%d\n  default_backend echo\nbackend echo\n  server echo 127.0.0.1:%d\n" % (port, echo_port))
            process = subprocess.Popen([haproxy, "-f", config, "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(process)
            wait_port(port, process)
            targets.append(("haproxy (mode tcp)", port, process))
        for name, extra in [("basetap, checking", []),
                            ("basetap, checking + JSONL + pcap", ["--record", os.path.join(work, "s.jsonl"), "--pcap", os.path.join(work, "s.pcap")])]:
            port = free_port()
            process = subprocess.Popen([basetap, "proxy", "--listen", "127.0.0.1:%d" % port, "--upstream", "ws://127.0.0.1:%d" % echo_port,
                                        "--quiet"] + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(process)
            wait_port(port, process)
            targets.append((name, port, process))
        mitmdump = shutil.which("mitmdump", path=os.path.dirname(sys.executable))
        if mitmdump:
            port = free_port()
            process = subprocess.Popen([mitmdump, "--mode", "reverse:http://127.0.0.1:%d" % echo_port, "-p", str(port), "-q"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(process)
            wait_port(port, process, seconds=60)
            targets.append(("mitmproxy", port, process))

        for size in (1024, 65536):
            print("%d-byte messages, %d connections x %d in flight, %.0f s each:" % (size, CONNECTIONS, INFLIGHT, seconds))
            results = {}
            for name, port, process in targets:
                result = load(wsbench, port, seconds, size)
                if result is None:
                    print("  %-34s failed" % name)
                    continue
                results[name] = result
                rss = " peak RSS %4.0f MB" % memory(process.pid)[1] if process else ""
                print("  %-34s %9.0f msg/s %7.1f MB/s  p50 %6.0f us  p99 %6.0f us%s" % (
                    name, result["messages/s"], result["MB/s"], result["p50_us"], result["p99_us"], rss))
            mine = results.get("basetap, checking")
            if mine:
                ratios = ["%.2fx %s" % (mine["messages/s"] / results[other]["messages/s"], other)
                          for other in ("direct", "haproxy (mode tcp)", "mitmproxy") if other in results]
                print("  basetap with checking: " + ", ".join(ratios))
            print()

        print("latency at 10 000 messages/s offered (1 KiB):")
        fixed = {}
        for name, port, _ in targets:
            if name in ("direct", "haproxy (mode tcp)", "basetap, checking"):
                fixed[name] = load(wsbench, port, seconds, 1024, rate=10000)
                if fixed[name]:
                    print("  %-34s p50 %6.0f us  p99 %6.0f us" % (name, fixed[name]["p50_us"], fixed[name]["p99_us"]))
        if fixed.get("haproxy (mode tcp)") and fixed.get("basetap, checking"):
            print("  basetap adds %.0f us at p99 over haproxy (target: <= 200)" % (fixed["basetap, checking"]["p99_us"] - fixed["haproxy (mode tcp)"]["p99_us"]))
        print()

        basetap_process = dict((name, process) for name, _, process in targets)["basetap, checking"]
        basetap_port = dict((name, port) for name, port, _ in targets)["basetap, checking"]
        relayed_mb = 0.0
        while relayed_mb < 2048:
            result = load(wsbench, basetap_port, 4, 65536)
            if not result:
                break
            relayed_mb += result["MB/s"] * 4 * 2
        now, peak = memory(basetap_process.pid)
        print("memory after %.1f GiB relayed (both ways): RSS %.0f MB, peak %.0f MB (target: < 64 MiB)" % (relayed_mb / 1024, now, peak))
        flood = subprocess.run([wsbench, "flood", str(basetap_port), "5000000"], capture_output=True, text=True, timeout=600)
        now, peak = memory(basetap_process.pid)
        print("after one message of 5 000 000 empty fragments (%s): RSS %.0f MB, peak %.0f MB (target: < 100 MB)" % (flood.stdout.strip(), now, peak))
        if not mitmdump:
            print("(mitmproxy not installed in the venv: pip install mitmproxy==11.0.2 to compare)")
        if not haproxy:
            print("(haproxy not installed: apt-get install haproxy to compare with a plain relay)")
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
