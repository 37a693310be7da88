-- Determinism: the same transactions on two fresh nodes give the same state
-- root at every pulse. The orgs' own keys differ (each node makes one), but
-- the state tree holds only accounts, so the same supervisor key and the
-- same users, each step submitted and waited final on both nodes before the
-- next (so that the pulses' batches match), must give equal roots.
local t = require("helpers")

describe("org ledgers on two nodes", function()
  local nodes, dir = {}, nil
  local keys, ids = {}, {}

  -- Runs leither on both nodes at once, args_of(i) giving node i's
  -- arguments (as who: a key file); returns both results.
  local function both(who, args_of)
    local script, files = {}, {}
    for i, node in ipairs(nodes) do
      local parts = { t.quote(t.bin) }
      for _, a in ipairs(args_of(i)) do parts[#parts + 1] = t.quote(a) end
      parts[#parts + 1] = "--home " .. t.quote(node.home) .. " -k " .. t.quote(keys[who])
      local f = { out = os.tmpname(), err = os.tmpname(), code = os.tmpname() }
      files[i] = f
      script[#script + 1] = "(" .. table.concat(parts, " ") .. " >" .. f.out .. " 2>" .. f.err .. "; echo $? >"
        .. f.code .. ") &"
    end
    t.sh(table.concat(script, " ") .. " wait")
    local res = {}
    for i, f in ipairs(files) do
      res[i] = { out = t.slurp(f.out), err = t.slurp(f.err), code = tonumber(t.slurp(f.code)) }
      assert.are.equal(0, res[i].code, res[i].err)
      os.remove(f.out); os.remove(f.err); os.remove(f.code)
    end
    return res
  end

  setup(function()
    dir = t.tmpdir()
    for _, who in ipairs({ "super", "alice", "bob" }) do
      keys[who] = dir .. "/" .. who .. ".key"
      ids[who] = t.decode(t.ok(t.leither("lpki", "genkey", "-o", keys[who], "--json"))).ID
    end
    for i = 1, 2 do
      nodes[i] = t.start_node()
      -- the supervisor's key may create orgs on both nodes
      t.ok(t.leither("lpki", "grant", ids.super, "--home", nodes[i].home))
    end
  end)

  teardown(function()
    for _, node in ipairs(nodes) do t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  it("gives the same root at every pulse", function()
    local orgs = {}
    for i, r in ipairs(both("super", function() return { "org", "create", "Twins", "--json" } end)) do
      orgs[i] = t.decode(r.out).Org
    end
    assert.are_not.equal(orgs[1], orgs[2])
    local function step(who, ...)
      local args = { ... }
      return both(who, function(i)
        local a = { "org", args[1], orgs[i] }
        for k = 2, #args do a[#a + 1] = args[k] end
        return a
      end)
    end
    local function transfer(from, to, amount, memo)
      local offers = step(from, "pay", ids[to], amount, "--memo", memo)
      both(to, function(i) return { "org", "accept", orgs[i], (offers[i].out:gsub("\n$", "")) } end)
    end
    step("alice", "apply", "--note", "hello")
    step("bob", "apply")
    step("super", "approve", ids.alice)
    step("super", "approve", ids.bob)
    step("super", "issue", ids.alice, "500", "--reason", "seed money")
    transfer("alice", "bob", "120", "rent")
    transfer("bob", "alice", "20", "change")
    step("super", "role", ids.bob, "guest")
    step("super", "issue", ids.bob, "7", "--reason", "a tip")

    local newest = step("super", "root", "--json")
    local last = t.decode(newest[1].out).Pulse
    assert.are.equal(last, t.decode(newest[2].out).Pulse)
    assert.is_true(last >= 10)
    local seen = {}
    for p = 1, last do
      local r = step("super", "root", "--pulse", tostring(p), "--json")
      local a, b = t.decode(r[1].out), t.decode(r[2].out)
      assert.are.equal(a.Root, b.Root, "pulse " .. p)
      assert.is_nil(seen[a.Root], "pulse " .. p .. " repeats a root: the state changed in every pulse")
      seen[a.Root] = true
    end
    local accounts = step("super", "accounts")
    assert.are.equal(accounts[1].out, accounts[2].out)
    step("super", "verify")
  end)
end)
