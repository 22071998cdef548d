"""Every page of the scorecard, driven through Streamlit's AppTest over a real home."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ingest.file_push import push_file
from scorecard.bootstrap import Home, head_of
from tests.html_tables import html_tables, row_of
from tests.support import event, register, seen_by_the_pages, write_jsonl

APP = str(Path(__file__).parents[2] / "scorecard_ui" / "app.py")
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The home the pages are driven over, built once for the module: its four users'
    password hashes (scrypt at the deployed cost) take seconds of CPU, and every test
    needs the same home. Never handed to a test: each gets a copy (``home``)."""
    folder = tmp_path_factory.mktemp("pages-template")
    home = Home(folder / "home")
    app = home.open()
    key = register(app, "nspcc-helpline")
    register(app, "racs")
    contacts = [event("helpline.contact", f"h-{n}", f"2015-10-{n:02d}", agency="nspcc-helpline")
                for n in range(1, 8)]
    contacts.append(event("helpline.contact", "bad", "2015-10-09", agency="nspcc-helpline",
                          channel="fax"))
    push_file(app, write_jsonl(folder / "h.jsonl", contacts), agency="nspcc-helpline",
              key=key, now=NOW)
    for username, role, agency in (("chair", "board", None), ("cllr", "scrutiny", None),
                                   ("root", "administrator", None),
                                   ("helpline", "agency", "nspcc-helpline")):
        app.add_user(username, role, agency, f"{username}-password", by="test")
    app.close()  # SQLite's files whole on disk before they are copied
    return home.path


@pytest.fixture
def home(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """A copy of the module's home for this test to change, with the projector running
    as the pages see it (the read model is made in the copy, by that projector)."""
    home = Home(tmp_path / "home")
    shutil.copytree(template, home.path, symlinks=True)
    with seen_by_the_pages(home, monkeypatch):
        yield home


def page(view: str, role: str, agency: str | None = None) -> AppTest:
    script = ("from scorecard_ui.views import " + view + "\n" + view + ".render()\n")
    at = AppTest.from_string(script, default_timeout=60)
    at.session_state["user"] = {"username": "tester", "role": role, "agency": agency}
    return at.run()


def frame_cell(at: AppTest, index: int, key_column: str, key: str, column: str) -> str:
    frame = at.dataframe[index].value
    return str(frame.loc[frame[key_column] == key, column].iloc[0])


def date_input(at: AppTest, label: str) -> Any:
    return next(d for d in at.date_input if d.label.startswith(label))


def test_five_wrong_passwords_lock_the_username_even_against_the_right_one(
    home: Home,
) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="username").set_value("cllr")
    for attempt in range(5):
        at.text_input(key="password").set_value(f"guess-{attempt}")
        at.button[0].click().run()
        assert "wrong password" in at.error[0].value
    at.text_input(key="password").set_value("cllr-password")
    at.button[0].click().run()
    assert "Too many failed sign-ins" in at.error[0].value
    assert "user" not in at.session_state


def test_sign_in_with_a_password_and_see_your_role_s_pages(home: Home) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.title[0].value == "Partnership scorecard"
    at.text_input(key="username").set_value("chair")
    at.text_input(key="password").set_value("wrong-password")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value
    at.text_input(key="password").set_value("chair-password")
    at.button[0].click().run()
    assert at.session_state["user"]["role"] == "board"
    assert "Delivery Plan" in at.title[0].value  # the board's scorecard opens first


def tables(at: AppTest) -> list[dict[str, Any]]:
    """The HTML tables the page drew (the scorecard is real table markup)."""
    return [t for element in at.get("html") for t in html_tables(element.proto.body)]


def overview_cell(at: AppTest, measure: str, column: str) -> str:
    """A cell of the overview, without the board's link to the events behind a value."""
    return row_of(tables(at), measure)[column].removesuffix(" events")


