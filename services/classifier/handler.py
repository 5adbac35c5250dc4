"""gRPC handler of the classifier: protobuf in, the reading by the configured tier,
protobuf out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from crm.v1 import classifier_pb2, classifier_pb2_grpc, types_pb2
from services.classifier.history import INBOUND, OUTBOUND, Direction, HistoryMessage
from services.classifier.llm import LlmTriager
from services.classifier.triage import OpenRequest, Triage, Triager
from services.common.errors import ServiceError
from services.common.identifiers import from_proto, to_proto
from services.common.model_calls import ModelCallRecord
from services.common.server import Deferred
from services.common.taxonomy import level_to_proto, topic_to_proto


def to_classification(
    result: Triage, tier: types_pb2.Tier.ValueType, fell_back: bool
) -> classifier_pb2.Classification:
    """The reading as the contract's Classification."""
    return classifier_pb2.Classification(
        topic=topic_to_proto(result.topic),
        urgent=result.urgent,
        urgency_reason=result.urgency_reason,
        reasons=result.reasons,
        confidence=result.confidence,
        tier=tier,
        fell_back=fell_back,
        reply_needed=result.reply_needed,
        requests=result.requests,
        repeat_count=result.repeat_count,
        repeated_request=result.repeated_request,
        urgency_level=level_to_proto(result.level),
        language=result.language,
        identifiers=to_proto(result.identifiers),
        carried_identifiers=to_proto(result.carried_identifiers),
        low_confidence=result.low_confidence,
        suspected_injection=result.suspected_injection,
        injection_evidence=result.injection_evidence,
        continues_open_request=result.continues_open_request,
        only_injection=result.only_injection,
    )


_DIRECTIONS: dict[types_pb2.MessageDirection.ValueType, Direction] = {
    types_pb2.MESSAGE_DIRECTION_INBOUND: INBOUND,
    types_pb2.MESSAGE_DIRECTION_OUTBOUND: OUTBOUND,
}


def history_from(entries: Iterable[types_pb2.HistoryEntry]) -> list[HistoryMessage]:
    """The case history as the request carries it. Who wrote each message is its
    direction, which case memory always records: an entry without one is refused rather
    than guessed, since a guess either counts a shop reply as an asking or hides one."""
    history = []
    for n, entry in enumerate(entries):
        direction = _DIRECTIONS.get(entry.direction)
        if direction is None:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                f"history[{n}] has no direction: say whether the customer or the shop wrote it",
            )
        history.append(HistoryMessage(direction, entry.summary))
    return history


def open_request_from(message: types_pb2.OpenRequest | None) -> OpenRequest | None:
    """The case's open request as case memory sent it, or None for a first message."""
    if message is None or not message.summary:
        return None
    return OpenRequest(
        summary=message.summary,
        topic=message.topic,
        identifiers=from_proto(message.identifiers),
        answered=message.answered,
    )


@dataclass(frozen=True)
class TriageTiers:
    """Tier 0 (always) and the LLM tier (when configured)."""

    local: Triager
    llm: LlmTriager | None = None


class ClassifierHandler(classifier_pb2_grpc.ClassifierServiceServicer):
    """The reading over gRPC: the LLM tier when configured, tier 0 otherwise or on its failure."""

    def __init__(self, tiers: Deferred[TriageTiers]) -> None:
        self._tiers = tiers

    async def ClassifyEmail(
        self, request: classifier_pb2.ClassifyEmailRequest, context: Any
    ) -> classifier_pb2.ClassifyEmailResponse:
        history = history_from(request.history)
        tiers = self._tiers.get()
        calls: list[ModelCallRecord] = []
        counts = dict(request.earlier_topic_counts)
        open_request = open_request_from(
            request.open_request if request.HasField("open_request") else None
        )
        if tiers.llm is not None:
            result, fell_back = await tiers.llm.classify(
                request.subject,
                request.body,
                history,
                calls,
                counts,
                open_request,
                request.hidden_content,
            )
            tier = types_pb2.TIER_LOCAL if fell_back else types_pb2.TIER_LLM
        else:
            # The encoder runs in a worker thread (it releases the GIL): the server keeps
            # answering, and concurrent e-mails use every core.
            result = await asyncio.to_thread(
                tiers.local.classify,
                request.subject,
                request.body,
                history,
                counts,
                open_request,
                request.hidden_content,
            )
            fell_back = False
            tier = types_pb2.TIER_LOCAL
        return classifier_pb2.ClassifyEmailResponse(
            classification=to_classification(result, tier, fell_back),
            model_calls=[c.to_proto() for c in calls],
        )
