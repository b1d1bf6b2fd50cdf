"""The fake's loopback HTTP server: a real socket on 127.0.0.1 for kernels, notebooks and browsers.

Knows nothing of Kiwoom: every request goes to FakeKiwoom.handle. A WebSocket server (real-time) will sit
beside it in a module of its own.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import FakeKiwoom


def serve(fake: "FakeKiwoom", port: int, host: str) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Answer ``fake``'s requests over HTTP on ``host:port`` in a daemon thread; returns the server and thread."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY, as real servers set it: without it the header and body writes meet the
        # client's delayed ACK and every answer takes ~40 ms on loopback instead of <1 ms.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with fake._lock:
                fake._connections.add(self.connection)

        def finish(self) -> None:
            with fake._lock:
                fake._connections.discard(self.connection)
            super().finish()

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            reply = fake.handle(self.command, self.path, dict(self.headers), raw)
            fake._report(self.path, dict(self.headers), reply)
            if reply.hang or (reply.delay and fake._stopping.wait(reply.delay)):
                fake._stopping.wait()
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-kiwoom", daemon=True)
    thread.start()
    return server, thread


def shut_down(server: ThreadingHTTPServer, connections: list[socket.socket]) -> None:
    """Stop ``server`` and cut its keep-alive ``connections``, which would otherwise go on being answered."""
    server.shutdown()
    server.server_close()
    for connection in connections:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
