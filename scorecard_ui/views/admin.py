"""Administration: register agencies and issue, rotate and revoke their keys; suspend
and resume them; add, disable and enable users, reset their passwords and unlock their
sign-in; see the quarantine of unauthenticated messages. Every change is recorded in the
audit trail."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from domain.contract import EVENT_TYPES, SECTORS
from domain.errors import CommandError
from domain.timekeeping import utc_now
from domain.users import ROLES
from projections import directory
from projections.rejected import list_rejected
from scorecard_ui.formatting import uk_time
from scorecard_ui.session import (
    application,
    current_user,
    read_model,
    session_tokens,
)
from scorecard_ui.spreadsheet import neutralised_frame
from scorecard_ui.text import as_text
from scorecard_ui.throttle import SignInThrottle, said, unlock_sign_in


def _actor() -> str:
    user = current_user()
    return user.username if user else "administrator"


class IssuedKey:
    """A new agency key, handed over once: the download button's data is this object, so
    Streamlit asks for the key only when the administrator clicks (nothing waits under
    ``/media/`` before), and a second ask gets nothing. Once taken, the page stops
    offering it."""

    def __init__(self, code: str, key: str) -> None:
        self.code = code
        self._key: str | None = key

    @property
    def taken(self) -> bool:
        return self._key is None

    def __call__(self) -> str:
        key, self._key = self._key, None
        if key is None:
            raise RuntimeError(f"the key for {self.code} has already been downloaded")
        return key


def _issued_key() -> None:
    issued = st.session_state.get("issued_key")
    if not isinstance(issued, IssuedKey):
        return
    if issued.taken:
        st.session_state.pop("issued_key")
        st.info(f"The key for {issued.code} was downloaded; it cannot be shown again "
                "(rotate the key if it was lost).")
        return
    st.success(f"Key for {issued.code}: download it and give it to the agency now; it can "
               "be downloaded once.")
    st.download_button("Download the key file", issued, file_name=f"{issued.code}.key",
                       mime="application/octet-stream", key="download_key", on_click="ignore")


def _agencies(codes: list[str]) -> None:
    app = application()
    by = _actor()
    with st.form("register_agency", clear_on_submit=True):
        st.markdown("**Register an agency**")
        code = st.text_input("Code (a-z, 0-9, -)", key="new_agency_code")
        name = st.text_input("Name", key="new_agency_name")
        sector = st.selectbox("Sector", SECTORS, key="new_agency_sector")
        types = st.multiselect("Permitted types (none: every type)", EVENT_TYPES,
                               key="new_agency_types")
        if st.form_submit_button("Register"):
            try:
                key = app.register_agency(code, name, sector, types or None, by=by)
            except CommandError as error:
                st.error(as_text(str(error)))
            else:
                st.session_state["issued_key"] = IssuedKey(code, key)
                st.rerun()  # the lists below now include it
    _issued_key()
    if not codes:
        return
    st.markdown("**Keys and suspension**")
    chosen = st.selectbox("Agency", codes, key="keys_agency")
    agency = app.agency(chosen)
    if agency is None:
        return
    st.dataframe(pd.DataFrame([{"Key id": k, "Expires": uk_time(e) if e else "current"}
                               for k, e in agency.key_ids().items()]), hide_index=True)
    grace = st.number_input("Grace period for older keys (hours)", min_value=0, value=72,
                            key="grace_hours")
    left, middle, right = st.columns(3)
    if left.button("Rotate key", key="rotate"):
        key = app.rotate_key(chosen, timedelta(hours=grace), by=by, at=utc_now())
        st.session_state["issued_key"] = IssuedKey(chosen, key)
        st.rerun()
    revoke = middle.selectbox("Revoke key", list(agency.key_ids()), key="revoke_pick")
    if middle.button("Revoke", key="revoke"):
        app.revoke_key(chosen, revoke, by=by, at=utc_now())
        st.rerun()
    label = "Resume" if agency.suspended else "Suspend"
    if right.button(label, key="suspend"):
        app.set_suspended(chosen, not agency.suspended, by=by)
        st.rerun()


def _users(codes: list[str]) -> None:
    app = application()
    by = _actor()
    with read_model(app) as connection:
        users = pd.DataFrame(directory.users(connection), columns=directory.USER_COLUMNS)
    users["added_at"] = users["added_at"].map(uk_time)
    st.dataframe(users, hide_index=True, width="stretch")
    with st.form("add_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        username = st.text_input("Username", key="new_username")
        role = st.selectbox("Role", ROLES, key="new_role")
        agency = st.selectbox("Agency (agency users only)", ["", *codes], key="new_user_agency")
        password = st.text_input("Password (8 characters or more)", type="password",
                                 key="new_password")
        if st.form_submit_button("Add user"):
            try:
                app.add_user(username, role, agency or None, password, by=by)
            except CommandError as error:
                st.error(as_text(str(error)))
            else:
                st.session_state["added_user"] = f"Added {role} user {username}"
                st.rerun()
    if "added_user" in st.session_state:
        st.success(st.session_state.pop("added_user"))
    if not users.empty:
        _manage_user(list(users["username"]), by)


def _manage_user(usernames: list[str], by: str) -> None:
    """Disable or enable a user, reset their password, clear their failed sign-ins;
    each is an event in the audit trail with the administrator's name."""
    app = application()
    st.markdown("**Manage a user**")
    chosen = st.selectbox("User", usernames, key="manage_user")
    user = app.user(chosen)
    if user is None:
        return
    st.caption((f"{chosen} is disabled. " if user.disabled else "")
               + said(*SignInThrottle(app).standing(chosen, utc_now())))
    left, middle, right = st.columns(3)
    if left.button("Enable" if user.disabled else "Disable", key="toggle_user"):
        if user.disabled:
            app.enable_user(chosen, by=by, at=utc_now())
        else:
            app.disable_user(chosen, by=by, at=utc_now())
            session_tokens().end_all(chosen)
        st.session_state["managed_user"] = f"{'Enabled' if user.disabled else 'Disabled'} {chosen}"
        st.rerun()
    password = middle.text_input("New password (8 characters or more)", type="password",
                                 key="reset_password")
    if middle.button("Reset password", key="reset_password_button"):
        try:
            app.reset_password(chosen, password, by=by)
        except CommandError as error:
            st.error(as_text(str(error)))
        else:
            session_tokens().end_all(chosen)
            st.session_state["managed_user"] = f"Reset the password of {chosen}"
            st.rerun()
    if right.button("Unlock sign-in", key="unlock_user",
                    help="Forget this user's failed sign-ins from every address"):
        forgotten = unlock_sign_in(app, SignInThrottle(app), chosen, by=by, at=utc_now())
        st.session_state["managed_user"] = (f"Unlocked {chosen} ({forgotten} failed sign-ins "
                                            "forgotten)")
        st.rerun()
    if "managed_user" in st.session_state:
        st.success(st.session_state.pop("managed_user"))


