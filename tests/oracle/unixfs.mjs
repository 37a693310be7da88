// The reference for `leither ipfs add`: the JS UnixFS importer with kubo's
// settings spelled out. Usage: node unixfs.mjs CIDVERSION RAWLEAVES PATH
// Prints "CID NAME" for every file and directory, as `ipfs add` names them
// (a directory's entries under its own name; hidden entries skipped).
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import fs from 'node:fs'
import path from 'node:path'

const [version, raw, top] = process.argv.slice(2)
const options = {
  cidVersion: Number(version),
  rawLeaves: raw === 'true',
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  reduceSingleLeafToSelf: true,
  wrapWithDirectory: false
}
const blockstore = { // nothing is kept: only the CIDs matter
  put: async (cid) => cid,
  get: async () => { throw new Error('not kept') },
  has: async () => false
}

function * walk (p, name) {
  const st = fs.statSync(p)
  if (!st.isDirectory()) {
    yield { path: name, content: fs.createReadStream(p) }
    return
  }
  const names = fs.readdirSync(p).filter((n) => !n.startsWith('.')).sort()
  if (names.length === 0) yield { path: name }
  for (const n of names) yield * walk(path.join(p, n), name + '/' + n)
}

for await (const entry of importer(walk(top, path.basename(top)), blockstore, options)) {
  console.log(entry.cid.toString() + ' ' + entry.path)
}
