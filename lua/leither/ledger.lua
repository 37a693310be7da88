-- leither.ledger: checks an organization's ledger proofs (modules/smt/smt.h)
-- and reads its accounts (runtime/ledger/ledger.h), in pure Lua 5.4.
--
--   local ledger = require("leither.ledger")
--   local ok, why = ledger.check_proof(p.Proof, trusted_root, p.ID, value_or_nil)
--   local account = ledger.decode_account(value)  -- {role, role_name, balance, nonce}
--
-- The tree: H = BLAKE2b-256; keys are 20 bytes (a Leither ID decoded from
-- base64url); a leaf is H(0x00 || key || H(value)), an internal node
-- H(0x01 || left || right), an empty subtree 32 zero bytes, a subtree of one
-- leaf that leaf's hash. Errors are nil plus a one-line reason.
--
-- Amounts are u64 and a Lua integer is signed, so balances and nonces come
-- back as decimal strings, exactly as the node's JSON API writes them.
--
-- BLAKE2b: the node's leither.crypto.blake2b when there is one (apps in the
-- sandbox), else the RFC 7693 code below (64-bit integers wrap as BLAKE2b's
-- words do).

local ledger = {}

local KEY_BYTES, HASH_BYTES, DEPTH_MAX, ACCOUNT_BYTES = 20, 32, 160, 17
ledger.KEY_BYTES, ledger.HASH_BYTES, ledger.DEPTH_MAX, ledger.ACCOUNT_BYTES = KEY_BYTES, HASH_BYTES, DEPTH_MAX, ACCOUNT_BYTES

local KIND_NAMES = { [0] = "inclusion", "empty", "other-leaf" }
local ROLE_NAMES = { "guest", "member", "supervisor" }

-- --- BLAKE2b (RFC 7693) ------------------------------------------------------

local IV = {
  0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
  0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}
