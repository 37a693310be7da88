// leither.js: the browser SDK of a Leither node. One ES module, no
// dependencies: WebCrypto gives Ed25519 and SHA-256, BLAKE2b is here.
//
//   import { Leither } from "/sdk/leither.js";
//   const l = new Leither();                  // the node that served the page
//   await l.signIn(await l.generateKey());    // kept in localStorage
//   const db = l.db();                        // the node's default database
//   await db.set("k", "v"); await db.hgetall("h");
//   const mid = await l.mimeiCreate({ type: "file", ext: "txt" });
//   await l.mimeiWrite(mid, "hello");
//   const todo = l.app(); await todo.json("POST", "/api/items", { text: "x" });
//
// Origins: the node serves every app on its own origin, http://LABEL.app.HOST/
// (LABEL: the app ID's 20 bytes in base32, hostLabel()), and content on
// CID.ipfs.HOST and LABEL.mm.HOST. The key is kept in the localStorage of the
// origin that signed in, so each app has its own and none can read
// another's. A page served sandboxed (the path forms /tpt/, /ipfs/, /mm/ on
// an IP address) has an opaque origin: no storage, so the key lives in memory
// only (l.persistent is false) and calls to the node fail; open the app's
// own origin (l.appUrl()) instead.
//
// Requests carry runtime/node/auth.c's Authorization header when a key is set:
//   Leither key=<b64url pk>,ts=<unix s>,nonce=<b64url 12 bytes>,sig=<b64url>
// over "LEITHER-API-V1\n" METHOD "\n" PATH?QUERY "\n" hex(SHA-256(body)) "\n" ts "\n" nonce.

const enc = new TextEncoder();
const dec = new TextDecoder();

// --- bytes and encodings --------------------------------------------------

/** UTF-8 bytes of a string; bytes pass through. */
export function utf8(x) {
  if (typeof x === "string") return enc.encode(x);
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError("expected a string or bytes");
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function b64encode(bytes, alphabet, pad) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (pad ? "==" : "");
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? "=" : "");
  }
  return out;
}

function b64decode(text, alphabet, padded) {
  let s = text;
  if (padded) s = s.replace(/={1,2}$/, "");
  if (s.length % 4 === 1) throw new Error("bad base64 length");
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0, acc = 0, o = 0;
  for (const ch of s) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error("bad base64 character " + JSON.stringify(ch));
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  if (acc & ((1 << bits) - 1)) throw new Error("bad base64: nonzero trailing bits");
  return out;
}

export const b64url = {
  encode: (bytes) => b64encode(utf8(bytes), B64URL, false),
  decode: (text) => b64decode(text, B64URL, false),
};
export const base64 = {
  encode: (bytes) => b64encode(utf8(bytes), B64, true),
  decode: (text) => b64decode(text, B64, true),
};

export function hex(bytes) {
  let s = "";
  for (const b of utf8(bytes)) s += b.toString(16).padStart(2, "0");
  return s;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58(bytes) {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits = []; // little-endian base 58
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i];
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j] * 256;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  return "1".repeat(zeros) + digits.reverse().map((d) => B58[d]).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

// --- BLAKE2b (RFC 7693), 64-bit words as pairs of 32-bit halves -------------

const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]); // low half first

const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

// v[2i] is the low half of word i, v[2i+1] the high half
function add64(v, a, b) {
  const lo = v[a] + v[b];
  v[a + 1] = v[a + 1] + v[b + 1] + (lo > 0xffffffff ? 1 : 0);
  v[a] = lo;
}
function add64m(v, a, m, x) {
  const lo = v[a] + m[x];
  v[a + 1] = v[a + 1] + m[x + 1] + (lo > 0xffffffff ? 1 : 0);
  v[a] = lo;
}
// d = rotr64(d ^ a, n) for n in 32, 24, 16, 63
function xorrot(v, d, a, n) {
  const lo = v[d] ^ v[a], hi = v[d + 1] ^ v[a + 1];
  if (n === 32) {
    v[d] = hi, v[d + 1] = lo;
  } else if (n === 63) {
    v[d] = (lo << 1) | (hi >>> 31), v[d + 1] = (hi << 1) | (lo >>> 31);
  } else {
    v[d] = (lo >>> n) | (hi << (32 - n)), v[d + 1] = (hi >>> n) | (lo << (32 - n));
  }
}

function G(v, m, a, b, c, d, x, y) {
  a *= 2, b *= 2, c *= 2, d *= 2, x *= 2, y *= 2;
  add64(v, a, b), add64m(v, a, m, x), xorrot(v, d, a, 32);
  add64(v, c, d), xorrot(v, b, c, 24);
  add64(v, a, b), add64m(v, a, m, y), xorrot(v, d, a, 16);
  add64(v, c, d), xorrot(v, b, c, 63);
}

