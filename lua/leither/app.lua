-- The router every app state gets as the global `app` (see lua/README.md).
-- The node calls app._dispatch(req) per request and app._render(mimei, req)
-- when the app renders a MiMei; both return status, headers (an array of
-- {name, value}), body, log (nil or a traceback for the node log), or nil.
--
-- `leither` (json, _traceback) is a global the node provides; it is looked
-- up at call time so the module loads before the node has filled it in.

local app = {}

local routes = {}      -- in registration order: {method=, pattern=, rank=, handler=}
local renderer = nil

local REASONS = {
  [400] = "bad request", [401] = "unauthorized", [403] = "forbidden",
  [404] = "not found", [405] = "method not allowed", [409] = "conflict",
  [413] = "payload too large", [422] = "unprocessable entity",
  [429] = "too many requests", [500] = "internal server error",
  [503] = "service unavailable",
}

local function json() return leither.json end

local function check_status(status, what)
  if math.type(status) ~= "integer" or status < 100 or status > 599 then
    error(what .. ": status must be an integer from 100 to 599, got " .. tostring(status), 3)
  end
end

-- CR or LF in a header would let a value inject headers of its own.
local function check_header_text(text, what)
  if type(text) ~= "string" then
    error(what .. " must be a string, got " .. type(text), 3)
  end
  if text:find("[\r\n\0]") then
    error(what .. " must not contain CR, LF or NUL", 3)
  end
end

