// Replays a window of an editing trace through a Yjs WebSocket server, the
// way bench/sync.py replays it through the MobWrite gateway: N clients take
// turns typing the trace's batches, in lockstep (the next batch starts once
// every other client holds the previous one).
//
//   node replay.mjs ws://127.0.0.1:PORT DOCNAME window.json
//
// window.json: {"start": str, "end": str, "patches": [[pos, del, ins], ...]
// (positions in UTF-16 units, as Y.Text counts), "clients": N, "batch": B}.
// Prints READY once every client holds the start text, waits for a line on
// stdin, replays, prints one JSON line of results, then exits.
import fs from 'node:fs'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { WireCount, readyThenGo } from '../wire.mjs'

const [url, docName, windowPath] = process.argv.slice(2)
const win = JSON.parse(fs.readFileSync(windowPath, 'utf8'))
const MESSAGE_SYNC = 0
let waiters = []
const wire = new WireCount()

function check () {
  waiters = waiters.filter(w => !w())
}

function connect (doc) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url + '/' + docName, { perMessageDeflate: false })
    ws.binaryType = 'arraybuffer'
    wire.watch(ws)
    const send = data => ws.send(data)
    doc.on('update', (update, origin) => {
      if (origin === ws) return
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      syncProtocol.writeUpdate(encoder, update)
      send(encoding.toUint8Array(encoder))
    })
    ws.on('message', data => {
      const buf = new Uint8Array(data)
      const decoder = decoding.createDecoder(buf)
      if (decoding.readVarUint(decoder) === MESSAGE_SYNC) {
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, MESSAGE_SYNC)
        syncProtocol.readSyncMessage(decoder, encoder, doc, ws)
        if (encoding.length(encoder) > 1) send(encoding.toUint8Array(encoder))
      }
      check()
    })
    ws.on('open', () => {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      syncProtocol.writeSyncStep1(encoder, doc)
      send(encoding.toUint8Array(encoder))
      resolve(ws)
    })
    ws.on('error', reject)
  })
}

function until (cond) {
  return new Promise(resolve => {
    if (cond()) return resolve()
    waiters.push(() => { if (cond()) { resolve(); return true } return false })
  })
}

const docs = []
for (let i = 0; i < win.clients; i++) docs.push(new Y.Doc())
docs[0].getText('text').insert(0, win.start)
const sockets = []
for (const doc of docs) sockets.push(await connect(doc))
await until(() => docs.every(d => d.getText('text').length === docs[0].getText('text').length))

const rl = await readyThenGo()

const started = process.hrtime.bigint()
const mark = wire.mark(sockets)
const n = docs.length
let round = 0
for (let at = 0; at < win.patches.length; at += win.batch, round++) {
  const typist = docs[round % n]
  const text = typist.getText('text')
  typist.transact(() => {
    for (const [pos, del, ins] of win.patches.slice(at, at + win.batch)) {
      if (del) text.delete(pos, del)
      if (ins) text.insert(pos, ins)
    }
  })
  // (a state vector would miss a batch of deletions only: compare the texts)
  const want = text.toString()
  await until(() => docs.every(d => d === typist || d.getText('text').toString() === want))
}
const ms = Number(process.hrtime.bigint() - started) / 1e6
const counted = wire.since(mark, sockets)
const exact = docs.every(d => d.getText('text').toString() === win.end)
const lengths = docs.map(d => d.getText('text').length)
if (process.env.DUMP) fs.writeFileSync(process.env.DUMP, docs[0].getText('text').toString())
process.stdout.write(JSON.stringify({ keystrokes: win.patches.length, rounds: round, ms, exact, lengths, expected: win.end.length,
  ...counted }) + '\n')
for (const ws of sockets) ws.close()
rl.close()
process.exit(0)
