#!/usr/bin/env python3
"""resp_attack: hostile RESP clients on raw sockets for resp_hostile_spec.lua.

Each subcommand runs one attack against a node's db_port and prints one
JSON object with what the attacker and a second, ordinary client saw.

  pipeline PORT COUNT [TOKEN]  COUNT pipelined PINGs read slowly at first;
                               another connection PINGs meanwhile
  busy PORT FILE [UNTIL]       sends FILE's bytes, waits for the first reply
                               line matching the regex UNTIL; another
                               connection PINGs meanwhile
  raw PORT FILE [SECS]         sends FILE's bytes, reads until the node closes
                               or SECS pass
  bigget PORT SIZE             SET and GET a SIZE-byte value, then PING on the
                               same connection
  expire PORT TOKEN SECS       AUTH, wait SECS, PING: answered or closed
"""
import json
import re
import socket
import sys
import threading
import time

ANSWER_WITHIN = 5.0  # seconds an ordinary client may wait for PONG


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def bulk(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_line(s):
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(1)
        if not chunk:
            return None
        buf += chunk
    return buf[:-2].decode(errors="replace")


class Watcher(threading.Thread):
    """An ordinary client: PING every 100 ms; counts answers and misses."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.pings, self.misses, self.worst = port, threading.Event(), 0, 0, 0.0

    def run(self):
        try:
            s = connect(self.port)
        except OSError:
            self.misses += 1
            return
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                s.sendall(b"PING\r\n")
                ok = read_line(s) == "+PONG"
            except OSError:
                ok = False
            self.worst = max(self.worst, time.monotonic() - t0)
            if ok:
                self.pings += 1
            else:
                self.misses += 1
                s.close()
                try:
                    s = connect(self.port)
                except OSError:
                    pass
            time.sleep(0.1)
        s.close()

    def result(self):
        self.stop.set()
        self.join(ANSWER_WITHIN * 2)
        return {"other_pings": self.pings, "other_misses": self.misses, "other_worst": round(self.worst, 3)}


def pipeline(port, count, token=None):
    w = Watcher(port)
    w.start()
    s = connect(port)
    s.settimeout(60)
    if token:
        s.sendall(bulk("AUTH", token))
        assert read_line(s) == "+OK"
    chunk = b"PING\r\n" * 10000

    def send():
        try:
            left = count
            while left > 0:
                n = min(left, 10000)
                s.sendall(chunk[: 6 * n])
                left -= n
        except OSError:
            pass

    threading.Thread(target=send, daemon=True).start()
    expected, got = 7 * count, 0
    slow_until = time.monotonic() + 2
    deadline = time.monotonic() + 60
    try:
        while got < expected and time.monotonic() < deadline:
            if time.monotonic() < slow_until:  # a slow reader first
                time.sleep(0.05)
                data = s.recv(4096)
            else:
                data = s.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except OSError:
        pass
    s.close()
    out = {"reply_bytes": got, "expected": expected}
    out.update(w.result())
    return out


def busy(port, path, until="."):
    payload = open(path, "rb").read()
    w = Watcher(port)
    w.start()
    time.sleep(0.2)
    s = connect(port)
    s.settimeout(120)
    t0 = time.monotonic()
    s.sendall(payload)
    try:
        line = read_line(s)
        while line is not None and not re.search(until, line):
            line = read_line(s)
    except OSError as e:
        line = "socket error: %s" % e
    elapsed = time.monotonic() - t0
    time.sleep(0.3)  # the watcher gets a turn after the reply too
    s.close()
    out = {"reply": (line or "")[:300], "seconds": round(elapsed, 3)}
    out.update(w.result())
    return out


def raw(port, path, secs=3.0):
    payload = open(path, "rb").read()
    s = connect(port)
    s.settimeout(secs)
    got, closed = b"", False
    try:
        s.sendall(payload)
    except OSError:
        pass
    deadline = time.monotonic() + secs
    try:
        while time.monotonic() < deadline:
            data = s.recv(65536)
            if not data:
                closed = True
                break
            got += data
    except socket.timeout:
        pass
    except OSError:
        closed = True
    s.close()
    return {"reply": got[:300].decode(errors="replace"), "reply_bytes": len(got), "closed": closed}


def bigget(port, size):
    s = connect(port)
    s.settimeout(ANSWER_WITHIN)
    s.sendall(bulk("SET", "big", b"x" * size))
    ok = read_line(s)
    s.sendall(bulk("GET", "big"))
    head = read_line(s)
    want, got = int(head[1:]) + 2, 0
    while got < want:
        data = s.recv(min(1 << 20, want - got))
        if not data:
            break
        got += len(data)
    s.sendall(b"PING\r\n")
    try:
        pong = read_line(s)
    except OSError:
        pong = None
    s.close()
    return {"set": ok, "get_bytes": got - 2, "pong": pong}


def expire(port, token, secs):
    s = connect(port)
    s.settimeout(ANSWER_WITHIN)
    s.sendall(bulk("AUTH", token))
    auth = read_line(s)
    s.sendall(b"PING\r\n")
    before = read_line(s)
    time.sleep(secs)
    try:
        s.sendall(b"PING\r\n")
        after = read_line(s)
    except OSError:
        after = None
    s.close()
    return {"auth": auth, "before": before, "after": after}


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    a = sys.argv[3:]
    if cmd == "pipeline":
        r = pipeline(port, int(a[0]), a[1] if len(a) > 1 else None)
    elif cmd == "busy":
        r = busy(port, a[0], a[1] if len(a) > 1 else ".")
    elif cmd == "raw":
        r = raw(port, a[0], float(a[1]) if len(a) > 1 else 3.0)
    elif cmd == "bigget":
        r = bigget(port, int(a[0]))
    elif cmd == "expire":
        r = expire(port, a[0], float(a[1]))
    else:
        sys.exit("unknown attack " + cmd)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