function compress(h, block, count, last) {
  const v = new Uint32Array(32), m = new Uint32Array(32);
  v.set(h), v.set(IV, 16);
  v[24] ^= count % 0x100000000; // t0 (low 64 bits of the byte count)
  v[25] ^= Math.floor(count / 0x100000000);
  if (last) v[28] = ~v[28], v[29] = ~v[29];
  for (let i = 0; i < 32; i++)
    m[i] = block[4 * i] | (block[4 * i + 1] << 8) | (block[4 * i + 2] << 16) | (block[4 * i + 3] << 24);
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10];
    G(v, m, 0, 4, 8, 12, s[0], s[1]);
    G(v, m, 1, 5, 9, 13, s[2], s[3]);
    G(v, m, 2, 6, 10, 14, s[4], s[5]);
    G(v, m, 3, 7, 11, 15, s[6], s[7]);
    G(v, m, 0, 5, 10, 15, s[8], s[9]);
    G(v, m, 1, 6, 11, 12, s[10], s[11]);
    G(v, m, 2, 7, 8, 13, s[12], s[13]);
    G(v, m, 3, 4, 9, 14, s[14], s[15]);
  }
  for (let i = 0; i < 16; i++) h[i] ^= v[i] ^ v[i + 16];
}

/** BLAKE2b of data (string or bytes) with an outlen-byte digest (1..64), unkeyed. */
export function blake2b(data, outlen = 64) {
  const input = utf8(data);
  if (!(outlen >= 1 && outlen <= 64)) throw new RangeError("BLAKE2b digest length is 1..64");
  const h = new Uint32Array(IV);
  h[0] ^= 0x01010000 ^ outlen;
  const block = new Uint8Array(128);
  let off = 0;
  // every full block but the last one is compressed as it comes
  while (input.length - off > 128) {
    compress(h, input.subarray(off, off + 128), off + 128, false);
    off += 128;
  }
  block.set(input.subarray(off));
  compress(h, block, input.length, true);
  const out = new Uint8Array(outlen);
  for (let i = 0; i < outlen; i++) out[i] = h[i >> 2] >>> (8 * (i & 3));
  return out;
}

// --- IDs -----------------------------------------------------------------

const B32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lower case, no padding. */
export function base32(bytes) {
  let out = "", acc = 0, bits = 0;
  for (const b of utf8(bytes)) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) out += B32[(acc >> (bits -= 5)) & 31];
  }
  if (bits) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

function base32decode(text) {
  const out = [];
  let acc = 0, bits = 0;
  for (const ch of text.toLowerCase()) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error("bad base32 character " + JSON.stringify(ch));
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) out.push((acc >> (bits -= 8)) & 255);
  }
  return new Uint8Array(out);
}

/** The host label of an app or MiMei ID (its 20 bytes in base32): the app
 * is served at http://LABEL.app.HOST/, the MiMei at http://LABEL.mm.HOST/. */
export function hostLabel(id) {
  const bytes = b64url.decode(id);
  if (bytes.length !== 20) throw new Error(`${id} is not a Leither ID`);
  return base32(bytes);
}

/** The ID a host label names (hostLabel's inverse). */
export function idOfLabel(label) {
  const bytes = base32decode(label);
  if (label.length !== 32 || bytes.length !== 20) throw new Error(`${label} is not an ID's host label`);
  return b64url.encode(bytes);
}

/** Where a page is: {kind: "app" | "ipfs" | "mm" | "node", id, host (the
 * node's host and port), opaque (a sandboxed page: no storage)}. */
export function pageOrigin(loc = globalThis.location) {
  if (!loc) return { kind: "node", id: null, host: "", opaque: false };
  const opaque = globalThis.origin === "null";
  const m = /^([a-z2-7]{32}|b[a-z2-7]+)\.(app|ipfs|mm)\.(.+)$/i.exec(loc.host);
  if (m && (m[2].toLowerCase() === "ipfs" || m[1].length === 32)) {
    const kind = m[2].toLowerCase();
    return { kind, id: kind === "ipfs" ? m[1].toLowerCase() : idOfLabel(m[1]), host: m[3], opaque };
  }
  const p = /^\/(tpt|mm|ipfs)\/([^/?#]+)/.exec(loc.pathname);
  if (p) return { kind: p[1] === "tpt" ? "app" : p[1], id: p[2], host: loc.host, opaque, pathForm: true };
  return { kind: "node", id: null, host: loc.host, opaque };
}

/** Subdomains of host reach the node (localhost does, everywhere). */
function hasSubdomains(host) {
  const name = host.replace(/:\d+$/, "").toLowerCase();
  return name === "localhost" || name.endsWith(".localhost");
}

/** The Leither ID of a 32-byte ed25519 public key: base64url(BLAKE2b-160(pk)). */
export function leitherId(pk) {
  return b64url.encode(blake2b(pk, 20));
}

/** The libp2p peer ID (12D3KooW...) of a public key. */
export function peerId(pk) {
  return base58(concat(new Uint8Array([0x00, 36, 0x08, 0x01, 0x12, 32]), pk));
}

/** A MiMei ID: base64url(BLAKE2b-160(Author "\n" AppType "\n" Ext "\n" Mark)). */
export function mimeiId(author, apptype, ext, mark) {
  return b64url.encode(blake2b(`${author}\n${apptype}\n${ext}\n${mark}`, 20));
}

// --- JSON as jansson prints it with JSON_COMPACT | JSON_SORT_KEYS ----------

function jsonString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20) out += "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    else if (c >= 0xd800 && c <= 0xdfff) throw new Error("JSON string with a lone surrogate");
    else out += ch;
  }
  return out + '"';
}

