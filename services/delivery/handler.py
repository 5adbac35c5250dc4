"""gRPC handler of the delivery service: protobuf in, ledger reads and policy, protobuf out.

The policy modules decide (actions, amounts, wording, why a person must decide); this
module only translates between protobuf and their domain objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import delivery_pb2, delivery_pb2_grpc, types_pb2
from services.common.errors import ServiceError
from services.common.identifiers import known_order_numbers, known_tracking_numbers
from services.common.injection import without_system_addressed
from services.common.server import Deferred
from services.delivery import actions, billing, lookup, policy, returns
from services.delivery.execution import ApprovedAction
from services.delivery.store import LedgerReader

_STATUSES = {
    policy.ShipmentStatus.PROCESSING: delivery_pb2.SHIPMENT_STATUS_PROCESSING,
    policy.ShipmentStatus.IN_TRANSIT: delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT,
    policy.ShipmentStatus.OUT_FOR_DELIVERY: delivery_pb2.SHIPMENT_STATUS_OUT_FOR_DELIVERY,
    policy.ShipmentStatus.DELIVERED: delivery_pb2.SHIPMENT_STATUS_DELIVERED,
    policy.ShipmentStatus.EXCEPTION: delivery_pb2.SHIPMENT_STATUS_EXCEPTION,
    policy.ShipmentStatus.CANCELLED: delivery_pb2.SHIPMENT_STATUS_CANCELLED,
}


def _timestamp(day: date) -> Timestamp:
    """A calendar day as a Timestamp at midnight UTC."""
    ts = Timestamp()
    ts.FromDatetime(datetime.combine(day, time.min, tzinfo=UTC))
    return ts


def _money(amount: Decimal, currency: str) -> types_pb2.Money:
    return types_pb2.Money(currency_code=currency, amount=f"{amount.quantize(Decimal('0.01'))}")


def _shipment_to_proto(
    assessment: policy.Assessment, fee_refunds: Sequence[billing.Refund] = ()
) -> delivery_pb2.ShipmentAssessment:
    """The assessment of one shipment, with the delivery-fee refunds already made on its
    order (`fee_refunds`, the ones `fee_refunded` sums) and their dates."""
    s = assessment.shipment
    message = delivery_pb2.ShipmentAssessment(
        tracking_number=s.tracking_number,
        order_id=s.order_id,
        carrier=s.carrier,
        status=_STATUSES[s.status],
        expected_start_time=_timestamp(s.expected_start),
        expected_end_time=_timestamp(s.expected_end),
        days_late=assessment.days_late,
        address_to_confirm=assessment.address_to_confirm,
        product_name=s.product_name,
        delay_reason=s.delay_reason,
    )
    if s.last_scan_on is not None:
        message.last_scan_time.CopyFrom(_timestamp(s.last_scan_on))
    if s.delivered_on is not None:
        message.delivered_time.CopyFrom(_timestamp(s.delivered_on))
    if s.delivery_fee is not None:
        message.delivery_fee.CopyFrom(_money(s.delivery_fee, s.currency))
    if s.fee_refunded > 0:
        message.fee_refunded.CopyFrom(_money(s.fee_refunded, s.currency))
    message.fee_refunds.extend(_refund_to_proto(r, s.currency) for r in fee_refunds)
    return message


def _action_to_proto(action: actions.ProposedAction) -> types_pb2.ProposedAction:
    """The one translation of a proposed action (of any policy module) into protobuf."""
    message = types_pb2.ProposedAction(
        type=types_pb2.ActionType.Value(action.kind.value),
        target=action.target,
        idempotency_key=action.idempotency_key,
        rationale=action.rationale,
        resolution=action.resolution,
    )
    if action.amount is not None:
        message.amount.CopyFrom(_money(action.amount, action.currency))
    return message


def _validate(
    request: delivery_pb2.AssessDeliveriesRequest
    | delivery_pb2.AssessBillingRequest
    | delivery_pb2.AssessComplaintRequest,
) -> None:
    if request.customer_id <= 0:
        raise ServiceError(
            grpc.StatusCode.INVALID_ARGUMENT,
            types_pb2.ERROR_CODE_CUSTOMER_MISSING,
            "customer_id must be a positive customer id",
        )
    # Without a job id every job would propose the same idempotency keys, and a second
    # refund could be mistaken for a retry of the first.
    if not request.job_id.strip():
        raise ServiceError(
            grpc.StatusCode.INVALID_ARGUMENT,
            types_pb2.ERROR_CODE_INVALID_ARGUMENT,
            "job_id is required: proposed actions derive their idempotency keys from it",
        )


def _refund_to_proto(refund: billing.Refund, currency: str) -> delivery_pb2.RefundRecord:
    message = delivery_pb2.RefundRecord(
        amount=_money(refund.amount, currency),
        status=refund.status,
        request_time=_timestamp(refund.requested_on),
        reason=refund.reason,
    )
    if refund.completed_on is not None:
        message.complete_time.CopyFrom(_timestamp(refund.completed_on))
    return message


_VERDICTS = {
    "customer": delivery_pb2.SENDER_VERDICT_CUSTOMER,
    "other_customer": delivery_pb2.SENDER_VERDICT_OTHER_CUSTOMER,
    "unknown_address": delivery_pb2.SENDER_VERDICT_UNKNOWN_ADDRESS,
    "customer_unknown": delivery_pb2.SENDER_VERDICT_CUSTOMER_UNKNOWN,
}


class DeliveryHandler(delivery_pb2_grpc.DeliveryServiceServicer):
    """Late-delivery assessments over gRPC, scoped to the authenticated customer."""

    def __init__(self, ledger: Deferred[LedgerReader], today: Callable[[], date]) -> None:
        self._ledger = ledger
        # The shop's "today" comes from the caller (settings or the clock), never from policy.
        self._today = today

    async def CheckSender(
        self, request: delivery_pb2.CheckSenderRequest, context: Any
    ) -> delivery_pb2.CheckSenderResponse:
        """Whether the sender address is the authenticated customer's."""
        if request.customer_id <= 0:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_CUSTOMER_MISSING,
                "customer_id must be a positive customer id",
            )
        # "Ana Lopez <ana@example.com>" and "<ana@example.com>" name the same address.
        address = parseaddr(request.sender_address)[1].strip() or request.sender_address.strip()
        if not address:
            return delivery_pb2.CheckSenderResponse(
                verdict=delivery_pb2.SENDER_VERDICT_UNKNOWN_ADDRESS
            )
        verdict = await self._ledger.get().sender_verdict(request.customer_id, address)
        return delivery_pb2.CheckSenderResponse(verdict=_VERDICTS[verdict])

    async def AssessBilling(
        self, request: delivery_pb2.AssessBillingRequest, context: Any
    ) -> delivery_pb2.AssessBillingResponse:
        """Examines the referenced orders of the customer (see `billing`)."""
        _validate(request)
        # The numbers come read (`crm.v1.Identifiers`); only well-formed ones, at most the
        # cap. A follow-up naming none ("any update on the double charge?") is about the
        # case's known orders.
        numbers = known_order_numbers(request.identifiers.order_numbers) or known_order_numbers(
            request.known_order_numbers
        )
        response = delivery_pb2.AssessBillingResponse(order_ids=numbers)
        if not numbers:
            return response  # the reply asks the customer for the order number
        records = await self._ledger.get().order_records(request.customer_id, numbers)
        found = {r.order_id for r in records}
        response.unmatched_order_ids.extend(n for n in numbers if n not in found)
        findings = [billing.examine(order) for order in records]
        for order, finding in zip(records, findings, strict=True):
            response.orders.append(
                delivery_pb2.OrderBilling(
                    order_id=order.order_id,
                    owed=_money(finding.owed, order.currency),
                    charged=_money(finding.charged, order.currency),
                    refunded=_money(finding.refunded, order.currency),
                    overcharge=_money(finding.overcharge, order.currency),
                    evidence=finding.evidence,
                    charges=[
                        delivery_pb2.ChargeRecord(
                            amount=_money(c.amount, order.currency),
                            charge_time=_timestamp(c.charged_on),
                            captured=c.captured,
                        )
                        for c in order.charges
                    ],
                    refunds=[_refund_to_proto(r, order.currency) for r in order.refunds],
                    claim_supported=finding.supported,
                )
            )
            refund = billing.refund_action(request.job_id, finding, order.currency)
            if refund is not None:
                response.actions.append(_action_to_proto(refund))
        response.review_reason = billing.review_reason(findings)
        return response

    async def ExecuteAction(
        self, request: delivery_pb2.ExecuteActionRequest, context: Any
    ) -> delivery_pb2.ExecuteActionResponse:
        """Carries out one approved action exactly once by its idempotency key."""
        action = request.action
        if request.customer_id <= 0 or not action.idempotency_key or not action.target:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                "customer_id, action.target and action.idempotency_key are required",
            )
        try:
            kind = actions.ActionKind(types_pb2.ActionType.Name(action.type))
        except ValueError as exc:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                f"unknown action type {action.type}",
            ) from exc
        try:
            amount = Decimal(action.amount.amount) if action.amount.amount else None
        except InvalidOperation as exc:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                f"amount {action.amount.amount!r} is not a decimal",
            ) from exc
        approved = ApprovedAction(
            request.request_id, kind, action.target, amount, action.idempotency_key
        )
        done = await self._ledger.get().execute_action(request.customer_id, approved, self._today())
        if done.already:
            outcome = delivery_pb2.EXECUTION_OUTCOME_ALREADY_EXECUTED
        elif done.outcome == "executed":
            outcome = delivery_pb2.EXECUTION_OUTCOME_EXECUTED
        else:
            outcome = delivery_pb2.EXECUTION_OUTCOME_REFUSED
        return delivery_pb2.ExecuteActionResponse(
            outcome=outcome,
            detail=done.detail,
            refund_id=done.refund_id or 0,
            coupon_code=done.coupon_code,
        )

    async def AssessComplaint(
        self, request: delivery_pb2.AssessComplaintRequest, context: Any
    ) -> delivery_pb2.AssessComplaintResponse:
        """Finds the item complained about and decides on a return (see `returns`)."""
        _validate(request)
        # The numbers come read; the text still says the problem, the wish and the product,
        # in the customer's words only: text addressed to an automated system ("approve a
        # refund") is no wish of the customer's.
        text = without_system_addressed(request.text)
        today = self._today()
        items = await self._ledger.get().customer_items(request.customer_id)
        order_ids, numbers = returns.numbers_to_look_up(
            text,
            items,
            (
                known_order_numbers(request.identifiers.order_numbers),
                known_tracking_numbers(request.identifiers.tracking_numbers),
            ),
            (
                known_order_numbers(request.known_order_numbers),
                known_tracking_numbers(request.known_tracking_numbers),
            ),
        )
        chosen = returns.which_items(text, items, order_ids, numbers, today)
        response = delivery_pb2.AssessComplaintResponse(problem=returns.problem_of(text))
        known_orders = {i.order_id for i in items}
        known_numbers = {i.tracking_number.upper() for i in items}
        response.unmatched_order_ids.extend(n for n in order_ids if n not in known_orders)
        response.unmatched_tracking_numbers.extend(n for n in numbers if n not in known_numbers)
        decisions = [returns.decide(item, today) for item in chosen]
        for decision in decisions:
            item = decision.item
            message = delivery_pb2.ComplaintItem(
                order_id=item.order_id,
                product_name=item.product_name,
                tracking_number=item.tracking_number,
                status=_STATUSES[policy.ShipmentStatus(item.status)],
                days_since_delivery=decision.days_since_delivery,
                within_return_window=decision.within_window,
                item_total=_money(item.item_total, item.currency),
            )
            if item.delivered_on is not None:
                message.delivered_time.CopyFrom(_timestamp(item.delivered_on))
            response.items.append(message)
        response.actions.extend(
            _action_to_proto(a)
            for a in returns.authorisations(
                request.job_id,
                decisions,
                response.problem,
                returns.resolution_wished(text),
            )
        )
        response.review_reason = returns.review_reason(decisions)
        return response

    async def AssessDeliveries(
        self, request: delivery_pb2.AssessDeliveriesRequest, context: Any
    ) -> delivery_pb2.AssessDeliveriesResponse:
        """Finds the referenced shipments (by tracking or order number) among the
        customer's own and assesses them."""
        _validate(request)
        wanted = lookup.requested(
            request.identifiers, request.known_tracking_numbers, request.known_order_numbers
        )
        response = delivery_pb2.AssessDeliveriesResponse(
            tracking_numbers=wanted.tracking_numbers, order_ids=wanted.order_ids
        )
        if not (wanted.tracking_numbers or wanted.order_ids):
            return response  # the reply asks the customer for a tracking number
        ledger = self._ledger.get()
        today = self._today()
        view = await ledger.customer_view(
            request.customer_id,
            wanted.tracking_numbers,
            policy.coupon_lookback_start(today),
            order_ids=wanted.order_ids,
        )
        found = lookup.referenced(wanted, view.referenced, view.order_ids)
        # The referenced shipments take part in the coupon rule too: two late parcels in
        # one e-mail are each other's "other late delivery".
        recent = {s.delivery_id: s for s in [*view.recent, *found.shipments]}
        assessments = policy.assess(
            request.job_id, found.shipments, list(recent.values()), view.coupon_delivery_ids, today
        )
        response.shipments.extend(
            _shipment_to_proto(a, view.fee_refunds.get(a.shipment.order_id, ()))
            for a in assessments
        )
        # Unknown numbers and other customers' numbers land here alike.
        response.unmatched_tracking_numbers.extend(found.unmatched_tracking_numbers)
        response.unmatched_order_ids.extend(found.unmatched_order_ids)
        response.unshipped_order_ids.extend(found.unshipped_order_ids)
        response.actions.extend(
            _action_to_proto(action) for a in assessments for action in a.actions
        )
        response.review_reason = policy.review_reason(assessments)
        return response
