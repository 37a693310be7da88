-- leither.ledger: BLAKE2b against b2sum, fixed vectors computed here from
-- the rules of modules/smt/smt.h, tampered proofs, accounts, and every proof
-- the C code makes in tests/unit/smt_vectors.c (SMT_VECTORS: the tool's path).
local helper = require("spec.helper")
local ledger = require("leither.ledger")

local root_dir = debug.getinfo(1, "S").source:match("^@(.*)/lua/spec/[^/]*$") or "."

-- the rules, written out again here so that the specs do not lean on the code they test
local function H(s) return ledger._blake2b_lua(s, 32) end
local ZERO = string.rep("\0", 32)
local function leaf(key, value) return H("\0" .. key .. H(value)) end
local function node(l, r) return H("\1" .. l .. r) end

-- a key whose first bits are given as a string of 0s and 1s, the rest zero
local function key_of_bits(bits)
  local k = {}
  for i = 1, 20 do k[i] = 0 end
  for i = 0, #bits - 1 do
    if bits:sub(i + 1, i + 1) == "1" then k[(i >> 3) + 1] = k[(i >> 3) + 1] | (0x80 >> (i & 7)) end
  end
  return string.char(table.unpack(k))
end
local function bit_of(k, i) return (k:byte((i >> 3) + 1) >> (7 - (i & 7))) & 1 end
-- k with bit i flipped
local function flip(k, i)
  local j = (i >> 3) + 1
  return k:sub(1, j - 1) .. string.char(k:byte(j) ~ (0x80 >> (i & 7))) .. k:sub(j + 1)
end
local function proof(kind, depth, set, siblings, other)
  local bm = {}
  for i = 1, (depth + 7) >> 3 do bm[i] = 0 end
  for _, i in ipairs(set) do bm[(i >> 3) + 1] = bm[(i >> 3) + 1] | (0x80 >> (i & 7)) end
  return string.char(kind, depth, table.unpack(bm)) .. table.concat(siblings) .. table.concat(other or {})
end
local function check(...)
  local ok, why = ledger.check_proof(...)
  return ok and "" or why
end

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end

describe("leither.ledger", function()
  it("computes BLAKE2b as b2sum does, across block edges", function()
    for _, n in ipairs({ 0, 1, 3, 64, 127, 128, 129, 255, 256, 257, 1000 }) do
      local bytes = {}
      for i = 1, n do bytes[i] = ((i - 1) * 7 + 39 + ((i - 1) >> 8)) & 255 end
      local data = string.char(table.unpack(bytes))
      local name = os.tmpname()
      local f = assert(io.open(name, "wb"))
      f:write(data)
      f:close()
      for _, bits in ipairs({ 160, 256, 512 }) do
        local p = assert(io.popen("b2sum -l " .. bits .. " " .. name))
        local want = p:read("a"):match("^(%x+)")
        p:close()
        assert.equal(want, hex(ledger._blake2b_lua(data, bits // 8)), n .. " bytes, " .. bits .. " bits")
      end
      os.remove(name)
    end
  end)

  it("decodes and encodes base64url strictly", function()
    for n = 0, 40 do
      local s = {}
      for i = 1, n do s[i] = (i * 37 + n) & 255 end
      s = string.char(table.unpack(s))
      assert.equal(s, ledger.b64url_decode(ledger.b64url_encode(s)))
    end
    assert.equal("-_8", ledger.b64url_encode("\xfb\xff"))
    assert.is_nil(ledger.b64url_decode("ab+c"))
    assert.is_nil(ledger.b64url_decode("a"))
    assert.is_nil(ledger.b64url_decode("ab=="))
    local none, why = ledger.b64url_decode("AB") -- bits left over
    assert.is_nil(none)
    assert.equal("base64url: nonzero trailing bits", why)
  end)

  it("proves absence in the empty tree with an empty-kind proof at depth 0", function()
    assert.equal(ZERO, ledger.root_of({}))
    local key = key_of_bits("1011")
    assert.equal("", check("\1\0", ZERO, key, nil))
    assert.equal("", check(ledger.b64url_encode("\1\0"), ledger.b64url_encode(ZERO), ledger.b64url_encode(key), nil))
    assert.equal("a proof of absence (empty) shows no value", check("\1\0", ZERO, key, "x"))
    assert.equal("the proof does not lead to the root", check("\1\0", leaf(key, "x"), key, nil))
    local p = ledger.decode_proof("\1\0")
    assert.same({ kind = 1, kind_name = "empty", depth = 0, bitmap = "", siblings = {} }, p)
  end)

  it("takes a one-leaf tree's root as its leaf's hash", function()
    local a, b, v = key_of_bits("0110"), key_of_bits("1"), "value of a"
    local root = leaf(a, v)
    assert.equal(root, ledger.root_of({ { key = a, value = v } }))
    assert.equal("", check("\0\0", root, a, v))
    assert.equal("the proof does not lead to the root", check("\0\0", root, a, "value of b"))
    assert.equal("the proof does not lead to the root", check("\0\0", root, b, v))
    local absent = proof(2, 0, {}, {}, { a, H(v) })
    assert.equal("", check(absent, root, b, nil))
    assert.equal("the other leaf's key is the key itself", check(absent, root, a, nil))
    -- an empty value is a value too
    assert.equal("", check("\0\0", leaf(a, ""), a, ""))
    assert.equal("an inclusion proof shows a value, not absence", check("\0\0", leaf(a, ""), a, nil))
  end)

  it("proves both leaves of a tree that splits at bit 0, and a key that ends in one", function()
    local a, b, c = key_of_bits("0111"), key_of_bits("1000"), key_of_bits("01")
    local root = node(leaf(a, "A"), leaf(b, "B"))
    assert.equal(root, ledger.root_of({ { key = b, value = "B" }, { key = a, value = "A" } }))
    assert.equal("", check(proof(0, 1, { 0 }, { leaf(b, "B") }), root, a, "A"))
    assert.equal("", check(proof(0, 1, { 0 }, { leaf(a, "A") }), root, b, "B"))
    assert.equal("the proof does not lead to the root", check(proof(0, 1, { 0 }, { leaf(b, "B") }), root, b, "B"))
    assert.equal("the proof does not lead to the root", check(proof(0, 2, { 0 }, { leaf(b, "B") }), root, a, "A"))
    assert.equal("", check(proof(2, 1, { 0 }, { leaf(b, "B") }, { a, H("A") }), root, c, nil))
    assert.equal("the other leaf's key leaves the path at bit 0",
      check(proof(2, 1, { 0 }, { leaf(a, "A") }, { b, H("B") }), root, c, nil))
  end)

  -- a and b share 100 bits and split at bit 100; c splits from both at bit 0
  local function long_prefix_tree()
    local prefix = "0"
    for i = 1, 99 do prefix = prefix .. ((i * 7) % 3 == 0 and "1" or "0") end
    local t = { a = key_of_bits(prefix .. "0" .. string.rep("1", 20)), b = key_of_bits(prefix .. "1"),
                c = key_of_bits("1" .. string.rep("01", 40)), va = "a", vb = "b", vc = "c", sub = {} }
    t.sub[100] = node(leaf(t.a, t.va), leaf(t.b, t.vb))
    for d = 99, 1, -1 do
      t.sub[d] = bit_of(t.a, d) == 1 and node(ZERO, t.sub[d + 1]) or node(t.sub[d + 1], ZERO)
    end
    t.root = node(t.sub[1], leaf(t.c, t.vc))
    return t
  end

  it("proves keys under a shared prefix of 100 bits, and keys that are absent there", function()
    local t = long_prefix_tree()
    assert.equal(t.root, ledger.root_of({ { key = t.a, value = t.va }, { key = t.b, value = t.vb },
                                          { key = t.c, value = t.vc } }))
    local pa = proof(0, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) })
    assert.equal(2 + 13 + 64, #pa)
    assert.equal("", check(pa, t.root, t.a, t.va))
    assert.equal("", check(proof(0, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.a, t.va) }), t.root, t.b, t.vb))
    assert.equal("", check(proof(0, 1, { 0 }, { t.sub[1] }), t.root, t.c, t.vc))
    local d = ledger.decode_proof(ledger.b64url_encode(pa))
    assert.equal(101, d.depth)
    assert.same({ leaf(t.c, t.vc), leaf(t.b, t.vb) }, d.siblings)
    -- kind 1: a key leaving a's path at bit 50 ends in an empty subtree at depth 51
    local off = flip(t.a, 50)
    local p1 = proof(1, 51, { 0, 50 }, { leaf(t.c, t.vc), t.sub[51] })
    assert.equal("", check(p1, t.root, off, nil))
    assert.equal("the proof does not lead to the root", check(p1, t.root, t.a, nil))
    -- kind 2: a key that follows a's path past bit 100 ends in a's leaf
    local near = flip(t.a, 159)
    local p2 = proof(2, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) }, { t.a, H(t.va) })
    assert.equal("", check(p2, t.root, near, nil))
    assert.equal("a proof of absence (other-leaf) shows no value", check(p2, t.root, near, t.va))
    assert.equal("an inclusion proof shows a value, not absence", check(pa, t.root, t.a, nil))
  end)

  it("refuses tampered proofs with a reason", function()
    local t = long_prefix_tree()
    local good = proof(0, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) })
    assert.equal("", check(good, t.root, t.a, t.va))
    for i = 2 + 13 + 1, #good, 5 do
      local bad = good:sub(1, i - 1) .. string.char(good:byte(i) ~ (1 << (i % 8))) .. good:sub(i + 1)
      assert.equal("the proof does not lead to the root", check(bad, t.root, t.a, t.va), "byte " .. i)
    end
    assert.equal("the proof does not lead to the root", check(good, t.root, t.a, "A"))
    assert.equal("the proof does not lead to the root", check(good, t.root:sub(1, 31) .. "\xff", t.a, t.va))
    assert.equal("the proof does not lead to the root", check(good, t.root, t.b, t.va))
    assert.equal("1 trailing bytes after the proof", check(good .. "\0", t.root, t.a, t.va))
    assert.equal("truncated proof siblings", check(good:sub(1, -2), t.root, t.a, t.va))
    assert.equal("truncated proof bitmap", check(good:sub(1, 10), t.root, t.a, t.va))
    assert.equal("truncated proof", check(good:sub(1, 1), t.root, t.a, t.va))
    assert.equal("truncated proof", check("", t.root, t.a, t.va))
    -- a bitmap bit past the depth: depth 101 has bits 101..103 in its last byte
    local past = good:sub(1, 14) .. string.char(good:byte(15) | 0x04) .. good:sub(16)
    assert.equal("proof bitmap bit 101 is at or past the depth 101", check(past, t.root, t.a, t.va))
    assert.equal("proof bitmap bit 1 is at or past the depth 1", select(2, ledger.decode_proof("\1\1\x40")))
    -- a cleared bitmap bit leaves a sibling over
    local cleared = good:sub(1, 14) .. string.char(good:byte(15) & ~0x08) .. good:sub(16)
    assert.equal("32 trailing bytes after the proof", check(cleared, t.root, t.a, t.va))
    assert.equal("unknown proof kind 3", check("\3\0", t.root, t.a, nil))
    assert.equal("proof depth 161 is over 160", check("\1\161" .. string.rep("\0", 21), t.root, t.a, nil))
    assert.equal(160, ledger.decode_proof("\1\160" .. string.rep("\0", 20)).depth)
    -- kind 2: the other key equal to the key, or off the key's prefix
    local near = flip(t.a, 159)
    assert.equal("", check(proof(2, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) }, { t.a, H(t.va) }),
      t.root, near, nil))
    assert.equal("the other leaf's key is the key itself",
      check(proof(2, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) }, { t.a, H(t.va) }), t.root, t.a, nil))
    assert.equal("the other leaf's key leaves the path at bit 100",
      check(proof(2, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.a, t.va) }, { t.b, H(t.vb) }), t.root, near, nil))
    assert.equal("truncated proof: the other leaf",
      check(proof(2, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) }, { t.a }), t.root, near, nil))
    -- inputs that are not what they claim
    assert.truthy(check("not base64!", t.root, t.a, t.va):find("^proof is not base64url"))
    assert.truthy(check(good, t.root:sub(2), t.a, t.va):find("^root is neither 32 bytes"))
    assert.equal("key is 2 bytes, not 20", check(good, t.root, "abc", t.va))
    assert.equal("value: expected bytes or nil", check(good, t.root, t.a, 5))
  end)

  it("refuses random bytes with a reason, never an error", function()
    local x = 12345
    local function rand(n)
      x = (x * 1103515245 + 12345) & 0xffffffff
      return (x >> 8) % n
    end
    local key, root = key_of_bits("0101"), H("r")
    for _ = 1, 1000 do
      local depth = rand(4) > 0 and rand(161) or rand(256)
      local n = math.max(0, 2 + ((depth + 7) >> 3) + 32 * rand(6) + (rand(2) == 1 and 52 or 0) + rand(3) - 1)
      local b = {}
      for j = 1, n do b[j] = rand(256) end
      if n > 0 then b[1] = rand(4) end
      if n > 1 then b[2] = depth end
      local proof_bytes = string.char(table.unpack(b))
      for _, value in ipairs({ false, "v" }) do
        local ok, why = ledger.check_proof(proof_bytes, root, key, value or nil)
        assert.is_nil(ok)
        assert.equal("string", type(why))
      end
    end
  end)

  it("reads accounts: 17 bytes, u64 amounts as decimal strings", function()
    local acct = "\2" .. string.rep("\xff", 8) .. "\0\0\0\0\0\0\1\2"
    assert.same({ role = 2, role_name = "member", balance = "18446744073709551615", nonce = "258" },
      ledger.decode_account(acct))
    assert.same({ role = 3, role_name = "supervisor", balance = "0", nonce = "0" },
      ledger.decode_account(ledger.b64url_encode("\3" .. string.rep("\0", 16))))
    assert.same({ role = 1, role_name = "guest", balance = "9223372036854775808", nonce = "9223372036854775807" },
      ledger.decode_account("\1\x80" .. string.rep("\0", 7) .. "\x7f" .. string.rep("\xff", 7)))
    assert.same({ role = 1, role_name = "guest", balance = "10000000000000000000", nonce = "1" },
      ledger.decode_account("\1" .. string.pack(">i8", -8446744073709551616) .. string.pack(">i8", 1)))
    assert.same({ nil, "account role 0 is not 1..3" }, { ledger.decode_account("\0" .. string.rep("\0", 16)) })
    assert.same({ nil, "account role 4 is not 1..3" }, { ledger.decode_account("\4" .. string.rep("\0", 16)) })
    assert.is_nil(ledger.decode_account("\1" .. string.rep("\0", 15)))
    assert.is_nil(ledger.decode_account("\1" .. string.rep("\0", 17)))
    local id = ledger.b64url_encode(string.rep("\7", 20))
    assert.equal(string.rep("\7", 20), ledger.key(id))
  end)

  it("uses the node's leither.crypto.blake2b when it is there, as apps in the sandbox have it", function()
    local calls = 0
    -- the sandbox's globals (modules/lua/sandbox.h): no io, debug, package
    local env = { leither = { crypto = { blake2b = function(s, n)
      calls = calls + 1
      return ledger._blake2b_lua(s, n)
    end } } }
    for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "setmetatable",
                            "tonumber", "tostring", "type", "string", "table", "math", "utf8" }) do
      env[name] = _G[name]
    end
    local chunk = assert(loadfile(root_dir .. "/lua/leither/ledger.lua", "t", env))
    local hosted = chunk()
    local t = long_prefix_tree()
    assert.is_true(hosted.check_proof(proof(0, 101, { 0, 100 }, { leaf(t.c, t.vc), leaf(t.b, t.vb) }), t.root, t.a, t.va))
    assert.is_true(calls >= 102)
  end)

  it("writes a header's JSON as jansson does, and checks its signature with the node's ed25519", function()
    local header = { Org = "ORG", Pulse = 7, Time = 1796323326057, Root = ledger.b64url_encode(H("state")),
                     TxRoot = "t\"x\\\n\1\127", Prev = ledger.b64url_encode(ZERO), Txs = 2, Signer = "ORG",
                     PublicKey = "PK", Sig = "SIG" }
    local signed = '{"Org":"ORG","Prev":"' .. header.Prev .. '","PublicKey":"PK","Pulse":7,"Root":"' .. header.Root
      .. '","Signer":"ORG","Time":1796323326057,"TxRoot":"t\\"x\\\\\\n\\u0001\127","Txs":2}'
    assert.equal(signed, ledger.canonical_json(header, "Sig"))
    local whole = signed:gsub(',"Signer"', ',"Sig":"SIG","Signer"') -- "Sig" sorts before "Signer"
    assert.equal(whole, ledger.canonical_json(header))
    assert.equal(H(whole), ledger.header_hash(header))
    assert.same({ nil, "Pulse is neither a string nor an integer" }, { ledger.canonical_json({ Pulse = 1.5 }) })
    assert.same({ nil, "no ed25519 here: leither.crypto.verify is the node's (apps)" },
      { ledger.check_header(header, "ORG") })
    -- with the node's verify (here a stand-in that knows one signature)
    local asked
    local env = { leither = { crypto = { verify = function(pk, message, sig, id)
      asked = { pk, message, sig, id }
      return pk == "PK" and message == signed and sig == "SIG" and id == "ORG"
    end } } }
    for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "setmetatable",
                            "tonumber", "tostring", "type", "string", "table", "math", "utf8" }) do
      env[name] = _G[name]
    end
    local hosted = assert(loadfile(root_dir .. "/lua/leither/ledger.lua", "t", env))()
    assert.is_true(hosted.check_header(header, "ORG"))
    assert.same({ "PK", signed, "SIG", "ORG" }, asked)
    local function changed(field, value)
      local h = {}
      for k, v in pairs(header) do h[k] = v end
      h[field] = value
      return select(2, hosted.check_header(h, "ORG"))
    end
    assert.equal("bad signature, or PublicKey is not the org's key", changed("Root", ledger.b64url_encode(ZERO)))
    assert.equal("bad signature, or PublicKey is not the org's key", changed("Txs", 3))
    assert.equal("the header is of org OTHER, not ORG", changed("Org", "OTHER"))
    assert.equal("the header is not signed by the org key", changed("Signer", "OTHER"))
    assert.equal("Pulse is not a pulse number", changed("Pulse", 0))
    assert.equal("the header has no Sig or PublicKey", changed("Sig", nil))
    assert.equal("Root is 3 bytes, not 32", changed("Root", "shor"))
  end)

  -- the C side's proofs: every one holds, and none holds for a changed input
  it("checks every proof of tests/unit/smt_vectors.c, and the roots are the naive ones", function()
    local tool = os.getenv("SMT_VECTORS")
    assert.truthy(tool, "SMT_VECTORS (the smt_vectors tool's path) is not set")
    local kinds = { [0] = 0, 0, 0 }
    for _, seed in ipairs({ "1", "2", "314159" }) do
      local pipe = assert(io.popen(tool .. " " .. seed))
      local out = pipe:read("a")
      assert.is_true(pipe:close(), tool .. " " .. seed .. " failed")
      local doc = leither.json.decode(out)
      assert.is_true(#doc.cases > 0)
      for n, c in ipairs(doc.cases) do
        local leaves = {}
        for i, l in ipairs(c.leaves) do leaves[i] = { key = l.key, value = assert(ledger.b64url_decode(l.value)) } end
        assert.equal(c.root, ledger.b64url_encode(assert(ledger.root_of(leaves))), "seed " .. seed .. " case " .. n)
        local root = assert(ledger.b64url_decode(c.root))
        local flipped = string.char(root:byte(1) ~ 1) .. root:sub(2)
        for _, p in ipairs(c.proofs) do
          local value = p.value ~= leither.json.null and assert(ledger.b64url_decode(p.value)) or nil
          local where = ("seed %s case %d key %s"):format(seed, n, p.key)
          assert.equal("", check(p.proof, c.root, p.key, value), where)
          assert.equal(p.kind, ledger.decode_proof(p.proof).kind, where)
          kinds[p.kind] = kinds[p.kind] + 1
          assert.are_not.equal("", check(p.proof, flipped, p.key, value), where)
          -- no changed byte holds: the kind, the depth, the bitmap, a sibling, the other leaf, the end
          -- (one seed's worth: pure Lua hashes slowly)
          local bytes = assert(ledger.b64url_decode(p.proof))
          local step = math.max(1, #bytes // 12)
          local i = seed == "1" and 1 or #bytes + 1
          while i <= #bytes do
            for _, change in ipairs({ 0x01, 0x80, 0xff }) do
              local changed = bytes:sub(1, i - 1) .. string.char(bytes:byte(i) ~ change) .. bytes:sub(i + 1)
              assert.are_not.equal("", check(changed, root, p.key, value), ("%s: byte %d ^ %d"):format(where, i, change))
            end
            i = i + (i <= 4 and 1 or step)
          end
          if value then
            assert.are_not.equal("", check(p.proof, root, p.key, value .. "\0"), where)
            assert.are_not.equal("", check(p.proof, root, p.key, nil), where)
          else
            assert.are_not.equal("", check(p.proof, root, p.key, ""), where)
          end
        end
      end
    end
    assert.is_true(kinds[0] > 0 and kinds[1] > 0 and kinds[2] > 0,
      ("proof kinds seen: %d %d %d"):format(kinds[0], kinds[1], kinds[2]))
  end)
end)
