// A visitor of the guestbook, for guestbook_spec.lua: uses sdk/js/leither.js
// as the page does (a key made here, mimeiCreate + mimeiWrite, a signed POST)
// and prints what happened as JSON.
//   node client.mjs post BASE APPID TEXT      a new visitor signs the book
//   node client.mjs foreign BASE APPID TEXT   posts a MiMei another key wrote
//   node client.mjs unwritten BASE APPID      posts a MiMei with no content
//   node client.mjs twice BASE APPID TEXT     posts the same entry twice
//   node client.mjs raw BASE APPID BODY       a signed POST of BODY as it is
import { Leither } from "../../../sdk/js/leither.js";

const [mode, base, appid, text = ""] = process.argv.slice(2);

async function visitor() {
  const l = new Leither({ base });
  await l.signIn(await l.generateKey());
  return l;
}

async function post(l, mid, raw) {
  const body = raw === undefined ? { mid } : raw;
  const res = await l.app(appid).fetch("api/entries", { method: "POST", body, headers: { "Content-Type": "application/json" } });
  const reply = await res.text();
  let doc = null;
  try {
    doc = JSON.parse(reply);
  } catch {
    // leave it null: the spec shows the text
  }
  return { status: res.status, body: doc, text: reply };
}

const out = {};
const me = await visitor();
out.id = await me.id();
if (mode === "post" || mode === "twice") {
  out.mid = await me.mimeiCreate({ type: "file", ext: "txt", app: appid });
  await me.mimeiWrite(out.mid, text);
  out.reply = await post(me, out.mid);
  if (mode === "twice") out.again = await post(me, out.mid);
} else if (mode === "foreign") {
  const other = await visitor();
  out.mid = await other.mimeiCreate({ type: "file", ext: "txt", app: appid });
  await other.mimeiWrite(out.mid, text);
  out.author = await other.id();
  out.reply = await post(me, out.mid);
} else if (mode === "unwritten") {
  out.mid = await me.mimeiCreate({ type: "file", ext: "txt", app: appid });
  out.reply = await post(me, out.mid);
} else if (mode === "raw") {
  out.reply = await post(me, null, text);
} else {
  console.error("usage: node client.mjs post|foreign|unwritten|twice|raw BASE APPID [TEXT]");
  process.exit(2);
}
console.log(JSON.stringify(out));
