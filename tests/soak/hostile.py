#!/usr/bin/env python3
"""Hostile traffic for the soak test (soak.sh), on loopback, until a deadline.

    hostile.py HTTP_PORT DB_PORT SECONDS GATEWAY_PATH

Each round does, in turn: bad Authorization headers, garbage RESP, an
oversized body, a slow HTTP reader of GATEWAY_PATH, a slow RESP reader of a
pipeline, and a batch of half-open connections (a partial request, then
nothing) that are dropped a round later, some with a reset. Failures of our
own sockets (refused, reset, timed out) are counted, not fatal: whether the
node lived is soak.sh's question. Prints one line of counts at the end.
"""
import os
import random
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
http_port, db_port, seconds, gateway_path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + seconds
counts = {}


def count(name):
    counts[name] = counts.get(name, 0) + 1


def dial(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    return s


def read_some(s, limit=1 << 20):
    got = 0
    try:
        while got < limit:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
    except OSError:
        pass
    return got


def bad_auth():
    headers = [
        "Leither key=AAAA,ts=1,nonce=x,sig=AAAA",
        "Leither " + os.urandom(200).hex(),
        "Bearer " + "a" * 4000,
        "Leither key=" + "A" * 43 + ",ts=" + str(int(time.time())) + ",nonce=abc,sig=" + "B" * 86,
        "Leither ,,,,,,,,=,=,=",
    ]
    for h in headers:
        with dial(http_port) as s:
            req = ("POST /api/v0/shutdown HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n\r\n" % h)
            s.sendall(req.encode())
            reply = s.recv(64)
            count("bad_auth_401" if reply.startswith(b"HTTP/1.1 401") else "bad_auth_other")


def garbage_resp():
    samples = [
        os.urandom(512),
        b"*3\r\n$3\r\nSET\r\n$-7\r\nk\r\n",
        b"*99999999\r\n",
        b"$999999999999\r\n",
        b"*2\r\n$4\r\nECHO\r\n$5\r\nabc\r\n\r\n\r\n",
        b"a " * 2000 + b"\r\n",
        b"\x00\xff\r\n" * 100,
    ]
    for g in samples:
        with dial(db_port) as s:
            s.sendall(g)
            s.settimeout(0.3)
            read_some(s, 4096)
            count("garbage_resp")


def oversized_body():
    with dial(http_port, timeout=10) as s:
        size = 12 << 20  # over the default max_request_body of 8 MiB
        s.sendall(("POST /api/v0/db/exec HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size).encode())
        chunk = b"[" * 65536
        sent = 0
        try:
            while sent < size:
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the node may close once it knows the body is too large
        s.settimeout(2)
        try:
            reply = s.recv(64)
        except OSError:
            reply = b""
        count("oversized_413" if reply.startswith(b"HTTP/1.1 413") else "oversized_closed")


def slow_http_reader():
    with dial(http_port) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % gateway_path).encode())
        for _ in range(20):
            try:
                if not s.recv(1024):
                    break
            except OSError:
                break
            time.sleep(0.05)
        count("slow_http_reader")


def slow_resp_reader():
    with dial(db_port) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"PING\r\n" * 20000 + b"GET soak:n\r\n" * 2000)
        for _ in range(20):
            try:
                if not s.recv(1024):
                    break
            except OSError:
                break
            time.sleep(0.05)
        count("slow_resp_reader")


held = []


def half_open():
    """Drops the last round's connections (half by reset), opens new ones."""
    while held:
        s = held.pop()
        if random.random() < 0.5:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    for i in range(40):
        port = http_port if i % 2 == 0 else db_port
        s = dial(port)
        if port == http_port:
            s.sendall(b"POST /api/v0/db/exec HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mid\":")
        else:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
        held.append(s)
        count("half_open")


steps = [bad_auth, garbage_resp, oversized_body, slow_http_reader, slow_resp_reader, half_open]
while time.monotonic() < deadline:
    for step in steps:
        if time.monotonic() >= deadline:
            break
        try:
            step()
        except OSError as e:
            count("socket_error_" + step.__name__)
    time.sleep(0.1)
for s in held:
    s.close()
print("hostile: " + " ".join("%s=%d" % kv for kv in sorted(counts.items())))
