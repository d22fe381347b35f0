"""One route per path: no route is registered with a trailing slash or twice (FastAPI tries routes one after
the other, so a twin costs every request routed after it); a request's trailing slash is dropped before routing
(tests/e2e/test_datasets.py asks with one); a router that has no route for a path passes it by at once."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Match

from domolite.api.routing import Router, without_trailing_slash
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


def request_scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def concrete(path: str) -> str:
    """The route's path with each parameter given a value (`1` suits every converter: str, int, path)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_each_route_is_found_by_its_router_and_a_path_no_route_has_is_passed_by_at_once(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Each router first matches the path against one expression of all its routes' paths (api/routing.py):
    every route's path and method must still reach its route, another method must still be told 405, and a
    path that no route of a router has is answered "no match" without trying its routes one by one."""
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routers = [r for r in app.router.routes if isinstance(getattr(r, "original_router", None), Router)]
    assert len(routers) > 15  # every API and Data Center router is one of ours
    assert not any("TRACE" in r.methods for included in routers for r in api_routes(included.original_router))
    for included in routers:
        own = api_routes(included.original_router)
        assert own
        for route in own:
            for method in route.methods:
                assert included.matches(request_scope(method, concrete(route.path)))[0] is Match.FULL, (
                    method,
                    route.path,
                )
            # a method no route has (TRACE): the path matches, the method not, which FastAPI answers with 405
            assert included.matches(request_scope("TRACE", concrete(route.path)))[0] is Match.PARTIAL

    def tried_route_by_route(self: Any, scope: Any) -> Any:
        raise AssertionError(f"{scope['path']} was matched route by route")

    monkeypatch.setattr(APIRouter, "matches", tried_route_by_route)
    for included in routers:
        assert included.matches(request_scope("GET", "/no/such/endpoint"))[0] is Match.NONE
