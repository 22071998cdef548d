"""The outlier rule on series with known answers (modified z-score, Iglewicz-Hoaglin)."""

from __future__ import annotations

import math

import pytest

from projections.outliers import MIN_HISTORY, Z_LIMIT, robust_z

STEADY = [10, 12, 9, 11, 10, 13, 10, 11, 9, 12, 10, 11]  # median 10.5, MAD 0.5


@pytest.mark.parametrize(("value", "expected"), [
    (110, 0.6745 * 99.5 / 0.5),   # ten times the usual: 134.2, questioned
    (12, 0.6745 * 1.5 / 0.5),     # 2.02: an ordinary month
    (13, 0.6745 * 2.5 / 0.5),     # 3.37: still inside 3.5
    (14, 0.6745 * 3.5 / 0.5),     # 4.72: questioned
    (0, 0.6745 * -10.5 / 0.5),    # a month of nothing: questioned too
])
def test_modified_z_score_of_a_steady_series(value: float, expected: float) -> None:
    z = robust_z(value, STEADY)
    assert z == pytest.approx(expected)
    assert (abs(expected) > Z_LIMIT) == (value in (110, 14, 0))


def test_a_mostly_constant_series_uses_the_mean_absolute_deviation() -> None:
    history = [5, 5, 5, 5, 5, 5, 5, 9]  # MAD 0; mean absolute deviation 0.5
    assert robust_z(9, history) == pytest.approx(4 / (1.253314 * 0.5))
    assert robust_z(5, history) == 0.0


def test_a_constant_series_questions_any_change_and_short_history_none() -> None:
    assert robust_z(3, [3] * 6) == 0.0
    assert robust_z(4, [3] * 6) == math.inf
    assert robust_z(0, [3] * 6) == -math.inf
    assert robust_z(1000, [3] * (MIN_HISTORY - 1)) is None
