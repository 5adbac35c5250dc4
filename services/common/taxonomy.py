"""The taxonomy of the reading (docs/classification-spec.md): topic names, urgency levels,
and their protobuf enums, converted here and nowhere else."""

from __future__ import annotations

from typing import Literal

from crm.v1 import classifier_pb2, types_pb2

TOPIC_PRODUCT = "product_availability_or_recommendation"
TOPIC_DELIVERY = "delivery_delay"
TOPIC_BILLING = "billing_dispute"
TOPIC_TRANSACTION = "transaction_inquiry"
TOPIC_COMPLAINT = "product_complaint"
TOPIC_OTHER = "other"
# The taxonomy as a type, for models that read or write topic names.
TopicName = Literal[
    "product_availability_or_recommendation",
    "delivery_delay",
    "billing_dispute",
    "transaction_inquiry",
    "product_complaint",
    "other",
]
# The taxonomy, in a fixed order (the topic head's output order).
TOPICS: tuple[str, ...] = (
    TOPIC_PRODUCT,
    TOPIC_DELIVERY,
    TOPIC_BILLING,
    TOPIC_TRANSACTION,
    TOPIC_COMPLAINT,
    TOPIC_OTHER,
)

LEVEL_NONE = "none"
LEVEL_PRIORITY = "priority"
LEVEL_HANDS_OFF = "hands_off"
UrgencyName = Literal["none", "priority", "hands_off"]
# Urgency levels in the urgency head's output order.
LEVELS: tuple[str, ...] = (LEVEL_NONE, LEVEL_PRIORITY, LEVEL_HANDS_OFF)


def topic_to_proto(topic: str) -> types_pb2.Topic.ValueType:
    """'delivery_delay' -> TOPIC_DELIVERY_DELAY."""
    return types_pb2.Topic.Value("TOPIC_" + topic.upper())


def topic_name(topic: types_pb2.Topic.ValueType) -> str:
    """TOPIC_DELIVERY_DELAY -> 'delivery_delay'; '' when unspecified."""
    if topic == types_pb2.TOPIC_UNSPECIFIED:
        return ""
    return types_pb2.Topic.Name(topic).removeprefix("TOPIC_").lower()


def level_to_proto(level: str) -> types_pb2.UrgencyLevel.ValueType:
    """'hands_off' -> URGENCY_LEVEL_HANDS_OFF."""
    return types_pb2.UrgencyLevel.Value("URGENCY_LEVEL_" + level.upper())


def level_name(level: types_pb2.UrgencyLevel.ValueType) -> str:
    """URGENCY_LEVEL_HANDS_OFF -> 'hands_off'; 'none' when unspecified."""
    if level == types_pb2.URGENCY_LEVEL_UNSPECIFIED:
        return LEVEL_NONE
    return types_pb2.UrgencyLevel.Name(level).removeprefix("URGENCY_LEVEL_").lower()


def urgency_of(classification: classifier_pb2.Classification) -> str:
    """How a person must take a classified e-mail: its level, and for a reading without one
    (an older classifier) hands_off when urgent, the safer reading."""
    if classification.urgency_level == types_pb2.URGENCY_LEVEL_UNSPECIFIED:
        return LEVEL_HANDS_OFF if classification.urgent else LEVEL_NONE
    return level_name(classification.urgency_level)
