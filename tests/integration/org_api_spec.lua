-- The org API's bounds on a real node, with curl: who may create, bodies
-- too large or not JSON, unknown orgs and pulses, limits, the cap on one
-- payer's pending offers, offers kept across a restart and expiring, and
-- a transaction handed in unsigned (its own signature is what counts).
-- Transactions are signed with org_tx (org_tx.c).
local t = require("helpers")
local o = require("org_helpers")
local json = require("dkjson")

describe("org API", function()
  local node, dir, org
  local keys, ids = {}, {}

  local function api(path, extra)
    local r = t.curl(node.url .. "/api/v0/org/" .. path, extra)
    local ok, doc = pcall(t.decode, r.body or "")
    return r.status, ok and doc or {}
  end
  -- a refusal as API clients see it: the status and one line
  local function refused(want, pattern, status, doc)
    assert.are.equal(want, status)
    assert.matches("^[^\n]+$", doc.Message)
    if pattern then assert.matches(pattern, doc.Message) end
  end

  local function post(path, body, who)
    local file = os.tmpname()
    t.write(file, body)
    local extra = "-X POST --data-binary @" .. t.quote(file)
    if who then
      local header = t.ok(t.leither("lpki", "authorize", "POST", "/api/v0/org/" .. path, file, "-k", keys[who]))
      extra = extra .. " -H " .. t.quote("Authorization: " .. header:gsub("\n$", ""))
    end
    local status, doc = api(path, extra)
    os.remove(file)
    return status, doc
  end

  local function sign(who, tx) return o.sign(keys[who], tx) end

  local function pulse()
    local _, doc = api("root?org=" .. org)
    return doc.Pulse
  end

  local function final(hash) return o.decided(node, org, hash) end

  -- submits unsigned (anyone may hand a transaction in) and waits for its pulse
  local function apply(who, tx)
    local status, doc = post("submit", sign(who, tx))
    assert.are.equal(200, status, doc.Message)
    local state = final(doc.Tx)
    assert.are.equal("final", state and state.State, state and state.Error)
    return state
  end

  local function issue(amount, to)
    return apply("owner_key", { Org = org, Type = "issue", To = ids[to or "alice"], Amount = amount, Reason = "pay",
      Salt = "", Expires = pulse() + 600 })
  end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    ids.owner_key = node.id
    keys.owner_key = node.home .. "/keys/node.key"
    o.genkeys(dir, { "alice", "bob", "carol" }, keys, ids)
  end)

  teardown(function()
    if node then t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  it("creates orgs for the node owner only", function()
    refused(401, nil, post("create", '{"Name":"Acme"}'))
    refused(401, nil, post("create", '{"Name":"Acme"}', "alice"))
    refused(400, nil, post("create", "not json", "owner_key"))
    refused(400, "Name", post("create", json.encode({ Name = string.rep("n", 200) }), "owner_key"))
    refused(413, nil, post("create", json.encode({ Name = string.rep("n", 9000) }), "owner_key"))
    local status, doc = post("create", '{"Name":"Acme"}', "owner_key")
    assert.are.equal(200, status, doc.Message)
    org = doc.Org
    assert.are.equal(1, doc.Pulse)
    assert.are.equal(node.id, doc.Supervisor)
    local _, show = api("show?org=" .. org)
    assert.are.equal("Acme", show.Name)
    assert.are.equal(1, show.Accounts)
  end)

  it("takes a transaction from anyone, refusing malformed bodies with one line", function()
    refused(405, nil, api("submit"))
    refused(413, nil, post("submit", string.rep(" ", 9000)))
    refused(400, nil, post("submit", "{"))
    refused(400, nil, post("submit", '{"Type":"apply","Type":"apply"}'))
    -- what the reason quotes of the body stays on its line
    refused(400, "unknown field", post("submit", '{"Type":"apply","bad\\nfield\\r":1}'))
    refused(400, "Amount", post("submit", sign("alice", { Org = org, Type = "issue", To = ids.alice,
      Amount = "1\n2", Reason = "r", Salt = "", Expires = 9 })))
    refused(400, "create", post("submit", sign("alice", { Org = org, Type = "create", Name = "x", MID = org, Supervisor = ids.alice, Expires = 9 })))
    refused(404, "no org", post("submit", sign("alice", { Org = ids.bob, Type = "apply", Note = "", Salt = "", Expires = 9 })))
    -- unsigned requests: the transaction's own signature decides
    apply("alice", { Org = org, Type = "apply", Note = "hello", Salt = "", Expires = pulse() + 600 })
    apply("bob", { Org = org, Type = "apply", Note = "", Salt = "", Expires = pulse() + 600 })
    issue("1000")
  end)

  it("answers reads' bad parameters with one line", function()
    refused(400, nil, api("show"))
    refused(400, nil, api("show?org=nope"))
    refused(404, nil, api("show?org=" .. ids.bob))
    refused(400, nil, api("root?org=" .. org .. "&pulse=abc"))
    refused(400, nil, api("root?org=" .. org .. "&pulse=0"))
    refused(404, "no pulse", api("root?org=" .. org .. "&pulse=" .. (pulse() + 1)))
    refused(400, nil, api("pulses?org=" .. org .. "&limit=0"))
    refused(400, nil, api("history?org=" .. org .. "&limit=5000"))
    refused(404, "no account", api("account?org=" .. org .. "&id=" .. ids.alice .. "&pulse=1"))
    refused(400, nil, api("tx?org=" .. org .. "&tx=short"))
    refused(404, nil, api("tx?org=" .. org .. "&tx=" .. string.rep("A", 43)))
    refused(404, nil, api("verify?job=999"))
    local status, pulses = api("pulses?org=" .. org .. "&limit=1")
    assert.are.equal(200, status)
    assert.are.equal(1, #pulses)
    assert.are.equal(1, pulses[1].Pulse)
    local _, newest = api("pulses?org=" .. org .. "&from=" .. pulse())
    assert.are.equal(pulse(), newest[1].Pulse)
  end)

  it("caps one payer's pending offers, keeps them across a restart, and expires them", function()
    local _, acc = api("account?org=" .. org .. "&id=" .. ids.alice)
    local expires = pulse() + 600
    for i = 1, 64 do
      local status, doc = post("submit", sign("alice", { Org = org, Type = "offer", From = ids.alice, To = ids.bob,
        Amount = "1", Nonce = acc.Nonce, Memo = "offer " .. i, Expires = expires }))
      assert.are.equal(200, status, doc.Message)
      assert.are.equal("pending", doc.State)
    end
    refused(503, "too many pending offers", post("submit", sign("alice", { Org = org, Type = "offer", From = ids.alice, To = ids.bob, Amount = "1", Nonce = acc.Nonce, Memo = "one too many", Expires = expires })))
    -- a pulse after them: they are on disk once it is final
    issue("1")
    t.ok(t.leither("stop", "--home", node.home))
    t.ok(t.leither("run", "-d", "--home", node.home))
    local _, offers = api("offers?org=" .. org .. "&id=" .. ids.bob .. "&limit=1000")
    assert.are.equal(64, #offers)
    assert.are.equal("offer", offers[1].Offer.Type)
    local _, state = api("tx?org=" .. org .. "&tx=" .. offers[1].Tx)
    assert.are.equal("pending", state.State)
  end)

  it("expires an offer once its last pulse is past", function()
    apply("carol", { Org = org, Type = "apply", Note = "", Salt = "", Expires = pulse() + 600 })
    issue("5", "carol")
    local status, doc = post("submit", sign("carol", { Org = org, Type = "offer", From = ids.carol, To = ids.bob,
      Amount = "1", Nonce = "0", Memo = "soon gone", Expires = pulse() + 1 }))
    assert.are.equal(200, status, doc.Message)
    issue("1") -- pulse + 1: the offer's last
    issue("1") -- past it
    local _, state = api("tx?org=" .. org .. "&tx=" .. doc.Tx)
    assert.are.equal("expired", state.State)
    assert.matches("^[^\n]+$", state.Error)
    local _, offers = api("offers?org=" .. org .. "&id=" .. ids.carol)
    assert.are.equal(0, #offers)
    -- and accepting it now is refused with its reason
    local accept = sign("bob", { Org = org, Type = "accept", Offer = json.decode(sign("carol", { Org = org,
      Type = "offer", From = ids.carol, To = ids.bob, Amount = "1", Nonce = "0", Memo = "soon gone",
      Expires = pulse() - 1 })), Expires = pulse() + 600 })
    refused(400, "expired", post("submit", accept))
  end)
end)

describe("org ledger_retention_pulses", function()
  local dir = t.tmpdir()

  teardown(function() t.rmtree(dir) end)

  it("is validated at start", function()
    local home = dir .. "/bad"
    t.ok(t.leither("init", "--home", home, "-p", tostring(t.random_port())))
    local path = home .. "/SystemVars.json"
    local f = io.open(path)
    local doc = json.decode(f:read("a"))
    f:close()
    doc.ledger_retention_pulses = 0
    t.write(path, json.encode(doc))
    local r = t.leither("run", "-d", "--home", home)
    assert.are_not.equal(0, r.code)
    assert.matches("ledger_retention_pulses", r.err)
  end)

  it("prunes tree versions beyond it, keeping every root", function()
    local node = t.start_node({ settings = { ledger_retention_pulses = 2 } })
    local key = dir .. "/alice.key"
    local alice = t.decode(t.ok(t.leither("lpki", "genkey", "-o", key, "--json"))).ID
    local function api(path)
      local r = t.curl(node.url .. "/api/v0/org/" .. path)
      return r.status, t.decode(r.body)
    end
    local function submit(keyfile, tx)
      local input = os.tmpname()
      t.write(input, o.sign(keyfile, tx))
      local c = t.curl(node.url .. "/api/v0/org/submit", "-X POST --data-binary @" .. t.quote(input))
      os.remove(input)
      local doc = t.decode(c.body)
      assert.are.equal(200, c.status, doc.Message)
      return t.eventually(function()
        local _, st = api("tx?org=" .. tx.Org .. "&tx=" .. doc.Tx)
        if st.State == "final" then return st end
      end, 15)
    end
    local org = t.decode(t.ok(t.leither("org", "create", "Pruned", "--json", "--home", node.home))).Org
    submit(key, { Org = org, Type = "apply", Note = "", Salt = "", Expires = 600 })
    local last
    for i = 1, 4 do
      last = submit(node.home .. "/keys/node.key", { Org = org, Type = "issue", To = alice, Amount = tostring(i),
        Reason = "round " .. i, Salt = "", Expires = 600 })
    end
    assert.are.equal(6, last.Pulse)
    -- the newest 2 pulses are kept; an older one, not a checkpoint: pruned, and said so
    local status, doc = api("account?org=" .. org .. "&id=" .. alice .. "&pulse=2")
    assert.are.equal(410, status)
    assert.matches("pruned", doc.Message)
    status, doc = api("proof?org=" .. org .. "&id=" .. alice .. "&pulse=2")
    assert.are.equal(410, status)
    -- within it: readable and provable
    status = api("account?org=" .. org .. "&id=" .. alice .. "&pulse=4")
    assert.are.equal(410, status)
    status, doc = api("account?org=" .. org .. "&id=" .. alice .. "&pulse=5")
    assert.are.equal(200, status, doc.Message)
    assert.are.equal("6", doc.Balance)
    status, doc = api("proof?org=" .. org .. "&id=" .. alice .. "&pulse=5")
    assert.are.equal(200, status, doc.Message)
    assert.are.equal("inclusion", doc.Kind)
    -- every root is kept, and the log still replays
    status, doc = api("root?org=" .. org .. "&pulse=2")
    assert.are.equal(200, status)
    assert.is_string(doc.Root)
    local v = t.ok(t.leither("org", "verify", org, "--home", node.home))
    assert.matches("^ok", v)
    t.stop_node(node)
  end)
end)
