"""Reading a follow-up against its case: the numbers the case history mentions."""

from __future__ import annotations

from services.orchestrator.pipeline import numbers_in_history


def test_a_follow_up_gets_the_numbers_of_its_case_most_recent_first() -> None:
    history = [
        "Customer asked where parcel FDX486159753 is; it was due on 27 January.",
        "Support replied that the carrier has been contacted.",
        "Customer asked again about 1Z999AA10123456784 and FDX486159753.",
    ]
    assert numbers_in_history(history) == ["1Z999AA10123456784", "FDX486159753"]


def test_words_without_digits_are_not_numbers() -> None:
    assert numbers_in_history(["Customer complained about the verification problem."]) == []
