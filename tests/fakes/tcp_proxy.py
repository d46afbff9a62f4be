"""A TCP proxy on 127.0.0.1 that tests put between bizbot and PostgreSQL to stage network failures.

`cut("client")` resets the connections on the side facing bizbot, `cut("server")` on the side facing the
database, `cut("both")` both; `blackhole()` keeps every socket open but stops forwarding, as a silent
network drop does (neither side is told); `restore()` forwards again and accepts new connections.
"""
from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Iterator


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._orphans: list[socket.socket] = []  # the uncut side of a cut pair, closed with the proxy
        self._lock = threading.Lock()
        self._forwarding = True
        self._refusing = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    # controls -------------------------------------------------------------------------------------------

    def blackhole(self) -> None:
        """Stop forwarding in both directions; sockets stay open and nobody is told."""
        self._forwarding = False
        self._wake()

    def refuse(self) -> None:
        """New connections are reset at once (a server that refuses connections)."""
        self._refusing = True

    def restore(self) -> None:
        self._forwarding = True
        self._refusing = False
        self._wake()

    def cut(self, side: str = "both") -> None:
        """Reset the open connections on one side ("client", "server") or both."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            for sock, chosen in ((client, side in ("client", "both")), (server, side in ("server", "both"))):
                if chosen:
                    _reset(sock)
                else:
                    self._orphans.append(sock)
            # the side not cut is left to find out on its own, as after a one-sided failure
        self._wake()

    def close(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout=5)
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for sock in [s for pair in pairs for s in pair] + self._orphans:
            with contextlib.suppress(OSError):
                sock.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def url_for(self, url: str) -> str:
        """The same database URL, reaching the server through this proxy."""
        from sqlalchemy.engine import make_url

        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    # the loop -------------------------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        registered: dict[socket.socket, socket.socket] = {}
        while not self._stop.is_set():
            with self._lock:
                live = {s: peer for c, p in self._pairs for s, peer in ((c, p), (p, c))}
            wanted = set(live) if self._forwarding else set()
            for sock in list(registered):
                if sock not in wanted:
                    with contextlib.suppress(KeyError, ValueError, OSError):
                        sel.unregister(sock)
                    del registered[sock]
            for sock in wanted - set(registered):
                with contextlib.suppress(ValueError, OSError):
                    sel.register(sock, selectors.EVENT_READ, "data")
                    registered[sock] = live[sock]
            for key, _ in sel.select(timeout=0.5):
                if key.data == "wake":
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                elif key.data == "accept":
                    self._accept()
                else:
                    self._forward(key.fileobj, live.get(key.fileobj))  # type: ignore[arg-type]
        sel.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._refusing:
            _reset(client)
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        client.setblocking(False)
        server.setblocking(False)
        with self._lock:
            self._pairs.append((client, server))

    def _forward(self, sock: socket.socket, peer: socket.socket | None) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data and peer is not None:
            try:
                peer.setblocking(True)
                peer.sendall(data)
                peer.setblocking(False)
                return
            except OSError:
                pass
        # one side closed or failed: close the pair, as a plain TCP relay does
        with self._lock:
            self._pairs = [p for p in self._pairs if sock not in p]
        for s in (sock, peer):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()


def _reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (SO_LINGER 0), as a crashed host or a firewall does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def proxy_to(url: str) -> Iterator[TcpProxy]:
    """A proxy in front of the PostgreSQL server of `url`, closed when the block ends."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()