// jansson sorts keys with strcmp: by their UTF-8 bytes
function byteCompare(a, b) {
  const x = enc.encode(a), y = enc.encode(b);
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Compact JSON with sorted keys, byte for byte what jansson's json_dumps gives
 * with JSON_COMPACT | JSON_SORT_KEYS (strings, integers, booleans, null,
 * arrays, objects). */
export function canonicalJSON(value) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return jsonString(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error("canonicalJSON: only integers (got " + value + ")");
    return String(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalJSON).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byteCompare);
    return "{" + keys.map((k) => jsonString(k) + ":" + canonicalJSON(value[k])).join(",") + "}";
  }
  throw new TypeError("canonicalJSON: cannot encode " + typeof value);
}

// --- crypto --------------------------------------------------------------

const subtle = globalThis.crypto.subtle;

export async function sha256(data) {
  return new Uint8Array(await subtle.digest("SHA-256", utf8(data)));
}

export function randomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

const PKCS8_ED25519 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/** An ed25519 key: its seed (32 bytes), public key, Leither ID, and the
 * WebCrypto private key that signs. Make one with Key.generate(),
 * Key.fromSeed(), Key.fromJWK() or Key.fromKeyFile(). */
export class Key {
  constructor(seed, pk, cryptoKey) {
    this.seed = seed;
    this.publicKey = pk;
    this.cryptoKey = cryptoKey;
    this.id = leitherId(pk);
  }

  static async fromSeed(seed) {
    if (seed.length !== 32) throw new Error("an ed25519 seed is 32 bytes");
    const cryptoKey = await subtle.importKey("pkcs8", concat(PKCS8_ED25519, seed), { name: "Ed25519" }, true, ["sign"]);
    const jwk = await subtle.exportKey("jwk", cryptoKey);
    return new Key(new Uint8Array(seed), b64url.decode(jwk.x), cryptoKey);
  }

  static async generate() {
    const pair = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const jwk = await subtle.exportKey("jwk", pair.privateKey);
    return Key.fromSeed(b64url.decode(jwk.d));
  }

  static async fromJWK(jwk) {
    if (typeof jwk === "string") jwk = JSON.parse(jwk);
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d) throw new Error("not an Ed25519 private JWK");
    const key = await Key.fromSeed(b64url.decode(jwk.d));
    if (jwk.x && jwk.x !== b64url.encode(key.publicKey)) throw new Error("JWK: x does not match d");
    return key;
  }

  /** A key file of the node (keys/*.key, `leither lpki genkey`): JSON with
   * "type": "ed25519", "id", "private_key": base64 of the libp2p PrivateKey
   * protobuf (08 01 12 40, seed, public key). */
  static async fromKeyFile(text) {
    const doc = typeof text === "string" ? JSON.parse(text) : text;
    if (!doc || doc.type !== "ed25519" || typeof doc.private_key !== "string")
      throw new Error('key file needs "type": "ed25519" and a "private_key" string');
    const p = base64.decode(doc.private_key);
    if (p.length !== 68 || p[0] !== 0x08 || p[2] !== 0x12 || p[3] !== 64) throw new Error("not a libp2p Ed25519 private key");
    if (p[1] !== 0x01) throw new Error(`key type ${p[1]} is not Ed25519`);
    const key = await Key.fromSeed(p.subarray(4, 36));
    if (hex(key.publicKey) !== hex(p.subarray(36, 68))) throw new Error("public half does not match the private key");
    if (doc.id && doc.id !== key.id) throw new Error(`"id" ${doc.id} does not match the key (${key.id})`);
    return key;
  }

  /** Loads whatever signIn stored or a user pasted: JWK, key file, or a
   * base64url pkcs8. */
  static async from(x) {
    if (x instanceof Key) return x;
    if (typeof x === "string") {
      const t = x.trim();
      if (t.startsWith("{")) x = JSON.parse(t);
      else {
        const der = b64url.decode(t);
        if (der.length !== 48 || hex(der.subarray(0, 16)) !== hex(PKCS8_ED25519)) throw new Error("not an Ed25519 pkcs8 key");
        return Key.fromSeed(der.subarray(16));
      }
    }
    if (x && x.kty) return Key.fromJWK(x);
    if (x && x.private_key) return Key.fromKeyFile(x);
    throw new Error("not a key: expected a JWK, a key file or a base64url pkcs8");
  }

  toJWK() {
    return { kty: "OKP", crv: "Ed25519", d: b64url.encode(this.seed), x: b64url.encode(this.publicKey) };
  }

  /** The key file JSON, as `leither lpki genkey` writes it. */
  toKeyFile() {
    const proto = concat(new Uint8Array([0x08, 0x01, 0x12, 64]), this.seed, this.publicKey);
    return JSON.stringify({ type: "ed25519", id: this.id, peer_id: peerId(this.publicKey), private_key: base64.encode(proto) }, null, 2);
  }

  async sign(message) {
    return new Uint8Array(await subtle.sign({ name: "Ed25519" }, this.cryptoKey, utf8(message)));
  }
}

