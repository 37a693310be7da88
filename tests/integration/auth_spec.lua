-- API writes: signed by the owner or a granted key, once, unaltered.
local t = require("helpers")

local FLOOD = os.getenv("SIGNED_FLOOD") or "../../build/tests/signed_flood"

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

  -- Finding 7a: the replay cache was a ring of 4,096 and recorded a
  -- signature before the route checked the signer, so 4,200 requests by a
  -- throwaway key pushed a used owner signature out and it replayed with 200.
  it("keeps a used signature through a flood of 4,200 others: the replay gets 401", function()
    local path = "/api/v0/lpki/grant?arg=" .. other_id
    local h = authorize("POST", path)
    assert.are.equal(200, post(path, h).status)
    local r = t.leither("lpki", "revoke", other_id, "--home", node.home)
    assert.are.equal(0, r.code, r.err)

    local throwaway = dir .. "/throwaway.key"
    assert.are.equal(0, t.leither("lpki", "genkey", "-o", throwaway).code)
    -- refused by the route (not granted) and accepted (db/exec takes any
    -- signer, so these are recorded): 2,100 of each
    local flood = t.sh(t.quote(FLOOD) .. " " .. node.port .. " " .. t.quote(throwaway) .. " 4200 "
      .. t.quote("/api/v0/lpki/grant?arg=" .. other_id) .. " /api/v0/db/exec")
    assert.are.equal(0, flood.code, flood.err)
    assert.matches("401 2100", flood.out, 1, true)

    local res = post(path, h)
    assert.are.equal(401, res.status)
    assert.matches("replayed", t.decode(res.body).Message)
    local settings = t.decode(t.slurp(node.home .. "/SystemVars.json"))
    assert.are.same({}, settings.grants or {}) -- the grant did not come back
  end)

  it("accepts a signature once on app routes and db/exec too", function()
    local r = t.leither("lapp", "new", "hello", "-d", dir)
    assert.are.equal(0, r.code, r.err)
    r = t.leither("lapp", "uploadapp", "-i", "hello", "-d", dir, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    local appid = r.out:match("appid= (%S+)")
    for _, path in ipairs({ "/tpt/" .. appid .. "/api/hello", "/api/v0/db/exec" }) do
      local method = path:find("^/tpt/") and "GET" or "POST"
      local h = authorize(method, path)
      local extra = "-X " .. method .. " -H " .. t.quote("Authorization: " .. h)
      local first = t.curl(node.url .. path, extra)
      assert.are_not.equal(401, first.status, first.body)
      local again = t.curl(node.url .. path, extra)
      assert.are.equal(401, again.status)
      assert.matches("replayed", again.body)
    end
  end)

  it("refuses a stranger's header for an owner's route, and records nothing", function()
    -- the same header, refused by the route, is refused again the same way
    -- (not as a replay): it was never recorded
    local throwaway = dir .. "/throwaway.key"
    local h = authorize("POST", "/api/v0/shutdown", throwaway)
    for _ = 1, 2 do
      local res = post("/api/v0/shutdown", h)
      assert.are.equal(401, res.status)
      assert.matches("neither the node owner nor granted", t.decode(res.body).Message)
    end
    assert.is_true(t.alive(node.pid))
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

-- Finding 7b: the replay cache lived in memory only, so a captured
-- `shutdown` replayed just after a restart stopped the node again.
describe("API signatures across a restart", function()
  local node
  setup(function() node = t.start_node() end)
  teardown(function() t.stop_node(node) end)

  it("refuses a shutdown signed before the node started", function()
    local path = "/api/v0/shutdown"
    local r = t.leither("lpki", "authorize", "POST", path, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    local h = (r.out:gsub("\n$", ""))
    local extra = "-X POST -H " .. t.quote("Authorization: " .. h)
    assert.are.equal(200, t.curl(node.url .. path, extra).status)
    for _ = 1, 100 do
      if not t.alive(node.pid) then break end
      t.sh("sleep 0.05")
    end
    assert.is_false(t.alive(node.pid))

    r = t.leither("run", "-d", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    node.pid = t.decode(t.leither("status", "--home", node.home, "--json").out).Pid
    local res = t.curl(node.url .. path, extra)
    assert.are.equal(401, res.status)
    assert.matches("before the node started", t.decode(res.body).Message)
    t.sh("sleep 0.2")
    assert.is_true(t.alive(node.pid))
    assert.are.equal(200, t.curl(node.url .. "/api/v0/id").status)
    -- a fresh signature works
    r = t.leither("lpki", "grant", node.id, "--home", node.home)
    assert.are.equal(0, r.code, r.err)
  end)

  it("refuses a shutdown signed by a clock running ahead, after the restart it caused", function()
    local path = "/api/v0/shutdown"
    local r = t.sh(t.quote(FLOOD) .. " -a 30 -H " .. node.port .. " " .. t.quote(node.home .. "/keys/node.key")
      .. " 1 " .. path)
    assert.are.equal(0, r.code, r.err)
    local extra = "-X POST -H " .. t.quote("Authorization: " .. r.out:gsub("\n$", ""))
    assert.are.equal(200, t.curl(node.url .. path, extra).status)
    for _ = 1, 100 do
      if not t.alive(node.pid) then break end
      t.sh("sleep 0.05")
    end
    assert.is_false(t.alive(node.pid))

    r = t.leither("run", "-d", "--home", node.home)
    assert.are.equal(0, r.code, r.err)
    node.pid = t.decode(t.leither("status", "--home", node.home, "--json").out).Pid
    local res = t.curl(node.url .. path, extra)
    assert.are.equal(401, res.status)
    assert.matches("before the node started", t.decode(res.body).Message)
    t.sh("sleep 0.2")
    assert.is_true(t.alive(node.pid))
    assert.are.equal("600\n", t.sh("stat -c %a " .. t.quote(node.home .. "/data/signed-until")).out)
    -- `leither stop` signs with the right time, refused for 30 s: a signal stops it
    t.sh("kill " .. tonumber(node.pid))
    for _ = 1, 100 do
      if not t.alive(node.pid) then break end
      t.sh("sleep 0.05")
    end
    assert.is_false(t.alive(node.pid))
  end)
end)
