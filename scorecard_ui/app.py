"""The scorecard in the browser: sign in, then the pages your role may use.

Run with ``scorecard ui`` (or ``make demo``) for the home named by ``SCORECARD_HOME``.
Local users sign in with a password (``scorecard user add``); a production deployment
may put OpenID Connect in front instead (docs/deployment.md).
"""

from __future__ import annotations

import streamlit as st

from domain.timekeeping import utc_now
from scorecard_ui.session import application, current_user, home, sign_in_as
from scorecard_ui.throttle import SignInThrottle
from scorecard_ui.views import admin, agency, board, evidence, measure, scrutiny

PAGES = {
    "board": st.Page(board.render, title="Board scorecard", url_path="board", icon="📊"),
    "measure": st.Page(measure.render, title="A measure over time", url_path="measure",
                       icon="📈"),
    "scrutiny": st.Page(scrutiny.render, title="Scrutiny replay", url_path="scrutiny",
                        icon="🔎"),
    "agency": st.Page(agency.render, title="Agency returns", url_path="returns", icon="📥"),
    "admin": st.Page(admin.render, title="Administration", url_path="admin", icon="🔑"),
    "evidence": evidence.page(),
}
ROLE_PAGES = {
    "board": ["board", "measure", "scrutiny", "evidence"],
    "scrutiny": ["scrutiny", "board", "measure"],
    "agency": ["agency"],
    "administrator": ["admin", "board", "agency", "scrutiny", "measure", "evidence"],
}


def sign_in() -> None:
    st.title("Partnership scorecard")
    st.caption("Sign in to see the delivery plan's scorecard, replay a meeting, or "
               "submit your agency's returns.")
    if (home().path / "demo").is_dir():
        from scorecard.demo.build import DEMO_USERS, demo_password

        st.info("This is the demo home. Sign in as " + "; ".join(
            f"**{name}** / `{demo_password(name)}` ({role})" for name, role, _ in DEMO_USERS)
            + ". The board opens on the Commission meeting of 16 December 2015.")
    with st.form("sign_in"):
        username = st.text_input("Username", key="username")
        password = st.text_input("Password", type="password", key="password")
        if st.form_submit_button("Sign in"):
            now = utc_now()
            locked = sign_in_throttle().locked_until(username, now)
            user = None if locked else application().sign_in(username, password)
            if locked:
                st.error(f"Too many failed sign-ins for this username: try again after "
                         f"{locked:%H:%M} UTC, or ask an administrator.")
            elif user is None:
                sign_in_throttle().failed(username, now)
                st.error("Unknown user or wrong password.")
            else:
                sign_in_throttle().succeeded(username)
                sign_in_as(user.username, user.role, user.agency)
                st.rerun()


@st.cache_resource
def sign_in_throttle() -> SignInThrottle:
    """One per server process, shared by every browser session."""
    return SignInThrottle()


def main() -> None:
    st.set_page_config(page_title="Partnership scorecard", layout="wide")
    user = current_user()
    if user is None:
        sign_in()
        return
    with st.sidebar:
        where = f" for {user.agency}" if user.agency else ""
        st.caption(f"Signed in as **{user.username}** ({user.role}{where})")
        if st.button("Sign out", key="sign_out"):
            st.session_state.clear()
            st.rerun()
    st.navigation([PAGES[name] for name in ROLE_PAGES[user.role]]).run()


main()
