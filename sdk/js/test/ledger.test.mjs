// The ledger's proof verifier (smtProofDecode, smtProofCheck), the naive
// root and the account decoder: fixed vectors computed here from the rules
// of modules/smt/smt.h, tampered proofs, and every proof the C code makes
// in tests/unit/smt_vectors.c (SMT_VECTORS: the tool's path).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  blake2b, b64url, smtProofDecode, smtProofCheck, smtRootOf, ledgerAccountDecode, ledgerKey, leitherId,
  ledgerHeaderCheck, ledgerHash, canonicalJSON, Key,
} from "../leither.js";

// the rules, written out again here so that the tests do not lean on the code they test
const H = (...parts) => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) all.set(p, o), (o += p.length);
  return blake2b(all, 32);
};
const ZERO = new Uint8Array(32);
const leaf = (key, value) => H(Uint8Array.of(0), key, H(value));
const node = (l, r) => H(Uint8Array.of(1), l, r);
const bytes = (...xs) => Uint8Array.from(xs.flat());
const text = (s) => new TextEncoder().encode(s);

// a key whose bits are given as a string of 0s and 1s, the rest zero
function keyOfBits(bits) {
  const k = new Uint8Array(20);
  for (let i = 0; i < bits.length; i++) if (bits[i] === "1") k[i >> 3] |= 0x80 >> (i & 7);
  return k;
}
const bitOf = (k, i) => (k[i >> 3] >> (7 - (i & 7))) & 1;
// a bitmap of depth d with the given bits set
function bitmap(depth, set) {
  const b = new Uint8Array((depth + 7) >> 3);
  for (const i of set) b[i >> 3] |= 0x80 >> (i & 7);
  return b;
}
const proof = (kind, depth, set, siblings, other = []) =>
  bytes(kind, depth, [...bitmap(depth, set)], ...siblings.map((s) => [...s]), ...other.map((s) => [...s]));

test("the empty tree: zero root, an empty-kind proof at depth 0", () => {
  assert.deepEqual(smtRootOf([]), ZERO);
  const p = bytes(1, 0);
  const key = keyOfBits("1011");
  assert.equal(smtProofCheck(p, ZERO, key, null), "");
  assert.equal(smtProofCheck(b64url.encode(p), b64url.encode(ZERO), b64url.encode(key), null), "");
  assert.equal(smtProofCheck(p, ZERO, key, text("x")), "a proof of absence (empty) shows no value");
  assert.equal(smtProofCheck(p, leaf(key, text("x")), key, null), "the proof does not lead to the root");
  const d = smtProofDecode(p);
  assert.equal(d.kind, 1);
  assert.equal(d.kindName, "empty");
  assert.equal(d.depth, 0);
  assert.equal(d.siblings.length, 0);
});

test("one leaf: the root is the leaf's hash; inclusion at depth 0, other-leaf absence at depth 0", () => {
  const a = keyOfBits("0110");
  const b = keyOfBits("1");
  const v = text("value of a");
  const root = leaf(a, v);
  assert.deepEqual(smtRootOf([{ key: a, value: v }]), root);
  assert.equal(smtProofCheck(bytes(0, 0), root, a, v), "");
  assert.equal(smtProofCheck(bytes(0, 0), root, a, text("value of b")), "the proof does not lead to the root");
  assert.equal(smtProofCheck(bytes(0, 0), root, b, v), "the proof does not lead to the root");
  const absent = proof(2, 0, [], [], [a, H(v)]);
  assert.equal(smtProofCheck(absent, root, b, null), "");
  assert.equal(smtProofCheck(absent, root, a, null), "the other leaf's key is the key itself");
  // an empty value is a value too
  const e = new Uint8Array(0);
  assert.equal(smtProofCheck(bytes(0, 0), leaf(a, e), a, e), "");
  assert.equal(smtProofCheck(bytes(0, 0), leaf(a, e), a, null), "an inclusion proof shows a value, not absence");
});

test("two leaves splitting at bit 0", () => {
  const a = keyOfBits("0111");
  const b = keyOfBits("1000");
  const va = text("A"), vb = text("B");
  const root = node(leaf(a, va), leaf(b, vb));
  assert.deepEqual(smtRootOf([{ key: b, value: vb }, { key: a, value: va }]), root);
  assert.equal(smtProofCheck(proof(0, 1, [0], [leaf(b, vb)]), root, a, va), "");
  assert.equal(smtProofCheck(proof(0, 1, [0], [leaf(a, va)]), root, b, vb), "");
  // a's proof does not serve b, nor a deeper claim
  assert.equal(smtProofCheck(proof(0, 1, [0], [leaf(b, vb)]), root, b, vb), "the proof does not lead to the root");
  assert.equal(smtProofCheck(proof(0, 2, [0], [leaf(b, vb)]), root, a, va), "the proof does not lead to the root");
  // c shares bit 0 with a: its path ends in a's leaf
  const c = keyOfBits("01");
  assert.equal(smtProofCheck(proof(2, 1, [0], [leaf(b, vb)], [a, H(va)]), root, c, null), "");
  // the other leaf must lie on c's path: b does not
  assert.equal(smtProofCheck(proof(2, 1, [0], [leaf(a, va)], [b, H(vb)]), root, c, null),
    "the other leaf's key leaves the path at bit 0");
});

