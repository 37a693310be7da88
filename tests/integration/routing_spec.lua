-- Delegated Routing V1 (/routing/v1/, the IPFS spec http-routing-v1 with
-- IPIP-0513) on a real node, read with curl as an IPFS client configured
-- with the node as its delegated router would: the JSON and NDJSON shapes,
-- CORS, which content is advertised (never a private MiMei's root), the
-- peer record by every peer ID spelling, hostile arguments; and the
-- trustless gateway's probe (bafkqaaa) and missing blocks on /ipfs/.
local t = require("helpers")

local PROTOCOL = "transport-ipfs-gateway-http"

-- multibase encoders for the test's own spellings of CIDs and peer IDs
local B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
local function base58_decode(s)
  local bytes = {} -- little-endian digits of the number
  for i = 1, #s do
    local carry = B58:find(s:sub(i, i), 1, true) - 1
    for j = 1, #bytes do
      carry = carry + bytes[j] * 58
      bytes[j] = carry & 0xff
      carry = carry >> 8
    end
    while carry > 0 do
      bytes[#bytes + 1] = carry & 0xff
      carry = carry >> 8
    end
  end
  local out = {}
  for i = 1, #s do -- leading '1's are zero bytes
    if s:sub(i, i) ~= "1" then break end
    out[#out + 1] = "\0"
  end
  for i = #bytes, 1, -1 do out[#out + 1] = string.char(bytes[i]) end
  return table.concat(out)
end

local B32 = "abcdefghijklmnopqrstuvwxyz234567"
local function base32(bytes)
  local out, buf, bits = {}, 0, 0
  for i = 1, #bytes do
    buf = (buf << 8) | bytes:byte(i)
    bits = bits + 8
    while bits >= 5 do
      local k = (buf >> (bits - 5)) & 31
      out[#out + 1] = B32:sub(k + 1, k + 1)
      bits = bits - 5
    end
    buf = buf & ((1 << bits) - 1)
  end
  if bits > 0 then
    local k = (buf << (5 - bits)) & 31
    out[#out + 1] = B32:sub(k + 1, k + 1)
  end
  return "b" .. table.concat(out)
end

local B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
local function base36(bytes)
  local digits = {} -- little-endian base-36 digits
  for i = 1, #bytes do
    local carry = bytes:byte(i)
    for j = 1, #digits do
      carry = carry + digits[j] * 256
      digits[j] = carry % 36
      carry = carry // 36
    end
    while carry > 0 do
      digits[#digits + 1] = carry % 36
      carry = carry // 36
    end
  end
  local out = { "k" }
  for i = 1, #bytes do
    if bytes:byte(i) ~= 0 then break end
    out[#out + 1] = "0"
  end
  for i = #digits, 1, -1 do out[#out + 1] = B36:sub(digits[i] + 1, digits[i] + 1) end
  return table.concat(out)
end

-- a CIDv1: version 1, codec, multihash (all small varints here)
local function cidv1(codec, multihash)
  return string.char(1, codec) .. multihash
end
local function identity_cid(codec, data)
  assert(#data < 128)
  return base32(cidv1(codec, string.char(0, #data) .. data))
end

describe("delegated routing and the trustless probe", function()
  local node, dir, peer_id, public_cid, public_v1, raw_cid
  local L = t.cli_in(function() return node.home end)
  local ok = t.ok

  local function routing(path, extra)
    return t.get(node.url .. "/routing/v1/" .. path, "-m 20 " .. (extra or ""))
  end

  -- the providers of cid, as JSON: the decoded list, after checking the shape
  local function providers(cid)
    local r = routing("providers/" .. cid)
    assert.are.equal(200, r.status, r.body)
    assert.are.equal("application/json", r.headers["content-type"])
    assert.are.equal("*", r.headers["access-control-allow-origin"])
    local doc = t.decode(r.body)
    assert.are.equal("table", type(doc.Providers), r.body)
    return doc.Providers
  end

  -- a record of this node as the spec's peer schema says it
  local function assert_self(record)
    assert.are.equal("peer", record.Schema)
    assert.are.equal(peer_id, record.ID)
    assert.are.same({ PROTOCOL }, record.Protocols)
    assert.truthy(#record.Addrs >= 1)
    local loopback = false
    for _, a in ipairs(record.Addrs) do
      assert.truthy(a:match("^/ip[46]/[^/]+/tcp/" .. node.port .. "/http$"), a)
      loopback = loopback or a == "/ip4/127.0.0.1/tcp/" .. node.port .. "/http"
    end
    assert.is_true(loopback, table.concat(record.Addrs, " "))
  end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    peer_id = t.decode(ok(L("status", "--json"))).PeerID
    assert.truthy(peer_id:match("^12D3KooW"))
    t.write(dir .. "/public.txt", "routed content\n")
    public_cid = ok(L("ipfs", "add", "-Q", dir .. "/public.txt")):gsub("%s+$", "")
    -- the same block as a CIDv1 (dag-pb): the node holds it under either
    public_v1 = base32(cidv1(0x70, base58_decode(public_cid)))
    raw_cid = ok(L("ipfs", "add", "-Q", "--cid-version", "1", dir .. "/public.txt")):gsub("%s+$", "")
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("names this node as the gateway provider of a block it serves, and the gateway serves it there", function()
    for _, cid in ipairs({ public_cid, public_v1, raw_cid }) do
      local list = providers(cid)
      assert.are.equal(1, #list, cid)
      assert_self(list[1])
    end
    -- a client follows the record: the trustless gateway at that address
    local list = providers(raw_cid)
    local host, port = list[1].Addrs[1]:match("^/ip4/([^/]+)/tcp/(%d+)/http$")
    local r = t.get("http://" .. host .. ":" .. port .. "/ipfs/" .. raw_cid .. "?format=raw", "-m 20")
    assert.are.equal(200, r.status)
    assert.are.equal("application/vnd.ipld.raw", r.headers["content-type"])
    assert.are.equal("routed content\n", r.body) -- a raw leaf: the block is the bytes
  end)

  it("streams one record a line with Accept: application/x-ndjson", function()
    local r = routing("providers/" .. raw_cid, "-H 'Accept: application/x-ndjson'")
    assert.are.equal(200, r.status)
    assert.are.equal("application/x-ndjson", r.headers["content-type"])
    local lines = {}
    for line in r.body:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    assert.are.equal(1, #lines, r.body)
    assert.are.equal(r.body, lines[1] .. "\n")
    assert_self(t.decode(lines[1]))
    -- nothing known: 200 and no lines at all
    r = routing("providers/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
      "-H 'Accept: application/x-ndjson'")
    assert.are.equal(200, r.status)
    assert.are.equal("application/x-ndjson", r.headers["content-type"])
    assert.are.equal("", r.body)
    -- without the header, JSON (the spec: streaming only when asked)
    assert.are.equal("application/json", routing("providers/" .. raw_cid).headers["content-type"])
  end)

  it("answers 200 with an empty list for what it does not hold or cannot hold", function()
    local absent = {
      "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", -- not on this node
      "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
      -- sha2-512 (0x13, 64 bytes) and a dag-cbor codec: valid CIDs no store here keeps
      base32(cidv1(0x71, "\x13\x40" .. string.rep("\7", 64))),
      "bafkqaaa", -- an identity CID: its block is in the CID, no one need provide it
    }
    for _, cid in ipairs(absent) do
      local r = routing("providers/" .. cid)
      assert.are.equal(200, r.status, cid .. ": " .. r.body)
      assert.are.equal('{"Providers":[]}\n', r.body)
      assert.are.equal("public, max-age=15", r.headers["cache-control"])
    end
  end)

  it("never advertises a private MiMei's root; public, it does", function()
    t.write(dir .. "/private.txt", "only for readers\n")
    local mid = ok(L("mimei", "create")):match("mid= (%S+)")
    local root = ok(L("mimei", "add", mid, dir .. "/private.txt")):match("^add /ipfs/(%S+)")
    assert.are.equal(403, t.curl(node.url .. "/ipfs/" .. root).status) -- the gateway's rule
    assert.are.same({}, providers(root))
    ok(L("mimei", "chmod", mid, "public"))
    local list = providers(root)
    assert.are.equal(1, #list)
    assert_self(list[1])
    ok(L("mimei", "chmod", mid, "private"))
    assert.are.same({}, providers(root))
  end)

  it("filters by transfer protocol and address as IPIP-0484 says", function()
    local function count(query)
      local r = routing("providers/" .. raw_cid .. "?" .. query)
      assert.are.equal(200, r.status, query .. ": " .. r.body)
      return t.decode(r.body).Providers
    end
    assert.are.equal(1, #count("filter-protocols=" .. PROTOCOL))
    assert.are.equal(1, #count("filter-protocols=transport-bitswap,TRANSPORT-IPFS-GATEWAY-HTTP"))
    assert.are.equal(0, #count("filter-protocols=transport-bitswap"))
    assert.are.equal(0, #count("filter-protocols=unknown"))
    assert.are.equal(0, #count("filter-protocols=!" .. PROTOCOL))
    assert.are.equal(1, #count("filter-protocols=!transport-bitswap"))
    -- addresses: only those naming a wanted protocol, none naming an unwanted one
    local all = count("filter-addrs=http")
    assert.are.equal(1, #all)
    assert_self(all[1])
    assert.are.equal(0, #count("filter-addrs=https"))
    assert.are.equal(0, #count("filter-addrs=webtransport,wss"))
    local v4 = count("filter-addrs=!ip6")[1]
    assert_self(v4)
    for _, a in ipairs(v4.Addrs) do assert.truthy(a:match("^/ip4/"), a) end
    assert.are.equal(0, #count("filter-addrs=ip4,!tcp"))
    assert.are.equal(1, #count("filter-addrs=tcp&filter-protocols=" .. PROTOCOL))
    -- the peers route takes them too
    local r = routing("peers/" .. peer_id .. "?filter-addrs=https")
    assert.are.equal('{"Peers":[]}\n', r.body)
    -- malformed lists: 400 with one line
    local names = {}
    for i = 1, 17 do names[i] = "p" .. i end
    for _, q in ipairs({ "filter-addrs=a,,b", "filter-addrs=", "filter-protocols=!", "filter-protocols=" .. table.concat(names, ","),
      "filter-addrs=" .. string.rep("x", 64) }) do
      r = routing("providers/" .. raw_cid .. "?" .. q)
      assert.are.equal(400, r.status, q)
      assert.truthy(r.body:match("^400 [^\n]*\n$"), r.body)
    end
  end)

  it("answers its own peer record by base58, libp2p-key CIDs in base32 and base36", function()
    local multihash = base58_decode(peer_id)
    local key_cid = cidv1(0x72, multihash)
    for _, spelling in ipairs({ peer_id, base32(key_cid), base32(key_cid):upper(), base36(key_cid) }) do
      local r = routing("peers/" .. spelling)
      assert.are.equal(200, r.status, spelling .. ": " .. r.body)
      assert.are.equal("*", r.headers["access-control-allow-origin"])
      local doc = t.decode(r.body)
      assert.are.equal(1, #doc.Peers, spelling)
      assert_self(doc.Peers[1])
    end
    local r = routing("peers/" .. base36(key_cid), "-H 'Accept: application/x-ndjson'")
    assert.are.equal("application/x-ndjson", r.headers["content-type"])
    assert_self(t.decode(r.body))
    -- another peer: nothing known, 200 with an empty list
    local other = multihash:sub(1, -2) .. string.char((multihash:byte(-1) + 1) % 256)
    r = routing("peers/" .. base32(cidv1(0x72, other)))
    assert.are.equal(200, r.status)
    assert.are.equal('{"Peers":[]}\n', r.body)
  end)

  it("lists a /dns address first when asked by a host name, and only a clean one", function()
    local r = routing("peers/" .. peer_id, "-H 'Host: node.example:" .. node.port .. "'")
    assert.are.equal(200, r.status, r.body)
    local addrs = t.decode(r.body).Peers[1].Addrs
    assert.are.equal("/dns/node.example/tcp/" .. node.port .. "/http", addrs[1])
    assert.are.equal("/ip4/127.0.0.1/tcp/" .. node.port .. "/http", addrs[2])
    -- a Host that would smuggle multiaddr parts, or a bad port, adds nothing
    for _, host in ipairs({ "evil/ip4/10.0.0.1", "node.example:99999", "node.example:x", "[::1]:" .. node.port }) do
      r = routing("peers/" .. peer_id, "-H " .. t.quote("Host: " .. host))
      if r.status == 200 then
        for _, a in ipairs(t.decode(r.body).Peers[1].Addrs) do
          assert.truthy(a:match("^/ip[46]/[^/]+/tcp/" .. node.port .. "/http$"), host .. ": " .. a)
        end
      else
        assert.are.equal(400, r.status, host) -- refused before any handler
      end
    end
  end)

  it("lets any site ask: CORS preflight and headers on every answer", function()
    local r = t.get(node.url .. "/routing/v1/providers/" .. raw_cid,
      "-X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: GET'")
    assert.are.equal(204, r.status)
    assert.are.equal("*", r.headers["access-control-allow-origin"])
    assert.truthy(r.headers["access-control-allow-methods"]:find("GET", 1, true))
    assert.truthy(r.headers["access-control-allow-headers"]:find("Accept", 1, true))
    r = routing("providers/not-a-cid")
    assert.are.equal(400, r.status)
    assert.are.equal("*", r.headers["access-control-allow-origin"])
  end)

  it("refuses bad CIDs, peer IDs and paths with one line, and keeps serving", function()
    local long = string.rep("b", 5000)
    local cases = {
      { "providers/not-a-cid", 400 },
      { "providers/Qm" .. string.rep("1", 44), 400 },
      { "providers/bafy%0aevil", 400 },
      { "providers/b%00", 400 },
      { "providers/" .. long, 400 },
      { "providers/", 400 },
      { "providers", 400 },
      { "providers/" .. raw_cid .. "/more", 400 },
      { "elsewhere/" .. raw_cid, 400 },
      { "", 400 },
      { "peers/" .. raw_cid, 400 }, -- a CID, but not a libp2p-key
      { "peers/12D3KooW0000", 400 }, -- '0' is no base58 digit
      { "peers/1" .. long, 400 },
      { "peers/k" .. long, 400 },
      { "ipns/k51qzi5uqu5dhlbegona8wfyei6jnjuhrulz3t8femxtfmak9134qpqncw3poc", 501 },
    }
    for _, c in ipairs(cases) do
      local r = routing(c[1])
      assert.are.equal(c[2], r.status, c[1]:sub(1, 80) .. ": " .. r.body)
      assert.truthy(r.body:match("^" .. c[2] .. " [^\n]*\n$"), r.body)
      assert.truthy(#r.body < 300, r.body)
    end
    -- PUT (the spec's writes) is not taken here: 501
    local r = routing("providers", "-X PUT -H 'Content-Type: application/json' --data '{\"Providers\":[]}'")
    assert.are.equal(501, r.status)
    r = routing("providers/" .. raw_cid, "-X POST --data x")
    assert.are.equal(501, r.status)
    -- a path far past any CID's length: refused before any work
    assert.are.equal(400, t.curl(node.url .. "/routing/v1/providers/" .. string.rep("a", 100000)).status)
    -- and the node still answers
    assert.are.equal(1, #providers(raw_cid))
  end)

  it("answers the trustless gateway probe and identity CIDs from the CID itself", function()
    local r = t.get(node.url .. "/ipfs/bafkqaaa?format=raw", "-m 20")
    assert.are.equal(200, r.status)
    assert.are.equal("application/vnd.ipld.raw", r.headers["content-type"])
    assert.are.equal("", r.body)
    r = t.get(node.url .. "/ipfs/bafkqaaa?format=raw", "-m 20 -I")
    assert.are.equal(200, r.status)
    assert.are.equal("0", r.headers["content-length"])
    -- a raw identity block: its bytes, as a file or a block
    local hello = identity_cid(0x55, "hello world")
    assert.are.equal("hello world", t.get(node.url .. "/ipfs/" .. hello, "-m 20").body)
    r = t.get(node.url .. "/ipfs/" .. hello, "-m 20 -H 'Accept: application/vnd.ipld.raw'")
    assert.are.equal("application/vnd.ipld.raw", r.headers["content-type"])
    assert.are.equal("hello world", r.body)
    -- as a CAR: the dag-cbor header {"roots": [CID], "version": 1} and one section
    r = t.get(node.url .. "/ipfs/" .. hello .. "?format=car", "-m 20")
    assert.are.equal(200, r.status)
    assert.are.equal("application/vnd.ipld.car; version=1", r.headers["content-type"])
    local bin = cidv1(0x55, string.char(0, 11) .. "hello world")
    local hdr = "\xa2\x65roots\x81\xd8\x2a" .. string.char(0x40 + #bin + 1) .. "\0" .. bin .. "\x67version\x01"
    assert.are.equal(string.char(#hdr) .. hdr .. string.char(#bin + 11) .. bin .. "hello world", r.body)
    -- another codec is served only as a block; no path below a block
    local node_cid = identity_cid(0x70, "\x0a\x02\x08\x01")
    assert.are.equal(400, t.curl(node.url .. "/ipfs/" .. node_cid).status)
    assert.are.equal("\x0a\x02\x08\x01", t.curl(node.url .. "/ipfs/" .. node_cid .. "?format=raw").body)
    assert.are.equal(400, t.curl(node.url .. "/ipfs/" .. hello .. "/a").status)
    -- more than 128 inline bytes (kubo's limit) is no CID this gateway takes
    local big = base32(cidv1(0x55, "\0\x81\x01" .. string.rep("x", 129)))
    assert.are.equal(400, t.curl(node.url .. "/ipfs/" .. big .. "?format=raw").status)
  end)

  it("answers a block it does not hold with 404 in every form, never a hang or a 5xx", function()
    for _, cid in ipairs({ "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
      "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
      "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi" }) do
      for _, tail in ipairs({ "", "?format=raw", "?format=car", "/a/b.txt", "/a?format=car" }) do
        local r = t.get(node.url .. "/ipfs/" .. cid .. tail, "-m 20")
        assert.are.equal(404, r.status, cid .. tail .. ": " .. r.body)
        assert.truthy(r.body:match("^404 [^\n]*\n$"), r.body)
      end
      local r = t.get(node.url .. "/ipfs/" .. cid, "-m 20 -H 'Accept: application/vnd.ipld.car'")
      assert.are.equal(404, r.status)
    end
  end)
end)
