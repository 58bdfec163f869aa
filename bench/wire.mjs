// Wire bytes of a WebSocket connection, for the node peers' replay clients:
// every frame's payload plus its RFC 6455 header (2 bytes, +2 or +8 for a
// payload of 126+ or 65536+ bytes, +4 for the mask that every client-to-server
// frame carries and no server-to-client frame does). Messages are sent and
// received whole (one frame each) and permessage-deflate is off, so this is
// what crosses the socket; `socketBytes` reads the socket's own count to check.

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
