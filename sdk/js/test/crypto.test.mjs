// The SDK's pure parts against the C side: BLAKE2b against b2sum, Leither
// IDs and key files against `leither lpki`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blake2b, hex, b64url, base64, base58, Key, leitherId, peerId, mimeiId, authorization, verify, sha256 } from "../leither.js";
import { leither, tmp } from "../testing/node.mjs";

function bytes(n, seed = 3) {
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = (i * 7 + seed * 13 + (i >> 8)) & 255;
  return d;
}

test("BLAKE2b matches b2sum at 160 and 512 bits, across block edges", () => {
  for (const n of [0, 1, 3, 64, 127, 128, 129, 255, 256, 257, 1000, 65536 + 5]) {
    const d = bytes(n);
    for (const bits of [160, 512]) {
      const want = execFileSync("b2sum", ["-l", String(bits)], { input: d, encoding: "utf8" }).split(" ")[0];
      assert.equal(hex(blake2b(d, bits / 8)), want, `${n} bytes, ${bits} bits`);
    }
  }
  // RFC 7693 appendix A: BLAKE2b-512("abc")
  assert.equal(hex(blake2b("abc")).slice(0, 32), "ba80a53f981c4d0d6a2797b69f12f6e9");
});

test("base64url and base64 round trips, and bad input is refused", () => {
  for (let n = 0; n < 40; n++) {
    const d = bytes(n, n);
    assert.deepEqual(b64url.decode(b64url.encode(d)), d);
    assert.deepEqual(base64.decode(base64.encode(d)), d);
    assert.equal(base64.encode(d), Buffer.from(d).toString("base64"));
    assert.equal(b64url.encode(d), Buffer.from(d).toString("base64url"));
  }
  assert.throws(() => b64url.decode("ab+c"));
  assert.throws(() => b64url.decode("a"));
});

test("a key file of `leither lpki genkey` loads: same Leither ID, peer ID and public key as `lpki show`", async () => {
  const dir = tmp();
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `k${i}.key`);
    assert.equal(leither("lpki", "genkey", "-o", file).code, 0);
    const shown = JSON.parse(leither("lpki", "show", file, "--json").out);
    const key = await Key.fromKeyFile(readFileSync(file, "utf8"));
    assert.equal(key.id, shown.ID);
    assert.equal(key.id.length, 27);
    assert.equal(peerId(key.publicKey), shown.PeerID);
    assert.equal(b64url.encode(key.publicKey), shown.PublicKey);
    assert.equal(leitherId(key.publicKey), shown.ID);
  }
});

test("a key made here is a key file `leither lpki show` accepts, with the same IDs", async () => {
  const dir = tmp();
  const key = await Key.generate();
  const file = join(dir, "mine.key");
  writeFileSync(file, key.toKeyFile());
  const r = leither("lpki", "show", file, "--json");
  assert.equal(r.code, 0, r.err);
  const shown = JSON.parse(r.out);
  assert.equal(shown.ID, key.id);
  assert.equal(shown.PeerID, peerId(key.publicKey));
  assert.match(shown.PeerID, /^12D3KooW/);
  // and the JWK and pkcs8 forms load back to the same key
  assert.equal((await Key.from(JSON.stringify(key.toJWK()))).id, key.id);
  assert.equal((await Key.from(key.toKeyFile())).id, key.id);
});

test("a key file whose id is not its key's is refused", async () => {
  const key = await Key.generate();
  const doc = JSON.parse(key.toKeyFile());
  doc.id = "AAAAAAAAAAAAAAAAAAAAAAAAAAA";
  await assert.rejects(Key.fromKeyFile(JSON.stringify(doc)), /does not match/);
});

test("base58 of a peer ID's multihash decodes as the C side encodes (leading zeros kept)", () => {
  assert.equal(base58(new Uint8Array([0, 0, 1])), "112");
  assert.equal(base58(new Uint8Array([])), "");
  assert.equal(base58(new Uint8Array([0x61])), "2g");
});

test("a MiMei ID is BLAKE2b-160 of author, type, ext and mark joined by newlines", () => {
  const text = "A\nfile\ntxt\n123";
  const want = execFileSync("b2sum", ["-l", "160"], { input: text, encoding: "utf8" }).split(" ")[0];
  assert.equal(hex(b64url.decode(mimeiId("A", "file", "txt", "123"))), want);
});

test("the Authorization header has auth.h's shape and its signature verifies", async () => {
  const key = await Key.generate();
  const h = await authorization(key, "post", "/api/v0/x?a=1", "body", 1700000000123);
  const m = h.match(/^Leither key=([\w-]{43}),ts=(\d+),nonce=([\w-]{16}),sig=([\w-]{86})$/);
  assert.ok(m, h);
  assert.equal(m[2], "1700000000");
  const msg = `LEITHER-API-V1\nPOST\n/api/v0/x?a=1\n${hex(await sha256("body"))}\n1700000000\n${m[3]}`;
  assert.ok(await verify(b64url.decode(m[1]), msg, m[4]));
  // two requests in the same second differ by their nonce
  assert.notEqual(h, await authorization(key, "post", "/api/v0/x?a=1", "body", 1700000000123));
});
