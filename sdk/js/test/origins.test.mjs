// The SDK and origins: host labels match the node's redirects, app() and
// appUrl() follow the page's origin, and a page without storage keeps its
// key in memory only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Leither, Key, hostLabel, idOfLabel, pageOrigin, base32 } from "../leither.js";
import { startNode, stopNode } from "../testing/node.mjs";

const loc = (url) => {
  const u = new URL(url);
  return { host: u.host, origin: u.origin, protocol: u.protocol, pathname: u.pathname };
};

function withLocation(url, fn) {
  const saved = globalThis.location;
  globalThis.location = loc(url);
  try {
    return fn();
  } finally {
    if (saved === undefined) delete globalThis.location;
    else globalThis.location = saved;
  }
}

test("base32 is RFC 4648's, lower case, without padding", () => {
  const cases = { "": "", f: "my", fo: "mzxq", foo: "mzxw6", foob: "mzxw6yq", fooba: "mzxw6ytb", foobar: "mzxw6ytboi" };
  for (const [text, want] of Object.entries(cases)) assert.equal(base32(text), want);
});

test("a host label is the node's: the ID's 20 bytes in base32, and back", async () => {
  const key = await Key.generate();
  const label = hostLabel(key.id);
  assert.match(label, /^[a-z2-7]{32}$/);
  assert.equal(idOfLabel(label), key.id);
  assert.equal(idOfLabel(label.toUpperCase()), key.id);
  assert.throws(() => hostLabel("short"));
});

test("the node redirects an app's path form to the label hostLabel gives", async (t) => {
  const node = startNode();
  t.after(() => stopNode(node));
  const key = await Key.generate();
  const res = await fetch(`http://localhost:${node.port}/tpt/${key.id}/x?y=1`, { redirect: "manual" });
  assert.equal(res.status, 301);
  assert.equal(res.headers.get("location"), `http://${hostLabel(key.id)}.app.localhost:${node.port}/x?y=1`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
});

test("app() and appUrl() follow the page's origin", async () => {
  const key = await Key.generate();
  const other = await Key.generate();
  const label = hostLabel(key.id);
  withLocation(`http://${label}.app.localhost:4800/`, () => {
    const l = new Leither();
    assert.deepEqual(pageOrigin(), { kind: "app", id: key.id, host: "localhost:4800", opaque: false });
    assert.equal(l.app().id, key.id);
    assert.equal(l.app().url("api/items"), `http://${label}.app.localhost:4800/api/items`);
    assert.equal(l.appUrl(), `http://${label}.app.localhost:4800/`);
    assert.equal(l.appUrl(other.id, "a"), `http://${hostLabel(other.id)}.app.localhost:4800/a`);
    assert.equal(l.mimeiUrl(other.id), `http://${hostLabel(other.id)}.mm.localhost:4800/`);
  });
  withLocation(`http://127.0.0.1:4800/tpt/${key.id}/`, () => {
    const l = new Leither();
    assert.equal(l.app().url("api/items"), `http://127.0.0.1:4800/tpt/${key.id}/api/items`);
    assert.equal(l.appUrl(other.id), `http://127.0.0.1:4800/tpt/${other.id}/`);
  });
});

test("without storage the key lives in memory only, and the SDK says so", async () => {
  const l = new Leither({ base: "http://127.0.0.1:1" });
  assert.equal(l.persistent, false); // node has no localStorage
  const warned = [];
  const saved = console.warn;
  console.warn = (m) => warned.push(m);
  try {
    const id = await l.signIn(await Key.generate());
    assert.equal(await l.id(), id);
  } finally {
    console.warn = saved;
  }
  assert.match(warned.join("\n"), /kept in memory only/);
});
