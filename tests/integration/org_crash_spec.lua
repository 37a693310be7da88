-- Crash: the node is killed with SIGKILL during a stream of transfers and
-- restarted on the same home. Every transfer the CLI reported final must
-- be there (balances and nonces add up), and `org verify` must pass.
local t = require("helpers")
local o = require("org_helpers")

local LOAD_SECONDS = 5
local FUNDS = 1000000

local function sleep(s) os.execute("sleep " .. s) end

describe("org ledger after SIGKILL", function()
  local node, dir, org
  local keys, ids = {}, {}

  local as = o.as_in(function() return node end, keys)
  local function account(who)
    return t.decode(t.ok(as("owner", "org", "balance", org, ids[who], "--json")))
  end

  -- A payer's stream in the background: pay 1, accept, and on each
  -- accept the CLI reported final one line "final PULSE" in its log;
  -- it stops at the first failure (the node gone).
  local function start_stream(payer, payee)
    local base = dir .. "/" .. payer
    local leither = t.quote(t.bin)
    local home = t.quote(node.home)
    local script = "while h=$(" .. leither .. " org pay " .. org .. " " .. ids[payee] .. " 1 --home " .. home
      .. " -k " .. t.quote(keys[payer]) .. ") && out=$(" .. leither .. " org accept " .. org .. " \"$h\" --home "
      .. home .. " -k " .. t.quote(keys[payee]) .. "); do echo \"final $h $(echo \"$out\" | head -1)\" >>"
      .. t.quote(base .. ".log") .. "; done 2>" .. t.quote(base .. ".err") .. "; echo done >"
      .. t.quote(base .. ".rc")
    assert(os.execute("sh -c " .. t.quote(script) .. " >/dev/null 2>&1 </dev/null &"))
    return base
  end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    o.genkeys(dir, { "alice", "bob", "carol", "dave" }, keys, ids)
    org = t.decode(t.ok(as("owner", "org", "create", "Crashy", "--json"))).Org
    for _, who in ipairs({ "alice", "bob", "carol", "dave" }) do t.ok(as(who, "org", "apply", org)) end
    t.ok(as("owner", "org", "issue", org, ids.alice, tostring(FUNDS), "--reason", "stream funds"))
    t.ok(as("owner", "org", "issue", org, ids.carol, tostring(FUNDS), "--reason", "stream funds"))
  end)

  teardown(function()
    if node then t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  it("keeps every transfer reported final, and verifies", function()
    local streams = { alice = start_stream("alice", "bob"), carol = start_stream("carol", "dave") }
    sleep(LOAD_SECONDS)
    for who, base in pairs(streams) do
      assert(not t.exists(base .. ".rc"), who .. "'s stream stopped before the kill: " .. tostring(t.slurp(base .. ".err")))
    end
    t.kill_node(node)
    for who, base in pairs(streams) do
      assert(t.wait_for(function() return t.exists(base .. ".rc") end, 90), who .. "'s stream did not stop")
    end
    t.restart_node(node)

    local total = 0
    for payer, payee in pairs({ alice = "bob", carol = "dave" }) do
      local reported, last_pulse = 0, 0
      for line in (t.slurp(streams[payer] .. ".log") or ""):gmatch("[^\n]+") do
        local hash, pulse = line:match("^final ([%w_%-]+) pulse (%d+)$")
        assert.truthy(hash, line)
        -- the offer itself reads as final, in the pulse the CLI printed
        local r = t.curl(node.url .. "/api/v0/org/tx?org=" .. org .. "&tx=" .. hash)
        assert.are.equal(200, r.status, r.body)
        local state = t.decode(r.body)
        assert.are.equal("final", state.State)
        assert.are.equal(tonumber(pulse), state.Pulse)
        reported = reported + 1
        last_pulse = math.max(last_pulse, tonumber(pulse))
      end
      assert.is_true(reported > 0, payer .. ": no transfer final before the kill")
      local from, to = account(payer), account(payee)
      local nonce = tonumber(from.Nonce)
      -- every reported one is there; at most the one in flight more
      assert.is_true(nonce >= reported and nonce <= reported + 1,
        payer .. ": " .. reported .. " reported final, nonce " .. nonce)
      assert.are.equal(tostring(FUNDS - nonce), from.Balance)
      assert.are.equal(tostring(nonce), to.Balance)
      local newest = t.decode(t.ok(as("owner", "org", "root", org, "--json"))).Pulse
      assert.is_true(newest >= last_pulse)
      total = total + nonce
    end
    assert.is_true(total > 0)
    assert.matches("^ok: ", t.ok(as("owner", "org", "verify", org)))
    -- and the ledger goes on
    local h = t.ok(as("alice", "org", "pay", org, ids.bob, "1")):gsub("\n$", "")
    t.ok(as("bob", "org", "accept", org, h))
    assert.matches("^ok: ", t.ok(as("owner", "org", "verify", org)))
  end)
end)