// a and b share 100 bits and split at bit 100; c splits from both at bit 0
function longPrefixTree() {
  let prefix = "0";
  for (let i = 1; i < 100; i++) prefix += (i * 7) % 3 === 0 ? "1" : "0";
  const a = keyOfBits(prefix + "0" + "1".repeat(20));
  const b = keyOfBits(prefix + "1");
  const c = keyOfBits("1" + "01".repeat(40));
  const va = text("a"), vb = text("b"), vc = text("c");
  // the subtree hash at each depth on a's path, from 100 up to 1
  const sub = [];
  sub[100] = node(leaf(a, va), leaf(b, vb));
  for (let d = 99; d >= 1; d--) sub[d] = bitOf(a, d) ? node(ZERO, sub[d + 1]) : node(sub[d + 1], ZERO);
  const root = node(sub[1], leaf(c, vc));
  return { a, b, c, va, vb, vc, sub, root };
}

test("a shared prefix of 100 bits: proofs 101 deep with two siblings", () => {
  const { a, b, c, va, vb, vc, sub, root } = longPrefixTree();
  assert.deepEqual(smtRootOf([{ key: a, value: va }, { key: b, value: vb }, { key: c, value: vc }]), root);
  const pa = proof(0, 101, [0, 100], [leaf(c, vc), leaf(b, vb)]);
  assert.equal(pa.length, 2 + 13 + 64);
  assert.equal(smtProofCheck(pa, root, a, va), "");
  assert.equal(smtProofCheck(proof(0, 101, [0, 100], [leaf(c, vc), leaf(a, va)]), root, b, vb), "");
  assert.equal(smtProofCheck(proof(0, 1, [0], [sub[1]]), root, c, vc), "");
  const d = smtProofDecode(b64url.encode(pa));
  assert.equal(d.depth, 101);
  assert.deepEqual(d.siblings, [leaf(c, vc), leaf(b, vb)]);
  // kind 1: a key leaving a's path at bit 50 ends in an empty subtree at depth 51
  const off = new Uint8Array(a);
  off[50 >> 3] ^= 0x80 >> (50 & 7);
  assert.equal(smtProofCheck(proof(1, 51, [0, 50], [leaf(c, vc), sub[51]]), root, off, null), "");
  assert.equal(smtProofCheck(proof(1, 51, [0, 50], [leaf(c, vc), sub[51]]), root, a, null), "the proof does not lead to the root");
  // kind 2: a key that follows a's path past bit 100 ends in a's leaf
  const near = new Uint8Array(a);
  near[19] ^= 1;
  const pn = proof(2, 101, [0, 100], [leaf(c, vc), leaf(b, vb)], [a, H(va)]);
  assert.equal(smtProofCheck(pn, root, near, null), "");
  // absence proofs never prove a value, and a's own inclusion proof never absence
  assert.equal(smtProofCheck(pn, root, near, va), "a proof of absence (other-leaf) shows no value");
  assert.equal(smtProofCheck(pa, root, a, null), "an inclusion proof shows a value, not absence");
});