local function percent_decode(s)
  if not s:find("%", 1, true) then return s end -- the common case, without a pattern
  return (s:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

-- app.fail's error object: a table with this metatable, so the message
-- handler can tell it from a runtime error.
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(f) return "app.fail(" .. f.status .. "): " .. f.message end

function app.fail(status, message)
  check_status(status, "app.fail")
  error(setmetatable({ status = status, message = message ~= nil and tostring(message) or REASONS[status] or "error" }, Failure), 0)
end

---------------------------------------------------------------------------
-- Route patterns

-- "/a/:id/*" -> {{kind="literal", text="a"}, {kind="param", name="id"}, {kind="rest"}}
local function compile(path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    error("route path must be a string starting with /, got " .. tostring(path), 3)
  end
  local pattern, rank = {}, {}
  local segments = {}
  for segment in path:gmatch("[^/]+") do segments[#segments + 1] = segment end
  for i, segment in ipairs(segments) do
    if segment == "*" then
      if i ~= #segments then error("route path " .. path .. ": * must be the last segment", 3) end
      pattern[#pattern + 1] = { kind = "rest" }
      rank[#rank + 1] = "a"
    elseif segment:sub(1, 1) == ":" then
      local name = segment:sub(2)
      if name == "" then error("route path " .. path .. ": a parameter needs a name", 3) end
      pattern[#pattern + 1] = { kind = "param", name = name }
      rank[#rank + 1] = "b"
    else
      pattern[#pattern + 1] = { kind = "literal", text = segment }
      rank[#rank + 1] = "c"
    end
  end
  -- rank orders routes by specificity, segment by segment: literal (c) over
  -- parameter (b) over rest (a); "z" ends a route so an exact route beats
  -- a rest that would match nothing.
  return pattern, table.concat(rank) .. "z"
end

-- The path's segments (raw) with the byte offset each starts at, so a rest
-- keeps the path's own text ("a//b" stays as it is).
local function split_path(path)
  local segments, starts = {}, {}
  for start, segment in path:gmatch("()([^/]+)") do
    segments[#segments + 1] = segment
    starts[#starts + 1] = start
  end
  return segments, starts
end

-- The params table when pattern matches the path, else nil. Parameters are
-- percent-decoded: the node passes the path as it came on the wire.
local function match(pattern, path, segments, starts)
  local params = {}
  for i, part in ipairs(pattern) do
    if part.kind == "rest" then
      params["*"] = starts[i] and percent_decode(path:sub(starts[i])) or ""
      return params
    end
    local segment = segments[i]
    if segment == nil then return nil end
    local decoded = percent_decode(segment)
    if part.kind == "literal" then
      if decoded ~= part.text then return nil end
    else
      params[part.name] = decoded
    end
  end
  if #segments ~= #pattern then return nil end
  return params
end

function app.route(method, path, handler)
  if type(method) ~= "string" or method == "" then error("app.route: method must be a string", 2) end
  if type(handler) ~= "function" then error("app.route: handler must be a function", 2) end
  local pattern, rank = compile(path)
  routes[#routes + 1] = { method = method:upper(), pattern = pattern, rank = rank, handler = handler }
end

function app.get(path, handler) app.route("GET", path, handler) end
function app.post(path, handler) app.route("POST", path, handler) end
function app.put(path, handler) app.route("PUT", path, handler) end
function app.delete(path, handler) app.route("DELETE", path, handler) end

function app.render(handler)
  if type(handler) ~= "function" then error("app.render: handler must be a function", 2) end
  renderer = handler
end

---------------------------------------------------------------------------
-- Requests

-- Cookie: a=1; b=2  ->  {a="1", b="2"}; the first of a repeated name wins,
-- as browsers send the most specific cookie first.
local function parse_cookies(header)
  local cookies = {}
  if type(header) ~= "string" then return cookies end
  for pair in header:gmatch("[^;]+") do
    local name, value = pair:match("^%s*([^=%s]+)%s*=%s*(.-)%s*$")
    if name and cookies[name] == nil then
      value = value:match('^"(.*)"$') or value
      cookies[name] = percent_decode(value)
    end
  end
  return cookies
end

local Request = {}
Request.__index = Request

function Request:json()
  if self._json == nil then
    local ok, value, err = pcall(json().decode, self.body or "")
    if not ok then
      err = value
      value = nil
    end
    if value == nil then
      app.fail(400, "invalid JSON body: " .. tostring(err or "empty"))
    end
    self._json = value
  end
  return self._json
end

local function prepare_request(req, params)
  req = req or {}
  req.headers = req.headers or {}
  req.query = req.query or {}
  req.body = req.body or ""
  req.params = params or {}
  req.cookies = parse_cookies(req.headers["cookie"])
  return setmetatable(req, Request)
end

---------------------------------------------------------------------------
-- Responses

local Response = {}
Response.__index = Response

local function new_response()
  return setmetatable({ _headers = {} }, Response)
end

function Response:status(status)
  check_status(status, "res:status")
  self._status = status
  return self
end

local function find_header(headers, name)
  local lower = name:lower()
  for i, pair in ipairs(headers) do
    if pair[1]:lower() == lower then return i end
  end
end

-- Sets a header, replacing one of the same name (names compare without
-- case): a second Content-Type must not follow the first. Set-Cookie is
-- the exception, each is its own header.
function Response:header(name, value)
  check_header_text(name, "header name")
  if type(value) == "number" then value = tostring(value) end
  check_header_text(value, "header " .. name)
  local i = name:lower() ~= "set-cookie" and find_header(self._headers, name)
  if i then
    self._headers[i] = { name, value }
  else
    self._headers[#self._headers + 1] = { name, value }
  end
  return self
end

local SAME_SITE = { strict = "Strict", lax = "Lax", none = "None" }

-- Characters a cookie value may hold as they are (RFC 6265 cookie-octet);
-- the rest are percent-encoded, and req.cookies decodes them back.
local function encode_cookie_value(value)
  return (value:gsub("[^%w!#$&'()*+%-./:<=>?@%[%]^_`{|}~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- An HTTP date; the names are spelled out here as %a and %b follow the
-- C locale, which need not be English.
local function http_date(seconds)
  local t = os.date("!*t", math.floor(seconds))
  return string.format("%s, %02d %s %04d %02d:%02d:%02d GMT", DAYS[t.wday], t.day, MONTHS[t.month], t.year,
    t.hour, t.min, t.sec)
end

function Response:cookie(name, value, opts)
  if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+%-.^_`|~]+$") then
    error("res:cookie: invalid cookie name " .. tostring(name), 2)
  end
  opts = opts or {}
  local parts = { name .. "=" .. encode_cookie_value(tostring(value or "")) }
  if opts.path then check_header_text(opts.path, "cookie path"); parts[#parts + 1] = "Path=" .. opts.path end
  if opts.domain then check_header_text(opts.domain, "cookie domain"); parts[#parts + 1] = "Domain=" .. opts.domain end
  if opts.max_age then parts[#parts + 1] = string.format("Max-Age=%d", math.floor(opts.max_age)) end
  if opts.expires then
    local expires = opts.expires
    if type(expires) == "number" then expires = http_date(expires) end
    check_header_text(expires, "cookie expires")
    parts[#parts + 1] = "Expires=" .. expires
  end
  if opts.http_only then parts[#parts + 1] = "HttpOnly" end
  if opts.secure then parts[#parts + 1] = "Secure" end
  if opts.same_site then
    local same_site = SAME_SITE[tostring(opts.same_site):lower()]
    if not same_site then error("res:cookie: same_site must be Strict, Lax or None", 2) end
    parts[#parts + 1] = "SameSite=" .. same_site
  end
  return self:header("Set-Cookie", table.concat(parts, "; "))
end

function Response:redirect(url, status)
  check_header_text(url, "redirect URL")
  if status ~= nil then check_status(status, "res:redirect") end
  self._status = status or 302
  self:header("Location", url)
  self._body = ""
  return self
end

function Response:send(body)
  if type(body) == "number" then body = tostring(body) end
  if type(body) ~= "string" then error("res:send: body must be a string, got " .. type(body), 2) end
  self._body = body
  return self
end

function Response:json(value)
  self._body = json().encode(value)
  if not find_header(self._headers, "Content-Type") then
    self:header("Content-Type", "application/json")
  end
  return self
end

local function set_default_type(res, content_type)
  if not find_header(res._headers, "Content-Type") then
    res:header("Content-Type", content_type)
  end
end

-- A body a handler returned: a string is HTML unless the handler said
-- otherwise, a table is JSON.
local function set_body(res, body)
  if type(body) == "string" then
    res._body = body
    set_default_type(res, "text/html; charset=utf-8")
  elseif type(body) == "table" then
    res._body = json().encode(body)
    set_default_type(res, "application/json")
  elseif type(body) == "number" then
    res._body = tostring(body)
    set_default_type(res, "text/plain; charset=utf-8")
  elseif body ~= nil then
    error("handler returned a " .. type(body) .. " as the body", 0)
  end
end

-- Turns what a handler returned into status, headers, body.
local function finish(res, n, first, second, third)
  if n == 0 or first == nil then
    if res._body == nil and res._status == nil then return 204, res._headers, "" end
  elseif math.type(first) == "integer" then
    check_status(first, "handler return")
    res._status = first
    if type(third) == "table" then
      if third[1] ~= nil then
        for _, pair in ipairs(third) do res:header(pair[1], pair[2]) end
      else
        for name, value in pairs(third) do res:header(name, value) end
      end
    end
    set_body(res, second)
  else
    set_body(res, first)
  end
  return res._status or 200, res._headers, res._body or ""
end

---------------------------------------------------------------------------
-- Running handlers

local function first_line(message)
  return (tostring(message):match("^[^\n]*"))
end

-- Keeps app.fail's object; anything else becomes a message and the
-- traceback of where it was raised (only known inside the handler).
local function message_handler(err)
  if getmetatable(err) == Failure then return err end
  local message = type(err) == "string" and err or tostring(err)
  return { message = message, trace = leither._traceback(message) }
end

local function json_error(status, message, headers)
  headers = headers or {}
  local i = find_header(headers, "Content-Type")
  if i then table.remove(headers, i) end
  headers[#headers + 1] = { "Content-Type", "application/json" }
  return status, headers, json().encode({ Message = message, Code = 0, Type = "error" }) -- the node's one error shape
end

-- Calls handler(...) (the arguments end with res) under xpcall.
local function run(handler, res, ...)
  local args = table.pack(...)
  local ok, status, headers, body = xpcall(function()
    local results = table.pack(handler(table.unpack(args, 1, args.n)))
    return finish(res, results.n, results[1], results[2], results[3])
  end, message_handler)
  if ok then return status, headers, body, nil end
  local err = status
  -- a failing message handler leaves xpcall's own string
  if type(err) ~= "table" then err = { message = tostring(err) } end
  if getmetatable(err) == Failure then
    -- headers the handler set stay (a WWW-Authenticate for a 401, say)
    return json_error(err.status, err.message, res._headers)
  end
  local s, h, b = json_error(500, first_line(err.message))
  return s, h, b, err.trace or err.message
end

function app._dispatch(req)
  local method = (req.method or "GET"):upper()
  local path = (req.path or "/"):match("^[^?]*")
  local segments, starts = split_path(path)
  local lookup = method == "HEAD" and "GET" or method

  local best, best_params
  local allowed = {}
  for _, route in ipairs(routes) do
    local params = match(route.pattern, path, segments, starts)
    if params then
      allowed[route.method] = true
      local fits = route.method == method or route.method == lookup
      if fits and (best == nil or route.rank > best.rank
          or (route.rank == best.rank and route.method == method and best.method ~= method)) then
        best, best_params = route, params
      end
    end
  end

  if best == nil then
    if next(allowed) == nil then return nil end
    if allowed.GET then allowed.HEAD = true end
    local methods = {}
    for m in pairs(allowed) do methods[#methods + 1] = m end
    table.sort(methods)
    local s, h, b = json_error(405, "method not allowed", { { "Allow", table.concat(methods, ", ") } })
    if method == "HEAD" then b = "" end
    return s, h, b
  end

  local res = new_response()
  local status, headers, body, log = run(best.handler, res, prepare_request(req, best_params), res)
  if method == "HEAD" then body = "" end
  return status, headers, body, log
end

function app._render(mimei, req)
  if renderer == nil then return nil end
  local res = new_response()
  return run(renderer, res, mimei, prepare_request(req, {}), res)
end

return app
