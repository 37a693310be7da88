-- guestbook: each entry is a file MiMei its visitor created and wrote with
-- a key of their own (the browser SDK); the app keeps the entries' IDs in
-- its database:
--   entries        sorted set of MiMei IDs, scored by the time they were signed in
-- and reads author and text from the MiMei themselves.

local MAX_TEXT = 4000
local PAGE = 50

local function entry(mid, time)
  local ok, info = pcall(leither.mimei.info, mid)
  if not ok or type(info) ~= "table" then return nil end
  local rok, text = pcall(leither.mimei.read, mid, "")
  if not rok or type(text) ~= "string" then return nil end
  return { mid = mid, author = info.Author, text = text, time = tonumber(time) }
end

app.get("/api/entries", function()
  local db = leither.db()
  local flat = db:zrevrange("entries", 0, PAGE - 1, "WITHSCORES")
  local out = {}
  for i = 1, #flat, 2 do
    local e = entry(flat[i], flat[i + 1])
    if e then out[#out + 1] = e end
  end
  return { entries = out, total = db:zcard("entries") }
end)

app.post("/api/entries", function(req, res)
  if not req.user then app.fail(401, "sign the request: an entry is posted by its author") end
  local doc = req:json()
  local mid = type(doc) == "table" and doc.mid
  if type(mid) ~= "string" or not mid:match("^[%w_-]+$") or #mid ~= 27 then
    app.fail(400, "the body is {\"mid\": the entry's MiMei ID}")
  end
  local ok, info = pcall(leither.mimei.info, mid)
  if not ok or type(info) ~= "table" then app.fail(404, "no MiMei " .. mid) end
  if info.Author ~= req.user then
    app.fail(403, "MiMei " .. mid .. " is " .. tostring(info.Author) .. "'s, not " .. req.user .. "'s")
  end
  if info.AppType ~= "file" then app.fail(400, "an entry is a file MiMei") end
  local rok, text = pcall(leither.mimei.read, mid, "")
  if not rok or type(text) ~= "string" or text:match("^%s*$") then
    app.fail(400, "MiMei " .. mid .. " has no text yet: write it first")
  end
  if #text > MAX_TEXT then app.fail(400, "an entry is at most " .. MAX_TEXT .. " bytes") end
  local db = leither.db()
  local seen = db:zscore("entries", mid)
  if seen then return entry(mid, seen) end
  local now = math.floor(leither.now())
  db:zadd("entries", now, mid)
  res:status(201)
  return { mid = mid, author = info.Author, text = text, time = now }
end)
