"""gRPC handler of the classifier: protobuf in, triage by the configured tier, protobuf out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.v1 import classifier_pb2, classifier_pb2_grpc, types_pb2
from services.classifier.llm import LlmTriager
from services.classifier.triage import Triage, Triager
from services.common.model_calls import ModelCallRecord
from services.common.server import Deferred

TOPICS: dict[str, types_pb2.Topic.ValueType] = {
    "product_availability_or_recommendation": types_pb2.TOPIC_PRODUCT_AVAILABILITY_OR_RECOMMENDATION,
    "delivery_delay": types_pb2.TOPIC_DELIVERY_DELAY,
    "billing_dispute": types_pb2.TOPIC_BILLING_DISPUTE,
    "transaction_inquiry": types_pb2.TOPIC_TRANSACTION_INQUIRY,
    "product_complaint": types_pb2.TOPIC_PRODUCT_COMPLAINT,
    "other": types_pb2.TOPIC_OTHER,
}


def to_proto(
    result: Triage, tier: types_pb2.Tier.ValueType, fell_back: bool
) -> classifier_pb2.Classification:
    """The triage as the contract's Classification."""
    return classifier_pb2.Classification(
        topic=TOPICS[result.topic],
        urgent=result.urgent,
        urgency_reason=result.urgency_reason,
        reasons=result.reasons,
        confidence=result.confidence,
        tier=tier,
        fell_back=fell_back,
        reply_needed=result.reply_needed,
        requests=result.requests,
        repeat_count=result.repeat_count,
    )


@dataclass(frozen=True)
class TriageTiers:
    """Tier 0 (always) and the LLM tier (when configured)."""

    local: Triager
    llm: LlmTriager | None = None


class ClassifierHandler(classifier_pb2_grpc.ClassifierServiceServicer):
    """Triage over gRPC: the LLM tier when configured, tier 0 otherwise or on its failure."""

    def __init__(self, tiers: Deferred[TriageTiers]) -> None:
        self._tiers = tiers

    async def ClassifyEmail(
        self, request: classifier_pb2.ClassifyEmailRequest, context: Any
    ) -> classifier_pb2.ClassifyEmailResponse:
        history = list(request.history)
        tiers = self._tiers.get()
        calls: list[ModelCallRecord] = []
        if tiers.llm is not None:
            result, fell_back = await tiers.llm.classify(
                request.subject, request.body, history, calls, dict(request.earlier_topic_counts)
            )
            tier = types_pb2.TIER_LOCAL if fell_back else types_pb2.TIER_LLM
        else:
            result = tiers.local.classify(
                request.subject, request.body, history, dict(request.earlier_topic_counts)
            )
            fell_back = False
            tier = types_pb2.TIER_LOCAL
        return classifier_pb2.ClassifyEmailResponse(
            classification=to_proto(result, tier, fell_back),
            model_calls=[c.to_proto() for c in calls],
        )