local SIGMA = {
  { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
  { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
  { 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
  { 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
  { 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
  { 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
  { 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
  { 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
  { 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
  { 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
}
local BLOCK_WORDS = string.rep("i8", 16)

local function g(v, a, b, c, d, x, y)
  local va, vb, vc, vd = v[a], v[b], v[c], v[d]
  va = va + vb + x
  vd = vd ~ va
  vd = (vd >> 32) | (vd << 32)
  vc = vc + vd
  vb = vb ~ vc
  vb = (vb >> 24) | (vb << 40)
  va = va + vb + y
  vd = vd ~ va
  vd = (vd >> 16) | (vd << 48)
  vc = vc + vd
  vb = vb ~ vc
  vb = (vb >> 63) | (vb << 1)
  v[a], v[b], v[c], v[d] = va, vb, vc, vd
end

local function compress(h, block, count, last)
  local m = { string.unpack("<" .. BLOCK_WORDS, block) }
  local v = {}
  for i = 1, 8 do v[i - 1], v[i + 7] = h[i], IV[i] end
  v[12] = v[12] ~ count -- the high 64 bits of the counter stay 0: inputs are far below 2^64 bytes
  if last then v[14] = ~v[14] end
  for round = 0, 11 do
    local s = SIGMA[round % 10 + 1]
    g(v, 0, 4, 8, 12, m[s[1] + 1], m[s[2] + 1])
    g(v, 1, 5, 9, 13, m[s[3] + 1], m[s[4] + 1])
    g(v, 2, 6, 10, 14, m[s[5] + 1], m[s[6] + 1])
    g(v, 3, 7, 11, 15, m[s[7] + 1], m[s[8] + 1])
    g(v, 0, 5, 10, 15, m[s[9] + 1], m[s[10] + 1])
    g(v, 1, 6, 11, 12, m[s[11] + 1], m[s[12] + 1])
    g(v, 2, 7, 8, 13, m[s[13] + 1], m[s[14] + 1])
    g(v, 3, 4, 9, 14, m[s[15] + 1], m[s[16] + 1])
  end
  for i = 1, 8 do h[i] = h[i] ~ v[i - 1] ~ v[i + 7] end
end

-- BLAKE2b of data (a string) with an n-byte digest (1..64, default 32), unkeyed.
local function blake2b_lua(data, n)
  n = n or 32
  assert(math.type(n) == "integer" and n >= 1 and n <= 64, "BLAKE2b digest length is 1..64")
  local h = { table.unpack(IV) }
  h[1] = h[1] ~ 0x01010000 ~ n
  local len, off = #data, 0
  -- every full block but the last is compressed as it comes
  while len - off > 128 do
    compress(h, data:sub(off + 1, off + 128), off + 128, false)
    off = off + 128
  end
  local rest = data:sub(off + 1)
  compress(h, rest .. string.rep("\0", 128 - #rest), len, true)
  return string.pack("<i8i8i8i8i8i8i8i8", table.unpack(h)):sub(1, n)
end
ledger._blake2b_lua = blake2b_lua

local host = type(leither) == "table" and type(leither.crypto) == "table" and leither.crypto.blake2b
ledger.blake2b = host or blake2b_lua

local function H(s) return ledger.blake2b(s, HASH_BYTES) end
local ZERO = string.rep("\0", HASH_BYTES)
local function leaf_hash(key, value_hash) return H("\0" .. key .. value_hash) end
local function node_hash(left, right) return H("\1" .. left .. right) end

-- --- base64url (no padding, strict) -------------------------------------------

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local VALUE_OF = {}
for i = 1, 64 do VALUE_OF[ALPHABET:byte(i)] = i - 1 end

function ledger.b64url_encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local chars = c and 4 or b and 3 or 2
    for j = 1, chars do
      local six = (n >> (18 - 6 * (j - 1))) & 63
      out[#out + 1] = ALPHABET:sub(six + 1, six + 1)
    end
  end
  return table.concat(out)
end

-- The bytes of base64url text, or nil and the reason (bad character, bad
-- length, bits left over).
function ledger.b64url_decode(text)
  if type(text) ~= "string" then return nil, "base64url: not a string" end
  if #text % 4 == 1 then return nil, "base64url: bad length" end
  local out, acc, bits = {}, 0, 0
  for i = 1, #text do
    local v = VALUE_OF[text:byte(i)]
    if not v then return nil, ("base64url: bad character at %d"):format(i) end
    acc = ((acc << 6) | v) & 0xffffff
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      out[#out + 1] = string.char((acc >> bits) & 255)
    end
  end
  if acc & ((1 << bits) - 1) ~= 0 then return nil, "base64url: nonzero trailing bits" end
  return table.concat(out)
end

-- bytes of exactly n, given as themselves or as base64url text
local function fixed_bytes(x, n, what)
  if type(x) ~= "string" then return nil, what .. ": expected bytes or base64url text" end
  if #x == n then return x end
  local bytes, why = ledger.b64url_decode(x)
  if not bytes then return nil, what .. " is neither " .. n .. " bytes nor their base64url (" .. why .. ")" end
  if #bytes ~= n then return nil, ("%s is %d bytes, not %d"):format(what, #bytes, n) end
  return bytes
end

-- A tree key: a Leither ID (base64url) or its 20 bytes; nil and the reason.
function ledger.key(id) return fixed_bytes(id, KEY_BYTES, "key") end

-- bit i (from 0) of a string of bytes, the most significant bit of each byte first
local function bit(s, i) return (s:byte((i >> 3) + 1) >> (7 - (i & 7))) & 1 end

-- --- proofs ---------------------------------------------------------------------

-- Decodes a proof (bytes, or its base64url text as the API gives it) as
-- strictly as smt_proof_decode: {kind (0 inclusion, 1 empty, 2 other leaf),
-- kind_name, depth, bitmap, siblings (root down), other_key and
-- other_value_hash (kind 2)}, or nil and the reason.
function ledger.decode_proof(proof)
  if type(proof) ~= "string" then return nil, "proof: expected bytes or base64url text" end
  local b = proof
  -- a proof's first byte is its kind, 0..2: never a base64url character
  if #proof > 0 and VALUE_OF[proof:byte(1)] then
    local why
    b, why = ledger.b64url_decode(proof)
    if not b then return nil, "proof is not base64url: " .. why end
  end
  if #b < 2 then return nil, "truncated proof" end
  local kind, depth = b:byte(1, 2)
  if kind > 2 then return nil, "unknown proof kind " .. kind end
  if depth > DEPTH_MAX then return nil, ("proof depth %d is over %d"):format(depth, DEPTH_MAX) end
  local o = 3 -- the next byte
  local bitmap_bytes = (depth + 7) >> 3
  if #b < o + bitmap_bytes - 1 then return nil, "truncated proof bitmap" end
  local bitmap = b:sub(o, o + bitmap_bytes - 1)
  o = o + bitmap_bytes
  local count = 0
  for i = 0, bitmap_bytes * 8 - 1 do
    if bit(bitmap, i) == 1 then
      if i >= depth then return nil, ("proof bitmap bit %d is at or past the depth %d"):format(i, depth) end
      count = count + 1
    end
  end
  local siblings = {}
  for i = 1, count do
    if #b < o + HASH_BYTES - 1 then return nil, "truncated proof siblings" end
    siblings[i] = b:sub(o, o + HASH_BYTES - 1)
    o = o + HASH_BYTES
  end
  local p = { kind = kind, kind_name = KIND_NAMES[kind], depth = depth, bitmap = bitmap, siblings = siblings }
  if kind == 2 then
    if #b < o + KEY_BYTES + HASH_BYTES - 1 then return nil, "truncated proof: the other leaf" end
    p.other_key = b:sub(o, o + KEY_BYTES - 1)
    p.other_value_hash = b:sub(o + KEY_BYTES, o + KEY_BYTES + HASH_BYTES - 1)
    o = o + KEY_BYTES + HASH_BYTES
  end
  if o ~= #b + 1 then return nil, ("%d trailing bytes after the proof"):format(#b + 1 - o) end
  return p
end

-- Does proof (bytes, base64url text, or decode_proof's table) show under
-- root (32 bytes or base64url) that key (a Leither ID or 20 bytes) holds
-- value (a string: an inclusion proof), or, value nil, that key is absent
-- (kind 1 or 2)? true, or nil and the reason; as smt_proof_verify.
function ledger.check_proof(proof, root, key, value)
  local p, r, k, why = proof, nil, nil, nil
  if type(proof) ~= "table" then
    p, why = ledger.decode_proof(proof)
    if not p then return nil, why end
  end
  r, why = fixed_bytes(root, HASH_BYTES, "root")
  if not r then return nil, why end
  k, why = ledger.key(key)
  if not k then return nil, why end
  local x
  if value ~= nil then
    if type(value) ~= "string" then return nil, "value: expected bytes or nil" end
    if p.kind ~= 0 then return nil, ("a proof of absence (%s) shows no value"):format(p.kind_name) end
    x = leaf_hash(k, H(value))
  elseif p.kind == 0 then
    return nil, "an inclusion proof shows a value, not absence"
  elseif p.kind == 1 then
    x = ZERO
  else
    if p.other_key == k then return nil, "the other leaf's key is the key itself" end
    for i = 0, p.depth - 1 do
      if bit(p.other_key, i) ~= bit(k, i) then return nil, "the other leaf's key leaves the path at bit " .. i end
    end
    x = leaf_hash(p.other_key, p.other_value_hash)
  end
  -- the siblings are listed root down; the fold goes up
  local next = #p.siblings
  for i = p.depth - 1, 0, -1 do
    local sibling = ZERO
    if bit(p.bitmap, i) == 1 then
      sibling = p.siblings[next]
      next = next - 1
    end
    if bit(k, i) == 1 then x = node_hash(sibling, x) else x = node_hash(x, sibling) end
  end
  if x ~= r then return nil, "the proof does not lead to the root" end
  return true
end

-- The root of leaves, an array of {key = ID or 20 bytes, value = bytes}
-- (distinct keys), computed naively from the rules: for small trees and
-- tests. The 32 bytes, or nil and the reason.
function ledger.root_of(leaves)
  local items, seen = {}, {}
  for i, l in ipairs(leaves) do
    local k, why = ledger.key(l.key)
    if not k then return nil, ("leaf %d: %s"):format(i, why) end
    if seen[k] then return nil, ("leaf %d: a key given twice"):format(i) end
    seen[k] = true
    items[i] = { key = k, value_hash = H(l.value) }
  end
  local function root_at(set, depth)
    if #set == 0 then return ZERO end
    if #set == 1 then return leaf_hash(set[1].key, set[1].value_hash) end
    local left, right = {}, {}
    for _, l in ipairs(set) do
      local side = bit(l.key, depth) == 1 and right or left
      side[#side + 1] = l
    end
    return node_hash(root_at(left, depth + 1), root_at(right, depth + 1))
  end
  return root_at(items, 0)
end

-- --- pulse headers ----------------------------------------------------------------

-- a string as jansson writes it: " \ and bytes below 0x20 escaped, the rest as is
local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                  ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_string(v)
  return '"' .. v:gsub('[\0-\31"\\]', function(c)
    return ESCAPES[c] or ("\\u%04X"):format(c:byte())
  end) .. '"'
end

-- strcmp's order (by bytes), whatever the locale says
local function byte_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- The JSON text jansson makes of a flat object (string keys; string and
-- integer values: what a pulse header holds) with JSON_COMPACT |
-- JSON_SORT_KEYS; nil and the reason for anything else. leave: a key left out.
function ledger.canonical_json(doc, leave)
  if type(doc) ~= "table" then return nil, "not an object" end
  local keys = {}
  for k, v in pairs(doc) do
    if type(k) ~= "string" then return nil, "a key that is not a string" end
    if k ~= leave then
      if type(v) ~= "string" and math.type(v) ~= "integer" then
        return nil, ("%s is neither a string nor an integer"):format(k)
      end
      keys[#keys + 1] = k
    end
  end
  table.sort(keys, byte_less)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = doc[k]
    parts[i] = json_string(k) .. ":" .. (type(v) == "string" and json_string(v) or tostring(v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- A pulse header's hash (what the next header's "Prev" names): BLAKE2b-256
-- of its JSON with "Sig"; nil and the reason.
function ledger.header_hash(header)
  local text, why = ledger.canonical_json(header)
  if not text then return nil, why end
  return H(text)
end

-- Checks a pulse header (org/root's "Header") as the node signs it: of org
-- (its Leither ID), signed by the org key itself ("Signer" the org,
-- "PublicKey" the org's key), the ed25519 signature over its JSON without
-- "Sig". Needs leither.crypto.verify (apps on the node); true, or nil and
-- the reason. Its "Root" is then a root to check proofs against.
function ledger.check_header(header, org)
  local verify = type(leither) == "table" and type(leither.crypto) == "table" and leither.crypto.verify
  if not verify then return nil, "no ed25519 here: leither.crypto.verify is the node's (apps)" end
  if type(header) ~= "table" then return nil, "not a header" end
  if header.Org ~= org then return nil, ("the header is of org %s, not %s"):format(tostring(header.Org), org) end
  if header.Signer ~= org then return nil, "the header is not signed by the org key" end
  if math.type(header.Pulse) ~= "integer" or header.Pulse < 1 then return nil, "Pulse is not a pulse number" end
  local root, why = fixed_bytes(header.Root, HASH_BYTES, "Root")
  if not root then return nil, why end
  if type(header.Sig) ~= "string" or type(header.PublicKey) ~= "string" then
    return nil, "the header has no Sig or PublicKey"
  end
  local signed
  signed, why = ledger.canonical_json(header, "Sig")
  if not signed then return nil, why end
  local done, holds = pcall(verify, header.PublicKey, signed, header.Sig, org)
  if not done then return nil, "PublicKey is not an ed25519 public key" end
  if not holds then return nil, "bad signature, or PublicKey is not the org's key" end
  return true
end

-- --- accounts -------------------------------------------------------------------

-- A u64 held in a Lua integer's 64 bits, as its decimal digits.
local function u64_decimal(n)
  if n >= 0 then return tostring(n) end
  local q = (n >> 1) // 5 -- n / 10, unsigned
  return tostring(q) .. tostring(n - q * 10)
end

-- An account's 17 bytes (or their base64url, as org/proof's "Value"):
-- {role (1 guest, 2 member, 3 supervisor), role_name, balance, nonce} with
-- balance and nonce as decimal strings (u64); or nil and the reason.
function ledger.decode_account(bytes)
  local b, why = fixed_bytes(bytes, ACCOUNT_BYTES, "account")
  if not b then return nil, why end
  local role, balance, nonce = string.unpack(">B i8 i8", b)
  if role < 1 or role > 3 then return nil, ("account role %d is not 1..3"):format(role) end
  return { role = role, role_name = ROLE_NAMES[role], balance = u64_decimal(balance), nonce = u64_decimal(nonce) }
end

return ledger
