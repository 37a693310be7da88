-- The sync fetcher (runtime/sync/fetcher.c) against real nodes: a DAG
-- moves from node A's trustless gateway into node B's blockstore, every
-- block re-hashed; providers that lie (tampered bytes), die mid-transfer,
-- stall or send too much are dropped and the next one completes from what
-- is stored. An app's server code stays out of reach until its author
-- publishes the app (sync_spec: then it is handed out as raw blocks).
local h = require("helpers")
local json = require("dkjson")

local TOOL = (os.getenv("LEITHER_BIN") and os.getenv("LEITHER_BIN"):gsub("leither$", "") or "../../build/")
  .. "tests/fetch_dag"

describe("the sync fetcher", function()
  local a, b, dir
  local liars = {}
  local function run(node, ...)
    local args = { ... }
    args[#args + 1] = "--home"
    args[#args + 1] = node.home
    return h.leither(table.unpack(args))
  end
  local function provider(id, port)
    return { ID = id, Addrs = { "/ip4/127.0.0.1/tcp/" .. port } }
  end
  -- fetch_dag ROOT from providers into B: {code=, out=, err=}
  local function fetch(root, providers)
    return h.sh(h.quote(TOOL) .. " " .. h.quote(b.home .. "/data") .. " " .. root .. " "
      .. h.quote(json.encode(providers)))
  end
  -- a lying gateway in front of A: its port
  local function liar(mode)
    local port, pid = h.start_liar(a.url, mode)
    liars[#liars + 1] = pid
    return port
  end
  -- a folder of files (random bytes: nothing shared between calls) added on A
  local function add_tree(name, big)
    local d = dir .. "/" .. name
    h.sh("mkdir -p " .. h.quote(d .. "/sub") .. " && head -c " .. big .. " /dev/urandom > " .. h.quote(d .. "/big.bin")
      .. " && head -c 1000 /dev/urandom > " .. h.quote(d .. "/sub/small.bin") .. " && echo hello " .. name .. " > "
      .. h.quote(d .. "/sub/hello.txt"))
    return h.ok(run(a, "ipfs", "add", "-r", "-Q", d)):gsub("%s+$", "")
  end
  local function car(node, root)
    local r = h.curl(node.url .. "/ipfs/" .. root .. "?format=car")
    assert.are.equal(200, r.status, r.body)
    return r.body
  end
  local function blocks_of(root) -- the number of blocks of A's DAG, from its CAR's sections
    local s = car(a, root)
    local function varint(at)
      local v, shift = 0, 0
      repeat
        local byte = s:byte(at)
        v = v | ((byte & 0x7f) << shift)
        shift, at = shift + 7, at + 1
      until byte < 0x80
      return v, at
    end
    local len, at = varint(1)
    at = at + len
    local count = 0
    while at <= #s do
      len, at = varint(at)
      at, count = at + len, count + 1
    end
    return count
  end

  setup(function()
    local settings = { listen = "127.0.0.1", threads = 1 }
    a = h.start_node({ settings = settings })
    b = h.start_node({ settings = settings })
    dir = h.tmpdir()
  end)
  teardown(function()
    for _, pid in ipairs(liars) do h.stop_liar(pid) end
    h.stop_node(a)
    h.stop_node(b)
    h.rmtree(dir)
  end)

  it("copies a DAG block by block into another node, which then serves it whole", function()
    local root = add_tree("one", 1500000)
    assert.are.equal(404, h.curl(b.url .. "/ipfs/" .. root .. "?format=raw").status)
    local r = fetch(root, { provider(a.id, a.port) })
    assert.are.equal(0, r.code, r.err)
    local blocks, bytes = r.out:match("^(%d+) (%d+)\n$")
    assert.are.equal(blocks_of(root), tonumber(blocks))
    assert.is_true(tonumber(bytes) > 1500000 and tonumber(bytes) < 1500000 * 1.01, r.out)
    -- B re-hashes each block as it serves it: the same CAR, byte for byte
    assert.are.equal(car(a, root), car(b, root))
    -- what is stored is not fetched again
    assert.are.equal("0 0\n", h.ok(fetch(root, { provider(a.id, a.port) })))
  end)

  it("drops a provider that sends tampered blocks; the next one completes", function()
    local root = add_tree("two", 600000)
    local bad = liar("tamper")
    local r = fetch(root, { provider(b.id, bad), provider(a.id, a.port) })
    assert.are.equal(0, r.code, r.err)
    assert.matches("sync: provider " .. b.id:gsub("%p", "%%%0") .. " at http://127.0.0.1:" .. bad .. " dropped: block %w+: the bytes sent do not hash to it", r.err)
    assert.are.equal(1, select(2, r.err:gsub("dropped", "")), r.err) -- once, not once a block
    assert.are.equal(car(a, root), car(b, root))
  end)

  it("continues from what is stored when a provider dies mid-transfer", function()
    local root = add_tree("three", 2000000) -- 8 chunks, a root, a folder and 3 files
    local total = blocks_of(root)
    -- alone, the dying provider leaves the DAG partly copied and the fetch failed
    local r = fetch(root, { provider(a.id, liar("die:4")) })
    assert.are.equal(1, r.code)
    assert.matches("dropped: .*transfer closed", r.err)
    assert.matches("fetch_dag: block %w+: no provider left that serves it\n$", r.err)
    assert.are.equal("4", r.out:match("^(%d+) "), r.out)
    local partial = h.curl(b.url .. "/ipfs/" .. root .. "?format=car") -- cut off where a block is missing
    assert.is_true(partial.code ~= 0 or partial.status ~= 200)
    -- a dying one then a good one: only the missing blocks move
    r = fetch(root, { provider(a.id, liar("die:0")), provider(a.id, a.port) })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(tostring(total - 4), r.out:match("^(%d+) "), r.out)
    assert.are.equal(car(a, root), car(b, root))
  end)

  it("refuses answers over the limit, and stalls, within the request's time", function()
    local root = add_tree("four", 10000)
    local big, slow = liar("oversize"), liar("slow")
    local r = fetch(root, { provider(a.id, big), provider(a.id, slow), provider(a.id, a.port) })
    assert.are.equal(0, r.code, r.err)
    assert.matches(":" .. big .. " dropped: [^\n]+ the answer is over 2097152 bytes", r.err)
    assert.matches(":" .. slow .. " dropped: [^\n]+ timed out after %d+ milliseconds", r.err)
    assert.are.equal(car(a, root), car(b, root))
    -- sync_http_get: the limit, the status, http only
    local get = function(url, max) return h.sh(h.quote(TOOL) .. " --get " .. h.quote(url) .. " " .. max) end
    r = get(a.url .. "/ipfs/" .. root .. "?format=car", 100)
    assert.matches("the answer is over 100 bytes\n$", r.err)
    r = get(a.url .. "/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw", 10000)
    assert.matches("HTTP 404: ", r.err)
    assert.are.equal(1, r.code)
    assert.matches("only http:// is fetched", get("https://127.0.0.1:" .. a.port .. "/", 100).err)
    assert.matches("only http:// is fetched", get("file:///etc/passwd", 100).err)
  end)

  it("uses the first multiaddr a request can go to", function()
    local function base(addrs) return h.sh(h.quote(TOOL) .. " --base " .. h.quote(json.encode(addrs))) end
    assert.are.equal("http://[::1]:4800\n", base({ "/ip4/0.0.0.0/tcp/1", "/ip6/fe80::1/tcp/2", "/dns4/x/tcp/3",
      "/ip4/1.2.3.4/tcp/0", "/ip4/1.2.3.4/tcp/99999", "/ip4/10.0.0.1/tcp/80/tls", "/ip6/::1/tcp/4800",
      "/ip4/127.0.0.1/tcp/1" }).out)
    assert.are.equal("http://127.0.0.1:80\n", base({ "/ip4/127.0.0.1/tcp/80/http" }).out)
    assert.are.equal(1, base({ "/ip4/127.0.0.1", 5, "/ip4/127.0.0.1/udp/5" }).code)
  end)

  it("gets no server code of an app its author did not publish, not even as raw blocks", function()
    local apps = dir .. "/apps"
    h.sh("mkdir " .. h.quote(apps))
    h.ok(run(a, "lapp", "new", "unpublished", "-d", apps))
    local up = json.decode(h.ok(run(a, "lapp", "uploadapp", "-i", "unpublished", "-d", apps, "--json")))
    local code = h.ok(run(a, "ipfs", "add", "-n", "-Q", apps .. "/unpublished/server/main.lua")):gsub("%s+$", "")
    assert.are.equal(404, h.curl(a.url .. "/ipfs/" .. code .. "?format=raw").status)
    -- the rest of the app comes; its server code does not, and the fetch says so
    local r = fetch(up.Cid, { provider(a.id, a.port) })
    assert.are.equal(1, r.code)
    assert.matches("dropped: [^\n]+HTTP 404: [^\n]+ is an app's server code: it is not served", r.err)
    assert.matches("fetch_dag: block %w+: no provider left that serves it\n$", r.err) -- the server/ folder
    assert.are.equal(200, h.curl(b.url .. "/ipfs/" .. up.Cid .. "/index.html").status)
  end)

end)
