-- guestbook: a visitor signs a post with a key of their own (the browser
-- SDK); the app keeps it in its database. The manifest's
-- "visitors": {"write": true} makes the node charge those writes to the
-- signing visitor's guest quota (SystemVars.json "guest_quota"): a stranger
-- stores only what the node's owner allows. The database:
--   entry:next     INCR counter, the last id given out
--   entry:<id>     hash {author, text, time}
--   entries        sorted set of ids, scored by the time they were posted

local MAX_TEXT = 4000
local PAGE = 50

local function entry(db, id)
  local h = db:hgetall_map("entry:" .. id)
  if not h.text then return nil end
  return { id = tonumber(id), author = h.author, text = h.text, time = tonumber(h.time) }
end

app.get("/api/entries", function()
  local db = leither.db()
  local out = {}
  for _, id in ipairs(db:zrevrange("entries", 0, PAGE - 1)) do
    out[#out + 1] = entry(db, id)
  end
  return { entries = out, total = db:zcard("entries") }
end)

app.post("/api/entries", function(req, res)
  if not req.user then app.fail(401, "sign the request: an entry is posted by its author") end
  local doc = req:json()
  local text = type(doc) == "table" and doc.text
  if type(text) ~= "string" or text:match("^%s*$") then
    app.fail(400, "the body is {\"text\": your entry}")
  end
  if #text > MAX_TEXT then app.fail(400, "an entry is at most " .. MAX_TEXT .. " bytes") end
  local db = leither.db()
  local now = math.floor(leither.now())
  -- stored on the visitor's account: the node refuses past their quota
  local ok, result = pcall(function()
    local id = db:incr("entry:next")
    db:multi(function(tx)
      tx:hset("entry:" .. id, "author", req.user, "text", text, "time", now)
      tx:zadd("entries", now, id)
    end)
    return id
  end)
  if not ok then
    local msg = tostring(result)
    local status = msg:match("^OOM") and 507 or msg:match("^NOPERM") and 403 or 500
    app.fail(status, (msg:gsub("^%u+ ", "")))
  end
  res:status(201)
  return { id = result, author = req.user, text = text, time = now }
end)
