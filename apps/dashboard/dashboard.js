// The node dashboard: identity once, live figures every 2 s, the MiMei
// list every 10 s. Everything comes from the node's JSON API through the SDK,
// on the dashboard's own origin; apps and files are linked on theirs.
import { Leither } from "/sdk/leither.js";

const l = new Leither();
const $ = (id) => document.getElementById(id);
const LIVE_MS = 2000;
const LIST_MS = 10000;

function showError(e) {
  $("error").hidden = !e;
  $("error").textContent = e ? `Could not reach the node: ${e.message}` : "";
}

export function duration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return (d ? `${d}d ` : "") + (d || h ? `${h}h ` : "") + (d || h || m ? `${m}m ` : "") + `${s % 60}s`;
}

export function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) n /= 1024, i++;
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// Which numbers are sizes: their names say so
const isBytes = (name) => /size|bytes|memory|mem$|rss/i.test(name);
const label = (name) => name.replace(/([a-z])([A-Z])/g, "$1 $2");

function el(tag, { dataset, ...props } = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  Object.assign(e.dataset, dataset || {});
  e.append(...children);
  return e;
}

async function identity() {
  const id = await l.api("id");
  $("node-id").textContent = id.ID;
  $("peer-id").textContent = id.PeerID;
  $("addresses").replaceChildren(...(id.Addresses || []).map((a) => el("div", {}, el("code", { textContent: a }))));
  $("version").textContent = id.AgentVersion || "";
}

const previous = new Map();

async function live() {
  try {
    const [status, stat] = await Promise.all([l.api("node/status"), l.api("repo/stat").catch(() => ({}))]);
    $("uptime").textContent = duration(status.Uptime || 0);
    const figures = [];
    for (const [source, doc] of [["node", status], ["repo", stat]])
      for (const [name, value] of Object.entries(doc))
        if (typeof value === "number" && !["Uptime", "Port", "Pid"].includes(name)) figures.push([`${source}.${name}`, name, value]);
    $("figures").replaceChildren(...figures.map(([key, name, value]) => {
      const before = previous.get(key);
      previous.set(key, value);
      const change = before === undefined || before === value ? "" : (value > before ? "+" : "") + (isBytes(name) ? bytes(value - before) : value - before);
      return el("div", { className: "figure", id: `fig-${key.replace(/\W/g, "-")}` },
        el("div", { className: "value" }, isBytes(name) ? bytes(value) : value.toLocaleString(), el("span", { className: "delta", textContent: change })),
        el("div", { className: "name", textContent: `${label(name)}` }));
    }));
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    showError(null);
  } catch (e) {
    showError(e);
  }
}

const when = (m) => (m.Create || "").replace("T", " ").replace("Z", " UTC");
const short = (id) => el("code", { textContent: id, title: id });

function fill(table, rows, columns, empty) {
  const body = $(table).tBodies[0];
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { className: "empty", colSpan: columns, textContent: empty })));
    return;
  }
  body.replaceChildren(...rows);
}

async function dbsize(mid) {
  try {
    return await l.db(mid).dbsize();
  } catch {
    return "—";
  }
}

async function lists() {
  try {
    const all = await l.mimeiAll();
    const by = (t) => all.filter((m) => m.AppType === t).sort((a, b) => (b.Create || "").localeCompare(a.Create || ""));
    const apps = by("app"), dbs = by("db"), files = by("file");
    $("apps-count").textContent = `(${apps.length})`;
    $("dbs-count").textContent = `(${dbs.length})`;
    $("files-count").textContent = `(${files.length})`;
    fill("apps", apps.map((m) => el("tr", { dataset: { mid: m.ID } },
      el("td", {}, el("a", { href: l.appUrl(m.ID), textContent: m.Ext || m.ID }), " ", short(m.ID)),
      el("td", {}, short(m.Author)), el("td", { textContent: when(m) }))), 3, "No apps yet: lapp uploadapp -i NAME");
    const sizes = await Promise.all(dbs.map((m) => dbsize(m.ID)));
    fill("dbs", dbs.map((m, i) => el("tr", { dataset: { mid: m.ID } },
      el("td", {}, short(m.ID)), el("td", { className: "dbsize", textContent: String(sizes[i]) }),
      el("td", {}, short(m.Author)), el("td", { textContent: when(m) }))), 4, "No databases.");
    fill("files", files.map((m) => el("tr", { dataset: { mid: m.ID } },
      el("td", {}, el("a", { href: l.mimeiUrl(m.ID), textContent: m.ID })), el("td", { textContent: m.Ext || "" }),
      el("td", {}, short(m.Author)), el("td", { textContent: when(m) }))), 4, "No files.");
  } catch (e) {
    showError(e);
  }
}

identity().catch(showError);
live();
lists();
setInterval(live, LIVE_MS);
setInterval(lists, LIST_MS);
