"""A second partnership's plan, end to end through the installed command line: the
invented Harbourside example (examples/harbourside) is checked on load, its agencies
registered, its demo events pushed and its report built, with no Rotherham code path."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_command_line import Cli

EXAMPLE = Path(__file__).parents[2] / "examples" / "harbourside"
AGENCIES = {"harbourside-council": "council", "harbourside-police": "police",
            "harbour-youth-trust": "voluntary"}


def test_the_harbourside_plan_loads_runs_its_events_and_reports(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    with cli.projector():
        assert "harbourside-online-harms-2019-21" in cli(
            "init", "--plan", str(EXAMPLE / "plan.yaml")).stdout
        for code, sector in AGENCIES.items():
            key = tmp_path / f"{code}.key"
            cli("agency", "add", code, "--name", code, "--sector", sector, "--key-file", str(key))
            pushed = cli.json("push", str(EXAMPLE / "events" / f"{code}.jsonl"), "--agency", code,
                              "--key-file", str(key))
            assert pushed["rejected"] == 0 and pushed["accepted"] > 0
        report = cli.json("report", "--as-at", "2019-09-30")
        assert report["plan"]["code"] == "harbourside-online-harms-2019-21"
        values = {m["id"]: m for m in report["measures"]}
        # Known answers from the example's events: 40 + 35 + 25 workers; schools 900001-3.
        assert values["workers_trained_this_year"]["value"] == 100
        assert values["workers_trained_this_year"]["rag"] == "red"
        assert values["online_safety_schools_this_year"]["value"] == 3
        assert values["referrals_received"]["value"] == 3
        assert {a["code"]: a["status"] for a in report["actions"]} == {
            "1.1.1": "on_track", "1.2.1": "at_risk", "2.1.1": "complete"}

        # The red measure owes a note; the lead agency writes it; the figure's evidence.
        assert cli.json("exception", "list", "--as-at", "2019-09-30")[
            "workers_trained_this_year"]["status"] == "missing"
        cli("exception", "note", "--agency", "harbourside-council", "--key-file",
            str(tmp_path / "harbourside-council.key"), "--measure", "workers_trained_this_year",
            "--month", "2019-09", "--what-happened", "Summer", "--why", "Closures",
            "--recovery", "Extra courses", "--recover-by", "2019-12-31", "--owner", "Head")
        flag = {m["id"]: m for m in cli.json("report", "--as-at", "2019-09-30")["measures"]}[
            "workers_trained_this_year"]["exception"]
        assert flag["status"] == "submitted" and flag["note"]["owner"] == "Head"
        evidence = cli.json("evidence", "--measure", "workers_trained_this_year", "--as-at",
                            "2019-09-30", "--verify")
        assert [e["event_id"] for e in evidence["events"]] == ["hbc-tr-001", "hbc-tr-002",
                                                              "hbc-tr-003"]
        assert {e["signature"]["status"] for e in evidence["events"]} == {"verifies"}

        # A month far beyond the plan's bound is questioned before it is sent.
        big = tmp_path / "big.jsonl"
        big.write_text('{"event_id":"x1","agency":"harbourside-council","type":'
                       '"training.delivered","schema_version":1,"occurred_at":"2019-10-08",'
                       '"payload":{"course":"c","audience":"workforce","attendees":900}}\n')
        questioned = cli.json("outliers", "check", str(big), "--agency", "harbourside-council")
        assert [(q["measure"], q["rule"]) for q in questioned] == [
            ("workers_trained_this_year", "above the plan's maximum")]


def test_a_broken_plan_is_refused_by_init_with_every_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = (EXAMPLE / "plan.yaml").read_text("utf-8")
    broken.write_text(text.replace("of: training.delivered", "of: training.given")
                      .replace("lead: harbourside-police", "lead: coastguard"), "utf-8")
    cli = Cli(tmp_path / "home")
    done = cli("init", "--plan", str(broken), ok=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "2 problems; the plan was not loaded" in done.stderr
    assert "priorities[1].objectives[0].actions[0].lead: 'coastguard' is not in agencies" \
        in done.stderr
    assert "measures[2].numerator: measure workers_trained_this_year: 'training.given' is " \
        "not an event type" in done.stderr
    assert not (tmp_path / "home").exists()
