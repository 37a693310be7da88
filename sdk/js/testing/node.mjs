// Test helpers: run the leither binary, start a real node in a temporary
// home on a free port (as tests/integration/helpers.lua does), stop it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..", "..");
export const bin = process.env.LEITHER_BIN || join(root, "build", "leither");

/** Runs leither; returns {code, out, err}. */
export function leither(...args) {
  const r = spawnSync(bin, args, { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const made = [];
process.on("exit", () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A temporary directory, removed when the process exits. */
export function tmp(prefix = "leither-test-") {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

const port = () => 20000 + Math.floor(Math.random() * 40000);

/** A running node: {home, port, dbPort, url, id}. */
export function startNode(settings = {}) {
  const home = tmp();
  for (let i = 0; i < 20; i++) {
    const p = port();
    let r = leither("init", "--home", home, "-p", String(p));
    if (r.code !== 0) throw new Error(r.err);
    const vars = JSON.parse(readFileSync(join(home, "SystemVars.json"), "utf8"));
    vars.db_port = port();
    Object.assign(vars, settings);
    writeFileSync(join(home, "SystemVars.json"), JSON.stringify(vars));
    r = leither("run", "-d", "--home", home);
    if (r.code === 0) {
      const st = JSON.parse(leither("status", "--home", home, "--json").out);
      return { home, port: p, dbPort: vars.db_port, url: `http://127.0.0.1:${p}`, id: st.ID, dbDefault: vars.db_default };
    }
    if (!r.err.includes("already in use")) throw new Error(r.err);
  }
  throw new Error("no free port found");
}

export function stopNode(node) {
  if (!node) return;
  leither("stop", "--home", node.home);
  rmSync(node.home, { recursive: true, force: true });
}

/** Whether the node has API command name (the integrator adds some on main). */
export async function hasApi(node, name) {
  const res = await fetch(`${node.url}/api/v0/${name}`);
  const text = await res.text();
  return !(res.status === 404 && text.includes("no API command"));
}

export function sh(cmd, args, input) {
  return execFileSync(cmd, args, { input, encoding: "utf8" });
}
