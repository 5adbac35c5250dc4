"""Data access of the delivery service. Every query filters on the authenticated
customer: a tracking or order number is never looked up on its own, so another
customer's shipment or order cannot be found, and answers the same as a number that does
not exist. Every read also names the customer to PostgreSQL (`scope_to_customer`), whose
row-level security returns that customer's rows only, whatever a query forgets."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import asyncpg

from services.delivery.actions import ActionKind
from services.delivery.billing import Charge, OrderLine, OrderRecords, Refund
from services.delivery.execution import ApprovedAction, LedgerState, refusal
from services.delivery.policy import Shipment, ShipmentStatus, coupon_expiry
from services.delivery.returns import DeliveredItem

# A delivery-fee refund already made or on its way (not failed): what `fee_refunded`
# sums and `fee_refunds` lists, one rule for both.
_FEE_REFUND = "r.kind = 'delivery_fee' AND r.status <> 'failed'"
_SHIPMENT_COLUMNS = """
    s.delivery_id, s.order_id, coalesce(s.tracking_number, '') AS tracking_number, s.carrier,
    s.status, s.expected_delivery_start, s.expected_delivery_end, s.actual_delivery_date,
    s.product_name, o.delivery_fee, o.currency, ev.last_scan_on, ev.delay_reason,
    coalesce(fr.fee_refunded, 0.00) AS fee_refunded
"""
# The join repeats the customer filter: the foreign key makes it redundant, but a query
# that cannot return another customer's fee does not depend on that.
_FROM = f"""
    FROM shipments s
    JOIN orders o ON o.order_id = s.order_id AND o.customer_id = s.customer_id
    LEFT JOIN LATERAL (
        SELECT max(e.event_date) AS last_scan_on,
               (array_agg(e.delay_reason ORDER BY e.event_date DESC, e.event_id DESC)
                   FILTER (WHERE e.delay_reason IS NOT NULL))[1] AS delay_reason
        FROM carrier_events e
        WHERE e.delivery_id = s.delivery_id AND e.customer_id = s.customer_id
    ) ev ON true
    LEFT JOIN LATERAL (
        SELECT sum(r.amount) AS fee_refunded
        FROM refunds r
        WHERE r.order_id = s.order_id AND r.customer_id = s.customer_id
          AND {_FEE_REFUND}
    ) fr ON true
"""


@dataclass(frozen=True)
class CustomerView:
    """What one assessment needs to know about one customer."""

    # The customer's shipments with the requested tracking numbers or of the requested
    # orders.
    referenced: list[Shipment]
    # The customer's shipments whose window ended on or after the look-back start.
    recent: list[Shipment]
    # Referenced shipments that already have an expedited-delivery coupon.
    coupon_delivery_ids: set[int]
    # The customer's orders among the requested order numbers (shipped or not).
    order_ids: set[int] = field(default_factory=set)
    # The delivery-fee refunds already made or on their way, per order of the referenced
    # shipments (those `Shipment.fee_refunded` sums), oldest first.
    fee_refunds: dict[int, list[Refund]] = field(default_factory=dict)


class LedgerReader(Protocol):
    """The reads the handler makes; the PostgreSQL ledger or a fake in tests."""

    async def sender_verdict(self, customer_id: int, address: str) -> str:
        """One of "customer", "other_customer", "unknown_address", "customer_unknown"."""
        ...

    async def order_records(self, customer_id: int, order_ids: Sequence[int]) -> list[OrderRecords]:
        """The money records of the customer's orders among `order_ids`."""
        ...

    async def customer_items(self, customer_id: int) -> list[DeliveredItem]:
        """Every shipped item of the customer, with what its order paid for items."""
        ...

    async def customer_view(
        self,
        customer_id: int,
        tracking_numbers: Sequence[str],
        ended_since: date,
        order_ids: Sequence[int] = (),
    ) -> CustomerView:
        """The customer's shipments with the tracking numbers or of the orders, the recent
        ones, their coupons, and which of the orders are the customer's."""
        ...

    async def execute_action(
        self,
        customer_id: int,
        action: ApprovedAction,
        today: date,
    ) -> Execution:
        """Carries out one approved action exactly once (see `execute_action`)."""
        ...


