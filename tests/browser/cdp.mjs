// cdp.mjs: a small Chrome DevTools Protocol driver for the browser tests.
//
// As a module:
//   const browser = await launch();           // headless chromium, own profile
//   const page = await browser.open(url);     // waits for the load event
//   await page.evaluate("document.title");    // promises are awaited
//   await page.type("#new-item", "milk"); await page.click("#add");
//   await page.waitFor("document.querySelectorAll('li').length === 1");
//   await page.reload(); await page.close(); await browser.close();
// chromium is killed and its profile removed when the process exits, however
// it exits.
//
// As a program, for busted specs: node cdp.mjs STEPS.json runs
//   {"steps": [{"open": URL}, {"type": [SELECTOR, TEXT]}, {"click": SELECTOR},
//              {"waitFor": EXPR, "timeout": MS}, {"eval": EXPR}, {"reload": true},
//              {"screenshot": PNG_PATH, "width": PX}]}
// and prints {"results": [...]} (what each step gave), or
// {"error": MESSAGE, "step": N, "results": [...]} and exits 1.
//
// Needs a global WebSocket: Node 22 has one; on older Nodes the program
// re-runs itself with --experimental-websocket.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function findChromium() {
  for (const name of [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"]) {
    if (!name) continue;
    const r = spawnSync("sh", ["-c", `command -v "${name}"`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

class Connection {
  constructor(ws) {
    this.ws = ws;
    this.id = 0;
    this.pending = new Map();
    this.listeners = new Set();
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.id !== undefined && this.pending.has(msg.id)) {
        const { resolve, reject, method } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
        else resolve(msg.result);
      } else if (msg.method) {
        for (const fn of [...this.listeners]) fn(msg);
      }
    });
    ws.addEventListener("close", () => {
      for (const { reject, method } of this.pending.values()) reject(new Error(`${method}: connection closed`));
      this.pending.clear();
    });
  }

  send(method, params = {}, sessionId) {
    const id = ++this.id;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify(msg));
    });
  }

  // the next event called method (in sessionId) within ms
  once(method, sessionId, ms = 15000) {
    return new Promise((resolve, reject) => {
      const fn = (msg) => {
        if (msg.method === method && (!sessionId || msg.sessionId === sessionId)) {
          this.listeners.delete(fn);
          clearTimeout(timer);
          resolve(msg.params);
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(fn);
        reject(new Error(`no ${method} within ${ms} ms`));
      }, ms);
      this.listeners.add(fn);
    });
  }
}

export class Page {
  constructor(conn, targetId, sessionId) {
    this.conn = conn;
    this.targetId = targetId;
    this.sessionId = sessionId;
    this.console = [];
    this.errors = [];
    conn.listeners.add((msg) => {
      if (msg.sessionId !== sessionId) return;
      if (msg.method === "Runtime.consoleAPICalled")
        this.console.push(msg.params.args.map((a) => (a.value !== undefined ? String(a.value) : a.description || a.type)).join(" "));
      if (msg.method === "Runtime.exceptionThrown") this.errors.push(msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text);
    });
  }

  send(method, params) {
    return this.conn.send(method, params, this.sessionId);
  }

  async goto(url) {
    const loaded = this.conn.once("Page.loadEventFired", this.sessionId);
    const r = await this.send("Page.navigate", { url });
    if (r.errorText) throw new Error(`cannot open ${url}: ${r.errorText}`);
    await loaded;
  }

  async reload() {
    const loaded = this.conn.once("Page.loadEventFired", this.sessionId);
    await this.send("Page.reload", { ignoreCache: true });
    await loaded;
  }

  /** The value of a JS expression in the page (a promise is awaited). */
  async evaluate(expression) {
    const r = await this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true, userGesture: true });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`in the page: ${d.exception?.description || d.text}`);
    }
    return r.result.value;
  }

  /** Waits until expression is truthy; resolves to its value. */
  async waitFor(expression, timeout = 10000) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      try {
        last = await this.evaluate(expression);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      await sleep(50);
    }
    throw new Error(`waited ${timeout} ms for ${expression} (last: ${JSON.stringify(last)})`);
  }

  /** Focuses the element and types text as keyboard input would. */
  async type(selector, text) {
    const found = await this.evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return false; e.focus(); return document.activeElement === e; })()`);
    if (!found) throw new Error(`no focusable ${selector} in the page`);
    await this.send("Input.insertText", { text });
  }

  /** Clicks the middle of the element with the mouse. */
  async click(selector) {
    const box = await this.evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2, w: r.width}; })()`);
    if (!box || !box.w) throw new Error(`no visible ${selector} in the page`);
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"])
      await this.send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: type === "mouseMoved" ? 0 : 1 });
  }

  /** Saves the whole page as a PNG, width CSS pixels wide. */
  async screenshot(path, width = 1280) {
    await this.send("Emulation.setDeviceMetricsOverride", { width, height: 800, deviceScaleFactor: 1, mobile: false });
    const height = Math.min(4000, Math.max(400, await this.evaluate("document.documentElement.scrollHeight")));
    await this.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    writeFileSync(path, Buffer.from(data, "base64"));
    return path;
  }

  async close() {
    await this.conn.send("Target.closeTarget", { targetId: this.targetId }).catch(() => {});
  }
}

