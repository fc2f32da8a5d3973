#!/usr/bin/env python3
"""Checking throughput: `basetap check` against Python jsonschema on the same capture, in one run.

Usage: check_throughput.py BASETAP [--messages N] [--baseline-messages N]

Generates a JSONL capture of 200-byte BaseMessages (requests and responses over 16 interleaved
connections), times `basetap check --quiet --jobs 1` on it (one core), Python's jsonschema
validating the same envelope on the first lines of the same file, `--jobs N` for every N up to the
machine's cores and `--profile`, taking turns (each the best of three runs), and prints
messages/s, MB/s, peak RSS and the ratios.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ENVELOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "type", "from", "to", "payload"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "type": {"type": "string", "minLength": 1},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "ok": {"type": "boolean"},
        "payload": {"type": "object"},
    },
    "additionalProperties": False,
}


def message(i):
    side = i % 2
    body = {
        "id": "m%07d" % (i // 2),
        "type": "chat.send",
        "from": "@user%d@chat.example.org" % (i % 97) if side == 0 else "chat.example.org",
        "to": "!6f1c0a52-8d0e-4c36-9a55-3c2d1b7e0f11@chat.example.org",
        "payload": {"text": ""},
    }
    if side:
        body["ok"] = True
    text = json.dumps(body, separators=(",", ":"))
    pad = 200 - len(text)
    body["payload"]["text"] = "x" * max(0, pad)
    return json.dumps(body, separators=(",", ":"))


def generate(path, count):
    conns = ["10.0.0.%d:%d>10.0.0.1:8080" % (k + 2, 40000 + k) for k in range(16)]
    payload_bytes = 0
    with open(path, "w") as f:
        f.write('{"format":"basetap-capture","version":1}\n')
        for c in conns:
            f.write(json.dumps({"ts": "2026-11-24T10:00:00.000000Z", "conn": c, "kind": "open"}) + "\n")
        for i in range(count):
            # Request and response stay on one connection; pairs rotate over the 16 connections.
            conn = conns[(i // 2) % 16]
            text = message(i)
            payload_bytes += len(text)
            record = {"ts": "2026-11-24T10:00:00.%06dZ" % (i % 1000000), "conn": conn,
                      "dir": "c2s" if i % 2 == 0 else "s2c", "kind": "text", "text": text}
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
    return payload_bytes


PROFILE = {
    "unknownTypes": "error",
    "extensions": {"chat": {"errCodes": [[300, 399]], "messages": {"chat.send": {"payload": {
        "type": "object", "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 4096}},
        "additionalProperties": False}}}}},
}


def run_basetap(binary, path, extra=()):
    """Wall time, CPU time and this run's own peak RSS (MB) of `basetap check`, and its summary."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([binary, "check", "--quiet", *extra, path], stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("basetap check failed (%d): %s%s" % (os.waitstatus_to_exitcode(status), stdout, stderr))
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout.strip()


def run_jsonschema(path, limit):
    import jsonschema
    validator = jsonschema.Draft202012Validator(ENVELOPE_SCHEMA)
    count = 0
    errors = 0
    start = time.perf_counter()
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record.get("kind") != "text":
                continue
            for _ in validator.iter_errors(json.loads(record["text"])):
                errors += 1
            count += 1
            if count >= limit:
                break
    return count, time.perf_counter() - start, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("basetap")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--baseline-messages", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.jsonl")
        payload_bytes = generate(path, args.messages)
        file_bytes = os.path.getsize(path)
        print("capture: %d messages of 200 bytes, %.1f MB of JSONL" % (args.messages, file_bytes / 1e6))

        profile = os.path.join(tmp, "bench.profile.json")
        with open(profile, "w") as f:
            json.dump(PROFILE, f)
        # The runs behind each ratio take turns, each the best of three: a busy moment of the
        # machine falls on both sides alike rather than on all the runs of one.
        parallel_jobs = range(2, (os.cpu_count() or 1) + 1)
        runs, baseline, parallel, profiled = [], [], {jobs: [] for jobs in parallel_jobs}, []
        for _ in range(3):
            runs.append(run_basetap(args.basetap, path, ["--jobs", "1"]))
            baseline.append(run_jsonschema(path, args.baseline_messages))
            for jobs in parallel_jobs:
                parallel[jobs].append(run_basetap(args.basetap, path, ["--jobs", str(jobs)]))
            profiled.append(run_basetap(args.basetap, path, ["--jobs", "1", "--profile", profile]))
        elapsed, cpu, rss, summary = min(runs, key=lambda r: r[0])
        rate = args.messages / elapsed
        print("basetap check:      %10.0f messages/s  %7.1f MB/s of messages  %7.1f MB/s of file  "
              "cpu %.2f s  peak RSS %.1f MB  (best of 3)" % (rate, payload_bytes / elapsed / 1e6,
                                                             file_bytes / elapsed / 1e6, cpu, rss))
        print("  " + summary.splitlines()[0])
        for jobs in parallel_jobs:
            j_elapsed, j_cpu, j_rss, j_summary = min(parallel[jobs], key=lambda r: r[0])
            if j_summary != summary:
                sys.exit("--jobs %d summed up differently: %s" % (jobs, j_summary))
            print("basetap check --jobs %d: %6.0f messages/s  cpu %.2f s  peak RSS %.1f MB: %.2fx --jobs 1"
                  % (jobs, args.messages / j_elapsed, j_cpu, j_rss, elapsed / j_elapsed))

        p_elapsed, _, p_rss, p_summary = min(profiled, key=lambda r: r[0])
        if "0 errors" not in p_summary:
            sys.exit("the benchmark profile found errors: " + p_summary)
        p_rate = args.messages / p_elapsed
        print("basetap check --profile: %5.0f messages/s  peak RSS %.1f MB: %.0f%% of the speed without a profile"
              % (p_rate, p_rss, 100 * p_rate / rate))

        if any(errors for _, _, errors in baseline):
            sys.exit("jsonschema found errors in a clean capture")
        count = baseline[0][0]
        base = max(count / seconds for count, seconds, _ in baseline)
        print("python jsonschema:  %10.0f messages/s  (envelope schema, %d messages, best of 3)" % (base, count))
        print("ratio: basetap checks %.1fx as many messages per second as Python jsonschema" % (rate / base))


if __name__ == "__main__":
    main()
