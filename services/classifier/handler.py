"""gRPC handler of the classifier: protobuf in, tier-0 triage, protobuf out."""

from __future__ import annotations

from typing import Any

from crm.v1 import classifier_pb2, classifier_pb2_grpc, types_pb2
from services.classifier.triage import triage

TOPICS: dict[str, types_pb2.Topic.ValueType] = {
    "product_availability_or_recommendation": types_pb2.TOPIC_PRODUCT_AVAILABILITY_OR_RECOMMENDATION,
    "delivery_delay": types_pb2.TOPIC_DELIVERY_DELAY,
    "billing_dispute": types_pb2.TOPIC_BILLING_DISPUTE,
    "transaction_inquiry": types_pb2.TOPIC_TRANSACTION_INQUIRY,
    "product_complaint": types_pb2.TOPIC_PRODUCT_COMPLAINT,
    "other": types_pb2.TOPIC_OTHER,
}


class ClassifierHandler(classifier_pb2_grpc.ClassifierServiceServicer):
    """Triage over gRPC."""

    async def ClassifyEmail(
        self, request: classifier_pb2.ClassifyEmailRequest, context: Any
    ) -> classifier_pb2.ClassifyEmailResponse:
        result = triage(request.subject, request.body, list(request.history))
        return classifier_pb2.ClassifyEmailResponse(
            classification=classifier_pb2.Classification(
                topic=TOPICS[result.topic],
                urgent=result.urgent,
                urgency_reason=result.urgency_reason,
                reasons=result.reasons,
                confidence=result.confidence,
                tier=types_pb2.TIER_LOCAL,
                reply_needed=result.reply_needed,
                requests=result.requests,
            )
        )