test("tampered proofs are refused with a reason", () => {
  const { a, b, c, va, vb, vc, root } = longPrefixTree();
  const good = proof(0, 101, [0, 100], [leaf(c, vc), leaf(b, vb)]);
  assert.equal(smtProofCheck(good, root, a, va), "");
  // every single flipped bit of a sibling
  for (let i = 2 + 13; i < good.length; i += 5) {
    const t = new Uint8Array(good);
    t[i] ^= 1 << (i % 8);
    assert.equal(smtProofCheck(t, root, a, va), "the proof does not lead to the root", `byte ${i}`);
  }
  // wrong value, wrong root, wrong key
  assert.equal(smtProofCheck(good, root, a, text("A")), "the proof does not lead to the root");
  const otherRoot = new Uint8Array(root);
  otherRoot[31] ^= 0x80;
  assert.equal(smtProofCheck(good, otherRoot, a, va), "the proof does not lead to the root");
  assert.equal(smtProofCheck(good, root, b, va), "the proof does not lead to the root");
  // trailing bytes, truncation
  assert.equal(smtProofCheck(bytes([...good], 0), root, a, va), "1 trailing bytes after the proof");
  assert.equal(smtProofCheck(good.subarray(0, good.length - 1), root, a, va), "truncated proof siblings");
  assert.equal(smtProofCheck(good.subarray(0, 10), root, a, va), "truncated proof bitmap");
  assert.equal(smtProofCheck(good.subarray(0, 1), root, a, va), "truncated proof");
  assert.equal(smtProofCheck(new Uint8Array(0), root, a, va), "truncated proof");
  // a bitmap bit past the depth: depth 101 has bits 101..103 in its last byte
  const past = new Uint8Array(good);
  past[2 + 12] |= 0x04; // bit 101
  assert.equal(smtProofCheck(past, root, a, va), "proof bitmap bit 101 is at or past the depth 101");
  assert.throws(() => smtProofDecode(bytes(1, 1, 0x40)), /bit 1 is at or past the depth 1/);
  // a cleared bitmap bit leaves a sibling over: trailing bytes
  const cleared = new Uint8Array(good);
  cleared[2 + 12] &= ~0x08; // bit 100
  assert.equal(smtProofCheck(cleared, root, a, va), "32 trailing bytes after the proof");
  // unknown kind, depth over 160
  assert.equal(smtProofCheck(bytes(3, 0), root, a, null), "unknown proof kind 3");
  assert.equal(smtProofCheck(bytes(1, 161, new Array(21).fill(0)), root, a, null), "proof depth 161 is over 160");
  // depth 160 is the deepest there is
  assert.equal(smtProofDecode(bytes(1, 160, new Array(20).fill(0))).depth, 160);
  // kind 2: the other key equal to the key, or off the key's prefix
  const near = new Uint8Array(a);
  near[19] ^= 1;
  assert.equal(smtProofCheck(proof(2, 101, [0, 100], [leaf(c, vc), leaf(b, vb)], [a, H(va)]), root, near, null), "");
  assert.equal(smtProofCheck(proof(2, 101, [0, 100], [leaf(c, vc), leaf(b, vb)], [a, H(va)]), root, a, null),
    "the other leaf's key is the key itself");
  assert.equal(smtProofCheck(proof(2, 101, [0, 100], [leaf(c, vc), leaf(a, va)], [b, H(vb)]), root, near, null),
    "the other leaf's key leaves the path at bit 100");
  assert.equal(smtProofCheck(proof(2, 101, [0, 100], [leaf(c, vc), leaf(b, vb)], [a]), root, near, null),
    "truncated proof: the other leaf");
  // inputs that are not what they claim
  assert.equal(smtProofCheck("not base64!", root, a, va).startsWith("proof is not base64url"), true);
  assert.equal(smtProofCheck(good, root.subarray(1), a, va), "root is 31 bytes, not 32");
  assert.equal(smtProofCheck(good, root, a.subarray(1), va), "key is 19 bytes, not 20");
  assert.equal(smtProofCheck(good, root, a, "a"), "value: expected bytes (b64url.decode the API's Value) or null");
});

test("random bytes are refused with a reason, never thrown", () => {
  let x = 12345;
  const rand = (n) => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const key = keyOfBits("0101"), root = H(text("r"));
  for (let i = 0; i < 3000; i++) {
    const depth = rand(4) ? rand(161) : rand(256);
    const bitmapBytes = (depth + 7) >> 3;
    const n = 2 + bitmapBytes + 32 * rand(6) + (rand(2) ? 52 : 0) + rand(3) - 1;
    const b = new Uint8Array(Math.max(0, n));
    for (let j = 0; j < b.length; j++) b[j] = rand(256);
    if (b.length > 0) b[0] = rand(4);
    if (b.length > 1) b[1] = depth;
    for (const value of [null, text("v")]) {
      const why = smtProofCheck(b, root, key, value);
      assert.equal(typeof why, "string");
      assert.notEqual(why, "");
    }
  }
});

test("keys are Leither IDs; accounts are 17 bytes with u64 amounts", () => {
  const id = leitherId(new Uint8Array(32).fill(7));
  assert.deepEqual(ledgerKey(id), b64url.decode(id));
  assert.throws(() => ledgerKey("abc"), /key is 2 bytes, not 20/);
  const acct = bytes(2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 2);
  assert.deepEqual(ledgerAccountDecode(acct), { role: 2, roleName: "member", balance: 18446744073709551615n, nonce: 258n });
  assert.deepEqual(ledgerAccountDecode(b64url.encode(bytes(3, new Array(16).fill(0)))),
    { role: 3, roleName: "supervisor", balance: 0n, nonce: 0n });
  assert.throws(() => ledgerAccountDecode(bytes(0, new Array(16).fill(0))), /role 0 is not 1..3/);
  assert.throws(() => ledgerAccountDecode(bytes(4, new Array(16).fill(0))), /role 4 is not 1..3/);
  assert.throws(() => ledgerAccountDecode(bytes(1, new Array(15).fill(0))), /16 bytes, not 17/);
  assert.throws(() => ledgerAccountDecode(bytes(1, new Array(17).fill(0))), /18 bytes, not 17/);
});