def test_the_board_replays_and_goes_live(home: Home) -> None:
    at = page("board", "board")
    # The bundled plan ended in 2018: it opens on its last meeting, not on "today".
    assert at.selectbox(key="meeting").value == "2015-12-16"
    assert overview_cell(at, "Helpline contacts", "Value so far") == "0"  # known in 2026
    at.selectbox(key="meeting").set_value("live").run()
    assert date_input(at, "Scorecard as at").value == date(2018, 3, 31)  # the plan's end
    date_input(at, "Scorecard as at").set_value(date(2015, 10, 3)).run()
    assert overview_cell(at, "Helpline contacts", "Value so far") == "3 [p]"
    assert at.query_params["as_at"] == "2015-10-03"  # the view is in the address
    at.toggle(key="suppress").set_value(True).run()
    # 3 October is no release day: outside the board no count of people ends there
    assert overview_cell(at, "Helpline contacts", "Value so far") == "[x] [c] [p]"
    assert at.query_params["suppress"] == "1"  # the version looked at is in the address
    assert any("3 Oct 2015 is not a release day" in w.value for w in at.warning)
    reopened = AppTest.from_string("from scorecard_ui.views import board\nboard.render()\n",
                                   default_timeout=60)
    reopened.session_state["user"] = {"username": "tester", "role": "board", "agency": None}
    reopened.query_params.update(at.query_params)
    assert reopened.run().toggle(key="suppress").value is True  # a reload or link keeps it
    actions = next(t for t in tables(at) if t["caption"].startswith("Delivery-plan actions"))
    overdue = [r for r in actions["rows"] if "Overdue" in r["Status"]]
    assert overdue and actions["rows"][:len(overdue)] == overdue  # overdue actions first
    assert "1.4.3" in [r["Action"] for r in overdue]  # the scorecard, due September 2015
    assert any("Not started" in r["Status"] for r in actions["rows"])
    assert all(r["Due"][-4:].isdigit() and "-" not in r["Due"] for r in actions["rows"])


def test_the_evidence_page_opens_where_the_board_does(home: Home) -> None:
    # An ended plan's evidence opens on its last meeting, as known that day, like the
    # scorecard it is reached from, not on a "today" the plan does not cover.
    at = page("evidence", "board")
    assert date_input(at, "Figure as at").value == date(2015, 12, 16)
    assert date_input(at, "As known at the end of").value == date(2015, 12, 16)


def test_the_overview_groups_measures_under_priorities_and_objectives(home: Home) -> None:
    at = page("board", "board")
    overview = next(t for t in tables(at) if t["caption"].startswith("Scorecard as at"))
    assert overview["caption"].startswith("Scorecard as at 16 Dec 2015")
    assert overview["headers"][:3] == ["Measure", "Status", "Value so far"]
    priorities = [g for g in overview["groups"] if "Priority" in g]
    assert priorities and all(g.split()[1] in ("Red", "Amber", "Green", "No")
                              for g in priorities)  # each with its rolled-up status
    assert "Other measures the board watches" in overview["groups"][-1]
    html = " ".join(e.proto.body for e in at.get("html"))
    assert "href='measure?" in html and "as_at=2015-12-16" in html  # links keep the dates
    assert "href='evidence?" in html  # each figure to the signed events behind it


def test_scrutiny_sees_suppressed_figures_and_what_changed(home: Home) -> None:
    at = page("scrutiny", "scrutiny")
    at.selectbox(key="scrutiny_meeting").set_value("2015-12-16").run()
    helpline = row_of(tables(at), "Helpline contacts")
    assert helpline["Then"] == "0" and helpline["Now"] == "7 [p]"  # not yet approved
    assert helpline["Difference"] == "+7"
    # Seven contacts: shown, but the one cause's effect is the whole change, so it is
    # said in words with the agency's name, and its size is the difference above.
    assert "from returns by NSPCC-HELPLINE sent after 16 Dec 2015" in helpline[
        "What changed it, and by how much"]
    assert "nspcc-helpline" not in helpline["What changed it, and by how much"]
    assert "2015-12-16" in str(at.query_params["meeting"])  # the view is in the address
    buttons = at.get("download_button")
    assert len(buttons) == 2
    board = page("scrutiny", "board")
    board.selectbox(key="scrutiny_meeting").set_value("2015-12-16").run()
    row = row_of(tables(board), "Helpline contacts")
    assert row["What changed it, and by how much"].startswith(
        "+7 from returns by NSPCC-HELPLINE sent after 16 Dec 2015")
    board.date_input(key="scrutiny_from").set_value(date(2016, 1, 1)).run()
    assert any("Nothing to show: events are counted from 1 Jan 2016" in w.value
               for w in board.warning)
    assert not tables(board)  # an empty window draws no table of zeros


