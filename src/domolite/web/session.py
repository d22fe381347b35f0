"""Who is signed in to the Data Center, and CSRF.

The session cookie holds the session token that POST /api/content/v2/authentication gives (the same
SessionService signs and checks both), HttpOnly and SameSite=Lax. Every form and every script call that
changes something carries a CSRF token that must equal the one in the CSRF cookie (double submit): another
site can neither read that cookie nor set it on this one.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from starlette.responses import Response

from domolite.api.deps import GuardDep, SessionsDep, client_address
from domolite.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from domolite.models.records import Principal

SESSION_COOKIE = "domolite_session"
CSRF_COOKIE = "domolite_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 1 << 20


class SignInNeeded(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def session_token(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "").strip()


def signed_in(request: Request, guard: GuardDep, sessions: SessionsDep) -> Principal:
    """The signed-in user's principal, built as the API builds a session's (same throttle, same checks)."""
    token = session_token(request)
    where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise SignInNeeded(where)
    try:
        principal = guard.attempt("session", None, client_address(request), lambda: sessions.verify(token))
    except Unauthorized:
        raise SignInNeeded(where) from None
    request.state.web_user = principal.user
    return principal


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (made on its first page; set by `finish`)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) < 32:
        token = getattr(request.state, "new_csrf", "") or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    if len(expected) < 32 or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden("the form is out of date or came from another site; reload the page and try again")


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (bounded), after its CSRF token is checked."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadRequest("a form is sent as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"a form may hold at most {MAX_FORM_BYTES} bytes")
    fields: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        multi.setdefault(key, []).append(value)
        fields[key] = value
    request.state.form_lists = multi
    check_csrf(request, fields.get(CSRF_FIELD))
    return fields


def whole(text: str | None) -> int | None:
    """An id or a number a form or a link sent: ASCII digits within 64 bits, or None (the field was not one)."""
    if text is None or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number < 2**63 else None


def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (read_form ran first)."""
    lists: dict[str, list[str]] = getattr(request.state, "form_lists", {})
    return lists.get(name, [])


def finish(request: Request, response: Response) -> Response:
    """Sets the CSRF cookie when this request made one, and the headers every page carries."""
    new = getattr(request.state, "new_csrf", "")
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
        )
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def set_session(request: Request, response: Response, token: str, lifetime_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=lifetime_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def sign_in_path(next_path: str) -> str:
    return "/signin?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """Only a path of this site (never //host or a scheme) may be where sign-in goes next."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


UserDep = Annotated[Principal, Depends(signed_in)]
FormDep = Annotated[dict[str, str], Depends(read_form)]
