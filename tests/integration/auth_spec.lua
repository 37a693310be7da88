-- API writes: signed by the owner or a granted key, once, unaltered.
local t = require("helpers")

describe("API write authorization", function()
  local node, dir, other_key, other_id
  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    other_key = dir .. "/other.key"
    local r = t.leither("lpki", "genkey", "-o", other_key, "--json")
    assert.are.equal(0, r.code, r.err)
    other_id = t.decode(r.out).ID
  end)
  teardown(function()
    t.stop_node(node)
    t.rmtree(dir)
  end)

  local function post(path, header)
    local extra = "-X POST"
    if header then extra = extra .. " -H " .. t.quote("Authorization: " .. header) end
    return t.curl(node.url .. path, extra)
  end

  local function authorize(method, path, key)
    local args = { "lpki", "authorize", method, path, "--home", node.home }
    if key then args[#args + 1] = "-k"; args[#args + 1] = key end
    local r = t.leither(table.unpack(args))
    assert.are.equal(0, r.code, r.err)
    return (r.out:gsub("\n$", ""))
  end

  it("refuses an unsigned write with 401 and a JSON error", function()
    local res = post("/api/v0/shutdown")
    assert.are.equal(401, res.status)
    local doc = t.decode(res.body)
    assert.are.equal("error", doc.Type)
    assert.matches("signed Authorization", doc.Message)
    assert.are.equal(405, t.curl(node.url .. "/api/v0/shutdown").status) -- a GET never changes state
  end)

  it("refuses bad signatures and altered requests", function()
    local h = authorize("POST", "/api/v0/lpki/grant?arg=" .. other_id)
    local res = post("/api/v0/lpki/revoke?arg=" .. other_id, h) -- signed for another path
    assert.are.equal(401, res.status)
    assert.are.equal("bad signature", t.decode(res.body).Message)
    res = post("/api/v0/lpki/grant?arg=" .. other_id, h:gsub("sig=(.)", function(c)
      return "sig=" .. (c == "A" and "B" or "A")
    end))
    assert.are.equal(401, res.status)
    res = post("/api/v0/lpki/grant?arg=" .. other_id, "Leither key=x,ts=1,sig=y")
    assert.are.equal(401, res.status)
  end)

  it("accepts a signature once: a replay gets 401", function()
    local path = "/api/v0/lpki/revoke?arg=" .. other_id
    local h = authorize("POST", path)
    assert.are.equal(200, post(path, h).status)
    local res = post(path, h)
    assert.are.equal(401, res.status)
    assert.matches("replayed", t.decode(res.body).Message)
  end)

  it("refuses a key the owner has not granted, then accepts it once granted", function()
    local r = t.leither("lpki", "grant", other_id, "--home", node.home, "-k", other_key)
    assert.are.equal(1, r.code)
    assert.matches("neither the node owner nor granted", r.err)
    r = t.leither("lpki", "revoke", other_id, "--home", node.home) -- the owner may
    assert.are.equal(0, r.code, r.err)

    r = t.leither("lpki", "grant", other_id, "--home", node.home, "--json")
    assert.are.equal(0, r.code, r.err)
    assert.are.same({ other_id }, t.decode(r.out).Grants)
    local settings = t.decode(t.slurp(node.home .. "/SystemVars.json"))
    assert.are.same({ other_id }, settings.grants) -- kept across restarts
    -- the granted key may now sign writes, up to stopping the node
    r = t.leither("stop", "--home", node.home, "-k", other_key)
    assert.are.equal(0, r.code, r.err)
    assert.is_false(t.alive(node.pid))
  end)
end)
