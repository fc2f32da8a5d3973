#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses, taken from Captures/: usage: seeds.py OUTDIR"""
import glob
import json
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Captures")
out = sys.argv[1]


def write(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def frame(opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    return head + b"\1\2\3\4" + bytes(b ^ (1, 2, 3, 4)[i % 4] for i, b in enumerate(payload))


messages = []
for path in sorted(glob.glob(os.path.join(root, "*.jsonl"))):
    write("jsonl-capture", os.path.basename(path), open(path, "rb").read())
    for line in open(path):
        record = json.loads(line)
        if "text" in record:
            messages.append(record["text"].encode())
for i, text in enumerate(messages[:40]):
    write("json-reader", "m%d" % i, text)
    write("websocket-frames", "f%d" % i, bytes([i % 4]) + frame(1, text[:60], fin=False) + frame(9, b"p") + frame(0, text[60:]))
ids = ["@alice@chat.example.org", "#room:example.org:8448", "!4f1c2b7e-8d0e-4c36-9a55-3c2d1b7e0f11@x.org",
       "%+15551234567:sms.example.org", "^a.b@mail.example.org:[2001:db8::1]", "&m1:x.org", "192.0.2.1:443"]
for i, entity in enumerate(ids):
    write("entity-id", "id%d" % i, entity)
for path in sorted(glob.glob(os.path.join(root, "*.pcap"))):
    write("pcap", os.path.basename(path), open(path, "rb").read())
for path in sorted(glob.glob(os.path.join(root, "*.yaml"))):
    write("profile", os.path.basename(path), open(path, "rb").read())
write("profile", "small.json", '{"extensions":{"x":{"errCodes":[[1,9]],"messages":{"x.a":{"payload":{"type":"object","properties":{"n":{"type":"integer","maximum":3}}}}}}}}')
