"""The classifier's gRPC handler: who wrote each history entry comes from its direction,
and the repeat rule's verdict reaches the Classification."""

from __future__ import annotations

import grpc
import pytest

from crm.v1 import classifier_pb2, types_pb2
from services.classifier.handler import ClassifierHandler, TriageTiers, history_from
from services.classifier.history import customer, shop
from services.classifier.main import load_tier0
from services.classifier.triage import REPEAT_THRESHOLD
from services.common.errors import ServiceError
from services.common.server import Deferred

INBOUND = types_pb2.MESSAGE_DIRECTION_INBOUND
OUTBOUND = types_pb2.MESSAGE_DIRECTION_OUTBOUND
ASKINGS = [
    "Customer asked where parcel FDX486159753 is; it is late.",
    "Customer asked again where the late parcel FDX486159753 is.",
    "Customer says parcel FDX486159753 still has not arrived and asks where it is.",
]


@pytest.fixture(scope="module")
def handler() -> ClassifierHandler:
    tiers: Deferred[TriageTiers] = Deferred("tier 0")
    tiers.set(TriageTiers(load_tier0()))
    return ClassifierHandler(tiers)


def entry(direction: types_pb2.MessageDirection.ValueType, summary: str) -> types_pb2.HistoryEntry:
    return types_pb2.HistoryEntry(direction=direction, summary=summary)


async def classify(
    handler: ClassifierHandler, history: list[types_pb2.HistoryEntry]
) -> classifier_pb2.Classification:
    request = classifier_pb2.ClassifyEmailRequest(
        job_id="j", customer_id=4, body="Where is my parcel FDX486159753?", history=history
    )
    return (await handler.ClassifyEmail(request, None)).classification


def test_history_entries_become_messages_by_their_direction() -> None:
    history = history_from(
        [entry(INBOUND, "Support replied: where is it?"), entry(OUTBOUND, "Customer asked.")]
    )
    assert history == [customer("Support replied: where is it?"), shop("Customer asked.")]


def test_an_entry_without_a_direction_is_refused_not_guessed() -> None:
    with pytest.raises(ServiceError) as refused:
        history_from([entry(INBOUND, "a"), types_pb2.HistoryEntry(summary="b")])
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert "history[1]" in refused.value.message


@pytest.mark.asyncio(loop_scope="session")
async def test_shop_replies_are_not_askings_whatever_their_words(
    handler: ClassifierHandler,
) -> None:
    replies = await classify(handler, [entry(OUTBOUND, s) for s in ASKINGS])
    assert replies.repeat_count == 0 and not replies.repeated_request
    askings = await classify(handler, [entry(INBOUND, s) for s in ASKINGS])
    assert askings.repeat_count == REPEAT_THRESHOLD and askings.repeated_request
    assert askings.urgency_level == types_pb2.URGENCY_LEVEL_HANDS_OFF


@pytest.mark.asyncio(loop_scope="session")
async def test_repeated_request_is_set_from_the_threshold(handler: ClassifierHandler) -> None:
    below = await classify(handler, [entry(INBOUND, s) for s in ASKINGS[: REPEAT_THRESHOLD - 1]])
    assert below.repeat_count == REPEAT_THRESHOLD - 1 and not below.repeated_request
