"""Password hashing at today's scrypt cost, rehash of older hashes at sign-in, and a
sign-in whose time does not say whether the username exists."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from domain.users import LEGACY_COST, SCRYPT_COST, ScryptCost, hash_password, needs_rehash
from scorecard.bootstrap import Home


def test_new_hashes_use_scrypt_n_2_17_r_8_p_1() -> None:
    stored = hash_password("a-long-password")
    scheme, cost, _salt, digest = stored.split("$")
    assert scheme == "scrypt" and ScryptCost.parse(cost) == ScryptCost(17, 8, 1)
    assert ScryptCost(17, 8, 1) == SCRYPT_COST and len(bytes.fromhex(digest)) == 32
    assert not needs_rehash(stored)


def test_an_older_hash_still_signs_in_and_is_replaced_at_today_s_cost(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    app = home.open()
    app.add_user("cllr", "scrutiny", None, "cllr-password", by="test")
    user = app.user("cllr")
    assert user is not None
    legacy = hash_password("cllr-password", cost=LEGACY_COST)
    salt, digest = legacy.split("$")[2:]
    user.change_password(f"scrypt${salt}${digest}", by="test")  # as written before (N=2^14)
    app.save(user)
    assert app.sign_in("cllr", "wrong-password") is None
    assert needs_rehash(app.user("cllr").password_hash)  # type: ignore[union-attr]
    assert app.sign_in("cllr", "cllr-password") is not None
    rehashed = app.user("cllr").password_hash  # type: ignore[union-attr]
    assert rehashed.split("$")[1] == "ln=17,r=8,p=1" and not needs_rehash(rehashed)
    assert app.sign_in("cllr", "cllr-password") is not None
    with home.projected(app) as connection:
        actions = connection.execute("SELECT actor, action FROM audit WHERE subject = 'cllr' "
                                     "ORDER BY position").fetchall()
    assert actions[-1] == ("cllr", "password changed")


def test_an_unknown_username_takes_as_long_as_a_wrong_password(tmp_path: Path) -> None:
    """Issue 12 item 14: 37 ms for a real username, 0.1 ms for an unknown one."""
    app = Home(tmp_path / "home").open()
    app.add_user("chair", "board", None, "chair-password", by="test")
    app.add_user("gone", "board", None, "gone-password", by="test")
    app.disable_user("gone", by="test", at=datetime.now(UTC))

    # The three are timed in turn, round after round, and each is its fastest round:
    # other work on the machine (the suite runs in two processes) only ever adds time,
    # and taking turns spreads what it adds over all three. The property is the ratio:
    # an unknown or disabled name costs what a real one does (a hash), not ~0.1 ms.
    times: dict[str, list[float]] = {"chair": [], "nobody": [], "gone": []}
    for _ in range(5):
        for username, taken in times.items():
            started = time.perf_counter()
            assert app.sign_in(username, "not-the-password") is None
            taken.append(time.perf_counter() - started)
    real, unknown, disabled = (min(times[name]) for name in ("chair", "nobody", "gone"))
    assert 0.5 < unknown / real < 2, (real, unknown)
    assert 0.5 < disabled / real < 2, (real, disabled)
