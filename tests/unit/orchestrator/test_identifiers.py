"""The identifiers the orchestrator puts on delivery requests: the classifier's reading,
else the ones it carried from the case's open request."""

from __future__ import annotations

from crm.v1 import classifier_pb2, types_pb2
from services.orchestrator.identifiers import identifiers_for


def _ids(tracking: list[str] | None = None, orders: list[str] | None = None) -> types_pb2.Identifiers:  # fmt: skip
    return types_pb2.Identifiers(tracking_numbers=tracking or [], order_numbers=orders or [])


def test_the_emails_own_identifiers_come_first() -> None:
    classification = classifier_pb2.Classification(
        identifiers=_ids(orders=["1012"]), carried_identifiers=_ids(["UPS159753486"])
    )
    assert identifiers_for(classification) == _ids(orders=["1012"])


def test_a_follow_up_gets_the_identifiers_carried_from_the_case() -> None:
    classification = classifier_pb2.Classification(carried_identifiers=_ids(["UPS159753486"]))
    assert identifiers_for(classification) == _ids(["UPS159753486"])


def test_without_identifiers_none_are_sent() -> None:
    assert identifiers_for(classifier_pb2.Classification()) == _ids()


def test_the_classification_is_left_as_the_classifier_wrote_it() -> None:
    classification = classifier_pb2.Classification(identifiers=_ids(["FDX486159753"]))
    found = identifiers_for(classification)
    found.tracking_numbers.append("UPS159753486")
    assert list(classification.identifiers.tracking_numbers) == ["FDX486159753"]
