-- leither.org in an app's sandbox on a real node: reads agree with the
-- API, submit takes a transaction a user signed elsewhere and refuses a
-- forged one with its one-line reason, the app itself signs nothing.
local t = require("helpers")
local o = require("org_helpers")

local APP = [[
app.get("/org/:org", function(req)
  local org = req.params.org
  local id = req.query.id
  local ok, err = pcall(leither.org.root, org, 1000000)
  return {
    show = leither.org.show(org),
    account = leither.org.account(org, id) or leither.json.null,
    balance = leither.org.balance(org, id) or leither.json.null,
    proof = leither.org.proof(org, id),
    members = #leither.org.members(org),
    history = leither.org.history(org, id),
    pulses = #leither.org.pulses(org),
    far = err,
  }
end)
app.post("/submit", function(req)
  local r, why = leither.org.submit(req.body)
  if not r then return 400, { why = why } end
  return r
end)
]]

describe("leither.org in an app", function()
  local node, dir, org, app_id
  local cli = t.cli_in(function() return node.home end)
  local keys, ids = {}, {}

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    o.genkeys(dir, { "alice" }, keys, ids)
    org = t.decode(t.ok(cli("org", "create", "Sandboxed", "--json"))).Org
    t.sh("mkdir -p " .. t.quote(dir .. "/orgapp/server"))
    t.write(dir .. "/orgapp/manifest.json", '{"name": "orgapp", "database": false}')
    t.write(dir .. "/orgapp/server/main.lua", APP)
    app_id = t.decode(t.ok(cli("lapp", "uploadapp", "-i", "orgapp", "-d", dir, "--json"))).AppId
  end)

  teardown(function()
    if node then t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  local function sign(who, tx, alter) return o.sign(keys[who], tx, alter) end

  local function submit(bytes)
    local file = os.tmpname()
    t.write(file, bytes)
    local r = t.curl(node.url .. "/tpt/" .. app_id .. "/submit", "-X POST --data-binary @" .. t.quote(file))
    os.remove(file)
    return r.status, t.decode(r.body)
  end

  it("submits what a user signed, and refuses a forgery with its reason", function()
    local tx = { Org = org, Type = "apply", Note = "via an app", Salt = "", Expires = 600 }
    local status, doc = submit(sign("alice", tx, { Note = '"changed"' }))
    assert.are.equal(400, status)
    assert.matches("^bad signature", doc.why)
    status, doc = submit(sign("alice", tx))
    assert.are.equal(200, status, doc.why)
    assert.are.equal("queued", doc.State)
    local final = t.eventually(function()
      local r = t.curl(node.url .. "/api/v0/org/tx?org=" .. org .. "&tx=" .. doc.Tx)
      local st = t.decode(r.body)
      if st.State == "final" then return st end
    end, 15)
    assert.is_table(final)
  end)

  it("reads what the API reads", function()
    local r = t.curl(node.url .. "/tpt/" .. app_id .. "/org/" .. org .. "?id=" .. ids.alice)
    assert.are.equal(200, r.status, r.body)
    local got = t.decode(r.body)
    local api = t.decode(t.curl(node.url .. "/api/v0/org/show?org=" .. org).body)
    assert.are.equal(api.Root, got.show.Root)
    assert.are.equal(api.Pulse, got.show.Pulse)
    assert.are.equal("guest", got.account.Role)
    assert.are.equal("0", got.balance)
    assert.are.equal("inclusion", got.proof.Kind)
    assert.are.equal(2, got.members)
    assert.are.equal(1, #got.history)
    assert.are.equal("via an app", got.history[1].Note)
    assert.are.equal(api.Pulse, got.pulses)
    assert.matches("no pulse 1000000", got.far)
  end)
end)
