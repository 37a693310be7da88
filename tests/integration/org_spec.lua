-- Organizations and their ledgers through the `leither org` commands, on a
-- real node: members, issues with reasons, two-signature transfers,
-- balances and roots by pulse, proofs, verify; then every kind of bad
-- input, each refused with one line and nothing changed; then the same
-- transactions on two fresh nodes giving the same root at every pulse.
-- Transactions the CLI never makes (forged, replayed, expired) come from
-- org_tx (org_tx.c): signed with ledger.h's formats, then altered.
local t = require("helpers")
local o = require("org_helpers")
local json = require("dkjson")

local U64_MAX = "18446744073709551615"

-- A CLI failure as users see it: exit 1 and one line "leither: reason".
local function refused(r, pattern)
  assert.are_not.equal(0, r.code, "accepted: " .. tostring(r.out))
  assert.matches("^leither: [^\n]+\n$", r.err)
  if pattern then assert.matches(pattern, r.err) end
  return r.err
end

describe("org", function()
  local node, dir, org
  local keys, ids = {}, {}

  -- leither as who (a key file, or the node key for "owner") on the node
  local as = o.as_in(function() return node end, keys)
  local function ok(r) return t.ok(r) end
  local function js(r) return t.decode(ok(r)) end

  -- The ledger as a whole: its pulse, root and every account.
  local function snapshot()
    local root = js(as("owner", "org", "root", org, "--json"))
    local accounts = js(as("owner", "org", "accounts", org, "--json"))
    table.sort(accounts, function(a, b) return a.ID < b.ID end)
    return { pulse = root.Pulse, root = root.Root, accounts = json.encode(accounts) }
  end
  local function unchanged(before)
    local now = snapshot()
    assert.are.equal(before.root, now.root)
    assert.are.equal(before.pulse, now.pulse)
    assert.are.equal(before.accounts, now.accounts)
  end

  local function balance(who, pulse)
    local args = { "org", "balance", org, ids[who] }
    if pulse then args[#args + 1] = "--pulse"; args[#args + 1] = tostring(pulse) end
    return (ok(as("owner", table.unpack(args))):gsub("\n$", ""))
  end
  local function account(who) return js(as("owner", "org", "balance", org, ids[who], "--json")) end

  -- org_tx sign: tx (a table) signed by who's key, then fields altered
  -- (name = JSON text); returns the transaction's bytes.
  local function sign(who, tx, alter) return o.sign(keys[who], tx, alter) end
  local function hash_of(bytes)
    local input = os.tmpname()
    t.write(input, bytes)
    local r = t.sh(t.quote(o.ORG_TX) .. " hash < " .. t.quote(input))
    os.remove(input)
    return (r.out:gsub("\n$", ""))
  end

  -- POSTs a transaction's bytes to org/submit, signed by who (as the CLI
  -- does): {status, doc}.
  local function submit_raw(who, bytes)
    local body = os.tmpname()
    t.write(body, bytes)
    local header = ok(t.leither("lpki", "authorize", "POST", "/api/v0/org/submit", body, "-k", keys[who]))
    local r = t.curl(node.url .. "/api/v0/org/submit", "-X POST --data-binary @" .. t.quote(body)
      .. " -H " .. t.quote("Authorization: " .. header:gsub("\n$", "")))
    os.remove(body)
    return r.status, (r.body and r.body ~= "") and t.decode(r.body) or {}
  end

  -- The state of a submitted transaction once the node has decided.
  local function decided(hash) return o.decided(node, org, hash) end

  -- A raw transaction the node must refuse, at submit or when its pulse
  -- comes: one line of reason either way.
  local function refused_raw(who, bytes)
    local status, doc = submit_raw(who, bytes)
    if status ~= 200 then
      assert.matches("^[^\n]+$", doc.Message)
      return doc.Message
    end
    if doc.State == "pending" then return nil end -- an offer: refused (or not) when accepted
    local state = decided(doc.Tx)
    assert.is_table(state, "transaction " .. tostring(doc.Tx) .. " never decided")
    assert.are_not.equal("final", state.State)
    assert.matches("^[^\n]+$", state.Error)
    return state.Error
  end

  local function current_pulse() return js(as("owner", "org", "root", org, "--json")).Pulse end

  -- An offer as the CLI makes it, but with our own fields (nonce, expiry).
  local function offer(from, to, amount, fields)
    local tx = { Org = org, Type = "offer", From = ids[from], To = ids[to], Amount = amount,
      Nonce = account(from).Nonce, Memo = "", Expires = current_pulse() + 600 }
    for k, v in pairs(fields or {}) do tx[k] = v end
    return tx
  end
  local function accept_of(offer_bytes, fields)
    local tx = { Org = org, Type = "accept", Offer = json.decode(offer_bytes), Expires = current_pulse() + 600 }
    for k, v in pairs(fields or {}) do tx[k] = v end
    return tx
  end

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
    ids.owner, ids.owner_key = node.id, node.id
    keys.owner_key = node.home .. "/keys/node.key"
    o.genkeys(dir, { "alice", "bob", "carol", "dave", "mallory" }, keys, ids)
  end)

  teardown(function()
    if node then t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  it("creates an organization whose supervisor is the signer, its key in the home", function()
    local r = as("owner", "org", "create", "Acme")
    org = ok(r):match("org ([%w_%-]+)")
    assert.are.equal(27, #org)
    assert.truthy(t.exists(node.home .. "/keys/org-" .. org .. ".key"))
    local show = js(as("owner", "org", "show", org, "--json"))
    assert.are.equal("Acme", show.Name)
    assert.are.equal(ids.owner, show.Supervisor)
    assert.are.equal(1, show.Pulse)
    local members = js(as("owner", "org", "members", org, "--json"))
    assert.are.same({ { ID = ids.owner, Role = "supervisor" } }, members)
    assert.matches("^" .. ids.owner:gsub("%-", "%%-") .. " supervisor\n$", ok(as("owner", "org", "members", org)))
  end)

  it("makes applicants guests and approved guests members", function()
    local r = as("alice", "org", "apply", org, "--note", "I bake bread")
    assert.matches("^tx [%w_%-]+\npulse %d+\nroot [%w_%-]+\n$", ok(r))
    ok(as("bob", "org", "apply", org))
    ok(as("carol", "org", "apply", org, "--note", "just looking"))
    local roles = {}
    for _, m in ipairs(js(as("owner", "org", "members", org, "--json"))) do roles[m.ID] = m.Role end
    assert.are.equal("guest", roles[ids.alice])
    assert.are.equal("guest", roles[ids.carol])
    ok(as("owner", "org", "approve", org, ids.alice))
    ok(as("owner", "org", "approve", org, ids.bob))
    refused(as("owner", "org", "approve", org, ids.alice), "not a guest")
    refused(as("alice", "org", "apply", org)) -- has an account already
    ok(as("owner", "org", "role", org, ids.bob, "guest"))
    assert.are.equal("guest", account("bob").Role)
    ok(as("owner", "org", "role", org, ids.bob, "member"))
    refused(as("owner", "org", "role", org, ids.bob, "supervisor"), "guest or member")
    roles = {}
    for _, m in ipairs(js(as("owner", "org", "members", org, "--json"))) do roles[m.ID] = m.Role end
    assert.are.same({ [ids.owner] = "supervisor", [ids.alice] = "member", [ids.bob] = "member",
      [ids.carol] = "guest" }, roles)
  end)

  it("shows how many accounts and members the org has", function()
    local accounts = js(as("owner", "org", "accounts", org, "--json"))
    local members = 0
    for _, a in ipairs(accounts) do
      if a.Role ~= "guest" then members = members + 1 end
    end
    local show = js(as("owner", "org", "show", org, "--json"))
    assert.are.equal(#accounts, show.Accounts)
    assert.are.equal(members, show.Members)
    assert.matches("\naccounts " .. #accounts .. "\nmembers " .. members .. "\n", ok(as("owner", "org", "show", org)))
  end)

  it("issues tokens with a reason every member reads in the history", function()
    refused(as("owner", "org", "issue", org, ids.alice, "1000"), "%-%-reason")
    ok(as("owner", "org", "issue", org, ids.alice, "1000", "--reason", "founding grant"))
    assert.are.equal("1000", balance("alice"))
    local hist = ok(as("owner", "org", "history", org, ids.alice))
    assert.matches("%d+ issue 1000 to " .. ids.alice:gsub("%-", "%%-") .. ": founding grant\n", hist)
    local found
    for _, e in ipairs(js(as("owner", "org", "history", org, "--json"))) do
      if e.Type == "issue" then found = e end
    end
    assert.are.equal("founding grant", found.Reason)
    assert.are.equal("1000", found.Amount)
  end)

  it("transfers with both signatures, final within 2 pulses, with balances and roots by pulse", function()
    local before = snapshot()
    local hash = ok(as("alice", "org", "pay", org, ids.bob, "250", "--memo", "lunch")):gsub("\n$", "")
    assert.matches("^[%w_%-]+$", hash)
    assert.are.equal(43, #hash)
    -- pending: nothing moved yet, and both see it
    unchanged(before)
    assert.matches(hash:gsub("%-", "%%-") .. " 250 from ", ok(as("bob", "org", "offers", org)))
    assert.matches(hash:gsub("%-", "%%-"), ok(as("alice", "org", "offers", org)))
    refused(as("carol", "org", "accept", org, hash)) -- not carol's to accept
    local out = ok(as("bob", "org", "accept", org, hash))
    local pulse, root, proof = out:match("^pulse (%d+)\nroot ([%w_%-]+)\nproof ([%w_%-]+)\n$")
    assert.truthy(pulse, out)
    pulse = tonumber(pulse)
    assert.is_true(pulse > before.pulse and pulse <= before.pulse + 2)
    assert.are_not.equal(before.root, root)
    assert.are.equal("750", balance("alice"))
    assert.are.equal("250", balance("bob"))
    assert.are.equal("1", account("alice").Nonce)
    assert.are.equal("0", account("bob").Nonce)
    -- the ledger as it was, by pulse
    assert.are.equal("1000", balance("alice", before.pulse))
    assert.are.equal("750", balance("alice", pulse))
    local then_root = js(as("owner", "org", "root", org, "--pulse", tostring(before.pulse), "--json"))
    assert.are.equal(before.root, then_root.Root)
    assert.are.equal(root, js(as("owner", "org", "root", org, "--pulse", tostring(pulse), "--json")).Root)
    local old = js(as("owner", "org", "accounts", org, "--pulse", tostring(before.pulse), "--json"))
    table.sort(old, function(a, b) return a.ID < b.ID end)
    assert.are.equal(before.accounts, json.encode(old))
    refused(as("owner", "org", "root", org, "--pulse", tostring(pulse + 1000)))
    refused(as("owner", "org", "root", org, "--pulse", "x"), "pulse number")
    -- the proof printed is bob's, in that root
    local p = js(as("owner", "org", "proof", org, ids.bob, "--pulse", tostring(pulse), "--json"))
    assert.are.equal(proof, p.Proof)
    assert.are.equal(root, p.Root)
    assert.are.equal("inclusion", p.Kind)
    assert.are.equal("250", p.Account.Balance)
    -- the history tells the transfer with its memo; the offer is gone
    assert.matches("250 from " .. ids.alice:gsub("%-", "%%-") .. " to " .. ids.bob:gsub("%-", "%%-") .. ": lunch",
      ok(as("owner", "org", "history", org, ids.bob)))
    assert.are.equal("", ok(as("bob", "org", "offers", org)))
    -- the pulses' headers chain up to the newest
    local headers = js(as("owner", "org", "pulses", org, "--json"))
    assert.are.equal(pulse, headers[#headers].Pulse)
    assert.are.equal(root, headers[#headers].Root)
    assert.are.equal(1, headers[1].Pulse)
    local from = js(as("owner", "org", "pulses", org, "--from", tostring(pulse), "--json"))
    assert.are.equal(pulse, from[1].Pulse)
  end)

  it("proves accounts present and absent", function()
    local root = snapshot().root
    local p = js(as("owner", "org", "proof", org, ids.alice, "--json"))
    assert.are.equal("inclusion", p.Kind)
    assert.are.equal(root, p.Root)
    assert.are.equal("750", p.Account.Balance)
    assert.are.equal("member", p.Account.Role)
    local none = js(as("owner", "org", "proof", org, ids.mallory, "--json"))
    assert.truthy(none.Kind == "empty" or none.Kind == "other-leaf", none.Kind)
    assert.are.equal(root, none.Root)
    assert.is_nil(none.Account) -- JSON null
    assert.is_nil(none.Value)
    local text = ok(as("owner", "org", "proof", org, ids.mallory))
    assert.matches("kind " .. none.Kind:gsub("%-", "%%-") .. "\n", text)
    refused(as("owner", "org", "balance", org, ids.mallory))
  end)

  it("refuses an overdraft", function()
    local before = snapshot()
    local r = as("bob", "org", "pay", org, ids.alice, "251") -- refused now, or when accepted
    refused(r.code == 0 and as("alice", "org", "accept", org, (r.out:gsub("\n$", ""))) or r)
    unchanged(before)
  end)

  it("refuses a replayed offer (the same nonce) and an offer accepted twice", function()
    local first = ok(as("alice", "org", "pay", org, ids.bob, "10")):gsub("\n$", "")
    local second = ok(as("alice", "org", "pay", org, ids.bob, "20")):gsub("\n$", "")
    local pending = js(as("bob", "org", "offers", org, "--json"))
    local offer_bytes = {}
    for _, e in ipairs(pending) do
      local o = e.Offer or e
      local bytes = sign("alice", o) -- re-signed by its own key: the same bytes
      offer_bytes[hash_of(bytes)] = bytes
    end
    assert.truthy(offer_bytes[first] and offer_bytes[second], "the node lists both offers")
    ok(as("bob", "org", "accept", org, first))
    local before = snapshot()
    -- the second spends the nonce the first spent
    refused(as("bob", "org", "accept", org, second))
    assert.is_string(refused_raw("bob", sign("bob", accept_of(offer_bytes[second]))))
    -- the first again: through the CLI, a new accept, and the very same bytes
    refused(as("bob", "org", "accept", org, first), "no pending offer")
    local again = sign("bob", accept_of(offer_bytes[first]))
    assert.is_string(refused_raw("bob", again))
    assert.is_string(refused_raw("bob", again))
    -- an offer re-made with the spent nonce (another amount: another hash)
    local replay = sign("alice", offer("alice", "bob", "30", { Nonce = "0" }))
    if refused_raw("alice", replay) == nil then
      assert.is_string(refused_raw("bob", sign("bob", accept_of(replay))))
    end
    unchanged(before)
    assert.are.equal("740", balance("alice"))
  end)

  it("refuses an expired offer", function()
    local p = current_pulse()
    local bytes = sign("alice", offer("alice", "bob", "5", { Expires = p + 1 }))
    local pending = refused_raw("alice", bytes) == nil
    -- two pulses pass
    ok(as("owner", "org", "issue", org, ids.carol, "1", "--reason", "time passes"))
    ok(as("owner", "org", "issue", org, ids.carol, "1", "--reason", "time passes again"))
    local before = snapshot()
    assert.is_true(before.pulse > p + 1)
    if pending then
      refused(as("bob", "org", "accept", org, hash_of(bytes)))
      assert.is_string(refused_raw("bob", sign("bob", accept_of(bytes))))
    end
    unchanged(before)
  end)

  it("refuses a forged signature of either party", function()
    local before = snapshot()
    -- the payer's: the amount raised after alice signed
    local forged = sign("alice", offer("alice", "bob", "5"), { Amount = '"500"' })
    if refused_raw("alice", forged) == nil then
      assert.is_string(refused_raw("bob", sign("bob", accept_of(forged))))
    end
    -- mallory signing as alice: her signature, alice's key and ID
    local alice_pk = json.decode(sign("alice", { Org = org })).PublicKey
    forged = sign("mallory", offer("alice", "mallory", "5"),
      { Signer = json.encode(ids.alice), PublicKey = json.encode(alice_pk) })
    if refused_raw("mallory", forged) == nil then
      assert.is_string(refused_raw("mallory", sign("mallory", accept_of(forged))))
    end
    -- the payee's: a good offer, its accept altered after bob signed, or
    -- signed by someone the offer does not pay
    local good = ok(as("alice", "org", "pay", org, ids.bob, "5")):gsub("\n$", "")
    local good_bytes
    for _, e in ipairs(js(as("bob", "org", "offers", org, "--json"))) do
      local b = sign("alice", e.Offer or e)
      if hash_of(b) == good then good_bytes = b end
    end
    assert.is_string(good_bytes)
    assert.is_string(refused_raw("bob", sign("bob", accept_of(good_bytes), { Expires = tostring(current_pulse() + 900) })))
    assert.is_string(refused_raw("mallory", sign("mallory", accept_of(good_bytes))))
    assert.is_string(refused_raw("carol", sign("carol", accept_of(good_bytes))))
    unchanged(before)
  end)

  it("refuses a non-supervisor issuing or setting roles", function()
    local before = snapshot()
    refused(as("alice", "org", "issue", org, ids.alice, "100", "--reason", "I deserve it"))
    refused(as("alice", "org", "approve", org, ids.carol))
    refused(as("alice", "org", "role", org, ids.bob, "guest"))
    unchanged(before)
  end)

  it("refuses amounts that overflow u64", function()
    local before = snapshot()
    refused(as("owner", "org", "issue", org, ids.carol, "18446744073709551616", "--reason", "too much"), "AMOUNT")
    refused(as("alice", "org", "pay", org, ids.bob, "99999999999999999999999"), "AMOUNT")
    refused(as("alice", "org", "pay", org, ids.bob, "1.5"), "AMOUNT")
    refused(as("alice", "org", "pay", org, ids.bob, "0x10"), "AMOUNT")
    local raw = { Org = org, Type = "issue", To = ids.carol, Amount = "18446744073709551616", Reason = "x", Salt = "",
      Expires = current_pulse() + 600 }
    assert.is_string(refused_raw("owner_key", sign("owner_key", raw)))
    unchanged(before)
    -- carol to the top, then one more: her balance would overflow
    -- U64_MAX minus her balance, in decimal (Lua's integers are signed)
    local top = U64_MAX:sub(1, -7) .. string.format("%06d", tonumber(U64_MAX:sub(-6)) - tonumber(balance("carol")))
    ok(as("owner", "org", "issue", org, ids.carol, top, "--reason", "to the brim"))
    assert.are.equal(U64_MAX, balance("carol"))
    before = snapshot()
    refused(as("owner", "org", "issue", org, ids.carol, "1", "--reason", "one more"))
    local r = as("alice", "org", "pay", org, ids.carol, "1") -- refused now, or when accepted
    refused(r.code == 0 and as("carol", "org", "accept", org, (r.out:gsub("\n$", ""))) or r, "overflow")
    unchanged(before)
  end)

  it("refuses a transfer to oneself", function()
    local before = snapshot()
    refused(as("alice", "org", "pay", org, ids.alice, "5"), "oneself")
    local self = sign("alice", offer("alice", "alice", "5"))
    if refused_raw("alice", self) == nil then
      assert.is_string(refused_raw("alice", sign("alice", accept_of(self))))
    end
    unchanged(before)
  end)

  it("lists the org commands in help, and reads an OFFER starting with '-' as an argument", function()
    local help = ok(t.leither("help", "org"))
    for _, c in ipairs({ "create", "apply", "approve", "role", "members", "show", "issue", "pay", "accept", "offers",
      "balance", "root", "proof", "accounts", "history", "pulses", "verify" }) do
      assert.matches("\n  org " .. c .. " ", help)
    end
    assert.matches("org accept ORG OFFER", ok(t.leither("org", "accept", "--help")))
    -- one hash in 64 starts with '-'
    refused(as("bob", "org", "accept", org, "-" .. string.rep("A", 42)), "no pending offer")
  end)

  it("verifies: the log replayed reproduces every header and root", function()
    local r = as("owner", "org", "verify", org)
    assert.matches("^ok: %d+ pulses replayed", ok(r))
    local doc = js(as("owner", "org", "verify", org, "--json"))
    assert.are.equal(current_pulse(), doc.Pulses)
    refused(as("owner", "org", "verify", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"))
    refused(as("owner", "org", "show", "not-an-org"), "not a Leither ID")
  end)
end)
