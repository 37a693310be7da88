-- Proofs a real node makes (`leither org proof`, GET /api/v0/org/proof),
-- checked by the verifiers a third party would use: the Lua library
-- (lua/leither/ledger.lua) and the browser SDK (sdk/js/leither.js, run by
-- node). An org is made, a user applies and is approved, tokens are issued
-- and paid; every account, and one that never existed, is proved at every
-- pulse, and no proof holds under another pulse's root.
local t = require("helpers")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local src = t.sh("realpath " .. t.quote(here .. "/../..")).out:gsub("%s+$", "")
package.path = src .. "/lua/?.lua;" .. package.path
local ledger = require("leither.ledger")
local NULL = require("dkjson").null

-- Runs every check of checks ({proof, root, key, value}: the API's text
-- forms) through the JS SDK's smtProofCheck and ledgerAccountDecode; returns
-- an array of {check = "" or the reason, account = {role, balance, nonce} or nil}.
local function js_checks(dir, checks)
  local script = dir .. "/check.mjs"
  t.write(script, ([[
import { readFileSync } from "node:fs";
import { smtProofCheck, ledgerAccountDecode, b64url } from %q;
const checks = JSON.parse(readFileSync(0, "utf8"));
const out = checks.map((c) => {
  const value = c.value === null ? null : b64url.decode(c.value);
  const account = value && ledgerAccountDecode(value);
  return {
    check: smtProofCheck(c.proof, c.root, c.key, value),
    account: account ? { role: account.role, balance: String(account.balance), nonce: String(account.nonce) } : null,
  };
});
console.log(JSON.stringify(out));
]]):format("file://" .. src .. "/sdk/js/leither.js"))
  local input = dir .. "/checks.json"
  t.write(input, require("dkjson").encode(checks))
  local r = t.sh("node " .. t.quote(script) .. " < " .. t.quote(input))
  assert.are.equal(0, r.code, r.err)
  return t.decode(r.out)
end

-- An app whose server checks proofs with require("leither.ledger") in the
-- node's sandbox, where the library hashes with leither.crypto.blake2b:
-- POST /check [{proof, root, key, value}] -> ["" or the reason...].
local CHECKER = [[
local ledger = require("leither.ledger")
app.post("/check", function(req)
  local out = {}
  for i, c in ipairs(req:json()) do
    local value = c.value
    if value == leither.json.null then value = nil else value = assert(ledger.b64url_decode(value)) end
    local ok, why = ledger.check_proof(c.proof, c.root, c.key, value)
    out[i] = ok and "" or why
  end
  return out
end)
]]