def test_a_measure_over_time_with_its_definition(home: Home) -> None:
    at = page("measure", "board")
    at.selectbox(key="measure").set_value("helpline_contacts").run()
    at.selectbox(key="meeting").set_value("live").run()
    date_input(at, "Scorecard as at").set_value(date(2015, 10, 31)).run()
    facts = {r["Fact"]: r["As shown"] for r in next(
        t for t in tables(at) if t["caption"].startswith("Helpline contacts as at"))["rows"]}
    assert facts["Value so far"] == "7 [p]"  # October's return is not approved
    assert facts["Status"] == "No target"  # the page says the status, as the scorecard does
    # a date typed that is not the chosen view's makes the meeting "Dates chosen below"
    assert at.selectbox(key="meeting").value == "dates"
    assert facts["Target so far"].startswith("None: for information")
    assert facts["Returns"] == "1 of 1 in for October 2015"
    about = {r[""]: r["In plain English"] for r in next(
        t for t in tables(at) if t["caption"].startswith("About this measure"))["rows"]}
    assert about["What is counted"] == "The number of helpline contacts."
    assert about["Definition (machine)"].startswith("events of helpline.contact")
    chart = " ".join(e.proto.body for e in at.get("html") if "<img" in e.proto.body)
    assert "alt='Helpline contacts: value so far" in chart  # the chart's text alternative
    data = next(t for t in tables(at) if t["caption"].endswith("the chart's values"))
    assert data["rows"][-1]["Day"] == "31 Oct 2015" and data["rows"][-1]["Value so far"] == "7"
    cllr = page("measure", "scrutiny")
    assert any("a suppressed month is a gap" in c.value for c in cllr.caption)
    assert not any(t["caption"].endswith("the chart's values") and "Value so far" in t["headers"]
                   for t in tables(cllr))  # no cumulative series outside the board


def test_an_agency_sees_only_its_own_rejections(home: Home) -> None:
    at = page("agency", "agency", "nspcc-helpline")
    assert at.title[0].value == "Returns for NSPCC-HELPLINE"  # the name it registered under
    rejected = at.dataframe[0].value
    assert list(rejected["event_id"]) == ["bad"] and rejected["reason"][0] == "invalid"
    at.text_area[0].set_value((at.text_area[0].value or "").replace('"fax"', '"phone"'))
    at.button(key="resubmit").click().run()
    assert "accepted: bad" in at.success[-1].value


def test_the_administrator_registers_an_agency_and_adds_a_user(home: Home) -> None:
    at = page("admin", "administrator")
    at.text_input(key="new_agency_code").set_value("grow")
    at.text_input(key="new_agency_name").set_value("GROW")
    at.button[0].click().run()
    assert "Key for grow" in at.success[0].value
    at.text_input(key="new_username").set_value("grow-staff")
    at.selectbox(key="new_role").set_value("agency")
    at.selectbox(key="new_user_agency").set_value("grow")
    at.text_input(key="new_password").set_value("a-long-password")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert any("Added agency user grow-staff" in s.value for s in at.success)


def test_the_board_sees_targets_so_far_rates_with_intervals_markers_and_a_legend(
    home: Home,
) -> None:
    """Issue 14 on the page: a rate with nothing to divide by is [x], a measure without
    a target says why, the trend reads as arrow and words, the returns in are counted,
    and the GSS legend and the metadata are shown."""
    at = page("board", "board")
    at.selectbox(key="meeting").set_value("live").run()
    date_input(at, "Scorecard as at").set_value(date(2015, 10, 31)).run()
    emails = "Helpline emails answered within 2 hours"
    assert overview_cell(at, emails, "Value so far") == "– [x] 0 of 0"  # no emails yet
    assert overview_cell(at, emails, "Target so far") == "60%"
    contacts = "Helpline contacts"
    assert overview_cell(at, contacts, "Target so far") == (
        "None: for information: contacts measure demand, which the board does not target")
    assert overview_cell(at, contacts, "Trend") == "→ no significant change"
    assert overview_cell(at, contacts, "Returns") == "1 of 1 in for October 2015"
    legend = " ".join(c.value for c in at.caption)
    assert "[p] provisional" in legend and "[u] low reliability" in legend
    assert "*" not in legend
    assert any("What is counted" in m.value for m in at.markdown)


def test_breakdowns_of_people_for_the_board_only(home: Home) -> None:
    at = page("measure", "board")
    at.selectbox(key="measure").set_value("referrals_received").run()
    assert "Breakdowns" in [s.value for s in at.subheader]
    assert {"Age band", "Gender", "Client", "Referred by"} <= {t["caption"] for t in tables(at)}
    cllr = page("measure", "scrutiny")
    cllr.selectbox(key="measure").set_value("referrals_received").run()
    assert any("shown to the board only" in c.value for c in cllr.caption)
    assert "Age band" not in {t["caption"] for t in tables(cllr)}


def signed_in(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="username").set_value(username)
    at.text_input(key="password").set_value(f"{username}-password")
    at.button[0].click().run()
    assert at.session_state["user"]["username"] == username
    return at


def test_a_disabled_user_is_signed_out_at_their_next_click(home: Home) -> None:
    """Issue 12 item 4: a disabled user stayed signed in."""
    at = signed_in("cllr")
    home.open().disable_user("cllr", by="test", at=NOW)
    at.run()
    assert at.title[0].value == "Partnership scorecard" and "user" not in at.session_state
    assert at.text_input(key="username") is not None


