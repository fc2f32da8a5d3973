#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses, taken from Captures/ and the real captures of the
tests (the pcap ones also wrapped in each tunnel basetap reads; the wss sample carries its TLS
secrets, so the pcap target reaches TLS decryption): usage: seeds.py OUTDIR"""
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
def ip_packets(data):
    """The IP packets of a classic little-endian pcap, whatever its link type."""
    link = struct.unpack_from("<I", data, 20)[0]
    skip = {1: 14, 0: 4, 108: 4, 101: 0, 113: 16, 276: 20}.get(link)
    offset, packets = 24, []
    while skip is not None and offset + 16 <= len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        packets.append(data[offset + 16 + skip:offset + 16 + length])
        offset += 16 + length
    return packets


def ethernet(kind, payload):
    return b"\x02\0\0\0\0\1\x02\0\0\0\0\2" + struct.pack(">H", kind) + payload


def ethernet_ip(ip):
    return ethernet(0x86DD if ip[0] >> 4 == 6 else 0x0800, ip)


def outer(protocol, payload):
    return ethernet(0x0800, struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, protocol, 0,
                                        bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])) + payload)


def udp(port, payload):
    return outer(17, struct.pack(">HHHH", 50000, port, 8 + len(payload), 0) + payload)


tunnels = {
    "mpls": lambda ip: ethernet(0x8847, b"\0\1\x01\x40" + ip),
    "pppoe": lambda ip: ethernet(0x8864, struct.pack(">BBHHH", 0x11, 0, 1, 2 + len(ip), 0x57 if ip[0] >> 4 == 6 else 0x21) + ip),
    "ipip": lambda ip: outer(4 if ip[0] >> 4 == 4 else 41, ip),
    "gre": lambda ip: outer(47, struct.pack(">HH", 0, 0x86DD if ip[0] >> 4 == 6 else 0x0800) + ip),
    "erspan": lambda ip: outer(47, b"\x10\0\x88\xbe\0\0\0\1" + b"\x10\1\0\0\0\0\0\0" + ethernet_ip(ip)),
    "vxlan": lambda ip: udp(4789, b"\x08\0\0\0\0\0\1\0" + ethernet_ip(ip)),
    "gtpu": lambda ip: udp(2152, struct.pack(">BBHI", 0x30, 0xFF, len(ip), 1) + ip),
}
real = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "BasetapKitTests", "Resources", "real-captures")
for path in sorted(glob.glob(os.path.join(root, "*.pcap*")) + glob.glob(os.path.join(real, "*.pcap*"))):
    data = open(path, "rb").read()
    write("pcap", os.path.basename(path), data)
    if path.endswith(".pcap") and data[:4] == b"\xd4\xc3\xb2\xa1" and path.startswith(root):
        for name, wrap in tunnels.items():
            records = b"".join(struct.pack("<IIII", 1764000000, i, len(f), len(f)) + f
                               for i, f in enumerate(wrap(ip) for ip in ip_packets(data)))
            write("pcap", "%s-%s" % (name, os.path.basename(path)), data[:20] + struct.pack("<I", 1) + records)
for path in sorted(glob.glob(os.path.join(root, "*.yaml"))):
    write("profile", os.path.basename(path), open(path, "rb").read())
write("profile", "small.json", '{"extensions":{"x":{"errCodes":[[1,9]],"messages":{"x.a":{"payload":{"type":"object","properties":{"n":{"type":"integer","maximum":3}}}}}}}}')


def tls_chunk(direction, data):
    return struct.pack(">H", (0x8000 if direction == "s2c" else 0) | len(data)) + data


def handshake_record(message_type, body):
    message = bytes([message_type]) + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(message)) + message


client_hello = handshake_record(1, b"\x03\x03" + b"\x5a" * 32 + b"\x00\x00\x02\x13\x01\x01\x00\x00\x00")


def server_hello(suite, tls13, random=b"\x5e" * 32):
    extensions = b"\x00\x2b\x00\x02\x03\x04" if tls13 else b""
    return handshake_record(2, b"\x03\x03" + random + b"\x00" + struct.pack(">H", suite) + b"\x00" + struct.pack(">H", len(extensions)) + extensions)


opaque = b"\x17\x03\x03\x00\x20" + bytes(range(32))
retry = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
write("tls-records", "tls13", tls_chunk("c2s", client_hello) + tls_chunk("s2c", server_hello(0x1301, True) + b"\x14\x03\x03\x00\x01\x01" + opaque)
      + tls_chunk("c2s", b"\x14\x03\x03\x00\x01\x01" + opaque))
write("tls-records", "tls12", tls_chunk("c2s", client_hello) + tls_chunk("s2c", server_hello(0xC02F, False))
      + tls_chunk("c2s", b"\x14\x03\x03\x00\x01\x01" + opaque[:3] + b"\x00\x28" + bytes(40)))
write("tls-records", "retry", tls_chunk("c2s", client_hello) + tls_chunk("s2c", server_hello(0x1302, True, retry))
      + tls_chunk("c2s", client_hello) + tls_chunk("s2c", server_hello(0x1303, True)))
