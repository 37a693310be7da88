// canonicalJSON against jansson itself: a small C program (testing/
// jansson_dump.c) prints what the node signs, json_dumps with
// JSON_COMPACT | JSON_SORT_KEYS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { canonicalJSON, mimeiRecord, mimeiCheck, Key } from "../leither.js";
import { root, tmp } from "../testing/node.mjs";

const exe = join(tmp(), "jansson_dump");
const cc = spawnSync("cc", ["-O1", "-o", exe, join(root, "sdk/js/testing/jansson_dump.c"), "-ljansson"], { encoding: "utf8" });
const skip = cc.status === 0 ? false : `cannot build the jansson oracle: ${cc.error || cc.stderr}`;

function jansson(value) {
  const r = spawnSync(exe, { input: JSON.stringify(value), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const cases = [
  {},
  [],
  "",
  { b: 1, a: 2, c: [3, { z: null, y: true, x: false }] },
  { "Ä": 1, "Z": 2, "a": 3, "é": 4, "€": 5, "😀": 6, "aa": 7 },
  { s: "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f" },
  { s: "\u0001\u001f\u007f\u0080 ünïcödé € 😀 \u2028\u2029" },
  { s: "<script>&'" },
  { n: -1, m: 0, big: 9007199254740991, neg: -9007199254740991 },
  { ID: "x", Author: "y", AppType: "file", Ext: "txt", Mark: "1", Create: "2024-01-01T00:00:00Z", Right: 1, App: "", PublicKey: "k" },
];

test("canonicalJSON is byte for byte jansson's compact sorted form", { skip }, () => {
  for (const c of cases) assert.equal(canonicalJSON(c), jansson(c), JSON.stringify(c));
});

test("random records with odd strings print as jansson prints them", { skip }, () => {
  const pool = ["a", "B", "é", "\n", "\"", "\\", "\u0003", "€", "😀", "/", " ", "z", "\u007f", "\u00ff"];
  for (let i = 0; i < 200; i++) {
    const rec = {};
    const n = 1 + (i % 7);
    for (let j = 0; j < n; j++) {
      let k = "", v = "";
      for (let q = 0; q < 1 + ((i + j) % 5); q++) k += pool[(i * 31 + j * 7 + q * 3) % pool.length];
      for (let q = 0; q < (i * j) % 9; q++) v += pool[(i * 17 + j * 5 + q * 11) % pool.length];
      rec[k] = j % 3 === 0 ? (i * j) - 50 : v;
    }
    assert.equal(canonicalJSON(rec), jansson(rec), JSON.stringify(rec));
  }
});

test("canonicalJSON refuses what jansson would print another way", () => {
  assert.throws(() => canonicalJSON({ x: 1.5 }), /only integers/);
  assert.throws(() => canonicalJSON({ x: "\ud800" }), /surrogate/);
});

test("a MiMei record made here checks as mimei_verify checks it", async () => {
  const key = await Key.generate();
  const rec = await mimeiRecord(key, { type: "file", ext: "txt", app: "é/\"x\"" });
  assert.equal(rec.Author, key.id);
  assert.match(rec.Mark, /^\d{10}\d{9}\d{5}$/);
  assert.match(rec.Create, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(await mimeiCheck(rec), "");
  assert.equal(await mimeiCheck({ ...rec, Ext: "md" }), "ID does not follow from Author, AppType, Ext and Mark");
  assert.equal(await mimeiCheck({ ...rec, Right: 1 }), "bad signature"); // private by default: made public here
});
