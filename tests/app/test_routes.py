"""One route per path: no route is registered with a trailing slash or twice (FastAPI tries routes one after
the other, so a twin costs every request routed after it); a request's trailing slash is dropped before routing
(tests/e2e/test_datasets.py asks with one)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from domolite.api.routing import without_trailing_slash
from domolite.app import create_app
from domolite.settings import Settings


def api_routes(router: Any) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += api_routes(inner)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def test_every_path_and_method_is_one_route_without_a_trailing_slash(tmp_path: Path) -> None:
    routes = api_routes(create_app(Settings(data_dir=tmp_path / "data")).router)
    assert len(routes) > 100  # the whole API is there
    ending = [r.path for r in routes if r.path != "/" and r.path.endswith("/")]
    assert ending == []
    twice = [k for k, n in Counter((r.path, m) for r in routes for m in r.methods).items() if n > 1]
    assert twice == []


def test_a_trailing_slash_is_dropped_and_the_root_stays() -> None:
    assert without_trailing_slash("/v1/users/") == "/v1/users"
    assert without_trailing_slash("/v1/users//") == "/v1/users"
    assert without_trailing_slash("/v1/users") == "/v1/users"
    assert without_trailing_slash("/") == "/"
    assert without_trailing_slash("//") == "/"
