// Wire bytes of a WebSocket connection, for the node peers' replay clients:
// every frame's payload plus its RFC 6455 header (2 bytes, +2 or +8 for a
// payload of 126+ or 65536+ bytes, +4 for the mask that every client-to-server
// frame carries and no server-to-client frame does). Messages are sent and
// received whole (one frame each) and permessage-deflate is off, so this is
// what crosses the socket; `socketBytes` reads the socket's own count to check.
import readline from 'node:readline'

export function frameBytes (payloadLength, masked) {
  const extended = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8
  return 2 + extended + (masked ? 4 : 0) + payloadLength
}

export class WireCount {
  constructor () {
    this.out = 0 // client to server, masked frames
    this.in = 0 // server to client
    this.frames = 0
  }

  // Counts every message a client's `ws` WebSocket sends and receives.
  watch (ws) {
    const send = ws.send.bind(ws)
    ws.send = (data, ...rest) => {
      this.out += frameBytes(typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, true)
      this.frames++
      return send(data, ...rest)
    }
    ws.on('message', data => { // a Buffer, or an ArrayBuffer under binaryType 'arraybuffer'
      this.in += frameBytes(data.byteLength, false)
      this.frames++
    })
  }

  // The counts now, for `since`: the figures of a replay.
  mark (sockets) {
    return { out: this.out, in: this.in, frames: this.frames, socket: socketBytes(sockets) }
  }

  // What crossed `sockets` since `mark`, as the replay reports it.
  since (mark, sockets) {
    const socket = socketBytes(sockets)
    return {
      bytes_out: this.out - mark.out,
      bytes_in: this.in - mark.in,
      frames: this.frames - mark.frames,
      socket_bytes_out: socket.written - mark.socket.written,
      socket_bytes_in: socket.read - mark.socket.read
    }
  }
}

// Prints READY (every client holds the start text), then waits for the
// driver's line on stdin: the driver reads the server's CPU in between.
export async function readyThenGo () {
  process.stdout.write('READY\n')
  const rl = readline.createInterface({ input: process.stdin })
  await new Promise(resolve => rl.once('line', resolve))
  return rl
}

// Bytes written and read on the sockets under `sockets` (ws WebSockets): the
// kernel-side count, frame headers, handshakes and control frames included.
export function socketBytes (sockets) {
  let written = 0
  let read = 0
  for (const ws of sockets) {
    written += ws._socket.bytesWritten
    read += ws._socket.bytesRead
  }
  return { written, read }
}
