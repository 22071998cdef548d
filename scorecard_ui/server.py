"""The scorecard's web server: Streamlit's ``st.App`` around ``app.py``, with the two
routes that set and clear the sign-in cookie, and a guard on uploads.

Streamlit's page talks over a websocket, which cannot set a cookie, so sign-in ends with
the browser sent to ``/auth/session?grant=...``: the one-time grant (60 seconds) is
exchanged for a fresh session token, set as an HttpOnly, SameSite=Strict cookie (Secure
when served over HTTPS), lasting no longer than the session's absolute timeout.
``/auth/sign-out`` ends the session and clears the cookie.

Uploads (``/_stcore/upload_file/...``) are refused (403) unless the request carries a
live session cookie of an enabled agency user or administrator: before, any browser
that opened the sign-in page could upload files up to the size limit. Media files
(``/media/...``: downloads such as a new agency key) need a live session cookie too.

``scorecard ui`` runs this file with ``streamlit run``, which finds the ``st.App``.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.timekeeping import utc_now
from scorecard.settings import Settings
from scorecard_ui import single_sign_on as sso
from scorecard_ui.session import (
    COOKIE,
    directory,
    install,
    request,
    session_tokens,
    settings,
)

PAGE_PATH = re.compile(r"[a-z][a-z-]{0,39}")  # one of the app's url_paths; never another site
# A view's query string: short key=value pairs of letters, digits, dashes and underscores
_PAIR = r"[a-z_]{1,20}=[A-Za-z0-9_.\-]{0,40}"
VIEW_QUERY = re.compile(rf"{_PAIR}(&{_PAIR}){{0,9}}")
UPLOAD_ROLES = ("agency", "administrator")
UPLOAD_PATH = "/_stcore/upload_file/"
MEDIA_ROUTE = re.compile(r"(?<!/static)/media/")  # /media/<id>, never /static/media/


def _home_url(request: Request, page: str = "", view: str = "") -> str:
    """A page of this server, never another site; ``view`` (the view's query string a
    sent link carried, kept across sign-in) only if it is plain ``key=value`` pairs."""
    root = request.scope.get("root_path", "") or ""
    query = f"?{view}" if view and VIEW_QUERY.fullmatch(view) else ""
    return f"{root}/{page if PAGE_PATH.fullmatch(page) else ''}{query}"


def session_route(request: Request) -> Response:
    """Exchange a sign-in grant for the session cookie, then open the page."""
    tokens = session_tokens()
    token = tokens.redeem(request.query_params.get("grant", ""), utc_now())
    if token is None:
        return RedirectResponse(_home_url(request), status_code=303)
    response = RedirectResponse(_home_url(request, request.query_params.get("next", ""),
                                          request.query_params.get("view", "")),
                                status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(tokens.absolute.total_seconds()),
                        path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return response


def sign_out_route(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        session_tokens().end(token)
    response = RedirectResponse(_home_url(request), status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def signed_in_role(cookie_header: str) -> str | None:
    """The role of the live session the cookie names, if its user is enabled; without
    one, the role single sign-on's claims map to (``single_sign_on.py``)."""
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except Exception:  # a malformed header is no session
        return None
    morsel = cookies.get(COOKIE)
    if morsel is None or not morsel.value:
        return _single_sign_on_role(cookies)
    username = session_tokens().resume(morsel.value, utc_now())
    if username is None:
        return None
    with request():  # a write page's event store, dropped once the user is looked up
        user = directory().user(username)
        return None if user is None or user.disabled else str(user.role)


def _single_sign_on_role(cookies: SimpleCookie) -> str | None:
    claims = sso.cookie_claims(lambda name: cookies[name].value if name in cookies else None)
    if claims is None:
        return None
    try:
        return sso.identity(claims, settings(), utc_now()).role
    except sso.Refused:
        return None


def is_media(path: str) -> bool:
    """Whether the request is for Streamlit's media route (``/media/<id>``, under any
    base path): files the pages made, such as downloads. Not the app's own static files
    (``/static/media/``: its fonts), which the sign-in page needs before anyone has
    signed in: refusing them left that page without its fonts, its icons drawn as words
    ("visibility" over the password field)."""
    return MEDIA_ROUTE.search(path) is not None


def allowed(method: str, path: str, cookie_header: str) -> bool:
    """Uploads need an agency user or an administrator; media files (downloads, images
    of the pages) need someone signed in; everything else is Streamlit's to decide."""
    if UPLOAD_PATH in path and method in ("PUT", "POST"):
        return signed_in_role(cookie_header) in UPLOAD_ROLES
    if is_media(path):
        return signed_in_role(cookie_header) is not None
    return True


class AccessGuard:
    """Refuse (403) uploads and media to browsers not signed in as someone allowed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope["headers"]}
            if not allowed(scope["method"], scope["path"], headers.get("cookie", "")):
                await PlainTextResponse("sign in first", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _script_error(error: Exception) -> bool:
    """A failure outside the page boundary (a widget callback): a reference, no details."""
    from scorecard_ui.errors import report_failure

    report_failure(error)
    return True


install(Settings.from_environment())  # the page process's start-up: settings read once
app = st.App(
    Path(__file__).with_name("app.py"),
    routes=[Route("/auth/session", session_route), Route("/auth/sign-out", sign_out_route)],
    middleware=[Middleware(AccessGuard)],
    on_script_error=_script_error,
)
