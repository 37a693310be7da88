-- The node's renderer for text, Markdown, images and folders: each MiMei
-- becomes one HTML page; the bytes themselves stay at /mm/MID/PATH?raw=1.
local html = require("leither.html")
local markdown = require("leither.markdown")

local escape = html.escape

-- Percent-encodes a path for a URL, keeping its slashes.
local function encode_path(path)
  return (path:gsub("[^%w%-._~/]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- The MiMei's path without slashes at either end ("" for the root).
local function trimmed(path)
  return ((path or ""):gsub("^/+", ""):gsub("/+$", ""))
end

local function mimei_url(mid, path)
  path = trimmed(path)
  return "/mm/" .. encode_path(mid) .. (path ~= "" and "/" .. encode_path(path) or "")
end

local function raw_url(mimei)
  return mimei_url(mimei.id, mimei.path) .. "?raw=1"
end

local function human_size(bytes)
  if type(bytes) ~= "number" then return "" end
  if bytes < 1024 then return string.format("%d B", bytes) end
  local units = { "KiB", "MiB", "GiB", "TiB" }
  local value, unit = bytes / 1024, 1
  while value >= 1024 and unit < #units do
    value, unit = value / 1024, unit + 1
  end
  return string.format("%.1f %s", value, units[unit])
end

local function title_of(mimei)
  if mimei.name and mimei.name ~= "" then return mimei.name end
  local info = mimei.info or {}
  return info.name or info.title or mimei.id
end

-- A breadcrumb: the MiMei, then each folder of the path, each a link.
local function breadcrumb(mimei)
  local parts = { '<a href="' .. escape(mimei_url(mimei.id, "")) .. '">' .. escape((mimei.info or {}).name or mimei.id) .. "</a>" }
  local so_far = ""
  for segment in trimmed(mimei.path):gmatch("[^/]+") do
    so_far = so_far == "" and segment or so_far .. "/" .. segment
    parts[#parts + 1] = '<a href="' .. escape(mimei_url(mimei.id, so_far)) .. '">' .. escape(segment) .. "</a>"
  end
  return table.concat(parts, " / ")
end

local PAGE = [[<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="stylesheet" href="{{css}}">
</head>
<body>
<header><nav>{{{breadcrumb}}}</nav>{{{raw}}}</header>
<main class="{{kind}}">
{{{content}}}
</main>
</body>
</html>
]]

local function page(mimei, req, kind, content)
  return html.fill(PAGE, {
    title = title_of(mimei),
    css = "/tpt/" .. (req.app or "") .. "/style.css",
    breadcrumb = breadcrumb(mimei),
    -- a file's bytes as they are (a folder has none)
    raw = kind ~= "folder" and '<a class="raw" href="' .. escape(raw_url(mimei)) .. '">raw</a>' or "",
    kind = kind,
    content = content,
  })
end

local function download_link(mimei)
  return '<a class="download" href="' .. escape(raw_url(mimei)) .. '" download="' .. escape(mimei.name or "") .. '">Download '
      .. escape(mimei.name ~= "" and mimei.name or "file") .. " (" .. human_size(mimei.size) .. ")</a>"
end

local function render_folder(mimei)
  local entries = leither.mimei.list(mimei.id, trimmed(mimei.path), mimei.ver) or {}
  table.sort(entries, function(a, b)
    if (a.type == "dir") ~= (b.type == "dir") then return a.type == "dir" end
    return a.name < b.name
  end)
  local rows = {}
  local path = trimmed(mimei.path)
  if path ~= "" then
    local parent = path:match("^(.*)/[^/]*$") or ""
    rows[#rows + 1] = '<tr><td><a href="' .. escape(mimei_url(mimei.id, parent)) .. '">../</a></td><td class="size"></td></tr>'
  end
  for _, entry in ipairs(entries) do
    local child = path == "" and entry.name or path .. "/" .. entry.name
    local label = entry.type == "dir" and entry.name .. "/" or entry.name
    local size = entry.type == "dir" and "" or human_size(entry.size)
    rows[#rows + 1] = '<tr><td><a href="' .. escape(mimei_url(mimei.id, child)) .. '">' .. escape(label)
        .. '</a></td><td class="size">' .. escape(size) .. "</td></tr>"
  end
  if #entries == 0 then rows[#rows + 1] = '<tr><td colspan="2">This folder is empty.</td></tr>' end
  return '<table class="listing">\n' .. table.concat(rows, "\n") .. "\n</table>"
end

local function read_text(mimei)
  return leither.mimei.read(mimei.id, trimmed(mimei.path), mimei.ver) or ""
end

app.render(function(mimei, req, res)
  local kind = mimei.type or ""
  local content
  if kind == "folder" then
    kind = "folder"
    content = render_folder(mimei)
  elseif kind == "text/markdown" or kind == "text/x-markdown" then
    kind = "markdown"
    content = markdown.render(read_text(mimei))
  elseif kind:match("^text/") then
    kind = "text"
    content = "<pre>" .. escape(read_text(mimei)) .. "</pre>"
  elseif kind:match("^image/") then
    kind = "image"
    content = '<img src="' .. escape(raw_url(mimei)) .. '" alt="' .. escape(title_of(mimei)) .. '">\n<p>'
        .. download_link(mimei) .. "</p>"
  else
    kind = "other"
    local type_name = (mimei.type and mimei.type ~= "") and mimei.type or "of no known type"
    content = "<p>" .. escape(title_of(mimei)) .. " is " .. escape(type_name)
        .. " and has no viewer.</p>\n<p>" .. download_link(mimei) .. "</p>"
  end
  res:header("Content-Type", "text/html; charset=utf-8")
  return page(mimei, req, kind, content)
end)
