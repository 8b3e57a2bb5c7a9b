"""Serving an emulator on 127.0.0.1: one threaded HTTP server per emulator, its handler
class bound to the emulator's state (the GitHub and Quay emulators share this)."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    # A listen queue as deep as the clients' concurrency (the standard library's is 5): a
    # full queue drops connections, and each dropped one waits a second to try again,
    # which GitHub's front ends never make a client do.
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client went away mid-answer (a Ctrl-C test): not the emulator's fault
        super().handle_error(request, client_address)


class Served:
    """``start()`` serves ``handler`` (a request handler class with an ``emu`` attribute)
    on a free port; ``origin`` is ``http://127.0.0.1:PORT``; ``stop()`` ends it."""

    _server: ThreadingHTTPServer | None = None

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        # No Nagle: a response's headers and body are written separately, and the client's
        # delayed ACK would hold the body back 40 ms (latency is what ``latency`` says).
        bound = type(handler.__name__, (handler,), {"emu": self, "disable_nagle_algorithm": True})
        self._server = _Server(("127.0.0.1", 0), bound)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def shutdown(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
