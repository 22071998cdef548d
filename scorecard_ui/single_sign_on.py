"""Single sign-on: OpenID Connect through Streamlit's ``st.login``, roles from a claim.

Streamlit does the protocol (Authlib: discovery, the authorisation code flow, the ID
token's signature, ``state`` and ``nonce``) when ``secrets.toml`` has an ``[auth]``
section, and keeps the ID token's claims in its own signed, HttpOnly cookie
(``_streamlit_user``). What the scorecard decides is who that person is here: the claim
``SCORECARD_OIDC_ROLE_CLAIM`` (``scorecard_role``) must name exactly one role, through
``SCORECARD_OIDC_ROLE_VALUES`` when the identity provider's values are not the role names
themselves, and an agency user's ``SCORECARD_OIDC_AGENCY_CLAIM`` (``scorecard_agency``)
an agency code. Anyone else who signs in at the provider is refused: being known to the
partnership's identity provider is not a reason to see the scorecard.

The claims are read afresh on every rerun and on every upload or media request (the
server's guard reads the same signed cookie), so a role taken away at the provider ends
at the user's next sign-in there, and a sign-in ends ``SCORECARD_SESSION_MAX_HOURS``
after the provider issued its token (no idle limit: see docs/security.md). Local
passwords (``scorecard user add``) stay, for the embedded default and for an
administrator when the provider is down.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain import contract
from domain.text import visible
from domain.users import ROLES
from scorecard.settings import Settings

USERNAME_PREFIX = "sso:"  # a signed-in username from the provider, never a local user's
MAX_NAME = 120


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in, as the scorecard maps them."""

    username: str
    role: str
    agency: str | None


class Refused(Exception):
    """Signed in at the provider, but with no (single) scorecard role: the message says
    which claim was missing or wrong, for the person to take to their administrator."""


def role_values(settings: Settings) -> dict[str, str]:
    """Claim value → role: the configured pairs, or each role's own name."""
    return dict(settings.oidc_role_values) if settings.oidc_role_values \
        else {role: role for role in ROLES}


def identity(claims: Mapping[str, Any], settings: Settings, now: datetime) -> Identity:
    """The scorecard user these ID-token claims describe, or ``Refused``.

    A sign-in older than ``SCORECARD_SESSION_MAX_HOURS`` (by the ID token's ``iat``,
    which OpenID Connect requires) is refused too: Streamlit's identity cookie would
    otherwise last 30 days, far beyond the limit a password sign-in has."""
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise Refused("the identity provider's token says nothing of when you signed in")
    if now - datetime.fromtimestamp(issued, UTC) > settings.session_max:
        raise Refused(f"your single sign-on is more than "
                      f"{settings.session_max.total_seconds() / 3600:g} hours old: sign out "
                      f"of it and sign in again")
    claim = settings.oidc_role_claim
    given = claims.get(claim)
    values = [given] if isinstance(given, str) else given if isinstance(given, list) else []
    mapping = role_values(settings)
    roles = sorted({mapping[value] for value in values
                    if isinstance(value, str) and mapping.get(value) in ROLES})
    if not roles:
        raise Refused(f"your account has no scorecard role (the claim {claim!r} names none)")
    if len(roles) > 1:
        raise Refused(f"your account has more than one scorecard role ({', '.join(roles)}) "
                      f"in the claim {claim!r}: it must have one")
    role, agency = roles[0], None
    if role == "agency":
        code = claims.get(settings.oidc_agency_claim)
        if not isinstance(code, str) or not contract.AGENCY_CODE.match(code):
            raise Refused(f"your account is an agency user's but its claim "
                          f"{settings.oidc_agency_claim!r} names no agency code")
        agency = code
    who = next((claims[name] for name in ("email", "preferred_username", "sub")
                if isinstance(claims.get(name), str) and claims[name]), None)
    if who is None:
        raise Refused("the identity provider gave no subject for your account")
    return Identity(USERNAME_PREFIX + visible(who, MAX_NAME), role, agency)


def configured() -> bool:
    """Whether Streamlit's ``secrets.toml`` has an ``[auth]`` section (``st.login`` works)."""
    from streamlit.auth_util import get_secrets_auth_section

    return bool(get_secrets_auth_section())


def cookie_claims(cookie: Callable[[str], str | None]) -> dict[str, Any] | None:
    """The claims in Streamlit's signed identity cookie, read from a raw request's cookies
    (``cookie(name)`` gives one by name): for the server's guard, which runs outside a
    page and so has no ``st.user``. None when single sign-on is not configured, or the
    cookie is absent, unsigned, tampered with or not Streamlit's."""
    if not configured():
        return None
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.server_util import get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value
    from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME

    secret = get_cookie_secret()

    def signed(name: str) -> bytes | None:
        value = cookie(name)
        if value is None:
            return None
        return decode_signed_value(secret, name, value.encode("latin-1"))

    raw = get_cookie_with_chunks(signed, USER_COOKIE_NAME)
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) and found.get("is_logged_in") else None
