"""What the local fakes of Slack's Web API and Telegram's Bot API share: serving on 127.0.0.1 in a
background thread, and the calls they recorded."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar

C = TypeVar("C")


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # a platform accepts every connection: a backlog of the standard library's five drops a burst's connects,
    # which the client's kernel retries a second later, and the fake would measure its own queue
    request_queue_size = 1024
    fake: Any


class FakeServer(Generic[C]):
    """Serves `handler` on an OS-chosen port; `calls` are what it recorded, guarded by `_changed`."""

    handler: type[BaseHTTPRequestHandler]
    server_class: type[FakeHTTPServer] = FakeHTTPServer
    case_sensitive_methods = True

    def __init__(self) -> None:
        self.calls: list[C] = []
        self._changed = threading.Condition()
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Serve on an OS-chosen port in a background thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._on_start()
        self._server = self.server_class(("127.0.0.1", 0), self.handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._server is None:
            return
        self._on_stop()
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def _on_start(self) -> None:
        """Before serving (a subclass resets its own state)."""

    def _on_stop(self) -> None:
        """Before the server shuts down (a subclass wakes what waits)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _is(self, call: C, method: str) -> bool:
        name: str = call.method  # type: ignore[attr-defined]
        return name == method if self.case_sensitive_methods else name.lower() == method.lower()

    def calls_to(self, method: str) -> list[C]:
        """The calls recorded so far for `method`, oldest first."""
        with self._changed:
            return [call for call in self.calls if self._is(call, method)]

    def clear(self) -> None:
        """Forget the recorded calls."""
        with self._changed:
            self.calls.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[C]:
        """Wait until `count` calls to `method` were recorded and return them; AssertionError if not."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: sum(self._is(call, method) for call in self.calls) >= count, timeout
            )
            if not arrived:
                seen = [call.method for call in self.calls]  # type: ignore[attr-defined]
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s; received {seen}"
                )
            return [call for call in self.calls if self._is(call, method)]


class FakeHandler(BaseHTTPRequestHandler):
    """A request to a fake: GET and POST alike go to `_handle`; answers are JSON."""

    content_type = "application/json"

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log line (it would show a token)."""

    def _send(self, status: int, answer: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
