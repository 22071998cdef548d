"""Who is signed in, and what their role may see.

A rerun is signed in only through a live sign-in session (``session_tokens.py``): the
token comes from the browser's HttpOnly cookie, never from anything the Streamlit
session kept, so presenting someone's Streamlit session id gets the sign-in page. Each
rerun looks the user up again, so a disabled user, or one whose role changed, is signed
out or narrowed at their next click. Under Streamlit's AppTest, which has no HTTP
connection and so no cookies, the token the sign-in kept in the session stands in for
the cookie.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ParamSpec, Protocol

import duckdb
import streamlit as st

from domain.application import Scorecard
from domain.plan import Plan
from domain.timekeeping import end_of_day, utc_now
from projections import snapshots
from projections.disclosure import disclosed_report
from projections.report import Report, load_plan
from projections.report_cache import ReportCache
from scorecard.access import AccessStore, UserDirectory
from scorecard.bootstrap import Home, head_of
from scorecard.settings import Settings
from scorecard_ui import single_sign_on as sso
from scorecard_ui.session_tokens import SessionTokens

P = ParamSpec("P")

UNSUPPRESSED_ROLES = ("board", "administrator")
COOKIE = "scorecard_session"
HARNESS_TOKEN = "session_token"  # where the token is kept when there is no HTTP connection


@dataclass(frozen=True)
class SignedIn:
    username: str
    role: str
    agency: str | None

    @property
    def suppress(self) -> bool:
        """Outside the board and administrators, counts of 1-4 are never shown."""
        return self.role not in UNSUPPRESSED_ROLES


def current_user() -> SignedIn | None:
    found: Any = st.session_state.get("user")
    return SignedIn(**found) if isinstance(found, dict) else None


def session_tokens() -> SessionTokens:
    configured = settings()
    return SessionTokens(access_store(), configured.session_idle, configured.session_max)


def access_store() -> AccessStore:
    return AccessStore(home().access_path)


def has_http_connection() -> bool:
    """Whether this rerun comes over a browser's connection (which always sends headers),
    rather than from a test harness with none."""
    return bool(st.context.headers)


def presented_token() -> str | None:
    if has_http_connection():
        return st.context.cookies.get(COOKIE) or None
    found = st.session_state.get(HARNESS_TOKEN)
    return found if isinstance(found, str) else None


def single_sign_on() -> SignedIn | sso.Refused | None:
    """The user Streamlit's identity cookie names (single sign-on, ``single_sign_on.py``),
    with the role their claims map to; the refusal when they map to none; None when
    nobody signed in at the provider (or it is not configured, or there is no browser)."""
    if not has_http_connection() or not sso.configured() or not st.user.is_logged_in:
        return None
    try:
        found = sso.identity(st.user.to_dict(), settings(), utc_now())
    except sso.Refused as refused:
        return refused
    return SignedIn(found.username, found.role, found.agency)


def authenticate(app: Users, now: datetime) -> SignedIn | None:
    """The user of this rerun's live session, looked up afresh (exists, enabled, role),
    or None; what views read through ``current_user`` is set here and only here. With
    no session cookie, the single sign-on identity, its claims mapped afresh."""
    token = presented_token()
    if token is None:
        found = single_sign_on()
        if isinstance(found, SignedIn):
            st.session_state["user"] = asdict(found)
            return found
    tokens = session_tokens()
    username = tokens.resume(token, now) if token else None
    user = app.user(username) if username else None
    if user is None or user.disabled:
        if token and username:
            tokens.end(token)
        st.session_state.pop("user", None)
        st.session_state.pop(HARNESS_TOKEN, None)
        return None
    signed = SignedIn(user.username, user.role, user.agency)
    st.session_state["user"] = asdict(signed)
    return signed


def still_signed_in(app: Users, now: datetime) -> bool:
    """For a fragment's own reruns (the live board refreshes every second without the
    app's script): whether the sign-in is still live and its user enabled, without
    counting the refresh as use. True when there is no token to check: the fragment
    only runs after a full rerun that authenticated."""
    token = presented_token()
    if token is None:
        return True
    username = session_tokens().peek(token, now)
    user = app.user(username) if username else None
    return user is not None and not user.disabled


def start_session(username: str, now: datetime) -> str | None:
    """After a right password: the harness gets its token at once; a browser gets a
    one-time grant to exchange for the cookie at ``/auth/session`` (the URL returned)."""
    tokens = session_tokens()
    if not has_http_connection():
        st.session_state[HARNESS_TOKEN] = tokens.issue(username, now)
        return None
    return f"auth/session?grant={tokens.grant(username, now)}"


def end_session() -> None:
    token = presented_token()
    if token:
        session_tokens().end(token)
    st.session_state.clear()


_INSTALLED: list[Settings] = []


def install(configured: Settings) -> None:
    """The page process's entry point (``server.py``) reads the settings once, at start-up,
    and installs them here, the page's composition root. A rerun reads the read model half a
    dozen times; the page reads the snapshots the projector publishes (never the
    projector's working file), so it keeps each published snapshot's read-only
    connection open (``snapshots.keep_open``) until a newer one is published and no rerun
    still reads it. It keeps no event store open between reruns (see ``request``)."""
    _INSTALLED[:] = [configured]
    snapshots.keep_open()


def settings() -> Settings:
    """The settings the server installed; a harness with no server start-up (Streamlit's
    AppTest runs ``app.py`` alone) reads the environment on each call instead."""
    return _INSTALLED[0] if _INSTALLED else Settings.from_environment()


def home() -> Home:
    return Home.from_settings(settings())


class Users(Protocol):
    """Where a page looks users up and checks passwords: the event store's application,
    or, in a read page process, the sign-in list the projector publishes."""

    def user(self, username: str) -> Any: ...

    def sign_in(self, username: str, password: str) -> Any: ...


READ_ONLY_NOTE = ("This page process only reads: record the board's decisions with the "
                  "command line (`scorecard exception review`, `scorecard outliers "
                  "follow-up`) or on a page process that may write.")


class NoEventStore(RuntimeError):
    """A read page process asked for the event store it must never open."""


class _Request(threading.local):
    """What one rerun of this thread holds: the application over the event store, once
    a view has asked for it."""

    open: bool = False
    app: Scorecard | None = None


_REQUEST = _Request()


@contextmanager
def request() -> Iterator[None]:
    """One rerun of the page (or of a fragment): the event store's application, and
    with it the event store's cipher key and the agency keys it loads, is opened at the
    rerun's first need and dropped (its connections closed) at the rerun's end, not kept
    for the process's life. Opening it costs a few milliseconds (docs/security.md); a
    rerun asks for it several times, and gets the one it opened. Nested, the outer
    rerun's."""
    if _REQUEST.open:
        yield
        return
    _REQUEST.open, _REQUEST.app = True, None
    try:
        yield
    finally:
        app, _REQUEST.open, _REQUEST.app = _REQUEST.app, False, None
        if app is not None:
            app.close()


def per_request(function: Callable[P, None]) -> Callable[P, None]:
    """``function`` as a rerun of its own (``request``): for a fragment, whose reruns
    run without the page's script."""
    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with request():
            function(*args, **kwargs)
    return run


def application() -> Scorecard:
    """The application over the home, for pages that write. A read page process
    (``SCORECARD_PAGES=read``) has no event store: asking for it is a bug, said loudly.
    Within a rerun (``request``) one application serves the whole rerun and is dropped
    at its end; outside one (a widget's callback, the server's upload check) each call
    opens its own, dropped when the caller lets it go."""
    if settings().reads_only:
        raise NoEventStore("this page process serves read pages only (SCORECARD_PAGES=read)"
                           " and never opens the event store")
    if not _REQUEST.open:
        return home().open()
    if _REQUEST.app is None:
        _REQUEST.app = home().open()
    return _REQUEST.app


def writer() -> Scorecard | None:
    """The application when this process may write, else None (a read page process):
    for views that offer a write (a board's review) beside what they show."""
    return None if settings().reads_only else application()


def directory() -> Users:
    """Who may sign in: the event store's users, or in a read page process the access
    store's sign-in list (the projector keeps it), so a board page signs people in while
    the event store is unreachable."""
    if settings().reads_only:
        return UserDirectory(access_store())
    return application()


def current_plan() -> Plan:
    """The adopted plan, as the projector published it (no event store needed)."""
    with read_model() as connection:
        return load_plan(connection)


@st.cache_resource
def report_cache() -> ReportCache:
    """One cache per server process, shared by every session: a live page asks for the
    same scorecard every second, and most of those seconds nothing new has arrived."""
    return ReportCache()


def audience(user: SignedIn | None, suppress: bool | None = None) -> str:
    """Whom the page is for: the board sees figures as counted; anyone else (and the
    board when it asks to, for a view to share) what ``projections.disclosure`` allows."""
    if suppress is None:
        suppress = user.suppress if user else True
    return "scrutiny" if suppress else "board"


# How long a page that has just written waits for the projector to publish its write.
WRITE_VISIBLE_SECONDS = 5.0


@contextmanager
def read_model(caught_up_with: Scorecard | None = None
               ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the read model the projector published; the page never
    folds. A page that writes passes its application: the read then waits (a few
    seconds at most) until the projector has published everything the event log holds,
    so what was just recorded is on the page that follows."""
    if caught_up_with is not None:
        home().wait_for(head_of(caught_up_with), WRITE_VISIBLE_SECONDS)
    with home().reader() as connection:
        yield connection


def counted_report(as_at: Any, known_at: Any, from_day: Any) -> Report:
    """The report as counted: for the board's own exports only (views for anyone else
    render ``load_report``'s disclosed document)."""
    with read_model() as connection:
        return report_cache().report(connection, as_at=as_at, known_at=known_at,
                                     from_day=from_day)


def load_report(as_at: Any, known_day: Any, from_day: Any, zone: Any, *,
                live: bool = False, shown_to: str = "scrutiny") -> dict[str, Any]:
    """The scorecard as known at the end of ``known_day`` (or now, when live), as
    ``shown_to`` may see it (``Report.to_json()`` for the board)."""
    known_at = utc_now() if live else end_of_day(known_day, zone)
    with read_model() as connection:
        report = report_cache().report(connection, as_at=as_at, known_at=known_at,
                                       from_day=from_day)
        return disclosed_report(connection, report, shown_to)
