-- require("in.a.comment")
local s = "require(\"x\")"
local a = require("lib.a")
local b = require "leither.html"
local c = require [==[lib.c]==]
local d = require("lib." .. x)
local e = t.require("no")
--[[ long
comment ]] require('lib.e')
