"""The actions the delivery service proposes, as domain objects.

Pure: the policy modules (`policy` for late deliveries, `billing` for overcharges,
`returns` for complaints) build these; the handler alone turns them into protobuf.
Nothing here executes anything: an action is a proposal a person approves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class ActionKind(StrEnum):
    """The actions the delivery service proposes; the values are the crm.v1.ActionType
    names."""

    DELIVERY_FEE_REFUND = "ACTION_TYPE_DELIVERY_FEE_REFUND"
    DELIVERY_FEE_REFUND_ON_ARRIVAL = "ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL"
    EXPEDITED_COUPON = "ACTION_TYPE_EXPEDITED_COUPON"
    CARRIER_UPDATE_REQUEST = "ACTION_TYPE_CARRIER_UPDATE_REQUEST"
    CHARGE_REFUND = "ACTION_TYPE_CHARGE_REFUND"
    RETURN_AUTHORISATION = "ACTION_TYPE_RETURN_AUTHORISATION"


@dataclass(frozen=True)
class ProposedAction:
    """An action for a person to approve.

    `target` is the tracking number (late-delivery actions) or the order number (charge
    refunds, returns); `amount` is None for an action that moves no money; `resolution`
    is the return's "replacement" or "refund", "" for every other kind.
    """

    kind: ActionKind
    target: str
    amount: Decimal | None
    currency: str
    idempotency_key: str
    rationale: str
    resolution: str = ""


def idempotency_key(job_id: str, kind: ActionKind, target: str) -> str:
    """A stable key for one action of one job: the same job proposing the same action
    for the same target always gets the same key, so it can execute only once."""
    # The unit separator cannot occur in the parts, so different parts never collide.
    material = "\x1f".join((job_id, kind.value, target))
    return hashlib.sha256(material.encode()).hexdigest()
