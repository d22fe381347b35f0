"""A router that serves every path both with and without a trailing slash (never a redirect).

A route is registered once, without its trailing slash; the request's path loses its trailing slash before
routing (`api/middleware.py`), so that both spellings reach it. One route per path, not two: FastAPI tries the
routes one after the other, and each try costs every request that comes after it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


def without_trailing_slash(path: str) -> str:
    """The path without its trailing slashes ("/" stays "/")."""
    return path.rstrip("/") or "/"


class Router(APIRouter):
    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().add_api_route(without_trailing_slash(path), endpoint, **kwargs)