/** True when sig (bytes or base64url) is pk's ed25519 signature of message. */
export async function verify(pk, message, sig) {
  const k = await subtle.importKey("raw", utf8(pk), { name: "Ed25519" }, false, ["verify"]);
  return subtle.verify({ name: "Ed25519" }, k, typeof sig === "string" ? b64url.decode(sig) : sig, utf8(message));
}

/** The Authorization header value of runtime/node/auth.c for one request. */
export async function authorization(key, method, path, body = new Uint8Array(0), now = Date.now()) {
  const ts = Math.floor(now / 1000);
  const nonce = b64url.encode(randomBytes(12));
  const msg = `LEITHER-API-V1\n${method.toUpperCase()}\n${path}\n${hex(await sha256(body))}\n${ts}\n${nonce}`;
  const sig = b64url.encode(await key.sign(msg));
  return `Leither key=${b64url.encode(key.publicKey)},ts=${ts},nonce=${nonce},sig=${sig}`;
}

/** A new signed MiMei info record, as mimei_new in modules/mimei/mimei.c. */
export async function mimeiRecord(key, { type = "file", ext = "", app = "", right = 0, now = Date.now() } = {}) {
  const sec = Math.floor(now / 1000);
  // the browser's clock has milliseconds: random digits fill the nanoseconds
  const rnd = new Uint32Array(randomBytes(8).buffer);
  const nsec = (now % 1000) * 1e6 + (rnd[0] % 1e6);
  const mark = `${sec}${String(nsec).padStart(9, "0")}${String(rnd[1] % 100000).padStart(5, "0")}`;
  const created = new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const rec = {
    ID: mimeiId(key.id, type, ext, mark),
    Author: key.id,
    AppType: type,
    Ext: ext,
    Mark: mark,
    Create: created,
    Right: right,
    App: app,
    PublicKey: b64url.encode(key.publicKey),
  };
  rec.Sig = b64url.encode(await key.sign(canonicalJSON(rec)));
  return rec;
}

/** Checks a MiMei info record as mimei_verify does; resolves to "" or the reason. */
export async function mimeiCheck(rec) {
  const pk = b64url.decode(rec.PublicKey || "");
  if (pk.length !== 32) return "PublicKey is not an ed25519 public key";
  if (leitherId(pk) !== rec.Author) return "Author is not the ID of PublicKey";
  if (mimeiId(rec.Author, rec.AppType, rec.Ext, rec.Mark) !== rec.ID) return "ID does not follow from Author, AppType, Ext and Mark";
  const { Sig, ...rest } = rec;
  return (await verify(pk, canonicalJSON(rest), Sig)) ? "" : "bad signature";
}

// --- ledger proofs (modules/smt/smt.h, runtime/ledger/ledger.h) ---------------
//
// An organization's ledger is a sparse Merkle tree: H = BLAKE2b-256, keys are
// 20 bytes (a Leither ID decoded), a leaf is H(0x00 || key || H(value)), an
// internal node H(0x01 || left || right), an empty subtree 32 zero bytes, a
// subtree of one leaf that leaf's hash. A proof (GET /api/v0/org/proof) shows
// that a key holds a value, or that it is absent, under a state root.

export const SMT_KEY_BYTES = 20;
export const SMT_HASH_BYTES = 32;
export const SMT_DEPTH_MAX = 160;
export const LEDGER_ACCOUNT_BYTES = 17;
const SMT_PROOF_KINDS = ["inclusion", "empty", "other-leaf"];
const LEDGER_ROLES = [null, "guest", "member", "supervisor"];

const smtHash = (...parts) => blake2b(concat(...parts), SMT_HASH_BYTES);
const SMT_EMPTY = new Uint8Array(SMT_HASH_BYTES);

function smtLeafHash(key, valueHash) {
  return smtHash(Uint8Array.of(0), key, valueHash);
}

function smtNodeHash(left, right) {
  return smtHash(Uint8Array.of(1), left, right);
}