def _shipment(row: Any) -> Shipment:
    return Shipment(
        delivery_id=row["delivery_id"],
        order_id=row["order_id"],
        tracking_number=row["tracking_number"],
        carrier=row["carrier"],
        status=ShipmentStatus(row["status"]),
        expected_start=row["expected_delivery_start"],
        expected_end=row["expected_delivery_end"],
        delivered_on=row["actual_delivery_date"],
        product_name=row["product_name"],
        delivery_fee=row["delivery_fee"],
        currency=row["currency"],
        last_scan_on=row["last_scan_on"],
        delay_reason=row["delay_reason"] or "",
        fee_refunded=row["fee_refunded"],
    )


async def shipments_by_reference(
    conn: asyncpg.Connection,
    customer_id: int,
    tracking_numbers: Sequence[str],
    order_ids: Sequence[int] = (),
) -> list[Shipment]:
    """The customer's shipments among the tracking numbers (compared in upper case) or of
    the orders. Never a number on its own: always with the customer's id."""
    rows = await conn.fetch(
        f"""
        SELECT {_SHIPMENT_COLUMNS} {_FROM}
        WHERE s.customer_id = $1
          AND (upper(s.tracking_number) = ANY($2::text[]) OR s.order_id = ANY($3::bigint[]))
        ORDER BY s.delivery_id
        """,
        customer_id,
        [t.upper() for t in tracking_numbers],
        list(order_ids),
    )
    return [_shipment(r) for r in rows]


async def customer_order_ids(
    conn: asyncpg.Connection, customer_id: int, order_ids: Sequence[int]
) -> set[int]:
    """The customer's orders among `order_ids`."""
    rows = await conn.fetch(
        "SELECT order_id FROM orders WHERE customer_id = $1 AND order_id = ANY($2::bigint[])",
        customer_id,
        list(order_ids),
    )
    return {r["order_id"] for r in rows}


async def shipments_ended_since(
    conn: asyncpg.Connection, customer_id: int, ended_since: date
) -> list[Shipment]:
    """The customer's shipments whose expected window ended on or after a day."""
    rows = await conn.fetch(
        f"""
        SELECT {_SHIPMENT_COLUMNS} {_FROM}
        WHERE s.customer_id = $1 AND s.expected_delivery_end >= $2
        ORDER BY s.delivery_id
        """,
        customer_id,
        ended_since,
    )
    return [_shipment(r) for r in rows]


async def fee_refunds(
    conn: asyncpg.Connection, customer_id: int, order_ids: Sequence[int]
) -> dict[int, list[Refund]]:
    """The delivery-fee refunds already made or on their way (the ones `fee_refunded`
    sums) of the customer's orders among `order_ids`, per order, oldest first."""
    rows = await conn.fetch(
        f"""
        SELECT r.order_id, r.amount, r.status, r.requested_date, r.completed_date, r.reason
        FROM refunds r
        WHERE r.customer_id = $1 AND r.order_id = ANY($2::bigint[]) AND {_FEE_REFUND}
        ORDER BY r.requested_date, r.refund_id
        """,
        customer_id,
        list(order_ids),
    )
    found: dict[int, list[Refund]] = {}
    for r in rows:
        found.setdefault(r["order_id"], []).append(
            Refund(r["amount"], r["status"], r["requested_date"], r["completed_date"], r["reason"])
        )
    return found


