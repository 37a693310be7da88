// The node dashboard: identity once, live figures every 2 s, the MiMei
// list every 10 s. Everything comes from the node's JSON API through the SDK,
// on the dashboard's own origin; apps and files are linked on theirs.
import { Leither, mimeiId } from "/sdk/leither.js";

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

// The figures, in words: [label, whether it is a size]; others are named
// after their field ("SomeCount" -> "some count")
const FIGURES = {
  "node.Threads": ["worker threads", false],
  "repo.NumObjects": ["blocks stored", false],
  "repo.RepoSize": ["stored in blocks", true],
  "repo.Pins": ["pinned roots", false],
  "repo.FileVersions": ["file versions kept", false],
};
const NOT_FIGURES = ["Uptime", "Port", "DbPort", "Pid"];
const words = (name) => name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
const figureOf = (key, name) => FIGURES[key] || [words(name), /size|bytes|memory|mem$|rss/i.test(name)];

function el(tag, { dataset, ...props } = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  Object.assign(e.dataset, dataset || {});
  e.append(...children);
  return e;
}

async function identity() {
  const id = await l.api("id");
  nodeId = id.ID;
  $("node-id").textContent = id.ID;
  $("peer-id").textContent = id.PeerID;
  $("addresses").replaceChildren(...(id.Addresses || []).map((a) => el("div", {}, el("code", { textContent: a }))));
  $("version").textContent = id.AgentVersion || "";
}

// The app's name: what lapp named it (its mark "lapp:NAME"), else its ID
export const appName = (m) => ((m.Mark || "").startsWith("lapp:") && m.Mark.length > 5 ? m.Mark.slice(5) : m.ID);

const previous = new Map();

async function live() {
  try {
    const [status, stat] = await Promise.all([l.api("node/status"), l.api("repo/stat").catch(() => ({}))]);
    $("uptime").textContent = duration(status.Uptime || 0);
    $("db-port").textContent = status.DbPort ?? "?";
    const figures = [];
    for (const [source, doc] of [["node", status], ["repo", stat]])
      for (const [name, value] of Object.entries(doc))
        if (typeof value === "number" && !NOT_FIGURES.includes(name)) figures.push([`${source}.${name}`, name, value]);
    $("figures").replaceChildren(...figures.map(([key, name, value]) => {
      const [label, isBytes] = figureOf(key, name);
      const before = previous.get(key);
      previous.set(key, value);
      const change = before === undefined || before === value ? "" : (value > before ? "+" : "") + (isBytes ? bytes(value - before) : value - before);
      return el("div", { className: "figure", id: `fig-${key.replace(/\W/g, "-")}` },
        el("div", { className: "value" }, isBytes ? bytes(value) : value.toLocaleString(), el("span", { className: "delta", textContent: change })),
        el("div", { className: "name", textContent: label }));
    }));
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    showError(null);
  } catch (e) {
    showError(e);
  }
}

// "2026-12-03 13:01 UTC"
const when = (m) => (m.Create ? m.Create.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC") : "—");
// an ID, shortened; the whole of it on hover and when copied
const short = (id) => el("code", { className: "id", textContent: id.length > 12 ? id.slice(0, 10) + "…" : id, title: id });
let nodeId = "";
// an author: this node's own key, or another's ID
const author = (id) => (id && id === nodeId ? el("span", { textContent: "this node", title: id }) : short(id || ""));

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
    return (await l.db(mid).dbsize()).toLocaleString();
  } catch {
    return "—";
  }
}

// manifest.json of an app ({} when it cannot be read)
async function manifest(m) {
  try {
    const doc = await l.mimeiRead(m.ID, "manifest.json", undefined, { as: "json" });
    return doc && typeof doc === "object" && !Array.isArray(doc) ? doc : {};
  } catch {
    return {};
  }
}

// The database an app uses: its own (database: true), another it names, or none
function appDatabase(m, man) {
  if (man.database === true) return mimeiId(m.Author, "db", "", "appdb:" + m.ID);
  return typeof man.database === "string" && man.database ? man.database : "";
}

async function lists() {
  try {
    const all = await l.mimeiAll();
    const by = (t) => all.filter((m) => m.AppType === t).sort((a, b) => (b.Create || "").localeCompare(a.Create || ""));
    const apps = by("app"), dbs = by("db"), files = by("file");
    const manifests = await Promise.all(apps.map(manifest));
    const owner = new Map(); // database ID -> the app that uses it
    apps.forEach((m, i) => {
      const db = appDatabase(m, manifests[i]);
      if (db) owner.set(db, m);
    });
    const appLink = (m) => el("a", { href: l.appUrl(m.ID), textContent: appName(m) });
    // the app a file opens with (its renderer), by name when it is here
    const opener = (id) => {
      const app = apps.find((a) => a.ID === id);
      return app ? el("span", { textContent: appName(app) }) : id ? short(id) : el("span", { className: "dim", textContent: "its bytes" });
    };
    fill("apps", apps.map((m, i) => {
      const man = manifests[i], renders = Array.isArray(man.renders) ? man.renders.filter((r) => typeof r === "string") : [];
      const db = appDatabase(m, man);
      return el("tr", { dataset: { mid: m.ID } },
        el("td", {}, renders.length ? el("strong", { textContent: appName(m) }) : appLink(m), " ", short(m.ID)),
        el("td", { className: "what", textContent: renders.length ? `a renderer of ${renders.join(", ")}` : (man.description || "an app") }),
        el("td", {}, db ? short(db) : el("span", { className: "dim", textContent: "none" })),
        el("td", { className: "who" }, author(m.Author)), el("td", { className: "when", textContent: when(m) }));
    }), 5, "No apps yet: lapp new NAME, then lapp uploadapp -i NAME");

    // the databases listed here (public ones, or all for the owner), and the
    // apps' own, which are private: named, with no figures
    const listed = new Set(dbs.map((m) => m.ID));
    const rows = dbs.map((m) => ({ m, app: owner.get(m.ID) || apps.find((a) => m.Mark === "appdb:" + a.ID) }));
    for (const [db, app] of owner) if (!listed.has(db)) rows.push({ m: { ID: db }, app, hidden: true });
    const sizes = await Promise.all(rows.map((r) => (r.hidden ? "private" : dbsize(r.m.ID))));
    $("dbs-count").textContent = `(${rows.length})`;
    fill("dbs", rows.map(({ m, app, hidden }, i) => el("tr", { dataset: { mid: m.ID } },
      el("td", {}, short(m.ID)),
      el("td", {}, app ? el("span", {}, "app ", appLink(app)) : el("span", { className: "dim", textContent: "no app" })),
      el("td", { className: "dbsize" + (hidden ? " dim" : ""), textContent: String(sizes[i]) }),
      el("td", { className: "who" }, author(m.Author || app.Author)), el("td", { className: "when", textContent: when(m) }))),
      5, "No databases you may see.");
    $("apps-count").textContent = `(${apps.length})`;
    $("files-count").textContent = `(${files.length})`;
    fill("files", files.map((m) => el("tr", { dataset: { mid: m.ID } },
      el("td", {}, el("a", { href: l.mimeiUrl(m.ID), textContent: m.ID.slice(0, 10) + "…", title: m.ID })), el("td", { textContent: m.Ext || "" }),
      el("td", {}, opener(m.App)),
      el("td", { className: "who" }, author(m.Author)), el("td", { className: "when", textContent: when(m) }))), 5, "No files.");
  } catch (e) {
    showError(e);
  }
}

live();
identity().catch(showError).finally(lists); // lists names this node's own key
setInterval(live, LIVE_MS);
setInterval(lists, LIST_MS);
