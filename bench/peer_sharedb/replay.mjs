// Replays a window of an editing trace through a ShareDB server (server.mjs)
// the way bench/sync.py replays it through the MobWrite gateway and
// peer_yjs/replay.mjs through Yjs: N clients, one ShareDB Connection each,
// take turns typing the trace's batches in lockstep. A batch is one json0
// op (string components `si` / `sd` at ['text', offset], ShareDB's default
// type); the next batch starts once the typist's op is acknowledged and every
// other client holds the new text.
//
//   node replay.mjs ws://127.0.0.1:PORT DOCNAME window.json
//
// window.json as for peer_yjs/replay.mjs (offsets in UTF-16 units, as JS
// strings and json0 count). Prints READY once every client holds the start
// text, waits for a line on stdin, replays, prints one JSON line of results.
import fs from 'node:fs'
import WebSocket from 'ws'
import ShareDB from 'sharedb/lib/client/index.js'
import { WireCount, readyThenGo } from '../wire.mjs'

const [url, docName, windowPath] = process.argv.slice(2)
const win = JSON.parse(fs.readFileSync(windowPath, 'utf8'))
const wire = new WireCount()
let waiters = []

function check () {
  waiters = waiters.filter(w => !w())
}

function until (cond) {
  return new Promise(resolve => {
    if (cond()) return resolve()
    waiters.push(() => { if (cond()) { resolve(); return true } return false })
  })
}

function promised (fn) {
  return new Promise((resolve, reject) => fn(err => err ? reject(err) : resolve()))
}

async function openClient () {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  wire.watch(ws)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const connection = new ShareDB.Connection(ws)
  const doc = connection.get('bench', docName)
  doc.on('op', check)
  return { ws, connection, doc }
}

// The batch as one json0 op against `text`; returns [op, the text after it].
function batchOp (text, patches) {
  const op = []
  for (const [pos, del, ins] of patches) {
    if (del) op.push({ p: ['text', pos], sd: text.slice(pos, pos + del) })
    if (ins) op.push({ p: ['text', pos], si: ins })
    text = text.slice(0, pos) + ins + text.slice(pos + del)
  }
  return [op, text]
}

const clients = []
for (let i = 0; i < win.clients; i++) clients.push(await openClient())
await promised(cb => clients[0].doc.create({ text: win.start }, cb))
for (const c of clients.slice(1)) await promised(cb => c.doc.subscribe(cb))
await promised(cb => clients[0].doc.subscribe(cb))
await until(() => clients.every(c => c.doc.data && c.doc.data.text === win.start))

const rl = await readyThenGo()

const started = process.hrtime.bigint()
const mark = wire.mark(clients.map(c => c.ws))
const n = clients.length
let round = 0
for (let at = 0; at < win.patches.length; at += win.batch, round++) {
  const typist = clients[round % n]
  const [op, want] = batchOp(typist.doc.data.text, win.patches.slice(at, at + win.batch))
  const acked = promised(cb => typist.doc.submitOp(op, cb))
  await acked
  await until(() => clients.every(c => c.doc.data.text === want))
}
const ms = Number(process.hrtime.bigint() - started) / 1e6
const counted = wire.since(mark, clients.map(c => c.ws))
const exact = clients.every(c => c.doc.data.text === win.end)
process.stdout.write(JSON.stringify({
  keystrokes: win.patches.length, rounds: round, ms, exact,
  lengths: clients.map(c => c.doc.data.text.length), expected: win.end.length,
  ...counted
}) + '\n')
for (const c of clients) c.ws.close()
rl.close()
process.exit(0)
