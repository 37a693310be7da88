// A visitor of the guestbook, for guestbook_spec.lua: uses sdk/js/leither.js
// as the page does (a key made here, a signed POST of the entry) and prints
// what happened as JSON.
//   node client.mjs post BASE APPID TEXT [KEYFILE]  a visitor (a new key, or KEYFILE's) signs the book
//   node client.mjs raw BASE APPID BODY             a signed POST of BODY as it is
import { readFileSync } from "node:fs";
import { Leither, Key } from "../../../sdk/js/leither.js";

const [mode, base, appid, text = "", keyfile] = process.argv.slice(2);

const me = new Leither({ base });
await me.signIn(keyfile ? await Key.from(JSON.parse(readFileSync(keyfile, "utf8"))) : await me.generateKey());

async function post(body) {
  const res = await me.app(appid).fetch("api/entries", { method: "POST", body, headers: { "Content-Type": "application/json" } });
  const reply = await res.text();
  let doc = null;
  try {
    doc = JSON.parse(reply);
  } catch {
    // leave it null: the spec shows the text
  }
  return { status: res.status, body: doc, text: reply };
}

const out = { id: await me.id() };
if (mode === "post") out.reply = await post(JSON.stringify({ text }));
else if (mode === "raw") out.reply = await post(text);
else {
  console.error("usage: node client.mjs post|raw BASE APPID TEXT [KEYFILE]");
  process.exit(2);
}
console.log(JSON.stringify(out));
