-- What the org specs share: users' key files, the CLI as one of them,
-- transactions signed with org_tx (org_tx.c), and waiting for the node
-- to decide one.
local t = require("helpers")
local json = require("dkjson")

local M = {}

M.ORG_TX = os.getenv("ORG_TX") or "../../build/tests/org_tx"

-- A key file in dir for each of names: keys[name] is its path, ids[name]
-- its Leither ID.
function M.genkeys(dir, names, keys, ids)
  for _, who in ipairs(names) do
    keys[who] = dir .. "/" .. who .. ".key"
    ids[who] = t.decode(t.ok(t.leither("lpki", "genkey", "-o", keys[who], "--json"))).ID
  end
end

-- A runner of the CLI as who on the node node_of() returns: with
-- -k keys[who], or the node's own key for "owner".
function M.as_in(node_of, keys)
  return function(who, ...)
    local args = { ... }
    args[#args + 1] = "--home"
    args[#args + 1] = node_of().home
    if who ~= "owner" then
      args[#args + 1] = "-k"
      args[#args + 1] = keys[who]
    end
    return t.leither(table.unpack(args))
  end
end

-- org_tx sign: tx (a table) signed with the key file, then fields altered
-- (name = JSON text); returns the transaction's bytes.
function M.sign(keyfile, tx, alter)
  local input = os.tmpname()
  t.write(input, json.encode(tx))
  local args = { t.quote(M.ORG_TX), "sign", t.quote(keyfile) }
  for k, v in pairs(alter or {}) do args[#args + 1] = t.quote(k .. "=" .. v) end
  local r = t.sh(table.concat(args, " ") .. " < " .. t.quote(input))
  os.remove(input)
  assert(r.code == 0, r.err)
  return (r.out:gsub("\n$", ""))
end

-- The state of a submitted transaction once the node has decided it
-- (neither queued nor pending), or nil after 15 s.
function M.decided(node, org, hash)
  return t.eventually(function()
    local r = t.curl(node.url .. "/api/v0/org/tx?org=" .. org .. "&tx=" .. hash)
    if r.status ~= 200 then return nil end
    local doc = t.decode(r.body)
    if doc.State ~= "queued" and doc.State ~= "pending" then return doc end
  end, 15)
end

return M
