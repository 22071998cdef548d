"""The scorecard in the browser: sign in, then the pages your role may use.

Run with ``scorecard ui`` (or ``make demo``) for the home named by ``SCORECARD_HOME``;
``scorecard_ui/server.py`` serves this script with the routes that set and clear the
sign-in cookie. Local users sign in with a password (``scorecard user add``); with an
``[auth]`` section in Streamlit's ``secrets.toml`` people can also sign in with the
partnership's OpenID Connect provider, their role taken from a claim
(``single_sign_on.py``, docs/deployment.md).

Every rerun starts from the sign-in session, never from what the Streamlit session
remembers (``session.authenticate``), and a failure anywhere on a page is shown as a
reference id, its traceback going to the server's log only (``errors.py``).
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from domain.timekeeping import utc_now
from scorecard_ui.errors import page_boundary
from scorecard_ui.session import (
    access_store,
    application,
    authenticate,
    directory,
    end_session,
    home,
    request,
    settings,
    single_sign_on,
    start_session,
)
from scorecard_ui.single_sign_on import USERNAME_PREFIX, Refused
from scorecard_ui.single_sign_on import configured as sso_configured
from scorecard_ui.style import apply_style
from scorecard_ui.throttle import Locked, ReadPageThrottle, SignInThrottle, attempt_sign_in
from scorecard_ui.views import admin, agency, board, evidence, measure, scrutiny

# Icons from Streamlit's own Material Symbols font: emoji need a colour emoji font that
# many machines (Debian's Chromium among them) do not have, and were drawn as empty boxes.
PAGES = {
    "board": st.Page(board.render, title="Board scorecard", url_path="board",
                     icon=":material/table_chart:"),
    "measure": st.Page(measure.render, title="A measure over time", url_path="measure",
                       icon=":material/show_chart:"),
    "scrutiny": st.Page(scrutiny.render, title="Scrutiny replay", url_path="scrutiny",
                        icon=":material/history:"),
    "agency": st.Page(agency.render, title="Agency returns", url_path="returns",
                      icon=":material/upload_file:"),
    "admin": st.Page(admin.render, title="Administration", url_path="admin",
                     icon=":material/admin_panel_settings:"),
    "evidence": evidence.page(),
}
ROLE_PAGES = {
    "board": ["board", "measure", "scrutiny", "evidence"],
    "scrutiny": ["scrutiny", "board", "measure"],
    "agency": ["agency"],
    "administrator": ["admin", "board", "agency", "scrutiny", "measure", "evidence"],
}
# Which pages a page process serves (SCORECARD_PAGES): the read pages need no event store
# and no key; the write pages (agency returns, administration) record events.
READ_PAGES = ("board", "measure", "scrutiny", "evidence")
WRITE_PAGES = ("agency", "admin")
PAGE_SETS = {"read": READ_PAGES, "write": WRITE_PAGES, "all": READ_PAGES + WRITE_PAGES}


def source_address() -> str:
    """Where the sign-in comes from, for the throttle: the connection's peer, or with
    ``SCORECARD_TRUST_FORWARDED_FOR=1`` (behind a reverse proxy that sets it) the last
    address in ``X-Forwarded-For``, the one the proxy itself added."""
    if settings().trust_forwarded_for:
        forwarded = st.context.headers.get("X-Forwarded-For", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "local"


def requested_page() -> str:
    """The page path the browser asked for, if it is one of ours (kept across sign-in)."""
    path = urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    return path if path in {page.url_path for page in PAGES.values()} else ""


def go_to(url: str) -> None:
    """Send the browser to ``url`` (a relative path of this server)."""
    st.html(f"<script>window.location.replace({json.dumps(url)})</script>",
            unsafe_allow_javascript=True)
    st.link_button("Continue", url)
    st.stop()


def sign_in() -> None:
    st.title("Partnership scorecard")
    st.caption("Sign in to see the delivery plan's scorecard, replay a meeting, or "
               "submit your agency's returns.")
    refused = single_sign_on()
    if isinstance(refused, Refused):
        st.error(f"You signed in at the identity provider, but {refused}. Ask the "
                 "partnership's administrator to give your account a scorecard role.")
        if st.button("Sign out of single sign-on", key="sso_sign_out"):
            st.logout()
        return
    if sso_configured() and st.button("Sign in with single sign-on", type="primary",
                                      key="sso_sign_in"):
        st.login()
    if (home().path / "demo").is_dir():
        from scorecard.demo.build import DEMO_USERS, demo_password

        st.info("This is the demo home. Sign in as " + "; ".join(
            f"**{name}** / `{demo_password(name)}` ({role})" for name, role, _ in DEMO_USERS)
            + ". The board opens on the Commission meeting of 16 Dec 2015.")
    with st.form("sign_in"):
        username = st.text_input("Username", key="username")
        password = st.text_input("Password", type="password", key="password")
        if st.form_submit_button("Sign in"):
            now = utc_now()
            if settings().reads_only:  # no event store here: the sign-in list, a local count
                user = attempt_sign_in(directory(), ReadPageThrottle(access_store()), username,
                                       password, source_address(), now)
            else:
                app = application()
                user = attempt_sign_in(app, SignInThrottle(app), username, password,
                                       source_address(), now)
            if isinstance(user, Locked):
                st.error(f"Too many failed sign-ins for this username from here: try again "
                         f"after {user.until:%H:%M} UTC, or ask an administrator.")
            elif user is None:
                st.error("Unknown user or wrong password.")
            else:
                url = start_session(user.username, now)
                if url is not None:
                    page = requested_page()
                    view = urlencode(st.query_params.to_dict())  # a sent link's view
                    go_to(url + (f"&next={page}" if page else "")
                          + (f"&view={quote(view)}" if view else ""))
                st.rerun()


def main() -> None:
    st.set_page_config(page_title="Partnership scorecard", layout="wide")
    apply_style()
    user = authenticate(directory(), utc_now())
    if user is None:
        sign_in()
        return
    with st.sidebar:
        where = f" for {user.agency}" if user.agency else ""
        st.caption(f"Signed in as **{user.username}** ({user.role}{where})")
        if st.button("Sign out", key="sign_out"):
            end_session()
            if user.username.startswith(USERNAME_PREFIX):
                st.logout()  # Streamlit's identity cookie, and the provider's session
            if st.context.headers:
                go_to("auth/sign-out")
            st.rerun()
    served = [name for name in ROLE_PAGES[user.role] if name in PAGE_SETS[settings().pages]]
    if not served:
        st.title("Partnership scorecard")
        st.info("Your pages are not served here: this page process serves "
                f"{settings().pages} pages only. Ask an administrator for the address of "
                "the other one.")
        return
    pages = [PAGES[name] for name in served]
    st.navigation([landing(pages[0]), *pages]).run()


def landing(first: st.Page) -> st.Page:
    """The page at the bare address: it sends the browser on to the role's first page.

    Streamlit serves its default page at ``/`` and answers that page's own path
    (``/board``, ``/admin``) with "Page not found", so a link to a role's first page,
    sent or bookmarked, opened with that dialog over the page. With this hidden page as
    the default, every page of the role keeps its own path, and the address bar always
    names the page shown (a link copied from it opens the same page). The view's query
    parameters go along."""
    return st.Page(lambda: st.switch_page(first, query_params=st.query_params.to_dict()),
                   title=first.title, url_path="start", default=True, visibility="hidden")


with page_boundary(), request():  # the event store, when a view needs it, for this rerun
    main()
