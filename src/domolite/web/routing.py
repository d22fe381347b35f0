"""The Data Center's routers: pages are left out of the OpenAPI document and render their own errors."""

from __future__ import annotations

from domolite.api.routing import Router
from domolite.web.render import WebRoute


def web_router() -> Router:
    return Router(route_class=WebRoute, include_in_schema=False)
