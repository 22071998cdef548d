"""Roles from single sign-on's claims (``scorecard_ui/single_sign_on.py``): exactly one
role or none, an agency user only with an agency code, the claim names configurable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scorecard.settings import Settings
from scorecard_ui.single_sign_on import Identity, Refused, identity

DEFAULT = Settings()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ISSUED = (NOW - timedelta(minutes=5)).timestamp()


def test_the_role_claim_names_the_role() -> None:
    chair = identity({"iat": ISSUED, "sub": "u-1", "email": "chair@example.org",
                      "scorecard_role": "board"}, DEFAULT, NOW)
    assert chair == Identity("sso:chair@example.org", "board", None)
    assert identity({"iat": ISSUED, "sub": "u-2", "scorecard_role": ["scrutiny", "staff"]},
                    DEFAULT, NOW) == Identity("sso:u-2", "scrutiny", None)


@pytest.mark.parametrize("claims", [
    {"sub": "u-3"},
    {"sub": "u-3", "scorecard_role": "volunteer"},
    {"sub": "u-3", "scorecard_role": ["board", "scrutiny"]},  # two roles: which?
    {"sub": "u-3", "scorecard_role": 7},
    {"sub": "u-3", "scorecard_role": "agency"},  # no agency named
    {"sub": "u-3", "scorecard_role": "agency", "scorecard_agency": "Not A Code!"},
    {"scorecard_role": "board"},  # no subject at all
])
def test_claims_that_map_to_no_single_role_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Refused):
        identity({"iat": ISSUED, **claims}, DEFAULT, NOW)


def test_the_provider_s_values_and_claim_names_are_configurable() -> None:
    settings = Settings.from_environment({
        "SCORECARD_OIDC_ROLE_CLAIM": "groups", "SCORECARD_OIDC_AGENCY_CLAIM": "org",
        "SCORECARD_OIDC_ROLE_VALUES": "cse-board=board, racs-staff=agency"})
    assert identity({"iat": ISSUED, "sub": "u-4", "groups": ["all-staff", "racs-staff"],
                     "org": "racs"}, settings, NOW) == Identity("sso:u-4", "agency", "racs")
    board = identity({"iat": ISSUED, "sub": "u-5", "groups": ["cse-board"]}, settings, NOW)
    assert board.role == "board"
    with pytest.raises(Refused):  # a role's own name means nothing once values are mapped
        identity({"iat": ISSUED, "sub": "u-6", "groups": ["board"]}, settings, NOW)


def test_a_sign_in_older_than_the_session_limit_or_undated_is_refused() -> None:
    claims = {"sub": "u-7", "scorecard_role": "board"}
    limit = DEFAULT.session_max
    assert identity({**claims, "iat": (NOW - limit + timedelta(minutes=1)).timestamp()},
                    DEFAULT, NOW).role == "board"
    with pytest.raises(Refused, match="more than 12 hours old"):
        identity({**claims, "iat": (NOW - limit - timedelta(minutes=1)).timestamp()},
                 DEFAULT, NOW)
    with pytest.raises(Refused):
        identity(claims, DEFAULT, NOW)  # no iat: OpenID Connect requires one
