"""Pages: templates from the package, notices carried across a redirect, and the route class that turns a
domain error into a page (GET) or a notice on the page the form came from (POST)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jinja2
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from domolite.api.errors import validation_message
from domolite.errors import DomoError
from domolite.web.session import CSRF_FIELD, SignInNeeded, csrf_token, finish, sign_in_path

FLASH_COOKIE = "domolite_notice"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("domolite.web", "templates"),
    autoescape=jinja2.select_autoescape(("html",)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, int | float) and value > 10**11:  # epoch milliseconds
        return datetime.fromtimestamp(value / 1000).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)[:19].replace("T", " ")


_env.filters["when"] = _when
_env.filters["count"] = lambda n: f"{n:,}" if isinstance(n, int) else n
_env.filters["tojson_attr"] = lambda v: json.dumps(v)


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    notice = _read_notice(request)
    html = _env.get_template(template).render(
        request=request,
        path=request.url.path,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        user=getattr(request.state, "web_user", None),
        notice=notice,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if notice:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, *, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if notice or error:
        value = json.dumps({"kind": "error" if error else "ok", "text": error or notice})
        response.set_cookie(FLASH_COOKIE, quote(value), max_age=120, httponly=True, samesite="strict", path="/")
    return response


def _read_notice(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        found = json.loads(unquote(raw))
        return {"kind": str(found["kind"]), "text": str(found["text"])[:2000]}
    except (ValueError, KeyError, TypeError):
        return None


def back(request: Request) -> str:
    """Where a form came from, when that is a page of this site; else the DataSets list."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    path = referer.path or "/"
    return path + (f"?{referer.query}" if referer.query else "") if path.startswith("/") else "/"


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await inner(request)
            except SignInNeeded as exc:
                response = redirect(sign_in_path(exc.next_path))
            except (DomoError, RequestValidationError, ValidationError) as exc:
                # a form or a link the API's models refuse is a message on the page, as a DomoError is
                status, message = (
                    (exc.status, exc.message)
                    if isinstance(exc, DomoError)
                    else (400, validation_message(list(exc.errors())))
                )
                if request.method == "GET":
                    response = page(request, "error.html", status=status, message=message)
                else:
                    response = redirect(back(request), error=message)
            return finish(request, response)

        return handler
