"""A 500 reveals nothing internal: the body is Domo's, with a toe to find the traceback in the log."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import uvicorn
from fastapi.testclient import TestClient

from domolite.app import create_app
from domolite.settings import Settings
from tests.helpers import assert_domo_error, until
from tests.serverproc import free_port


def test_an_unexpected_exception_is_a_bare_500(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: /etc/shadow password=hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_domo_error(client.get("/boom"), 500, "An internal error occurred")
    assert "secret" not in body["message"] and "hunter2" not in body["message"]


def _read_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response with a Content-Length body, read off a raw connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"the connection was closed after {data!r}"
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        more = sock.recv(65536)
        assert more, "the connection was closed in the body"
        body += more
    return head + b"\r\n\r\n" + body


def test_the_keep_alive_connection_stays_usable_after_a_500(tmp_path: Path) -> None:
    """A real uvicorn (as `domolite serve` runs it): the request after a 500, on the same connection, is
    answered (an exception escaping the app made the server close the connection)."""
    app = create_app(Settings(data_dir=tmp_path / "data"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected failure")

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), loop="uvloop", http="httptools", log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        until(lambda: server.started, 30, "the server to start")
        with socket.create_connection(("127.0.0.1", server.config.port), timeout=30) as sock:
            sock.sendall(b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
            first = _read_response(sock)
            sock.sendall(b"GET /v1/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            second = _read_response(sock)
        assert first.startswith(b"HTTP/1.1 500 ") and b"An internal error occurred" in first
        assert b"an unexpected failure" not in first
        assert second.startswith(b"HTTP/1.1 404 ") and b"No such endpoint" in second
    finally:
        server.should_exit = True
        thread.join(30)
