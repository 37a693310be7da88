-- todo: the server side. Items live in the app's database:
--   item:next          INCR counter, the last id given out
--   item:<id>          hash {text, done ("0"/"1"), created (unix seconds)}
--   items              sorted set of ids, scored by id (creation order)

local MAX_TEXT = 500

local function db() return leither.db() end

-- The item with this id, or nil.
local function load(id)
  local h = db():hgetall_map("item:" .. id)
  if not h or h.text == nil then return nil end
  return { id = tonumber(id), text = h.text, done = h.done == "1", created = tonumber(h.created) }
end

-- The :id of the route, as an existing item (404 otherwise).
local function find(req)
  local id = req.params.id
  local item = id:match("^%d+$") and load(id)
  if not item then app.fail(404, "no item " .. id) end
  return item
end

local function body(req)
  local doc = req:json()
  if type(doc) ~= "table" then app.fail(400, "the body must be a JSON object") end
  return doc
end

app.get("/api/items", function()
  local items = {}
  for _, id in ipairs(db():zrange("items", 0, -1)) do
    local item = load(id)
    if item then items[#items + 1] = item end
  end
  return { items = items }
end)

app.post("/api/items", function(req, res)
  local doc = body(req)
  local text = type(doc.text) == "string" and doc.text:match("^%s*(.-)%s*$") or ""
  if text == "" then app.fail(400, "an item needs a non-empty \"text\"") end
  if #text > MAX_TEXT then app.fail(400, "an item's text is at most " .. MAX_TEXT .. " bytes") end
  local d = db()
  local id = d:incr("item:next")
  local now = math.floor(leither.now())
  d:multi(function(tx)
    tx:hset("item:" .. id, "text", text, "done", "0", "created", tostring(now))
    tx:zadd("items", id, tostring(id))
  end)
  res:status(201)
  return { id = id, text = text, done = false, created = now }
end)

app.put("/api/items/:id", function(req)
  local item = find(req)
  local doc = body(req)
  if doc.done ~= nil and type(doc.done) ~= "boolean" then app.fail(400, "\"done\" is true or false") end
  if doc.text ~= nil then
    local text = type(doc.text) == "string" and doc.text:match("^%s*(.-)%s*$") or ""
    if text == "" or #text > MAX_TEXT then app.fail(400, "\"text\" must be 1 to " .. MAX_TEXT .. " bytes") end
    item.text = text
  end
  if doc.done ~= nil then item.done = doc.done end
  db():hset("item:" .. item.id, "text", item.text, "done", item.done and "1" or "0")
  return item
end)

app.delete("/api/items/:id", function(req)
  local item = find(req)
  db():multi(function(tx)
    tx:del("item:" .. item.id)
    tx:zrem("items", tostring(item.id))
  end)
  return { deleted = item.id }
end)
