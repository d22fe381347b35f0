"""An HTTP proxy in front of a real server that holds back the requests a test names, so the test can act while
a client waits on one (kill it mid-upload, say) at a moment it chose rather than one it raced for."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
OWN = HOP_BY_HOP | {"server", "date"}  # the proxy's answer writes its own


class HoldingProxy:
    """Forwards every request to `upstream`, except that those whose path matches `hold` wait (up to `wait` s)
    until `drop()`, which ends them unanswered and unforwarded; from then on every request is forwarded."""

    def __init__(self, upstream: str, hold: str, wait: float = 120.0) -> None:
        self.upstream = urlsplit(upstream)
        self.hold = re.compile(hold)
        self.wait = wait
        self.held = threading.Event()  # set once a request is being held
        self.go = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def drop(self) -> None:
        self.hold = re.compile(r"(?!)")  # matches nothing: no request is held from now on
        self.go.set()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.hold.search(self.path):
                    proxy.held.set()
                    proxy.go.wait(proxy.wait)
                    self.close_connection = True
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=proxy.wait)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    content = answer.read()
                finally:
                    conn.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in OWN:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

        return Handler

    @contextmanager
    def running(self) -> Iterator[HoldingProxy]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.go.set()
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=10)
