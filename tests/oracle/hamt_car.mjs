// Makes the HAMT-sharded directory test_blocks.c reads (tests/unit/data/
// hamt.car): the JS UnixFS importer with every directory sharded (fanout
// 256, murmur3-x64-64), CIDv1 with raw leaves, all blocks in a CARv1 whose
// root is the directory. Usage: node hamt_car.mjs N OUT.car
// Prints "CID NAME" for every entry, then "CID /" for the directory.
import { importer } from 'ipfs-unixfs-importer'
import fs from 'node:fs'

const [count, out] = process.argv.slice(2)
const blocks = new Map()
const blockstore = {
  put: async (cid, bytes) => { blocks.set(cid.toString(), { cid, bytes }); return cid },
  get: async (cid) => blocks.get(cid.toString()).bytes,
  has: async (cid) => blocks.has(cid.toString())
}
const files = []
for (let i = 0; i < Number(count); i++) {
  const name = `file-${String(i).padStart(3, '0')}.txt`
  files.push({ path: 'dir/' + name, content: new TextEncoder().encode(`content of ${name}\n`) })
}
files.push({ path: 'dir/index.html', content: new TextEncoder().encode('<!doctype html><p>sharded</p>\n') })
let root
for await (const e of importer(files, blockstore, {
  cidVersion: 1, rawLeaves: true, shardSplitThresholdBytes: 1, wrapWithDirectory: false
})) {
  console.log(e.cid.toString() + ' ' + e.path)
  if (e.path === 'dir') root = e.cid
}

function varint (n) {
  const b = []
  while (n >= 0x80) { b.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  b.push(n)
  return Buffer.from(b)
}
const rootBytes = Buffer.concat([Buffer.from([0]), Buffer.from(root.bytes)])
const header = Buffer.concat([
  Buffer.from([0xa2, 0x65]), Buffer.from('roots'), Buffer.from([0x81, 0xd8, 0x2a, 0x58, rootBytes.length]), rootBytes,
  Buffer.from([0x67]), Buffer.from('version'), Buffer.from([0x01])
])
const parts = [varint(header.length), header]
for (const { cid, bytes } of blocks.values()) {
  const c = Buffer.from(cid.bytes)
  parts.push(varint(c.length + bytes.length), c, Buffer.from(bytes))
}
fs.writeFileSync(out, Buffer.concat(parts))
