"""A real HTTP server speaking the data-exchange API's JSON contract (docs/PUBLIC_DATA.md).

Started by the tests on a free local port: ``GET /v1/{source}/{uscc}`` with a bearer token
answers the record it holds (200), 404 when it holds none, 401 with a wrong token, and
503 for the next ``fail_next`` requests (a passing outage).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ExchangeServer:
    """The stub exchange: ``records[(source, uscc)] = {"as_of": ..., "data": {...}}``."""

    def __init__(self, token: str = "test-token") -> None:  # noqa: S107 - a test server's token
        self.token = token
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[str] = []
        self.fail_next = 0
        self.broken: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
                return

            def _answer(self, status: int, body: Any) -> None:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._answer(401, {"error": "unauthorised"})
                    return
                if server.fail_next > 0:
                    server.fail_next -= 1
                    self._answer(503, {"error": "unavailable"})
                    return
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "v1":
                    self._answer(404, {"error": "not_found"})
                    return
                _v1, source, uscc = parts
                if uscc in server.broken:
                    self._answer(200, b"<html>not json</html>")
                    return
                record = server.records.get((source, uscc))
                if record is None:
                    self._answer(404, {"error": "not_found"})
                    return
                self._answer(200, {"uscc": uscc, "source": source, **record})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the base address the connector is configured with."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ExchangeServer:
        """Serve in a thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
