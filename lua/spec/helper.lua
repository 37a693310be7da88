-- What the node provides to Lua, for specs run under plain lua5.4:
-- leither.json (here backed by Debian's dkjson) and leither._traceback.
local dkjson = require("dkjson")

local object_meta = { __jsontype = "object" }

local json = {
  null = dkjson.null,
  -- as the node's: an empty table is [] unless marked as an object
  object = function(t) return setmetatable(t or {}, object_meta) end,
  encode = function(value) return (assert(dkjson.encode(value))) end,
  decode = function(text)
    local value, _, err = dkjson.decode(text, 1, dkjson.null)
    if err then error(err, 0) end
    return value
  end,
}

_G.leither = _G.leither or {}
leither.json = json
leither._traceback = debug.traceback

local helper = {}

-- A router with no routes: leither.app keeps its routes in the module, as
-- each app state loads it once.
function helper.fresh_app()
  package.loaded["leither.app"] = nil
  _G.app = require("leither.app")
  return _G.app
end

-- The value of the first header called name (any case) in an array of pairs.
function helper.header(headers, name)
  for _, pair in ipairs(headers) do
    if pair[1]:lower() == name:lower() then return pair[2] end
  end
end

function helper.headers_named(headers, name)
  local values = {}
  for _, pair in ipairs(headers) do
    if pair[1]:lower() == name:lower() then values[#values + 1] = pair[2] end
  end
  return values
end

function helper.request(method, path, fields)
  local req = { method = method, path = path, query = {}, headers = {}, body = "", app = "APPID", version = "CIDV" }
  for k, v in pairs(fields or {}) do req[k] = v end
  return req
end

return helper
