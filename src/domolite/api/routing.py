"""A router that serves every path both with and without a trailing slash (never a redirect), and that a
request whose path none of its routes can match passes by at the cost of one regular expression.

A route is registered once, without its trailing slash; the request's path loses its trailing slash before
routing (`api/middleware.py`), so that both spellings reach it. One route per path, not two: FastAPI tries the
routes one after the other, and each try costs every request that comes after it.

FastAPI tries the app's routers one after the other too, and each of a router's routes in turn (several
microseconds a route). So each router first matches the request's path against one expression made of all
its routes' paths: when that does not match, none of them can, and the router answers "no match" at once.
When it does, FastAPI matches as before (the method too, so a path with other methods still answers 405).
The expression is made of the routes' own paths, so a router is included without a prefix (as every one of
ours is)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

_GROUP = re.compile(r"\(\?P<[^>]+>")


def without_trailing_slash(path: str) -> str:
    """The path without its trailing slashes ("/" stays "/")."""
    return path.rstrip("/") or "/"


class Router(APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._paths: re.Pattern[str] | None = None
        self._paths_of = -1  # the number of routes the expression was made from

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().add_api_route(without_trailing_slash(path), endpoint, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            paths = self._paths_expression()
            if paths is not None and paths.match(get_route_path(scope)) is None:
                return Match.NONE, {}
        return super().matches(scope)

    def _paths_expression(self) -> re.Pattern[str] | None:
        """One expression matching what any of the routes' paths match (None: some route has no path
        expression, so every request is matched route by route)."""
        if self._paths_of != len(self.routes):
            regexes = (getattr(route, "path_regex", None) for route in self.routes)
            patterns = [regex.pattern for regex in regexes if regex is not None]
            whole = patterns and len(patterns) == len(self.routes)
            self._paths = re.compile("|".join(f"(?:{_GROUP.sub('(?:', p)})" for p in patterns)) if whole else None
            self._paths_of = len(self.routes)
        return self._paths
