// ShareDB on its in-memory backend (ShareDB's default MemoryDB and in-process
// pub/sub), served over WebSockets as its documentation shows: each
// connection handed to backend.listen() as a @teamwork/websocket-json-stream.
//
//   node server.mjs PORT      # listens on 127.0.0.1:PORT until killed
import http from 'node:http'
import ShareDB from 'sharedb'
import WebSocketJSONStream from '@teamwork/websocket-json-stream'
import { WebSocketServer } from 'ws'

const port = Number(process.argv[2])
const backend = new ShareDB()
const server = http.createServer()
const wss = new WebSocketServer({ server })
wss.on('connection', ws => {
  ws.on('error', () => ws.terminate()) // the stream leaves socket errors to us
  backend.listen(new WebSocketJSONStream(ws))
})
server.listen(port, '127.0.0.1')
