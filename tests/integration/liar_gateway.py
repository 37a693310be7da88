#!/usr/bin/env python3
"""A provider that lies, for sync_fetch_spec.lua: it relays GET requests to
a real node's gateway (UPSTREAM) and then misbehaves as MODE says.

    liar_gateway.py PORT UPSTREAM MODE

MODE: tamper    every answer is sent with one bit flipped
      tamper-raw  only blocks (?format=raw) are
      die:N     the first N blocks are relayed, then each answer is cut
                off in the middle (headers promise the whole block)
      oversize  every answer is 3 MiB of zeros
      slow      headers, then nothing for a minute
Prints "ready" once it listens."""
import http.server
import socketserver
import sys
import time
import urllib.request

PORT, UPSTREAM, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
served = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        global served
        if MODE == "oversize":
            body = b"\0" * (3 << 20)
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.ipld.raw")
            self.end_headers()  # no length: the client finds out while reading
            self.wfile.write(body)
            return
        if MODE == "slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
            return
        try:
            with urllib.request.urlopen(UPSTREAM + self.path, timeout=10) as r:
                body = r.read()
        except Exception as e:  # the upstream's status, passed on
            self.send_response(getattr(e, "code", 502))
            self.end_headers()
            return
        served += 1
        if MODE == "tamper" or (MODE == "tamper-raw" and "format=raw" in self.path):
            body = bytearray(body)
            body[len(body) // 2] ^= 0x10
            body = bytes(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.ipld.raw")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if MODE.startswith("die:") and served > int(MODE[4:]):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
