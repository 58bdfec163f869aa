"""A TCP forwarder on loopback that can be cut and healed: a network
partition between one process and a service, for outage tests.

    proxy = TcpProxy(upstream_port)      # clients connect to proxy.port
    proxy.cut()                          # open connections drop, new ones are refused
    proxy.heal()

``delay`` (seconds) holds everything the service sends back that long, as
a service further away would (bench.floors). ``ProxyProcess`` is the same
in a process of its own.
"""

import contextlib
import queue
import socket
import subprocess
import sys
import threading
import time


class TcpProxy:
    def __init__(self, upstream_port, host="127.0.0.1", delay=0.0):
        self.upstream, self.delay = (host, upstream_port), delay
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self._sockets = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="tcpproxy").start()

    def cut(self):
        self.open = False
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def heal(self):
        self.open = True

    def close(self):
        self.cut()
        _close(self.listener)

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.open:
                _close(client)  # a reset, as an unreachable host's firewall would answer
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            for sock in (client, server):  # as the endpoints do: no Nagle wait for a delayed ACK (40 ms)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets.update((client, server))
            for a, b, delay in ((client, server, 0), (server, client, self.delay)):
                threading.Thread(target=self._pump, args=(a, b, delay), daemon=True).start()

    def _pump(self, source, sink, delay):
        if delay:  # each chunk leaves ``delay`` after it came, however many came together
            held = queue.Queue()
            threading.Thread(target=self._release, args=(held, sink), daemon=True).start()
        try:
            while self.open:
                data = source.recv(65536)
                if not data:
                    break
                if delay:
                    held.put((time.monotonic() + delay, data))
                else:
                    sink.sendall(data)
        except OSError:
            pass
        _close(source)
        if delay:
            held.put((0, b""))  # the release thread closes the sink when all is out
        else:
            _close(sink)

    def _release(self, held, sink):
        try:
            while True:
                due, data = held.get()
                if not data:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                sink.sendall(data)
        except OSError:
            pass
        _close(sink)


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class ProxyProcess:
    """A TcpProxy in a process of its own, with the same cut, heal and
    close: forwarding then never waits for this process's GIL, which the
    fault harness's simulated users (threads) hold most of the time."""

    def __init__(self, upstream_port, host="127.0.0.1", delay=0.0):
        self.process = subprocess.Popen([sys.executable, __file__, str(upstream_port), host, repr(delay)], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.port = int(self.process.stdout.readline())

    def _tell(self, command):
        """Returns once the proxy has done it."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        if self.process.stdout.readline().strip() != "ok":
            raise RuntimeError("the TCP proxy did not %s" % command)

    def cut(self):
        self._tell("cut")

    def heal(self):
        self._tell("heal")

    def close(self):
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # its end of input: it closes everything and exits
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main(argv):
    """``tcpproxy.py UPSTREAM_PORT [HOST [DELAY]]``: prints its port, then
    takes "cut" and "heal" lines, answering "ok" to each, until its input ends."""
    proxy = TcpProxy(int(argv[0]), *argv[1:2], *(float(a) for a in argv[2:3]))
    print(proxy.port, flush=True)
    for line in sys.stdin:
        {"cut": proxy.cut, "heal": proxy.heal}[line.strip()]()
        print("ok", flush=True)
    proxy.close()


if __name__ == "__main__":
    main(sys.argv[1:])