def test_a_session_ends_after_its_idle_timeout(home: Home, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    at = signed_in("chair")  # under the default timeout: a slow sign-in cannot expire it
    monkeypatch.setenv("SCORECARD_SESSION_IDLE_MINUTES", "0.01")  # 0.6 seconds, read per run
    time.sleep(1.0)
    at.run()
    assert "user" not in at.session_state and at.title[0].value == "Partnership scorecard"


def test_a_session_state_without_a_live_sign_in_gets_the_sign_in_page(home: Home) -> None:
    """What a taken-over Streamlit session has (its state, not the sign-in's token) is
    not a sign-in: before, ``session_state["user"]`` alone opened the administrator's
    pages."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"username": "root", "role": "administrator", "agency": None}
    at.run()
    assert at.title[0].value == "Partnership scorecard" and "user" not in at.session_state


def test_a_page_failure_shows_a_reference_not_a_traceback(home: Home) -> None:
    """Issue 12 item 9: tracebacks with server paths reached users."""
    at = signed_in("chair")
    published = home.published()
    assert published is not None
    published.file.write_bytes(b"not a database " * 1000)  # what the page opens
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "reference" in shown and str(home.path) not in shown and "Traceback" not in shown


def test_agency_text_in_a_message_is_not_markdown(home: Home) -> None:
    """Issue 12 item 7: an image in a rejected value was fetched by the viewer's browser."""
    at = page("agency", "agency", "nspcc-helpline")
    image = "![x](https://tracker.example/p.png)"
    at.text_area[0].set_value((at.text_area[0].value or "").replace('"fax"', f'"{image}"'))
    at.button(key="resubmit").click().run()
    shown = at.error[0].value
    assert "Still rejected" in shown and image not in shown
    assert "\\!\\[x\\]\\(https\\:" in shown  # every punctuation mark escaped


def test_a_new_agency_key_is_handed_over_once(home: Home) -> None:
    """Issue 12 item 8: the key stayed downloadable, shown again on every rerun."""
    at = page("admin", "administrator")
    at.text_input(key="new_agency_code").set_value("grow")
    at.text_input(key="new_agency_name").set_value("GROW")
    at.button[0].click().run()
    assert len(at.get("download_button")) == 1
    issued = at.session_state["issued_key"]
    key = home.open().agency("grow").current_key()  # type: ignore[union-attr]
    assert issued() == key  # the browser's click asks for it: once
    with pytest.raises(RuntimeError, match="already been downloaded"):
        issued()
    at.run()
    assert not at.get("download_button")
    assert any("cannot be shown again" in i.value for i in at.info)
    at.run()
    assert not at.get("download_button") and "issued_key" not in at.session_state


def test_an_administrator_unlocks_disables_and_resets_users_on_the_page(home: Home) -> None:
    at = page("admin", "administrator")
    at.selectbox(key="manage_user").set_value("cllr")
    next(b for b in at.button if b.label == "Disable").click().run()
    assert home.open().user("cllr").disabled  # type: ignore[union-attr]
    at.selectbox(key="manage_user").set_value("cllr")
    next(b for b in at.button if b.label == "Enable").click().run()
    assert not home.open().user("cllr").disabled  # type: ignore[union-attr]
    at.text_input(key="reset_password").set_value("a-new-password")
    next(b for b in at.button if b.label == "Reset password").click().run()
    assert home.open().sign_in("cllr", "a-new-password") is not None
    next(b for b in at.button if b.label == "Unlock sign-in").click().run()
    home.wait_for(head_of(home.open()), 10)  # the projector service has published it
    with home.reader() as connection:
        actions = [a for a, in connection.execute(
            "SELECT action FROM audit WHERE subject = 'cllr' ORDER BY position").fetchall()]
    assert actions[1:] == ["user disabled", "user enabled", "password changed",
                           "sign-in unlocked"]


def test_a_link_to_a_meeting_the_plan_does_not_have_says_so(home: Home) -> None:
    """It fell back to the last meeting silently, so a councillor took it for the one
    the link named."""
    at = AppTest.from_string("from scorecard_ui.views import board\nboard.render()\n",
                             default_timeout=60)
    at.session_state["user"] = {"username": "tester", "role": "board", "agency": None}
    at.query_params["meeting"] = "2015-11-05"  # the Commission met on the 4th
    at.run()
    said = [w.value for w in at.warning if "does not have" in w.value]
    assert said and "2015\\-11\\-05" in said[0] and "16 Dec 2015" in said[0]
    assert at.selectbox(key="meeting").value == "2015-12-16"
    at.run()  # said once, not on every rerun
    assert not [w for w in at.warning if "does not have" in w.value]