export class Browser {
  constructor(proc, dir, conn) {
    this.proc = proc;
    this.dir = dir;
    this.conn = conn;
  }

  async open(url = "about:blank") {
    const { targetId } = await this.conn.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.conn.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this.conn, targetId, sessionId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    if (url !== "about:blank") await page.goto(url);
    return page;
  }

  async close() {
    try {
      await Promise.race([this.conn.send("Browser.close"), sleep(2000)]);
    } catch {
      // it is going anyway
    }
    kill(this);
  }
}

const running = new Set();

function kill(b) {
  if (!running.has(b)) return;
  running.delete(b);
  try {
    b.conn?.ws.close();
  } catch {
    // already closed
  }
  try {
    process.kill(-b.proc.pid, "SIGKILL"); // its own process group: the wrapper script and its children
  } catch {
    // gone already
  }
  rmSync(b.dir, { recursive: true, force: true });
}

process.on("exit", () => [...running].forEach(kill));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

/** Starts headless chromium with a profile of its own. */
export async function launch({ executable = findChromium(), timeout = 20000 } = {}) {
  if (!executable) throw new Error("chromium is not installed");
  if (typeof WebSocket === "undefined") throw new Error("this node has no global WebSocket (node 22, or --experimental-websocket)");
  const dir = mkdtempSync(join(tmpdir(), "leither-chromium-"));
  const proc = spawn(executable, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--remote-debugging-port=0", `--user-data-dir=${dir}`, "about:blank",
  ], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const b = new Browser(proc, dir, null);
  running.add(b);
  const portFile = join(dir, "DevToolsActivePort");
  const end = Date.now() + timeout;
  while (!existsSync(portFile) || readFileSync(portFile, "utf8").split("\n").length < 2) {
    if (proc.exitCode !== null || Date.now() > end) {
      kill(b);
      throw new Error(`chromium did not start: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
    await sleep(50);
  }
  const [port, path] = readFileSync(portFile, "utf8").split("\n");
  const ws = new WebSocket(`ws://127.0.0.1:${port.trim()}${path.trim()}`);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("cannot connect to chromium's DevTools")), { once: true });
  });
  b.conn = new Connection(ws);
  return b;
}

async function runSteps(file) {
  const { steps } = JSON.parse(readFileSync(file, "utf8"));
  const results = [];
  let i = 0;
  const browser = await launch();
  let page;
  try {
    for (; i < steps.length; i++) {
      const s = steps[i];
      if (s.open) {
        if (!page) page = await browser.open(s.open);
        else await page.goto(s.open);
        results.push(true);
      } else if (!page) throw new Error("open a page first");
      else if (s.type) results.push(await page.type(s.type[0], s.type[1]) ?? true);
      else if (s.click) results.push(await page.click(s.click) ?? true);
      else if (s.waitFor) results.push(await page.waitFor(s.waitFor, s.timeout));
      else if (s.eval) results.push(await page.evaluate(s.eval));
      else if (s.reload) results.push(await page.reload() ?? true);
      else if (s.screenshot) results.push(await page.screenshot(s.screenshot, s.width));
      else throw new Error(`unknown step ${JSON.stringify(s)}`);
    }
    console.log(JSON.stringify({ results, console: page ? page.console : [], errors: page ? page.errors : [] }));
  } catch (e) {
    console.log(JSON.stringify({ error: e.message, step: i + 1, results, console: page ? page.console : [], errors: page ? page.errors : [] }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (typeof WebSocket === "undefined" && !process.execArgv.includes("--experimental-websocket")) {
    const r = spawnSync(process.execPath, ["--experimental-websocket", ...process.argv.slice(1)], { stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
  if (!process.argv[2]) {
    console.error("usage: node cdp.mjs STEPS.json");
    process.exit(2);
  }
  await runSteps(process.argv[2]);
}
