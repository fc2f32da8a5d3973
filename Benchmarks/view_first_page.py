#!/usr/bin/env python3
"""`basetap view` on the one-million-message capture of the check benchmark: how soon the first
page of messages is served after start (the capture is read behind the server), how long the whole
capture takes to read, and the memory it then holds.

usage: view_first_page.py BASETAP
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from check_throughput import generate  # noqa: E402

TOKEN = "bench"


def get(port, path):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers={"Authorization": "Bearer " + TOKEN})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def main():
    basetap = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.jsonl")
        generate(path, 1_000_000)
        started = time.monotonic()
        process = subprocess.Popen([basetap, "view", path, "--listen", "127.0.0.1:0", "--token", TOKEN],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            banner = process.stderr.readline()
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", banner).group(1))
            first = None
            while time.monotonic() - started < 120:
                if get(port, "/api/messages?limit=200"):
                    first = time.monotonic() - started
                    break
                time.sleep(0.01)
            while get(port, "/api/info")["loading"]:
                time.sleep(0.1)
            loaded = time.monotonic() - started
            probe = time.monotonic()
            page = get(port, "/api/messages?after=900000&limit=200&filter=dir:s2c")
            late = time.monotonic() - probe
            probe = time.monotonic()
            middle = get(port, "/api/messages?offset=500000&limit=200")
            jump = time.monotonic() - probe
            probe = time.monotonic()
            count = get(port, "/api/timeline?filter=dir:s2c")["count"]
            counted = time.monotonic() - probe
            with open("/proc/%d/status" % process.pid) as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
            print("first page of 200 messages after %.2f s (target: under 1 s)" % first)
            print("whole capture read after %.1f s; RSS then %.0f MB" % (loaded, rss))
            print("a filtered page near the end: %d messages in %.0f ms" % (len(page), late * 1000))
            print("a page at position 500 000 (a jump): %d messages in %.0f ms" % (len(middle), jump * 1000))
            print("a filtered timeline counted (%d messages) in %.0f ms" % (count, counted * 1000))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
