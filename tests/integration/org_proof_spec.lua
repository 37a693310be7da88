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

-- Runs, in the JS SDK: every check of checks ({proof, root, key, value}: the
-- API's text forms) through smtProofCheck and ledgerAccountDecode, and every
-- header of headers (org/root's, pulse by pulse) through ledgerHeaderCheck,
-- with each "Prev" the ledgerHash of the header before. Returns {checks =
-- [{check = "" or the reason, account}], headers = ["" or the reason],
-- moved = the reason a header with another pulse's root is refused}.
local function js_checks(dir, org, checks, headers)
  local script = dir .. "/check.mjs"
  t.write(script, ([[
import { readFileSync } from "node:fs";
import { smtProofCheck, ledgerAccountDecode, ledgerHeaderCheck, ledgerHash, b64url } from %q;
const { org, checks, headers } = JSON.parse(readFileSync(0, "utf8"));
const out = { checks: [], headers: [] };
for (const c of checks) {
  const value = c.value === null ? null : b64url.decode(c.value);
  const account = value && ledgerAccountDecode(value);
  out.checks.push({
    check: smtProofCheck(c.proof, c.root, c.key, value),
    account: account ? { role: account.role, balance: String(account.balance), nonce: String(account.nonce) } : null,
  });
}
let prev = new Uint8Array(32);
for (const h of headers) {
  const why = await ledgerHeaderCheck(h, org);
  out.headers.push(why || (h.Prev === b64url.encode(prev) ? "" : "Prev is not the previous header's hash"));
  prev = ledgerHash(h);
}
out.moved = await ledgerHeaderCheck({ ...headers[1], Root: headers[0].Root }, org);
console.log(JSON.stringify(out));
]]):format("file://" .. src .. "/sdk/js/leither.js"))
  local input = dir .. "/js-input.json"
  t.write(input, require("dkjson").encode({ org = org, checks = checks, headers = headers }))
  local r = t.sh("node " .. t.quote(script) .. " < " .. t.quote(input))
  assert.are.equal(0, r.code, r.err)
  return t.decode(r.out)
end

-- An app whose server checks proofs with require("leither.ledger") in the
-- node's sandbox, where the library hashes with leither.crypto.blake2b and
-- checks signatures with leither.crypto.verify:
-- POST /check [{proof, root, key, value}] -> ["" or the reason...];
-- POST /headers {org, headers} -> ["" or the reason...] (Prev chained too).
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
app.post("/headers", function(req)
  local body, out = req:json(), {}
  local prev = string.rep("\0", 32)
  for i, h in ipairs(body.headers) do
    local ok, why = ledger.check_header(h, body.org)
    if ok and h.Prev ~= ledger.b64url_encode(prev) then ok, why = nil, "Prev is not the previous header's hash" end
    out[i] = ok and "" or why
    prev = ledger.header_hash(h)
  end
  return out
end)
-- README's example: a proof the app reads from leither.org, checked there
app.get("/account", function(req)
  local org, id, pulse = req.query.org, req.query.id, math.tointeger(tonumber(req.query.pulse))
  local header = leither.org.root(org, pulse).Header
  assert(ledger.check_header(header, org) and header.Pulse == pulse)
  local p = leither.org.proof(org, id, pulse)
  local value = type(p.Value) == "string" and ledger.b64url_decode(p.Value) or nil
  local ok, why = ledger.check_proof(p.Proof, header.Root, id, value)
  return { holds = ok == true, why = why or "", account = value and ledger.decode_account(value) or "absent" }
end)
]]

describe("org proofs checked by the Lua and JS verifiers", function()
  local node, dir
  -- what the first test makes, for the browser's
  local org, pulses, alice, bob, nobody, app_id
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
    org = created.Org
    local boss = created.Supervisor
    assert.are.equal(node.id, boss)
    local alice_key, bob_key
    alice_key, alice = genkey("alice")
    bob_key, bob = genkey("bob")
    _, nobody = genkey("nobody") -- never applies: absent at every pulse

    -- the pulses the ledger went through, and what each account is after each
    pulses = { created.Pulse }
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
    local roots, proofs, headers = {}, {}, {}
    for _, pulse in ipairs(pulses) do
      local at = t.decode(t.ok(cli("org", "root", org, "--pulse", tostring(pulse), "--json")))
      roots[pulse] = at.Root
      assert.are.equal(at.Root, at.Header.Root)
      assert.are.equal(pulse, at.Header.Pulse)
      headers[#headers + 1] = at.Header
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
    t.write(dir .. "/checker/index.html", "<!doctype html><title>checker</title>\n")
    app_id = t.decode(t.ok(cli("lapp", "uploadapp", "-i", "checker", "-d", dir, "--json"))).AppId
    t.write(dir .. "/checks.json", require("dkjson").encode(checks))
    local r = t.curl(node.url .. "/tpt/" .. app_id .. "/check",
      "-X POST -H 'Content-Type: application/json' --data-binary @" .. t.quote(dir .. "/checks.json"))
    assert.are.equal(200, r.status, r.body)
    local sandboxed = t.decode(r.body)
    assert.are.equal(#checks, #sandboxed)
    for i, why in ipairs(sandboxed) do
      assert.are.equal(expect[i].holds and "" or "the proof does not lead to the root", why, expect[i].where)
    end

    t.write(dir .. "/headers.json", require("dkjson").encode({ org = org, headers = headers }))
    r = t.curl(node.url .. "/tpt/" .. app_id .. "/headers",
      "-X POST -H 'Content-Type: application/json' --data-binary @" .. t.quote(dir .. "/headers.json"))
    assert.are.equal(200, r.status, r.body)
    local checked = t.decode(r.body)
    assert.are.equal(#headers, #checked)
    for i, why in ipairs(checked) do assert.are.equal("", why, "the header of pulse " .. pulses[i]) end
    -- a header moved to another pulse's root no longer holds
    headers[2].Root = headers[1].Root
    t.write(dir .. "/headers.json", require("dkjson").encode({ org = org, headers = { headers[2] } }))
    r = t.curl(node.url .. "/tpt/" .. app_id .. "/headers",
      "-X POST -H 'Content-Type: application/json' --data-binary @" .. t.quote(dir .. "/headers.json"))
    assert.are.same({ "bad signature, or PublicKey is not the org's key" }, t.decode(r.body))
    headers[2].Root = roots[pulses[2]]

    -- README's example in the app: every account at the last pulse and the first
    for _, case in ipairs({ { last, alice, { role = 2, role_name = "member", balance = "750", nonce = "1" } },
                            { last, bob, { role = 1, role_name = "guest", balance = "250", nonce = "0" } },
                            { last, nobody, "absent" }, { pulses[1], alice, "absent" } }) do
      r = t.curl(("%s/tpt/%s/account?org=%s&id=%s&pulse=%d"):format(node.url, app_id, org, case[2], case[1]))
      assert.are.equal(200, r.status, r.body)
      assert.are.same({ holds = true, why = "", account = case[3] }, t.decode(r.body))
    end

    -- the JS SDK agrees on every check, and reads the same accounts
    local js = js_checks(dir, org, checks, headers)
    -- the roots come from headers the org key signed, chained by Prev (pulses 1..n, none skipped)
    assert.are.equal(#pulses, pulses[#pulses])
    assert.are.equal(#headers, #js.headers)
    for i, why in ipairs(js.headers) do assert.are.equal("", why, "the header of pulse " .. pulses[i]) end
    assert.are.equal("bad signature", js.moved)
    local results = js.checks
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

  -- README's browser example in chromium: /sdk/leither.js on the app's own
  -- origin fetches the header and the proofs from /api/v0/org/ and checks them
  it("holds in a real browser, with the SDK the node serves", function()
    local missing
    if t.sh("command -v chromium || command -v chromium-browser").code ~= 0 then
      missing = "chromium is not installed (scripts/deps.sh test installs it)"
    elseif not app_id then
      missing = "the first test made no org"
    end
    if missing then return pending(missing) end
    local app_url = t.sh("curl -s -o /dev/null -w '%{redirect_url}' --noproxy '*' http://localhost:" .. node.port
      .. "/tpt/" .. app_id .. "/").out
    assert.matches("^http://[a-z2-7]+%.app%.localhost:" .. node.port .. "/$", app_url)
    local check = [[
(async () => {
  const { smtProofCheck, ledgerHeaderCheck, ledgerAccountDecode, b64url } = await import("/sdk/leither.js");
  const org = %q, out = [];
  for (const [id, pulse] of %s) {
    const { Header } = await (await fetch(`/api/v0/org/root?org=${org}&pulse=${pulse}`)).json();
    const p = await (await fetch(`/api/v0/org/proof?org=${org}&id=${id}&pulse=${pulse}`)).json();
    const value = p.Value === null ? null : b64url.decode(p.Value);
    const other = await (await fetch(`/api/v0/org/root?org=${org}&pulse=${pulse === 1 ? 2 : 1}`)).json();
    out.push([(await ledgerHeaderCheck(Header, org)) || (Header.Pulse === pulse ? "" : "another pulse"), smtProofCheck(p.Proof, Header.Root, id, value),
              value ? String(ledgerAccountDecode(value).balance) : "absent",
              smtProofCheck(p.Proof, other.Root, id, value)]);
  }
  return JSON.stringify(out);
})()]]
    local last = pulses[#pulses]
    local asks = ('[["%s", %d], ["%s", %d], ["%s", %d], ["%s", %d]]'):format(alice, last, bob, last, nobody, last,
      alice, pulses[1])
    local file = os.tmpname()
    t.write(file, require("dkjson").encode({ steps = { { open = app_url }, { eval = check:format(org, asks) } } }))
    local r = t.sh("node " .. t.quote(src .. "/tests/browser/cdp.mjs") .. " " .. t.quote(file))
    os.remove(file)
    local doc = t.decode(r.out)
    assert.is_nil(doc.error, doc.error)
    local bad = "the proof does not lead to the root"
    assert.are.same({ { "", "", "750", bad }, { "", "", "250", bad }, { "", "", "absent", bad }, { "", "", "absent", bad } },
      t.decode(doc.results[2]))
  end)
end)