test("a pulse header holds when the org key signed it; its hash is BLAKE2b-256 of its JSON", async () => {
  const orgKey = await Key.generate();
  const org = orgKey.id;
  const header = {
    Org: org, Pulse: 7, Time: 1796323326057, Root: b64url.encode(H(text("state"))), TxRoot: b64url.encode(H(text(""))),
    Prev: b64url.encode(ZERO), Txs: 2, Signer: org, PublicKey: b64url.encode(orgKey.publicKey),
  };
  header.Sig = b64url.encode(await orgKey.sign(canonicalJSON(header)));
  assert.equal(await ledgerHeaderCheck(header, org), "");
  assert.deepEqual(ledgerHash(header), H(text(canonicalJSON(header))));
  assert.equal(await ledgerHeaderCheck({ ...header, Root: b64url.encode(ZERO) }, org), "bad signature");
  assert.equal(await ledgerHeaderCheck({ ...header, Pulse: 8 }, org), "bad signature");
  assert.equal(await ledgerHeaderCheck({ ...header, Sig: undefined }, org), "the header has no Sig");
  assert.equal(await ledgerHeaderCheck({ ...header, Root: "shor" }, org), "Root is 3 bytes, not 32");
  // another key, even one that signs properly, is not the org's
  const other = await Key.generate();
  assert.equal(await ledgerHeaderCheck(header, other.id), `the header is of org ${org}, not ${other.id}`);
  const forged = { ...header, PublicKey: b64url.encode(other.publicKey) };
  delete forged.Sig;
  forged.Sig = b64url.encode(await other.sign(canonicalJSON(forged)));
  assert.equal(await ledgerHeaderCheck(forged, org), "PublicKey is not the org's key");
  const signer = { ...header, Signer: other.id };
  assert.equal(await ledgerHeaderCheck(signer, org), "the header is not signed by the org key");
});

// the C side's proofs: every one holds, and none holds for a changed input
test("every proof of tests/unit/smt_vectors.c holds, and the roots are the naive ones", () => {
  const tool = process.env.SMT_VECTORS;
  assert.ok(tool, "SMT_VECTORS (the smt_vectors tool's path) is not set");
  const kinds = [0, 0, 0];
  for (const seed of ["1", "2", "314159"]) {
    const { cases } = JSON.parse(execFileSync(tool, [seed], { encoding: "utf8", maxBuffer: 1 << 28 }));
    assert.ok(cases.length > 0, `seed ${seed}: no cases`);
    for (const [n, c] of cases.entries()) {
      const leaves = c.leaves.map((l) => ({ key: l.key, value: b64url.decode(l.value) }));
      assert.equal(b64url.encode(smtRootOf(leaves)), c.root, `seed ${seed} case ${n}: root`);
      const flipped = b64url.decode(c.root);
      flipped[0] ^= 1;
      for (const p of c.proofs) {
        const value = p.value === null ? null : b64url.decode(p.value);
        const where = `seed ${seed} case ${n} key ${p.key}`;
        assert.equal(smtProofCheck(p.proof, c.root, p.key, value), "", where);
        assert.equal(smtProofDecode(p.proof).kind, p.kind, where);
        kinds[p.kind]++;
        assert.notEqual(smtProofCheck(p.proof, flipped, p.key, value), "", where);
        // no changed byte holds: the kind, the depth, the bitmap, a sibling, the other leaf, the end
        const bytes = b64url.decode(p.proof);
        const step = Math.max(1, Math.floor(bytes.length / 12));
        for (let i = 0; i < bytes.length; i += i < 4 ? 1 : step) {
          for (const change of [0x01, 0x80, 0xff]) {
            const t = new Uint8Array(bytes);
            t[i] ^= change;
            assert.notEqual(smtProofCheck(t, c.root, p.key, value), "", `${where}: byte ${i} ^ ${change}`);
          }
        }
        const last = new Uint8Array(bytes);
        last[last.length - 1] ^= 0x40;
        assert.notEqual(smtProofCheck(last, c.root, p.key, value), "", `${where}: the last byte`);
        if (value) {
          assert.notEqual(smtProofCheck(p.proof, c.root, p.key, new Uint8Array([...value, 0])), "", where);
          assert.notEqual(smtProofCheck(p.proof, c.root, p.key, null), "", where);
        } else {
          assert.notEqual(smtProofCheck(p.proof, c.root, p.key, new Uint8Array(0)), "", where);
        }
      }
    }
  }
  // the vectors exercise every kind
  assert.ok(kinds.every((k) => k > 0), `proof kinds seen: ${kinds}`);
});
