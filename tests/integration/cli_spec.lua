-- The command line: help, usage errors, version, lapp, --json.
local t = require("helpers")

describe("leither CLI", function()
  it("prints the version, as text and as JSON", function()
    local r = t.leither("version")
    assert.are.equal(0, r.code)
    assert.matches("^leither version %d+%.%d+%.%d+\n$", r.out)
    local doc = t.decode(t.leither("version", "--json").out)
    assert.matches("^%d+%.%d+%.%d+$", doc.Version)
  end)

  it("lists every command in help and explains each with --help", function()
    local r = t.leither("help")
    assert.are.equal(0, r.code)
    for _, cmd in ipairs({ "init", "run", "stop", "status", "swarm id", "swarm local", "lpki genkey",
      "lpki show", "lpki sign", "lpki verify", "version" }) do
      assert.truthy(r.out:find(cmd, 1, true), cmd .. " missing from help")
    end
    r = t.leither("swarm", "id", "--help")
    assert.are.equal(0, r.code)
    assert.matches("^usage: leither swarm id", r.out)
    assert.are.same(t.leither("help", "swarm", "id").out, r.out)
    r = t.leither("init", "-h")
    assert.matches("%-p PORT", r.out)
  end)

  it("answers an unknown command with usage on stderr and exit 2", function()
    local r = t.leither("frobnicate")
    assert.are.equal(2, r.code)
    assert.are.equal("", r.out)
    assert.matches("unknown command 'frobnicate'", r.err)
    assert.matches("usage: leither COMMAND", r.err)
    r = t.leither()
    assert.are.equal(2, r.code)
    r = t.leither("swarm")
    assert.are.equal(2, r.code)
    r = t.leither("help", "nothing")
    assert.are.equal(2, r.code)
  end)

  it("answers an unknown flag, a missing value and extra arguments with exit 2", function()
    local r = t.leither("version", "--bogus")
    assert.are.equal(2, r.code)
    assert.matches("unknown flag %-%-bogus", r.err)
    assert.matches("usage: leither version", r.err)
    r = t.leither("init", "-d") -- a flag of another command
    assert.are.equal(2, r.code)
    r = t.leither("init", "-p")
    assert.are.equal(2, r.code)
    assert.matches("needs a value", r.err)
    r = t.leither("init", "-p", "99999")
    assert.are.equal(2, r.code)
    assert.matches("port from 1 to 65535", r.err)
    r = t.leither("version", "extra")
    assert.are.equal(2, r.code)
    r = t.leither("lpki", "sign")
    assert.are.equal(2, r.code)
    assert.matches("missing arguments", r.err)
  end)

  it("lists a group's commands: help GROUP, GROUP --help, GROUP alone", function()
    for _, args in ipairs({ { "help", "mimei" }, { "mimei", "--help" } }) do
      local r = t.leither(table.unpack(args))
      assert.are.equal(0, r.code, table.concat(args, " "))
      assert.matches("^usage: leither mimei COMMAND", r.out)
      for _, cmd in ipairs({ "mimei create", "mimei show", "mimei ref add", "mimei grep" }) do
        assert.truthy(r.out:find("\n  " .. cmd .. " ", 1, true), cmd .. " missing")
      end
      assert.falsy(r.out:find("swarm id", 1, true))
    end
    local r = t.leither("swarm") -- a group alone: its commands, and exit 2 (a command is missing)
    assert.are.equal(2, r.code)
    assert.matches("which 'swarm' command", r.err)
    assert.truthy(r.err:find("\n  swarm id ", 1, true))
    assert.truthy(r.err:find("\n  swarm local ", 1, true))
    assert.falsy(r.err:find("unknown command", 1, true))
    r = t.leither("help", "mimei", "ref")
    assert.matches("^usage: leither mimei ref COMMAND", r.out)
    for _, args in ipairs({ { "lapp", "--help" }, { "help", "lapp" } }) do
      r = t.leither(table.unpack(args))
      assert.are.equal(0, r.code, table.concat(args, " "))
      assert.matches("^usage: lapp COMMAND", r.out)
      assert.truthy(r.out:find("\n  uploadapp ", 1, true))
    end
    assert.matches("^usage: lapp uploadapp %-i NAME", t.leither("help", "lapp", "uploadapp").out)
  end)

  it("says what a word after a group is, instead of 'unknown command GROUP'", function()
    local r = t.leither("mimei", "frob")
    assert.are.equal(2, r.code)
    assert.matches("^leither: 'frob' is not a mimei command", r.err)
    assert.falsy(r.err:find("unknown command", 1, true))
    -- the network commands are commands now (issue 13): a missing MID is a usage error
    r = t.leither("mimei", "publish")
    assert.are.equal(2, r.code)
    assert.matches("^leither mimei publish: missing arguments\nusage: leither mimei publish MID", r.err)
    r = t.leither("mimei", "gc")
    assert.matches("^leither: 'gc' is not a mimei command; did you mean 'leither repo gc'%?", r.err)
    r = t.leither("uploadapp")
    assert.matches("it is an app command: 'lapp uploadapp'", r.err)
  end)

  it("prints the version with --version, and lines up the command list", function()
    local r = t.leither("--version")
    assert.are.equal(0, r.code)
    assert.matches("^leither version %d+%.%d+%.%d+\n$", r.out)
    for _, args in ipairs({ { "help" }, { "lapp", "help" }, { "help", "mimei" } }) do
      local out, column, rows = t.leither(table.unpack(args)).out, nil, 0
      for name, gap in out:gmatch("\n  (%S[%w %-]-%S)(  +)%S") do
        local at = #name + #gap
        column = column or at
        assert.are.equal(column, at, name .. " is out of line")
        rows = rows + 1
      end
      -- every row has its name, two spaces at least, then its summary
      assert.are.equal(select(2, out:gsub("\n  %S", "")), rows, out)
      assert.truthy(column, table.concat(args, " "))
    end
  end)

  it("answers as lapp when invoked under that name", function()
    local lapp = t.bin:gsub("leither$", "lapp")
    local r = t.sh(t.quote(lapp) .. " help")
    assert.are.equal(0, r.code)
    assert.matches("^usage: lapp COMMAND", r.out)
    assert.falsy(r.out:find("swarm id", 1, true)) -- node commands are leither's
    r = t.sh(t.quote(lapp) .. " version")
    assert.are.equal(0, r.code)
    r = t.sh(t.quote(lapp) .. " swarm id")
    assert.are.equal(2, r.code)
    assert.matches("^lapp: unknown command", r.err)
    r = t.leither("lapp", "help") -- the same through leither
    assert.matches("^usage: lapp COMMAND", r.out)
  end)
end)
