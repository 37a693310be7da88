-- The IPFS path gateway (/ipfs/CID[/PATH]) of a real node: content added
-- with `leither ipfs add`, read back with curl.
local t = require("helpers")

local get = t.get

local function sha256_hex(bytes)
  local f = os.tmpname()
  t.write(f, bytes)
  local r = t.sh("sha256sum " .. f)
  os.remove(f)
  return r.out:match("^(%x+)")
end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- base58btc and base32 (lower) text CIDs to their binary form
local B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
local function base58_decode(s)
  local bytes = {}
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
  for i = #bytes, 1, -1 do out[#out + 1] = string.char(bytes[i]) end
  return table.concat(out)
end

local B32 = "abcdefghijklmnopqrstuvwxyz234567"
local function base32_decode(s)
  local out, buf, bits = {}, 0, 0
  for i = 1, #s do
    buf = (buf << 5) | (B32:find(s:sub(i, i), 1, true) - 1)
    bits = bits + 5
    if bits >= 8 then
      out[#out + 1] = string.char((buf >> (bits - 8)) & 0xff)
      bits = bits - 8
    end
  end
  return table.concat(out)
end

local function cid_bytes(text)
  if text:sub(1, 2) == "Qm" then return base58_decode(text) end
  assert(text:sub(1, 1) == "b", "unexpected CID " .. text)
  return base32_decode(text:sub(2))
end

local function varint(s, pos)
  local v, shift = 0, 0
  while true do
    local b = s:byte(pos)
    assert(b, "truncated varint")
    v = v | ((b & 0x7f) << shift)
    pos = pos + 1
    if b < 0x80 then return v, pos end
    shift = shift + 7
  end
end

-- a binary CID at pos: its bytes, its digest, the next position
local function read_cid(s, pos)
  local start = pos
  if s:sub(pos, pos + 1) == "\x12\x20" then
    return s:sub(pos, pos + 33), s:sub(pos + 2, pos + 33), pos + 34
  end
  local version, codec
  version, pos = varint(s, pos)
  assert(version == 1)
  codec, pos = varint(s, pos)
  assert(codec == 0x55 or codec == 0x70, "codec " .. codec)
  assert(s:sub(pos, pos + 1) == "\x12\x20", "not sha2-256")
  return s:sub(start, pos + 33), s:sub(pos + 2, pos + 33), pos + 34
end

-- CARv1: roots (binary CIDs) and sections {cid=, digest=, block=}
local function parse_car(s)
  local hlen, pos = varint(s, 1)
  local header = s:sub(pos, pos + hlen - 1)
  pos = pos + hlen
  assert(header:find("version", 1, true), "no version in the CAR header")
  local roots = {}
  local at = 1
  while true do
    local tag = header:find("\xd8\x2a", at, true) -- CBOR tag 42: a CID
    if not tag then break end
    local len = header:byte(tag + 3) -- byte string of 1-byte length (0x58 LEN)
    assert(header:byte(tag + 2) == 0x58 and header:byte(tag + 4) == 0)
    roots[#roots + 1] = header:sub(tag + 5, tag + 3 + len)
    at = tag + 4 + len
  end
  local sections = {}
  while pos <= #s do
    local len, p = varint(s, pos)
    local c, digest, after = read_cid(s, p)
    local block = s:sub(after, p + len - 1)
    assert(#block == p + len - after, "truncated section")
    sections[#sections + 1] = { cid = c, digest = digest, block = block }
    pos = p + len
  end
  return roots, sections
end

describe("the IPFS gateway", function()
  local node, dir, big, big_cid, big_v1, site_cid, base
  local function add(...)
    local r = t.leither("ipfs", "add", "-Q", "--home", node.home, ...)
    assert.are.equal(0, r.code, r.err)
    return (r.out:gsub("%s+$", ""))
  end

  setup(function()
    -- the CLI uploads CAR batches of up to 4 MiB
    node = t.start_node({ settings = { max_request_body = 16 * 1024 * 1024 } })
    base = node.url .. "/ipfs/"
    dir = t.tmpdir()
    t.sh("head -c 1500000 /dev/urandom > " .. dir .. "/big.bin")
    big = t.slurp(dir .. "/big.bin")
    big_cid = add(dir .. "/big.bin")
    big_v1 = add("--cid-version", "1", dir .. "/big.bin")
    local site = dir .. "/site"
    t.sh("mkdir -p " .. site .. "/docs " .. site .. "/app")
    t.write(site .. "/app/index.html", "<!doctype html><title>app</title>\n")
    t.write(site .. "/docs/page", "<!DOCTYPE html>\n<html><body>hi</body></html>\n")
    t.write(site .. "/docs/pic", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    t.write(site .. "/docs/photo", "\xff\xd8\xff\xe0\0\x10JFIF\0")
    t.write(site .. "/docs/anim", "GIF89a\1\0\1\0")
    t.write(site .. "/docs/img", "RIFF\0\0\0\0WEBPVP8 ")
    t.write(site .. "/docs/paper", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    t.write(site .. "/docs/vector", '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>\n')
    t.write(site .. "/docs/data", '{"name": "leither", "list": [1, 2]}\n')
    t.write(site .. "/docs/notes", "plain words, 中文 too\n")
    t.write(site .. "/docs/blob", "\0\1\2\3\255\254binary")
    t.write(site .. "/docs/style.css", "body{color:red}\n")
    t.write(site .. "/docs/a b&c.txt", "spaces\n")
    t.write(site .. "/docs/javascript:alert(1)", "a name that looks like a URL scheme\n")
    site_cid = add("-r", site)
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  it("streams a multi-chunk file byte for byte, with its headers", function()
    for _, c in ipairs({ big_cid, big_v1 }) do
      local res = get(base .. c)
      assert.are.equal(200, res.status)
      assert.are.equal(#big, #res.body)
      assert.is_true(res.body == big, "the bytes differ")
      assert.are.equal('"' .. c .. '"', res.headers["etag"])
      assert.are.equal("public, max-age=29030400, immutable", res.headers["cache-control"])
      assert.are.equal("/ipfs/" .. c, res.headers["x-ipfs-path"])
      assert.are.equal("bytes", res.headers["accept-ranges"])
      assert.are.equal("application/octet-stream", res.headers["content-type"])
      assert.are.equal("1500000", res.headers["content-length"])
    end
  end)

  it("answers single byte ranges with 206, across chunk boundaries", function()
    for _, c in ipairs({ big_cid, big_v1 }) do
      local res = get(base .. c, "-H 'Range: bytes=262143-262145'")
      assert.are.equal(206, res.status)
      assert.are.equal(big:sub(262144, 262146), res.body)
      assert.are.equal("bytes 262143-262145/1500000", res.headers["content-range"])
      assert.are.equal("3", res.headers["content-length"])
      res = get(base .. c, "-H 'Range: bytes=-100'")
      assert.are.equal(206, res.status)
      assert.are.equal(big:sub(-100), res.body)
      assert.are.equal("bytes 1499900-1499999/1500000", res.headers["content-range"])
      res = get(base .. c, "-H 'Range: bytes=786000-'")
      assert.are.equal(206, res.status)
      assert.is_true(res.body == big:sub(786001), "open range differs")
      res = get(base .. c, "-H 'Range: bytes=0-9999999'")
      assert.are.equal(206, res.status)
      assert.is_true(res.body == big)
    end
  end)

  it("answers 416 for a range past the end, 200 for several ranges", function()
    local res = get(base .. big_cid, "-H 'Range: bytes=1500000-'")
    assert.are.equal(416, res.status)
    assert.are.equal("bytes */1500000", res.headers["content-range"])
    res = get(base .. big_cid, "-H 'Range: bytes=0-1,5-6'")
    assert.are.equal(200, res.status)
    assert.is_true(res.body == big)
  end)

  it("answers If-None-Match with 304", function()
    local res = get(base .. big_cid, "-H 'If-None-Match: \"" .. big_cid .. "\"'")
    assert.are.equal(304, res.status)
    assert.are.equal("", res.body)
    assert.are.equal('"' .. big_cid .. '"', res.headers["etag"])
    res = get(base .. big_cid, "-H 'If-None-Match: \"QmSomethingElse\"'")
    assert.are.equal(200, res.status)
  end)

  it("answers HEAD with the headers and no body", function()
    local res = get(base .. big_cid, "-I")
    assert.are.equal(200, res.status)
    assert.are.equal("1500000", res.headers["content-length"])
    assert.are.equal('"' .. big_cid .. '"', res.headers["etag"])
    -- no body (curl -I would wait for the 1.5 MB otherwise), and the connection is still good for a GET after it
    local r = t.sh("curl -s --noproxy '*' -o /dev/null -w '%{http_code} %{size_download}\\n' -I " .. base .. big_cid
      .. " -: -s --noproxy '*' -w '%{http_code} %{size_download}\\n' -o /dev/null " .. base .. big_cid)
    assert.matches("200 0\n200 1500000\n", r.out)
  end)

  it("types files by extension, else by their first bytes", function()
    local want = {
      page = "text/html; charset=utf-8",
      pic = "image/png",
      photo = "image/jpeg",
      anim = "image/gif",
      img = "image/webp",
      paper = "application/pdf",
      vector = "image/svg+xml",
      data = "application/json",
      notes = "text/plain; charset=utf-8",
      blob = "application/octet-stream",
      ["style.css"] = "text/css; charset=utf-8",
      ["a%20b%26c.txt"] = "text/plain; charset=utf-8",
    }
    for name, ty in pairs(want) do
      local res = get(base .. site_cid .. "/docs/" .. name)
      assert.are.equal(200, res.status, name)
      assert.are.equal(ty, res.headers["content-type"], name)
    end
    assert.are.equal("spaces\n", get(base .. site_cid .. "/docs/a%20b%26c.txt").body)
  end)

  it("names downloads with ?filename= and &download=true", function()
    local res = get(base .. big_cid .. "?filename=report%20v2.pdf")
    assert.are.equal(200, res.status)
    assert.are.equal("application/pdf", res.headers["content-type"])
    assert.are.equal([[inline; filename="report v2.pdf"; filename*=UTF-8''report%20v2.pdf]],
      res.headers["content-disposition"])
    res = get(base .. big_cid .. "?filename=%E4%B8%AD.txt&download=true", "-r 0-9")
    assert.are.equal(206, res.status)
    assert.are.equal("text/plain; charset=utf-8", res.headers["content-type"])
    assert.are.equal([[attachment; filename="___.txt"; filename*=UTF-8''%E4%B8%AD.txt]],
      res.headers["content-disposition"])
    assert.are.equal(400, get(base .. big_cid .. "?filename=a%2Fb").status)
  end)

  it("redirects a directory to its slash form, lists it, serves index.html", function()
    local res = get(base .. site_cid .. "/docs")
    assert.are.equal(301, res.status)
    assert.are.equal("/ipfs/" .. site_cid .. "/docs/", res.headers["location"])
    res = get(base .. site_cid .. "/docs?x=1")
    assert.are.equal("/ipfs/" .. site_cid .. "/docs/?x=1", res.headers["location"])
    res = get(base .. site_cid .. "/docs/")
    assert.are.equal(200, res.status)
    assert.are.equal("text/html; charset=utf-8", res.headers["content-type"])
    -- names are percent-encoded by h2o_uri_escape (which keeps sub-delims such as '&'), then HTML-escaped
    assert.truthy(res.body:find('<a href="a%20b&amp;c.txt">a b&amp;c.txt</a>', 1, true), res.body)
    -- a name that looks like a scheme stays a relative path: its ':' is encoded
    assert.truthy(res.body:find('<a href="javascript%3Aalert(1)">javascript:alert(1)</a>', 1, true), res.body)
    assert.are.equal(200, get(base .. site_cid .. "/docs/javascript%3Aalert(1)").status)
    assert.truthy(res.body:find('<a href="style.css">style.css</a>', 1, true))
    local notes = add(dir .. "/site/docs/notes")
    assert.truthy(res.body:find('href="/ipfs/' .. notes .. '"', 1, true))
    assert.truthy(res.body:find('<a href="..">..</a>', 1, true))
    -- following the link from the listing
    assert.are.equal(200, get(base .. site_cid .. "/docs/style.css").status)
    res = get(base .. site_cid .. "/app/")
    assert.are.equal(200, res.status)
    assert.are.equal("<!doctype html><title>app</title>\n", res.body)
    assert.are.equal("text/html; charset=utf-8", res.headers["content-type"])
    -- the root lists its two folders
    res = get(base .. site_cid .. "/")
    assert.truthy(res.body:find('<a href="app">app</a>', 1, true))
    assert.truthy(res.body:find('<a href="docs">docs</a>', 1, true))
  end)

  it("serves one block with ?format=raw or Accept: application/vnd.ipld.raw", function()
    for _, c in ipairs({ big_cid, big_v1 }) do
      local res = get(base .. c .. "?format=raw")
      assert.are.equal(200, res.status)
      assert.are.equal("application/vnd.ipld.raw", res.headers["content-type"])
      local digest = cid_bytes(c):sub(-32)
      assert.are.equal(hex(digest), sha256_hex(res.body))
      local res2 = get(base .. c, "-H 'Accept: application/vnd.ipld.raw'")
      assert.are.equal(200, res2.status)
      assert.is_true(res.body == res2.body)
    end
    -- a block under a path
    local res = get(base .. site_cid .. "/docs/notes?format=raw")
    assert.are.equal(200, res.status)
    local notes = add(dir .. "/site/docs/notes")
    assert.are.equal(hex(cid_bytes(notes):sub(-32)), sha256_hex(res.body))
  end)

  it("serves the DAG as a CAR with ?format=car, every block checked", function()
    for _, c in ipairs({ big_cid, big_v1, site_cid }) do
      local res = get(base .. c .. "?format=car")
      assert.are.equal(200, res.status)
      assert.are.equal("application/vnd.ipld.car; version=1", res.headers["content-type"])
      local roots, sections = parse_car(res.body)
      assert.are.equal(1, #roots)
      assert.are.equal(hex(cid_bytes(c)), hex(roots[1]))
      assert.are.equal(hex(roots[1]), hex(sections[1].cid)) -- pre-order: the root first
      local seen = {}
      for _, s in ipairs(sections) do
        assert.are.equal(hex(s.digest), sha256_hex(s.block))
        assert.is_nil(seen[s.cid], "a block came twice")
        seen[s.cid] = true
      end
      if c ~= site_cid then
        assert.are.equal(7, #sections) -- the root and six 256 KiB chunks
        local data = {}
        for i = 2, #sections do data[#data + 1] = sections[i].block end
        if c == big_v1 then -- raw leaves: the leaves are the file
          assert.is_true(table.concat(data) == big)
        end
      end
    end
    local res = get(base .. site_cid .. "/docs", "-H 'Accept: application/vnd.ipld.car'")
    assert.are.equal(200, res.status)
    local roots, sections = parse_car(res.body)
    assert.are.equal(hex(roots[1]), hex(sections[1].cid))
    assert.are.equal(14, #sections) -- the folder and its 13 files
  end)

  it("serves HAMT-sharded directories", function()
    local data = os.getenv("TEST_DATA") or "../unit/data"
    local r = t.sh(t.quote(os.getenv("CAR_PUT") or "../../build/tests/car_put") .. " "
      .. t.quote(node.home .. "/data") .. " " .. t.quote(data .. "/hamt.car"))
    assert.are.equal(0, r.code, r.err)
    local hamt = r.out:gsub("%s+$", "")
    local want = {}
    for c, name in t.slurp(data .. "/hamt.txt"):gmatch("(%w+) dir/([^\n]+)") do want[name] = c end
    local res = get(base .. hamt .. "/file-042.txt")
    assert.are.equal(200, res.status)
    assert.are.equal("content of file-042.txt\n", res.body)
    assert.are.equal('"' .. want["file-042.txt"] .. '"', res.headers["etag"])
    assert.are.equal(404, get(base .. hamt .. "/file-999.txt").status)
    assert.are.equal(301, get(base .. hamt).status)
    res = get(base .. hamt .. "/") -- its index.html
    assert.are.equal("<!doctype html><p>sharded</p>\n", res.body)
    -- the CAR has every shard and file once
    local roots, sections = parse_car(get(base .. hamt .. "?format=car").body)
    assert.are.equal(hex(cid_bytes(hamt)), hex(roots[1]))
    assert.are.equal(69, #sections)
  end)

  it("never serves the bytes of a corrupted block", function()
    t.sh("head -c 1200000 /dev/urandom > " .. dir .. "/victim.bin")
    local victim = t.slurp(dir .. "/victim.bin")
    local c = add("--cid-version", "1", dir .. "/victim.bin") -- raw leaves
    local _, sections = parse_car(get(base .. c .. "?format=car").body)
    assert.are.equal(1 + 5, #sections)
    local function tamper(section)
      local r = t.sh(t.quote(os.getenv("BLOCK_TAMPER") or "../../build/tests/block_tamper") .. " "
        .. t.quote(node.home .. "/data") .. " " .. hex(section.cid))
      assert.are.equal(0, r.code, r.err)
    end
    tamper(sections[4]) -- the third leaf: bytes 524288 to 786431
    -- the headers went out before it was reached: the response is cut short
    local out = dir .. "/cut.bin"
    local r = t.sh("curl -s --noproxy '*' -o " .. out .. " -w '%{http_code}' " .. base .. c)
    assert.are.equal("200", r.out)
    assert.are_not.equal(0, r.code) -- curl: transfer closed with bytes remaining
    local body = t.slurp(out) or ""
    assert.is_true(#body <= 524288, "sent " .. #body .. " bytes")
    assert.is_true(body == victim:sub(1, #body), "the bytes sent differ")
    r = t.sh("curl -s --noproxy '*' -o " .. out .. " " .. base .. c .. "?format=car")
    assert.are_not.equal(0, r.code)
    -- reads that start in it get 502 and the reason
    local res = get(base .. c, "-H 'Range: bytes=600000-600010'")
    assert.are.equal(502, res.status)
    assert.matches("^502 block %w+ is corrupted: its bytes hash to something else\n$", res.body)
    assert.are.equal(502, get(base .. c, "-H 'Range: bytes=524288-'").status)
    res = get(base .. c, "-H 'Range: bytes=0-100'") -- the good leaves still read
    assert.are.equal(206, res.status)
    assert.are.equal(victim:sub(1, 101), res.body)
    -- the first leaf: caught before the headers
    tamper(sections[2])
    res = get(base .. c)
    assert.are.equal(502, res.status)
    assert.matches("is corrupted", res.body)
  end)

  it("answers errors with a status and one line", function()
    local res = get(base .. "not-a-cid")
    assert.are.equal(400, res.status)
    assert.matches("^400 invalid CID 'not%-a%-cid'[^\n]*\n$", res.body)
    res = get(base .. "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    assert.are.equal(404, res.status)
    assert.matches("^404 [^\n]*not found[^\n]*\n$", res.body)
    res = get(base .. site_cid .. "/docs/missing")
    assert.are.equal(404, res.status)
    assert.matches("^404 no link named 'missing'", res.body)
    res = get(base .. big_cid .. "/inside")
    assert.are.equal(404, res.status)
    res = get(base .. big_cid .. "?format=zip")
    assert.are.equal(400, res.status)
    res = get(base .. big_cid, "-X POST")
    assert.are.equal(405, res.status)
    assert.are.equal(400, get(node.url .. "/ipfs/").status)
  end)
end)
