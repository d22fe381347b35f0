"""A router that serves every path both with and without a trailing slash (never a redirect)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


class Router(APIRouter):
    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        twin = path[:-1] if path.endswith("/") else path + "/"
        if twin and twin != path:
            kwargs = dict(kwargs)
            kwargs["include_in_schema"] = False
            super().add_api_route(twin, endpoint, **kwargs)