async def coupon_delivery_ids(
    conn: asyncpg.Connection, customer_id: int, delivery_ids: Sequence[int]
) -> set[int]:
    """Which of the customer's shipments already have a coupon."""
    rows = await conn.fetch(
        "SELECT DISTINCT delivery_id FROM coupons WHERE customer_id = $1 AND delivery_id = ANY($2)",
        customer_id,
        list(delivery_ids),
    )
    return {r["delivery_id"] for r in rows}


async def scope_to_customer(conn: asyncpg.Connection, customer_id: int) -> None:
    """Names the customer for the row-level security policies, for this transaction only
    (the pooled connection forgets it at commit)."""
    await conn.execute("SELECT set_config('crm.customer_id', $1, true)", str(customer_id))


async def order_records(
    conn: asyncpg.Connection, customer_id: int, order_ids: Sequence[int]
) -> list[OrderRecords]:
    """The customer's orders among `order_ids`, with lines, charges and refunds."""
    orders = await conn.fetch(
        "SELECT order_id, delivery_fee, currency FROM orders"
        " WHERE customer_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY order_id",
        customer_id,
        list(order_ids),
    )
    found = [r["order_id"] for r in orders]
    lines = await conn.fetch(
        "SELECT order_id, product_name, quantity, unit_price, status FROM order_lines"
        " WHERE customer_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY line_id",
        customer_id,
        found,
    )
    charges = await conn.fetch(
        "SELECT order_id, charge_id, amount, charged_date, status FROM charges"
        " WHERE customer_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY charge_id",
        customer_id,
        found,
    )
    refunds = await conn.fetch(
        "SELECT order_id, amount, status, requested_date, completed_date, reason FROM refunds"
        " WHERE customer_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY refund_id",
        customer_id,
        found,
    )
    return [
        OrderRecords(
            order_id=o["order_id"],
            delivery_fee=o["delivery_fee"],
            currency=o["currency"],
            lines=[
                OrderLine(
                    r["product_name"], r["quantity"], r["unit_price"], r["status"] == "cancelled"
                )
                for r in lines
                if r["order_id"] == o["order_id"]
            ],
            charges=[
                Charge(r["charge_id"], r["amount"], r["charged_date"], r["status"] == "captured")
                for r in charges
                if r["order_id"] == o["order_id"]
            ],
            refunds=[
                Refund(
                    r["amount"], r["status"], r["requested_date"], r["completed_date"], r["reason"]
                )
                for r in refunds
                if r["order_id"] == o["order_id"]
            ],
        )
        for o in orders
    ]


async def customer_items(conn: asyncpg.Connection, customer_id: int) -> list[DeliveredItem]:
    """The customer's shipments as items, with the active lines' total of their order."""
    rows = await conn.fetch(
        """
        SELECT s.order_id, s.product_name, coalesce(s.tracking_number, '') AS tracking_number,
               s.actual_delivery_date, s.status, o.currency,
               coalesce((SELECT sum(l.unit_price * l.quantity) FROM order_lines l
                         WHERE l.order_id = s.order_id AND l.customer_id = s.customer_id
                           AND l.status = 'active'), 0) AS item_total
        FROM shipments s
        JOIN orders o ON o.order_id = s.order_id AND o.customer_id = s.customer_id
        WHERE s.customer_id = $1
        ORDER BY s.delivery_id
        """,
        customer_id,
    )
    return [
        DeliveredItem(
            order_id=r["order_id"],
            product_name=r["product_name"],
            tracking_number=r["tracking_number"],
            delivered_on=r["actual_delivery_date"],
            item_total=r["item_total"],
            currency=r["currency"],
            status=r["status"],
        )
        for r in rows
    ]


