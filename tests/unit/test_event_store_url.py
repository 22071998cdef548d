"""An event-store URL's password never appears in an error or a repr (issue 12, item 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import CommandError
from scorecard.bootstrap import Home, postgres_env, redacted_url

SECRET = "s3cret-Pa55"


@pytest.mark.parametrize("url", [
    f"mysql://scorecard:{SECRET}@db.example:3306/events",
    f"sqlite://admin:{SECRET}@localhost/x",
    f"postgresql://scorecard:{SECRET}@db.example:notaport/events",
    f"mysql:scorecard:{SECRET}@db.example/events",
])
def test_a_rejected_event_store_url_does_not_echo_its_password(url: str) -> None:
    with pytest.raises(CommandError) as raised:
        postgres_env(url)
    assert SECRET not in str(raised.value)
    assert "***" in str(raised.value)


def test_redaction_keeps_what_helps_find_the_mistake() -> None:
    assert redacted_url(f"mysql://scorecard:{SECRET}@db.example:3306/events?x=1") == \
        "mysql://scorecard:***@db.example:3306/events?x=1"
    assert redacted_url("mysql://db.example/events") == "mysql://db.example/events"
    assert redacted_url("mysql://scorecard@db.example/e") == "mysql://scorecard@db.example/e"


def test_a_home_does_not_show_its_event_store_url() -> None:
    home = Home(path=Path("/tmp/h"),
                event_store_url=f"postgresql://scorecard:{SECRET}@db/events")
    assert SECRET not in repr(home)
