-- leither.db(MID?): a database, with every Redis command as a method.
-- The node gives this module one C function, exec(mid, multi, cmds), which
-- runs the commands on the database loop and returns their replies (or
-- raises the Redis error of a single command).
local exec = ...

local Db = {}
local Tx = {}

-- db:hset(k, f, v) is db:call("HSET", k, f, v): methods are made on first
-- use and kept, so any command the databases know is a method.
local function command_method(class, name, run)
  local cmd = name:upper()
  local method = function(self, ...) return run(self, cmd, ...) end
  rawset(class, name, method)
  return method
end

Db.__index = function(_, name)
  return rawget(Db, name) or command_method(Db, name, Db.call)
end
Tx.__index = function(_, name)
  return rawget(Tx, name) or command_method(Tx, name, Tx.call)
end

function Db.call(self, ...)
  return exec(self.mid, false, { { ... } })[1]
end

-- Queues commands on tx and runs them all at once, atomically (MULTI/EXEC).
-- Returns the array of their replies; a command's error is {err = text}.
function Db.multi(self, fn)
  local tx = setmetatable({ queue = {} }, Tx)
  fn(tx)
  if #tx.queue == 0 then return {} end
  return exec(self.mid, true, tx.queue)
end

-- HGETALL as a table of field = value.
function Db.hgetall_map(self, key)
  local flat, map = self:call("HGETALL", key), {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end

function Tx.call(self, ...)
  self.queue[#self.queue + 1] = { ... }
  return "QUEUED"
end

return function(mid)
  return setmetatable({ mid = mid }, Db)
end
