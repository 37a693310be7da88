-- The systemd unit (issue 12, "Operators"): `leither service install -o`
-- writes a unit that systemd-analyze verify accepts, naming this binary,
-- the home and its owner, writable only there; its ExecStart runs the node.
-- Nothing is installed into the running system: every install here has -o.
local t = require("helpers")
local json = require("dkjson")

-- The unit's "Key=value" lines (the last one wins).
local function fields(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local k, v = line:match("^(%w+)=(.*)$")
    if k then out[k] = v end
  end
  return out
end

local function realpath(p)
  return (t.sh("realpath " .. t.quote(p)).out:gsub("%s+$", ""))
end

describe("leither service", function()
  local home

  before_each(function()
    home = t.tmpdir()
    t.ok(t.leither("init", "--home", home, "-p", tostring(t.random_port())))
    local doc = t.decode(t.slurp(home .. "/SystemVars.json"))
    doc.db_port = t.random_port()
    t.write(home .. "/SystemVars.json", json.encode(doc))
  end)
  after_each(function()
    if t.leither("status", "--home", home).code == 0 then t.leither("stop", "--home", home) end
    t.rmtree(home)
  end)

  it("writes a unit systemd-analyze verify accepts, for this binary, home and owner", function()
    local path = home .. "/leither.service"
    local out = t.ok(t.leither("service", "install", "-o", path, "--home", home))
    assert.matches("wrote " .. path, out, 1, true)
    assert.matches("systemctl daemon-reload && systemctl enable --now leither.service", out, 1, true)
    local r = t.sh("systemd-analyze verify " .. t.quote(path))
    assert.are.same({ 0, "", "" }, { r.code, r.out, r.err })
    local text = t.slurp(path)
    local f = fields(text)
    assert.are.equal(realpath(t.bin) .. " run --home " .. home, f.ExecStart)
    assert.are.equal(t.sh("stat -c %U " .. t.quote(home)).out:gsub("%s+$", ""), f.User)
    assert.are.equal(t.sh("stat -c %G " .. t.quote(home)).out:gsub("%s+$", ""), f.Group)
    assert.are.equal("simple", f.Type)
    assert.are.equal("on-failure", f.Restart)
    assert.are.equal("strict", f.ProtectSystem)
    assert.are.equal(home, f.ReadWritePaths)
    assert.are.equal("multi-user.target", f.WantedBy)
    assert.is_nil(f.PrivateTmp) -- the home is in /tmp: a private /tmp would hide it
    assert.is_nil(f.AmbientCapabilities)
    -- `service unit` prints the same unit
    assert.are.equal(text, t.ok(t.leither("service", "unit", "--home", home)))
  end)

  it("runs the node with the unit's ExecStart", function()
    local f = fields(t.ok(t.leither("service", "unit", "--home", home, "--log-format", "json")))
    assert.matches(" run %-%-home .* %-%-log%-format json$", f.ExecStart)
    t.sh(f.ExecStart .. " > " .. t.quote(home .. "/service.out") .. " 2>&1 &")
    local status
    for _ = 1, 200 do
      status = t.leither("status", "--home", home, "--json")
      if status.code == 0 then break end
      os.execute("sleep 0.05")
    end
    assert.are.equal(0, status.code, status.err)
    t.ok(t.leither("stop", "--home", home))
    local first = (t.slurp(home .. "/service.out") or ""):match("[^\n]+")
    assert.are.equal("info", t.decode(first).level)
  end)

  it("gives a port below 1024 the capability to bind it, and nothing else", function()
    local doc = t.decode(t.slurp(home .. "/SystemVars.json"))
    doc.port = 80
    t.write(home .. "/SystemVars.json", json.encode(doc))
    local path = home .. "/low.service"
    t.ok(t.leither("service", "install", "-o", path, "--home", home))
    local f = fields(t.slurp(path))
    assert.are.equal("CAP_NET_BIND_SERVICE", f.AmbientCapabilities)
    assert.are.equal("CAP_NET_BIND_SERVICE", f.CapabilityBoundingSet)
    local r = t.sh("systemd-analyze verify " .. t.quote(path))
    assert.are.same({ 0, "", "" }, { r.code, r.out, r.err })
  end)

  it("refuses a home whose path a unit file would read differently", function()
    local odd = home .. "/a home"
    t.ok(t.leither("init", "--home", odd, "-p", tostring(t.random_port())))
    local r = t.leither("service", "unit", "--home", odd)
    assert.are.equal(1, r.code)
    assert.matches("a unit file would read differently", r.err, 1, true)
    r = t.leither("service", "unit", "--home", home, "--log-format", "yaml")
    assert.are.equal(1, r.code)
    assert.matches("--log-format is text or json, not 'yaml'", r.err, 1, true)
  end)
end)
