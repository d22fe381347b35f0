"""Streaming compressors for exported objects: gzip (ISA-L, a gzip member) and zstd (one frame)."""

from __future__ import annotations

from typing import Protocol

import zstandard
from isal import isal_zlib

from domolite.models.exports import Compression


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Identity:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def compressor(kind: Compression) -> Compressor:
    """A fresh compressor for one object."""
    if kind is Compression.GZIP:
        compress: Compressor = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 31)  # wbits 31: a gzip member
        return compress
    if kind is Compression.ZSTD:
        return zstandard.ZstdCompressor(level=3, threads=0).compressobj()
    return _Identity()


EXTENSIONS = {Compression.NONE: "", Compression.GZIP: ".gz", Compression.ZSTD: ".zst"}
CONTENT_TYPES = {
    Compression.NONE: "text/csv; charset=utf-8",
    Compression.GZIP: "application/gzip",
    Compression.ZSTD: "application/zstd",
}
