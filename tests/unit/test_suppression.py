"""Small numbers outside the board: primary and secondary suppression."""

from __future__ import annotations

from scorecard_ui.suppression import SECONDARY, SUPPRESSED, shown, shown_split


def test_counts_of_one_to_four_are_hidden_and_zero_is_not() -> None:
    assert [shown(v, suppress=True) for v in (0, 1, 4, 5, 1234)] == [
        "0", SUPPRESSED, SUPPRESSED, "5", "1,234"]
    assert shown(3, suppress=False) == "3"
    assert shown(0.456, suppress=True, unit="share") == "46%"
    assert shown(None, suppress=True) == "–"


def test_a_single_hidden_part_hides_the_next_smallest_too() -> None:
    total, parts = shown_split(30, {"a": 3, "b": 12, "c": 15}, suppress=True)
    assert (total, parts) == ("30", {"a": SUPPRESSED, "b": SECONDARY, "c": "15"})


def test_two_hidden_parts_need_no_secondary_suppression() -> None:
    total, parts = shown_split(27, {"a": 3, "b": 4, "c": 20}, suppress=True)
    assert (total, parts) == ("27", {"a": SUPPRESSED, "b": SUPPRESSED, "c": "20"})
    assert shown_split(30, {"a": 3, "b": 27}, suppress=False)[1] == {"a": "3", "b": "27"}