/** Bit i of a key or bitmap, most significant bit of each byte first. */
function smtBit(bytes, i) {
  return (bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// bytes, or their base64url text, of exactly n bytes
function fixedBytes(x, n, what) {
  let bytes;
  if (typeof x === "string") {
    try {
      bytes = b64url.decode(x);
    } catch (e) {
      throw new Error(`${what} is not base64url: ${e.message}`);
    }
  } else if (x instanceof Uint8Array) bytes = x;
  else throw new TypeError(`${what}: expected bytes or base64url text`);
  if (bytes.length !== n) throw new Error(`${what} is ${bytes.length} bytes, not ${n}`);
  return bytes;
}

/** A ledger's tree key: a Leither ID (base64url text) or its 20 bytes. */
export function ledgerKey(id) {
  return fixedBytes(id, SMT_KEY_BYTES, "key");
}

/**
 * Decodes a proof (bytes, or base64url text as the API gives it) strictly,
 * as smt_proof_decode does: {kind (0 inclusion, 1 empty, 2 other leaf),
 * kindName, depth, bitmap, siblings (root down), otherKey, otherValueHash
 * (kind 2)}. Throws an Error with the reason (unknown kind, depth over 160,
 * bitmap bits at or past the depth, truncated, trailing bytes).
 */
export function smtProofDecode(proof) {
  let b;
  if (typeof proof === "string") {
    try {
      b = b64url.decode(proof);
    } catch (e) {
      throw new Error(`proof is not base64url: ${e.message}`);
    }
  } else b = utf8(proof);
  if (b.length < 2) throw new Error("truncated proof");
  const kind = b[0];
  const depth = b[1];
  if (kind > 2) throw new Error(`unknown proof kind ${kind}`);
  if (depth > SMT_DEPTH_MAX) throw new Error(`proof depth ${depth} is over ${SMT_DEPTH_MAX}`);
  let o = 2;
  const bitmapBytes = (depth + 7) >> 3;
  if (b.length < o + bitmapBytes) throw new Error("truncated proof bitmap");
  const bitmap = b.slice(o, o + bitmapBytes);
  o += bitmapBytes;
  let count = 0;
  for (let i = 0; i < bitmapBytes * 8; i++) {
    if (!smtBit(bitmap, i)) continue;
    if (i >= depth) throw new Error(`proof bitmap bit ${i} is at or past the depth ${depth}`);
    count++;
  }
  const siblings = [];
  for (let i = 0; i < count; i++, o += SMT_HASH_BYTES) {
    if (b.length < o + SMT_HASH_BYTES) throw new Error("truncated proof siblings");
    siblings.push(b.slice(o, o + SMT_HASH_BYTES));
  }
  const p = { kind, kindName: SMT_PROOF_KINDS[kind], depth, bitmap, siblings, otherKey: null, otherValueHash: null };
  if (kind === 2) {
    if (b.length < o + SMT_KEY_BYTES + SMT_HASH_BYTES) throw new Error("truncated proof: the other leaf");
    p.otherKey = b.slice(o, o + SMT_KEY_BYTES);
    p.otherValueHash = b.slice(o + SMT_KEY_BYTES, o + SMT_KEY_BYTES + SMT_HASH_BYTES);
    o += SMT_KEY_BYTES + SMT_HASH_BYTES;
  }
  if (o !== b.length) throw new Error(`${b.length - o} trailing bytes after the proof`);
  return p;
}

/**
 * Checks, as smt_proof_verify does, that proof (bytes, base64url text, or
 * smtProofDecode's object) shows under root (32 bytes or base64url) that key
 * (a Leither ID or 20 bytes) holds value (bytes: an inclusion proof), or,
 * value null, that key is absent (kind 1 or 2). Returns "" when it holds,
 * else the reason.
 */
export function smtProofCheck(proof, root, key, value) {
  let p, r, k;
  try {
    p = typeof proof === "string" || proof instanceof Uint8Array ? smtProofDecode(proof) : proof;
    r = fixedBytes(root, SMT_HASH_BYTES, "root");
    k = ledgerKey(key);
  } catch (e) {
    return e.message;
  }
  let x;
  if (value !== null && value !== undefined) {
    if (!(value instanceof Uint8Array)) return "value: expected bytes (b64url.decode the API's Value) or null";
    if (p.kind !== 0) return `a proof of absence (${p.kindName}) shows no value`;
    x = smtLeafHash(k, smtHash(value));
  } else if (p.kind === 0) {
    return "an inclusion proof shows a value, not absence";
  } else if (p.kind === 1) {
    x = SMT_EMPTY;
  } else {
    if (sameBytes(p.otherKey, k)) return "the other leaf's key is the key itself";
    for (let i = 0; i < p.depth; i++)
      if (smtBit(p.otherKey, i) !== smtBit(k, i)) return `the other leaf's key leaves the path at bit ${i}`;
    x = smtLeafHash(p.otherKey, p.otherValueHash);
  }
  // the siblings are listed root down; the fold goes up
  let next = p.siblings.length;
  for (let i = p.depth - 1; i >= 0; i--) {
    const sibling = smtBit(p.bitmap, i) ? p.siblings[--next] : SMT_EMPTY;
    x = smtBit(k, i) ? smtNodeHash(sibling, x) : smtNodeHash(x, sibling);
  }
  return sameBytes(x, r) ? "" : "the proof does not lead to the root";
}

/**
 * The root of a set of leaves [{key, value}] (keys as in smtProofCheck,
 * distinct; values bytes), computed naively from the rules: for small trees
 * and tests.
 */
export function smtRootOf(leaves) {
  const items = leaves.map(({ key, value }) => ({ key: ledgerKey(key), valueHash: smtHash(utf8(value)) }));
  const seen = new Set(items.map((l) => hex(l.key)));
  if (seen.size !== items.length) throw new Error("a key is given twice");
  const rootAt = (set, depth) => {
    if (set.length === 0) return SMT_EMPTY;
    if (set.length === 1) return smtLeafHash(set[0].key, set[0].valueHash);
    const left = set.filter((l) => !smtBit(l.key, depth));
    const right = set.filter((l) => smtBit(l.key, depth));
    return smtNodeHash(rootAt(left, depth + 1), rootAt(right, depth + 1));
  };
  return rootAt(items, 0);
}

/** A ledger transaction's or pulse header's hash, as ledger_hash: BLAKE2b-256
 * of its canonical JSON with "Sig" (a header's "Prev" is the previous one's). */
export function ledgerHash(doc) {
  return smtHash(enc.encode(canonicalJSON(doc)));
}

/**
 * Checks a pulse header (org/root's "Header", org/pulses' entries) as the
 * node signs it: of org (its Leither ID), signed by the org key itself
 * ("Signer" the org, "PublicKey" whose Leither ID is the org), the ed25519
 * signature over the canonical JSON without "Sig". Resolves to "" or the
 * reason. Its "Root" is then a state root to check proofs against.
 */
export async function ledgerHeaderCheck(header, org) {
  if (!header || typeof header !== "object") return "not a header";
  if (header.Org !== org) return `the header is of org ${header.Org}, not ${org}`;
  if (header.Signer !== org) return "the header is not signed by the org key";
  let pk;
  try {
    pk = b64url.decode(header.PublicKey || "");
  } catch (e) {
    return "PublicKey is not base64url";
  }
  if (pk.length !== 32 || leitherId(pk) !== org) return "PublicKey is not the org's key";
  if (!Number.isSafeInteger(header.Pulse) || header.Pulse < 1) return "Pulse is not a pulse number";
  try {
    fixedBytes(header.Root, SMT_HASH_BYTES, "Root");
    const { Sig, ...signed } = header;
    if (typeof Sig !== "string") return "the header has no Sig";
    return (await verify(pk, canonicalJSON(signed), Sig)) ? "" : "bad signature";
  } catch (e) {
    return e.message;
  }
}

/**
 * An account's 17 bytes (bytes or base64url, as org/proof's "Value"):
 * {role (1 guest, 2 member, 3 supervisor), roleName, balance, nonce} with the
 * u64 amounts as BigInt. Throws when the bytes are not an account.
 */
export function ledgerAccountDecode(bytes) {
  const b = fixedBytes(bytes, LEDGER_ACCOUNT_BYTES, "account");
  if (b[0] < 1 || b[0] > 3) throw new Error(`account role ${b[0]} is not 1..3`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { role: b[0], roleName: LEDGER_ROLES[b[0]], balance: view.getBigUint64(1), nonce: view.getBigUint64(9) };
}

// --- the client -------------------------------------------------------------

/** An error reply of the node: message, status, and the parsed body. */
export class LeitherError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = "LeitherError";
    this.status = status;
    this.body = body;
  }
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

// The page's own localStorage (its origin's: an app's key is the app's
// alone), or null where there is none: a sandboxed page (opaque origin)
// throws on access.
function originStorage() {
  try {
    if (globalThis.localStorage) return globalThis.localStorage;
  } catch {
    // a sandboxed page
  }
  return null;
}

const OPAQUE_HINT =
  "this page has an opaque origin (the node served it sandboxed, as it does for /tpt/, /ipfs/ and /mm/ on an IP address)";

function bodyBytes(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string" || body instanceof Uint8Array || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return utf8(body);
  return enc.encode(JSON.stringify(body));
}

async function replyOf(res) {
  const text = await res.text();
  let doc = text;
  if ((res.headers.get("content-type") || "").includes("json")) {
    try {
      doc = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  if (!res.ok) {
    const msg = (doc && (doc.Message || doc.error)) || text || res.statusText;
    throw new LeitherError(`${res.status}: ${msg}`, res.status, doc);
  }
  return doc;
}

async function requestReply(client, path, method, body) {
  return replyOf(await client.fetch(path, { method, body }));
}

function queryString(query) {
  if (!query) return "";
  const parts = [];
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(String(v)));
  return parts.length ? "?" + parts.join("&") : "";
}

export class Leither {
  /** opts.base: the node's URL (default: the page's origin); opts.storage:
   * where the key is kept (default localStorage, else memory);
   * opts.storageKey: the item's name; opts.key: a Key to use at once. */
  constructor({ base, storage, storageKey = "leither.key", key } = {}) {
    const here = globalThis.location;
    // an opaque origin's location.origin is "null": the URL's own origin is where the node is
    const own = here && (here.origin !== "null" ? here.origin : `${here.protocol}//${here.host}`);
    this.base = (base || own || "").replace(/\/+$/, "");
    const kept = storage || originStorage();
    /** false when the key cannot outlive the page (no storage here) */
    this.persistent = !!kept;
    this.storage = kept || memoryStorage();
    this.storageKey = storageKey;
    this.key = key || null;
    this._loading = null;
  }

  // --- keys

  generateKey() {
    return Key.generate();
  }

  /** Uses key (a Key, JWK, key file JSON or base64url pkcs8) from now on
   * and keeps it (as a JWK) in storage. Resolves to its Leither ID. */
  async signIn(key) {
    this.key = await Key.from(key);
    this.storage.setItem(this.storageKey, JSON.stringify(this.key.toJWK()));
    if (!this.persistent && globalThis.console)
      console.warn(`leither: ${OPAQUE_HINT}: the key is kept in memory only and is gone when the page closes; open ${this._ownOriginHint()}`);
    return this.key.id;
  }

  signOut() {
    this.key = null;
    this.storage.removeItem(this.storageKey);
  }

  /** The key in use, loaded from storage on first call (null when none). */
  async currentKey() {
    if (this.key) return this.key;
    const saved = this.storage.getItem(this.storageKey);
    if (!saved) return null;
    if (!this._loading) this._loading = Key.from(saved).catch(() => null);
    this.key = await this._loading;
    this._loading = null;
    return this.key;
  }

  /** The Leither ID of the key in use, or null. */
  async id() {
    const k = await this.currentKey();
    return k ? k.id : null;
  }

  // --- HTTP

  url(path) {
    if (/^https?:\/\//i.test(path)) return path;
    return this.base + (path.startsWith("/") ? path : "/" + path);
  }

  /** The URL to open app appid (default: this page's app) at: its own
   * origin where the host has subdomains (localhost), else the path form. */
  appUrl(appid, path = "") {
    return this._originUrl("app", appid, path);
  }

  /** The URL of MiMei mid as /mm/ serves it (rendered, or ?raw=1). */
  mimeiUrl(mid, path = "") {
    return this._originUrl("mm", mid, path);
  }

  // Where a sandboxed page's app can run on its own origin: on localhost when
  // the node was reached on a loopback address.
  _ownOriginHint() {
    const here = pageOrigin();
    const u = here.host ? new URL(`http://${here.host}`) : null;
    if (here.kind === "app" && here.id && u && /^(127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname))
      return `http://${hostLabel(here.id)}.app.localhost${u.port ? ":" + u.port : ""}/`;
    return "the app on its own origin: http://LABEL.app.localhost:PORT/, or under a name in the node's gateway_domains";
  }

  _originUrl(kind, id, path) {
    const here = pageOrigin();
    if (!id && here.kind === kind) id = here.id;
    if (!id) return null;
    const rest = String(path).replace(/^\/+/, "");
    const node = new URL(this.base || "http://localhost");
    const host = here.host || node.host;
    if (hasSubdomains(host) || (here.kind !== "node" && !here.pathForm))
      return `${node.protocol}//${hostLabel(id)}.${kind}.${host}/${rest}`;
    return this.url(`/${kind === "app" ? "tpt" : kind}/${id}/${rest}`);
  }

  /** fetch with the Authorization header when a key is set. body: string,
   * bytes, or a value sent as JSON. Resolves to the Response. */
  async fetch(path, { method, body, headers = {}, sign = true } = {}) {
    const bytes = bodyBytes(body);
    method = (method || (bytes ? "POST" : "GET")).toUpperCase();
    const u = new URL(this.url(path));
    const h = { ...headers };
    if (bytes && !Object.keys(h).some((k) => k.toLowerCase() === "content-type"))
      h["Content-Type"] = typeof body === "string" || body instanceof Uint8Array || ArrayBuffer.isView(body) || body instanceof ArrayBuffer
        ? "application/octet-stream"
        : "application/json";
    const key = sign ? await this.currentKey() : null;
    // what is signed is what goes on the wire: the URL's own path and query
    if (key) h.Authorization = await authorization(key, method, u.pathname + u.search, bytes || new Uint8Array(0));
    try {
      return await globalThis.fetch(u.href, { method, headers: h, body: bytes || undefined });
    } catch (e) {
      if (globalThis.origin === "null")
        throw new LeitherError(`${OPAQUE_HINT}: it cannot call the node; open ${this._ownOriginHint()}`, 0, null);
      throw e;
    }
  }

  /** The JSON API: api("id"), api("mimei/ls", {query: {arg: mid}}),
   * api("db/exec", {body: {...}}). Resolves to the parsed reply; an error
   * status rejects with a LeitherError. */
  async api(path, { query, body, method, headers } = {}) {
    const p = path.startsWith("/") ? path : "/api/v0/" + path;
    return replyOf(await this.fetch(p + queryString(query), { method, body, headers }));
  }

  // --- databases

  /** A database: the node's default one without mid. call("HSET", ...),
   * multi([["SET","a","1"],["INCR","n"]]), and every command as a
   * lower-case method: db.hgetall("h"). A Redis error rejects. */
  db(mid) {
    const self = this;
    const exec = async (cmds, multi) => {
      const body = { cmds: cmds.map((c) => c.map((a) => (typeof a === "string" ? a : String(a)))), multi };
      if (mid) body.mid = mid;
      const doc = await self.api("db/exec", { body });
      return doc.replies;
    };
    const errorOf = (r) => (r && typeof r === "object" && !Array.isArray(r) && typeof r.error === "string" ? r.error : null);
    const target = {
      mid: mid || null,
      async call(...args) {
        const [reply] = await exec([args], false);
        const e = errorOf(reply);
        if (e !== null) throw new LeitherError(e, 200, reply);
        return reply;
      },
      /** Runs cmds atomically; resolves to their replies, a Redis error
       * reply as an Error object in its place. */
      async multi(cmds) {
        const replies = await exec(cmds, true);
        const e = errorOf(replies);
        if (e !== null) throw new LeitherError(e, 200, replies);
        return replies.map((r) => (errorOf(r) !== null ? new LeitherError(errorOf(r), 200, r) : r));
      },
      /** HGETALL as an object. */
      async hgetallMap(k) {
        const flat = await this.call("HGETALL", k);
        const out = {};
        for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
        return out;
      },
    };
    return new Proxy(target, {
      get(t, prop) {
        if (prop in t) return t[prop];
        if (typeof prop !== "string" || prop === "then") return undefined; // not a thenable
        return (...args) => t.call(prop.toUpperCase(), ...args);
      },
    });
  }

  // --- MiMei

  /** The info record of a MiMei. */
  async mimeiInfo(mid) {
    const doc = await this.api("mimei/show", { query: { arg: mid } });
    return doc.Info || doc;
  }

  /** A file of a MiMei (path "" for a file MiMei's content) at version ver
   * (default: what /mm serves). as: "text" (default), "bytes", "json". */
  async mimeiRead(mid, path = "", ver, { as = "text" } = {}) {
    const p = String(path).replace(/^\/+/, "");
    const res = await this.fetch(`/mm/${mid}${p ? "/" + p.split("/").map(encodeURIComponent).join("/") : ""}` + queryString({ raw: 1, ver }));
    if (!res.ok) return replyOf(res);
    if (as === "bytes") return new Uint8Array(await res.arrayBuffer());
    if (as === "json") return res.json();
    return res.text();
  }

  /** A folder of a file MiMei: [{Name, Hash, Size, Type}, ...] as the node lists it. */
  async mimeiList(mid, path = "", ver) {
    // arg= is the name the node's mimei commands take; mid= the SDK contract's
    return this.api("mimei/ls", { query: { arg: mid, mid, path, ver } });
  }

  /** MiMei on this node, of type "db", "file" or "app" (all without type). */
  async mimeiAll(type) {
    const doc = await this.api("mimei/list", { query: { type } });
    return doc.MiMei || [];
  }

  /** Creates a MiMei authored by the signed-in key: the info record is built
   * and signed here and posted to the node. Private unless right: 1
   * (public). Resolves to its ID. */
  async mimeiCreate({ type = "file", ext = "", app = "", right = 0 } = {}) {
    const key = await this.currentKey();
    if (!key) throw new Error("mimeiCreate needs a key: signIn first");
    const rec = await mimeiRecord(key, { type, ext, app, right });
    const doc = await this.api("mimei/create", { body: canonicalJSON(rec), method: "POST", headers: { "Content-Type": "application/json" } });
    return (doc && (doc.Mid || doc.ID)) || rec.ID;
  }

  /** Makes data (string or bytes) the content (cur) of file MiMei mid.
   * Resolves to the node's reply: {Mid, Cid, ...}. */
  async mimeiWrite(mid, data) {
    // arg= is the name the node's mimei commands take; mid= the SDK contract's
    return this.api("mimei/write", { query: { arg: mid, mid }, body: utf8(data), method: "POST" });
  }

  // --- apps

  /** An app's routes (default: this page's app): at the root of the app's
   * own origin, else under /tpt/APPID/. fetch(path, init) gives the
   * Response, json(method, path, body) the parsed reply (rejecting on an
   * error status); requests are signed when a key is set, so the app's Lua
   * sees req.user. Another app's origin is another origin: the browser
   * lets a page read its replies only if that app allows it (CORS). */
  app(appid) {
    const self = this;
    const here = pageOrigin();
    appid = appid || (here.kind === "app" ? here.id : null);
    if (!appid) throw new Error("app() needs an app ID outside an app's pages");
    const own = here.kind === "app" && here.id === appid && !here.pathForm;
    const full = (p) => {
      const rest = String(p).replace(/^\/+/, "");
      return own ? `/${rest}` : here.pathForm || !here.host ? `/tpt/${appid}/${rest}` : self.appUrl(appid, rest);
    };
    return {
      id: appid,
      url: (p = "") => self.url(full(p)),
      fetch: (p, init) => self.fetch(full(p), init),
      json: async (method, p, body) => replyOf(await self.fetch(full(p), { method, body })),
      get: (p) => requestReply(self, full(p), "GET"),
      post: (p, body) => requestReply(self, full(p), "POST", body === undefined ? {} : body),
      put: (p, body) => requestReply(self, full(p), "PUT", body === undefined ? {} : body),
      delete: (p) => requestReply(self, full(p), "DELETE"),
    };
  }
}

export default Leither;
