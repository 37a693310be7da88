// A key's writes over the JSON API, for store_spec.lua: the browser SDK
// (sdk/js/leither.js) signs them as a page would. Prints JSON:
// {"ok": true, ...} or {"status": HTTP status, "message": the node's reason}.
//   node store_client.mjs create BASE KEYFILE TYPE     mimei/create: {"mid"}
//   node store_client.mjs write BASE KEYFILE MID BYTES  mimei/write of BYTES bytes (random, so new blocks)
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { Leither, Key } from "../../sdk/js/leither.js";

const [mode, base, keyfile, arg, bytes] = process.argv.slice(2);
const l = new Leither({ base });
await l.signIn(await Key.from(JSON.parse(readFileSync(keyfile, "utf8"))));
try {
  if (mode === "create") {
    console.log(JSON.stringify({ ok: true, mid: await l.mimeiCreate({ type: arg }) }));
  } else if (mode === "write") {
    // base64 of random bytes: printable, and no two writes share a block
    const text = randomBytes(Number(bytes)).toString("base64").slice(0, Number(bytes));
    await l.mimeiWrite(arg, text);
    console.log(JSON.stringify({ ok: true }));
  } else {
    console.error("usage: node store_client.mjs create|write BASE KEYFILE ...");
    process.exit(2);
  }
} catch (e) {
  if (e.status === undefined) throw e;
  console.log(JSON.stringify({ status: e.status, message: e.message }));
}
