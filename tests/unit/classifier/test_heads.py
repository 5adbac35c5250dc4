"""The heads' calibration measure."""

from __future__ import annotations

from services.classifier.heads import calibration_error


def test_calibration_error_is_the_gap_between_confidence_and_accuracy() -> None:
    assert calibration_error([0.8] * 10, [True] * 8 + [False] * 2) == 0.0
    assert calibration_error([0.9] * 10, [True] * 5 + [False] * 5) == 0.4
    assert calibration_error([0.3, 0.9], [False, True]) == round((0.3 + 0.1) / 2, 4)