def _quarantine() -> None:
    """Rejected messages not proven to come from the agency they name: kept for
    administrators only, never shown to that agency or resubmittable by it."""
    with read_model(application()) as connection:
        rows = list_rejected(connection, view="quarantine")
    st.caption("Messages whose signature did not verify for the agency they name (or "
               "that name none): anyone able to reach the topic could have sent them.")
    if not rows:
        st.success("Nothing in quarantine.")
        return
    st.dataframe(neutralised_frame(pd.DataFrame([
        {"Received": uk_time(r["received_at"]),
         **{k: r[k] for k in ("agency", "event_id", "reason", "field", "message", "source")}}
        for r in rows])), hide_index=True, width="stretch")


def render() -> None:
    st.title("Administration")
    st.caption("Agencies, their keys, and the people who sign in.")
    with read_model(application()) as connection:
        agencies = pd.DataFrame(directory.agencies(connection),
                                columns=directory.AGENCY_COLUMNS)
    codes = list(agencies["code"]) if not agencies.empty else []
    tab_agencies, tab_users, tab_quarantine = st.tabs(
        ["Agencies and keys", "Users and roles", "Quarantine"])
    with tab_agencies:
        st.dataframe(agencies.assign(registered_at=agencies["registered_at"].map(uk_time)),
                     hide_index=True, width="stretch")
        _agencies(codes)
    with tab_users:
        _users(codes)
    with tab_quarantine:
        _quarantine()