class PostgresLedger:
    """The ledger in the service's PostgreSQL schema, read through the process's pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def execute_action(
        self,
        customer_id: int,
        action: ApprovedAction,
        today: date,
    ) -> Execution:
        """Carries out one approved action exactly once (see `execute_action`)."""
        return await execute_action(self._pool, customer_id, action, today)

    async def sender_verdict(self, customer_id: int, address: str) -> str:
        """Asks the owner-run function (row-level security hides other customers' rows)."""
        async with self._pool.acquire() as conn:
            verdict = await conn.fetchval(
                "SELECT sender_verdict($1::bigint, $2::text)", customer_id, address
            )
        return str(verdict)

    async def customer_items(self, customer_id: int) -> list[DeliveredItem]:
        """The customer's shipped items, read under the customer's row-level security."""
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            await scope_to_customer(conn, customer_id)
            return await customer_items(conn, customer_id)

    async def order_records(self, customer_id: int, order_ids: Sequence[int]) -> list[OrderRecords]:
        """The customer's orders' money records, in one read-only snapshot."""
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            await scope_to_customer(conn, customer_id)
            return await order_records(conn, customer_id, order_ids)

    async def customer_view(
        self,
        customer_id: int,
        tracking_numbers: Sequence[str],
        ended_since: date,
        order_ids: Sequence[int] = (),
    ) -> CustomerView:
        """Reads the parts in one read-only snapshot, so they agree with each other, under
        the customer's row-level security and with the customer filter on every query."""
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            await scope_to_customer(conn, customer_id)
            orders = await customer_order_ids(conn, customer_id, order_ids) if order_ids else set()
            referenced = await shipments_by_reference(
                conn, customer_id, tracking_numbers, order_ids
            )
            if not referenced:
                return CustomerView([], [], set(), orders)
            recent = await shipments_ended_since(conn, customer_id, ended_since)
            coupons = await coupon_delivery_ids(
                conn, customer_id, [s.delivery_id for s in referenced]
            )
            refunds = await fee_refunds(conn, customer_id, sorted({s.order_id for s in referenced}))
        return CustomerView(referenced, recent, coupons, orders, refunds)


@dataclass(frozen=True)
class Execution:
    """The recorded result of one approved action."""

    outcome: str  # "executed" or "refused"
    detail: str
    already: bool = False
    refund_id: int | None = None
    coupon_code: str = ""


_SHIPMENT_TARGETS = {
    ActionKind.DELIVERY_FEE_REFUND,
    ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL,
    ActionKind.EXPEDITED_COUPON,
    ActionKind.CARRIER_UPDATE_REQUEST,
}


async def _state(
    conn: asyncpg.Connection, customer_id: int, kind: ActionKind, target: str
) -> tuple[LedgerState, int | None, int | None]:
    """The ledger state of the action's target, its order id and (for shipments) its
    delivery id."""
    if kind in _SHIPMENT_TARGETS:
        row = await conn.fetchrow(
            """
            SELECT s.delivery_id, s.order_id, o.delivery_fee,
                   coalesce((SELECT sum(r.amount) FROM refunds r
                             WHERE r.order_id = s.order_id AND r.customer_id = s.customer_id
                               AND r.kind = 'delivery_fee' AND r.status <> 'failed'), 0)
                       AS fee_refunded,
                   EXISTS (SELECT 1 FROM coupons c
                           WHERE c.delivery_id = s.delivery_id
                             AND c.customer_id = s.customer_id) AS coupon_issued
            FROM shipments s
            JOIN orders o ON o.order_id = s.order_id AND o.customer_id = s.customer_id
            WHERE s.customer_id = $1 AND upper(s.tracking_number) = upper($2)
            """,
            customer_id,
            target,
        )
        if row is None:
            return LedgerState(found=False), None, None
        return (
            LedgerState(
                found=True,
                delivery_fee=row["delivery_fee"],
                fee_refunded=row["fee_refunded"],
                coupon_issued=row["coupon_issued"],
            ),
            row["order_id"],
            row["delivery_id"],
        )
    if not target.isdigit():
        return LedgerState(found=False), None, None
    row = await conn.fetchrow(
        """
        SELECT o.order_id,
               coalesce((SELECT sum(c.amount) FROM charges c WHERE c.order_id = o.order_id
                         AND c.customer_id = o.customer_id AND c.status = 'captured'), 0)
                   AS charged,
               coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.order_id = o.order_id
                         AND r.customer_id = o.customer_id AND r.status <> 'failed'), 0)
                   AS refunded
        FROM orders o WHERE o.customer_id = $1 AND o.order_id = $2
        """,
        customer_id,
        int(target),
    )
    if row is None:
        return LedgerState(found=False), None, None
    return (
        LedgerState(found=True, charged=row["charged"], refunded=row["refunded"]),
        row["order_id"],
        None,
    )


async def execute_action(
    pool: asyncpg.Pool, customer_id: int, action: ApprovedAction, today: date
) -> Execution:
    """Carries out one approved action exactly once: under a lock on its idempotency key,
    a key executed before returns its first result; otherwise the precondition is checked,
    the refund or coupon written, and the result recorded, in one transaction."""
    kind, target, amount = action.kind, action.target, action.amount
    idempotency_key = action.idempotency_key
    async with pool.acquire() as conn, conn.transaction():
        await scope_to_customer(conn, customer_id)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", idempotency_key)
        done = await conn.fetchrow(
            "SELECT outcome, detail, refund_id, coalesce(coupon_code, '') AS coupon_code"
            " FROM action_executions WHERE idempotency_key = $1 AND customer_id = $2",
            idempotency_key,
            customer_id,
        )
        if done is not None:
            return Execution(
                done["outcome"], done["detail"], True, done["refund_id"], done["coupon_code"]
            )
        state, order_id, delivery_id = await _state(conn, customer_id, kind, target)
        reason = refusal(kind, amount, state)
        refund_id: int | None = None
        coupon_code = ""
        if reason:
            outcome, detail = "refused", reason
        else:
            outcome = "executed"
            if kind in _REFUND_KINDS:
                refund_id = await conn.fetchval(
                    """
                    INSERT INTO refunds (order_id, customer_id, amount, requested_date,
                                         status, reason, kind)
                    VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING refund_id
                    """,
                    order_id,
                    customer_id,
                    amount,
                    today,
                    _REFUND_KINDS[kind][1],
                    _REFUND_KINDS[kind][0],
                )
                detail = f"refund {refund_id} of {amount} recorded ({_REFUND_KINDS[kind][1]})"
            elif kind is ActionKind.EXPEDITED_COUPON:
                coupon_code = f"EXP-{secrets.token_hex(5).upper()}"
                await conn.execute(
                    """
                    INSERT INTO coupons (customer_id, delivery_id, code, issue_date, expiry_date)
                    VALUES ($1, $2, $3, $4, $5)
                    """,
                    customer_id,
                    delivery_id,
                    coupon_code,
                    today,
                    coupon_expiry(today),
                )
                detail = f"coupon {coupon_code} issued, valid until {coupon_expiry(today)}"
            elif kind is ActionKind.CARRIER_UPDATE_REQUEST:
                detail = f"carrier update requested for {target}"
            else:
                detail = f"return authorised for order {target}"
        await conn.execute(
            """
            INSERT INTO action_executions (idempotency_key, customer_id, decision_id,
                action_type, target, amount, outcome, detail, refund_id, coupon_code)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, ''))
            """,
            idempotency_key,
            customer_id,
            action.decision_id,
            kind.value,
            target,
            amount,
            outcome,
            detail,
            refund_id,
            coupon_code,
        )
    return Execution(outcome, detail, False, refund_id, coupon_code)


# Refund actions: the refund's kind and its reason in the ledger.
_REFUND_KINDS = {
    ActionKind.DELIVERY_FEE_REFUND: ("delivery_fee", "delivery fee refund for a late delivery"),
    ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL: (
        "delivery_fee",
        "delivery fee refund for a late delivery, credited when it arrives",
    ),
    ActionKind.CHARGE_REFUND: ("charge", "refund of an overcharge"),
}
