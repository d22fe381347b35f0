"""A TCP proxy in front of the test S3 server, so that a test can make S3 vanish (and come back) mid-export
while the S3 server itself, with its in-memory state, stays up to be inspected."""

from __future__ import annotations

import re
import socket
import threading

from tests.serverproc import free_port


class TcpProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.cut_after_bytes: int | None = None  # stop by itself once this many request bytes went through
        self.forwarded = 0
        self.running = threading.Event()
        self.hold_prefix: bytes | None = None  # requests starting with this wait until `released` is set
        self.hold_match: re.Pattern[bytes] | None = None  # so do requests whose start matches this
        self.cut_after_match: re.Pattern[bytes] | None = None  # S3 goes once it got a request matching this
        self.drop_answer_match: re.Pattern[bytes] | None = None  # the answer to a request matching this is lost
        self.released = threading.Event()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self.running.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """S3 is gone: no listener, every connection reset."""
        self.running.clear()
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self.running.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self.running.is_set():
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _held(self, data: bytes) -> bool:
        if self.hold_prefix is not None and data.startswith(self.hold_prefix):
            return True
        return self.hold_match is not None and self.hold_match.match(data) is not None

    def _pump(self, src: socket.socket, dst: socket.socket, request: bool) -> None:
        # a request matched by `drop_answer_match` or `cut_after_match`: what to do once S3 has all of it, and
        # how many bytes of its body are still to come
        after: str | None = None
        body_left = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if request and self._held(data):
                    self.released.wait(60)
                if not self.running.is_set():
                    break
                dst.sendall(data)
                if not request:
                    continue
                self.forwarded += len(data)
                if after is not None:
                    body_left -= len(data)
                elif self.drop_answer_match is not None and self.drop_answer_match.match(data) is not None:
                    self.drop_answer_match = None
                    after, body_left = "drop", _body_left(data)
                elif self.cut_after_match is not None and self.cut_after_match.match(data) is not None:
                    self.cut_after_match = None
                    after, body_left = "cut", _body_left(data)
                elif self.cut_after_bytes is not None and self.forwarded >= self.cut_after_bytes:
                    after, body_left = "cut", 0
                if after is None or body_left > 0:
                    continue
                if after == "cut":
                    self.cut_after_bytes = None
                    threading.Thread(target=self.stop, daemon=True).start()
                break  # this connection closes before S3's answer ("drop": the listener stays)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _body_left(data: bytes) -> int:
    """Bytes of a request's body still to come after `data`, its first bytes (headers and any body)."""
    end = data.find(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", data[:end] if end >= 0 else data)
    if end < 0 or length is None:
        return 0
    return int(length[1]) - (len(data) - end - 4)