describe("org proofs checked by the Lua and JS verifiers", function()
  local node, dir
  local cli = t.cli_in(function() return node.home end)

  setup(function()
    node = t.start_node()
    dir = t.tmpdir()
  end)

  teardown(function()
    if node then t.stop_node(node) end
    if dir then t.rmtree(dir) end
  end)

  local function genkey(name)
    local file = dir .. "/" .. name .. ".key"
    return file, t.decode(t.ok(t.leither("lpki", "genkey", "-o", file, "--json"))).ID
  end

  it("holds for present and absent accounts at every pulse, and under no other pulse's root", function()
    local created = t.decode(t.ok(cli("org", "create", "Proof Co", "--json")))
    local org, boss = created.Org, created.Supervisor
    assert.are.equal(node.id, boss)
    local alice_key, alice = genkey("alice")
    local bob_key, bob = genkey("bob")
    local _, nobody = genkey("nobody") -- never applies: absent at every pulse

    -- the pulses the ledger went through, and what each account is after each
    local pulses = { created.Pulse }
    local function step(r)
      local doc = t.decode(t.ok(r))
      assert.is_true(doc.Pulse > pulses[#pulses])
      pulses[#pulses + 1] = doc.Pulse
      return doc
    end
    step(cli("org", "apply", org, "-k", alice_key, "--note", "hello", "--json"))
    step(cli("org", "apply", org, "-k", bob_key, "--json"))
    step(cli("org", "approve", org, alice, "--json"))
    step(cli("org", "issue", org, alice, "1000", "--reason", "founding grant", "--json"))
    local offer = t.decode(t.ok(cli("org", "pay", org, bob, "250", "-k", alice_key, "--memo", "rent", "--json"))).Offer
    local accepted = step(cli("org", "accept", org, offer, "-k", bob_key, "--json"))

    -- the payee's proof `org accept` printed holds under the pulse's root
    assert.are.equal(accepted.Pulse, accepted.Proof.Pulse)
    assert.is_true(ledger.check_proof(accepted.Proof.Proof, accepted.Root, bob,
      assert(ledger.b64url_decode(accepted.Proof.Value))))

    -- every account (and nobody) at every pulse: {pulse, id, proof doc}
    local roots, proofs = {}, {}
    for _, pulse in ipairs(pulses) do
      roots[pulse] = t.decode(t.ok(cli("org", "root", org, "--pulse", tostring(pulse), "--json"))).Root
      for _, id in ipairs({ boss, alice, bob, nobody }) do
        local p = t.decode(t.ok(cli("org", "proof", org, id, "--pulse", tostring(pulse), "--json")))
        assert.are.equal(pulse, p.Pulse)
        assert.are.equal(roots[pulse], p.Root)
        assert.are.equal(id, p.ID)
        proofs[#proofs + 1] = { pulse = pulse, id = id, doc = p }
      end
    end
    -- the roots all differ: each pulse changed the state
    for i = 2, #pulses do assert.are_not.equal(roots[pulses[i - 1]], roots[pulses[i]]) end

    local want_kinds = { inclusion = 0, empty = 1, ["other-leaf"] = 2 }
    local checks, expect = {}, {}
    local seen_kinds = {}
    for _, p in ipairs(proofs) do
      local doc = p.doc
      local value = doc.Value and assert(ledger.b64url_decode(doc.Value)) or nil
      local where = ("pulse %d, %s"):format(p.pulse, p.id)
      -- Lua: the proof holds under its pulse's root; its kind is what the API says
      local ok, why = ledger.check_proof(doc.Proof, doc.Root, p.id, value)
      assert.is_true(ok, where .. ": " .. tostring(why))
      local decoded = assert(ledger.decode_proof(doc.Proof))
      assert.are.equal(want_kinds[doc.Kind], decoded.kind, where)
      seen_kinds[doc.Kind] = true
      assert.are.equal(value ~= nil, doc.Kind == "inclusion", where)
      if value then
        local account = assert(ledger.decode_account(value))
        assert.are.equal(doc.Account.Balance, account.balance, where)
        assert.are.equal(doc.Account.Nonce, account.nonce, where)
      end
      checks[#checks + 1] = { proof = doc.Proof, root = doc.Root, key = p.id, value = doc.Value or NULL }
      expect[#expect + 1] = { holds = true, where = where, value = value }
      -- under every other pulse's root it does not hold (Lua and JS)
      for _, other in ipairs(pulses) do
        if other ~= p.pulse then
          local held, reason = ledger.check_proof(doc.Proof, roots[other], p.id, value)
          assert.is_nil(held, where .. " under the root of pulse " .. other)
          assert.are.equal("the proof does not lead to the root", reason)
          checks[#checks + 1] = { proof = doc.Proof, root = roots[other], key = p.id, value = doc.Value or NULL }
          expect[#expect + 1] = { holds = false, where = where .. " under the root of pulse " .. other }
        end
      end
      -- nor for another value, nor as the opposite claim
      if value then
        assert.is_nil(ledger.check_proof(doc.Proof, doc.Root, p.id, value:sub(1, 16) .. "\255"))
        assert.is_nil(ledger.check_proof(doc.Proof, doc.Root, p.id, nil))
      else
        assert.is_nil(ledger.check_proof(doc.Proof, doc.Root, p.id, ledger.b64url_decode("AwAAAAAAAAAAAAAAAAAAAAAA")))
      end
    end
    -- absence of both kinds shows up somewhere: nobody among 1..3 accounts
    assert.is_true(seen_kinds.inclusion and (seen_kinds.empty or seen_kinds["other-leaf"]))

    -- what the accounts hold at the end: the issue and the transfer
    local last = pulses[#pulses]
    local function account_at(pulse, id)
      for _, p in ipairs(proofs) do
        if p.pulse == pulse and p.id == id then
          return p.doc.Value and ledger.decode_account(ledger.b64url_decode(p.doc.Value))
        end
      end
    end
    assert.same({ role = 2, role_name = "member", balance = "750", nonce = "1" }, account_at(last, alice))
    assert.same({ role = 1, role_name = "guest", balance = "250", nonce = "0" }, account_at(last, bob))
    assert.same({ role = 3, role_name = "supervisor", balance = "0", nonce = "0" }, account_at(last, boss))
    assert.is_nil(account_at(last, nobody))
    assert.is_nil(account_at(pulses[1], alice)) -- before alice applied

    -- an app in the node's sandbox agrees on every check
    t.sh("mkdir -p " .. t.quote(dir .. "/checker/server"))
    t.write(dir .. "/checker/manifest.json", '{"name": "checker", "database": false}')
    t.write(dir .. "/checker/server/main.lua", CHECKER)
    local app_id = t.decode(t.ok(cli("lapp", "uploadapp", "-i", "checker", "-d", dir, "--json"))).AppId
    t.write(dir .. "/checks.json", require("dkjson").encode(checks))
    local r = t.curl(node.url .. "/tpt/" .. app_id .. "/check",
      "-X POST -H 'Content-Type: application/json' --data-binary @" .. t.quote(dir .. "/checks.json"))
    assert.are.equal(200, r.status, r.body)
    local sandboxed = t.decode(r.body)
    assert.are.equal(#checks, #sandboxed)
    for i, why in ipairs(sandboxed) do
      assert.are.equal(expect[i].holds and "" or "the proof does not lead to the root", why, expect[i].where)
    end

    -- the JS SDK agrees on every check, and reads the same accounts
    local results = js_checks(dir, checks)
    assert.are.equal(#checks, #results)
    for i, r in ipairs(results) do
      if expect[i].holds then
        assert.are.equal("", r.check, expect[i].where)
        if expect[i].value then
          local account = ledger.decode_account(expect[i].value)
          assert.same({ role = account.role, balance = account.balance, nonce = account.nonce }, r.account)
        end
      else
        assert.are.equal("the proof does not lead to the root", r.check, expect[i].where)
      end
    end
  end)
end)
