"""Demo data of the delivery service: the shop's reference shipments and coupons, with
the project's customers and order fees, dates shifted so the cases hold today.

The reference data was written as if today were 2026-01-29. Every date moves by the
same offset, so a parcel that was three days late then is three days late on the day
the demo is loaded, and on-time, delivered-late and not-yet-shipped cases stay so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import asyncpg

from crmctl.demo import REFERENCE_TODAY as REFERENCE_TODAY
from crmctl.demo import rows as _rows

SCHEMA = "delivery"


def _product_names() -> dict[int, str]:
    return {int(r["product_id"]): r["product_name"] for r in _rows("shoe_characteristics.csv")}


# One NamedTuple per table; the field names are the column names.
class CustomerRow(NamedTuple):
    """A row of customers."""

    customer_id: int
    name: str
    email: str


class OrderRow(NamedTuple):
    """A row of orders."""

    order_id: int
    customer_id: int
    delivery_fee: Decimal
    currency: str


class ShipmentRow(NamedTuple):
    """A row of shipments."""

    delivery_id: int
    order_id: int
    customer_id: int
    product_id: int
    product_name: str
    origin: str
    destination: str
    carrier: str
    tracking_number: str | None
    status: str
    expected_delivery_start: date
    expected_delivery_end: date
    actual_delivery_date: date | None
    shipped_date: date | None
    delivery_attempts: int


class CouponRow(NamedTuple):
    """A row of coupons."""

    coupon_id: int
    customer_id: int
    delivery_id: int
    code: str
    issue_date: date
    expiry_date: date


class CarrierEventRow(NamedTuple):
    """A row of carrier_events."""

    event_id: int
    delivery_id: int
    customer_id: int
    event_date: date
    status: str
    location: str
    delay_reason: str | None


class OrderLineRow(NamedTuple):
    """A row of order_lines."""

    line_id: int
    order_id: int
    customer_id: int
    product_id: int
    product_name: str
    quantity: int
    unit_price: Decimal
    status: str


class ChargeRow(NamedTuple):
    """A row of charges."""

    charge_id: int
    order_id: int
    customer_id: int
    amount: Decimal
    charged_date: date
    status: str


class RefundRow(NamedTuple):
    """A row of refunds."""

    refund_id: int
    order_id: int
    customer_id: int
    amount: Decimal
    requested_date: date
    completed_date: date | None
    status: str
    reason: str
    kind: str


@dataclass(frozen=True)
class DemoLedger:
    """The demo rows of every table."""

    customers: list[CustomerRow]
    orders: list[OrderRow]
    shipments: list[ShipmentRow]
    coupons: list[CouponRow]
    carrier_events: list[CarrierEventRow]
    order_lines: list[OrderLineRow]
    charges: list[ChargeRow]
    refunds: list[RefundRow]

    def tables(self) -> list[tuple[str, Sequence[tuple[object, ...]], tuple[str, ...]]]:
        """(table, rows, columns), parents before children."""
        return [
            ("customers", self.customers, CustomerRow._fields),
            ("orders", self.orders, OrderRow._fields),
            ("shipments", self.shipments, ShipmentRow._fields),
            ("coupons", self.coupons, CouponRow._fields),
            ("carrier_events", self.carrier_events, CarrierEventRow._fields),
            ("order_lines", self.order_lines, OrderLineRow._fields),
            ("charges", self.charges, ChargeRow._fields),
            ("refunds", self.refunds, RefundRow._fields),
        ]


def demo_ledger(today: date) -> DemoLedger:
    """The demo rows with every date shifted by (today - REFERENCE_TODAY)."""
    offset = today - REFERENCE_TODAY

    def day(value: str) -> date:
        return date.fromisoformat(value) + offset

    def maybe_day(value: str) -> date | None:
        return day(value) if value else None

    names = _product_names()
    owners = {int(r["delivery_id"]): int(r["customer_id"]) for r in _rows("item_deliveries.csv")}
    customer_of_order = {int(r["order_id"]): int(r["customer_id"]) for r in _rows("orders.csv")}
    return DemoLedger(
        customers=[
            CustomerRow(int(r["customer_id"]), r["name"], r["email"])
            for r in _rows("customers.csv")
        ],
        orders=[
            OrderRow(
                int(r["order_id"]), int(r["customer_id"]), Decimal(r["delivery_fee"]), r["currency"]
            )
            for r in _rows("orders.csv")
        ],
        shipments=[
            ShipmentRow(
                delivery_id=int(r["delivery_id"]),
                order_id=int(r["order_id"]),
                customer_id=int(r["customer_id"]),
                product_id=int(r["product_id"]),
                product_name=names.get(int(r["product_id"]), ""),
                origin=r["origin"],
                destination=r["destination"],
                carrier=r["carrier"],
                tracking_number=r["tracking_number"] or None,
                status=r["status"],
                expected_delivery_start=day(r["expected_delivery_start"]),
                expected_delivery_end=day(r["expected_delivery_end"]),
                actual_delivery_date=maybe_day(r["actual_delivery_date"]),
                shipped_date=maybe_day(r["shipped_date"]),
                delivery_attempts=int(r["delivery_attempts"]),
            )
            for r in _rows("item_deliveries.csv")
        ],
        coupons=[
            CouponRow(
                coupon_id=int(r["coupon_id"]),
                customer_id=int(r["customer_id"]),
                delivery_id=int(r["delivery_id"]),
                code=r["coupon_code"],
                issue_date=day(r["issue_date"]),
                expiry_date=day(r["expiry_date"]),
            )
            for r in _rows("coupon_issued.csv")
        ],
        # The project's own carrier scans (the reference data has none): pick-ups, hub
        # delays with the carrier's reason, exceptions and deliveries.
        carrier_events=[
            CarrierEventRow(
                event_id=int(r["event_id"]),
                delivery_id=int(r["delivery_id"]),
                customer_id=owners[int(r["delivery_id"])],
                event_date=day(r["event_date"]),
                status=r["status"],
                location=r["location"],
                delay_reason=r["delay_reason"] or None,
            )
            for r in _rows("carrier_events.csv")
        ],
        # The project's billing records, with three faults to dispute: order 1002 charged
        # $20 too much, order 1003 charged twice, order 1006 charged for a cancelled line.
        order_lines=[
            OrderLineRow(
                line_id=int(r["line_id"]),
                order_id=int(r["order_id"]),
                customer_id=customer_of_order[int(r["order_id"])],
                product_id=int(r["product_id"]),
                product_name=names.get(int(r["product_id"]), ""),
                quantity=int(r["quantity"]),
                unit_price=Decimal(r["unit_price"]),
                status=r["status"],
            )
            for r in _rows("order_lines.csv")
        ],
        charges=[
            ChargeRow(
                charge_id=int(r["charge_id"]),
                order_id=int(r["order_id"]),
                customer_id=int(r["customer_id"]),
                amount=Decimal(r["amount"]),
                charged_date=day(r["charged_date"]),
                status=r["status"],
            )
            for r in _rows("charges.csv")
        ],
        refunds=[
            RefundRow(
                refund_id=int(r["refund_id"]),
                order_id=int(r["order_id"]),
                customer_id=int(r["customer_id"]),
                amount=Decimal(r["amount"]),
                requested_date=day(r["requested_date"]),
                completed_date=maybe_day(r["completed_date"]),
                status=r["status"],
                reason=r["reason"],
                kind=r["kind"],
            )
            for r in _rows("refunds.csv")
        ],
    )


async def load_demo(owner_dsn: str, today: date) -> None:
    """Replaces the ledger with the demo data, in one transaction (safe to run again)."""
    tables = demo_ledger(today).tables()
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            # Children first; DELETE rather than TRUNCATE so readers are not blocked.
            # Executions of approved actions refer to the demo's customers: they go too.
            if await conn.fetchval(
                "SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.action_executions"
            ):
                await conn.execute(f'DELETE FROM "{SCHEMA}".action_executions')
            for table, _, _ in reversed(tables):
                await conn.execute(f'DELETE FROM "{SCHEMA}".{table}')
            for table, rows, columns in tables:
                await conn.copy_records_to_table(
                    table, records=rows, columns=columns, schema_name=SCHEMA
                )
            # Coupons and scans added later take ids after the demo's.
            for table, column in (
                ("coupons", "coupon_id"),
                ("carrier_events", "event_id"),
                ("refunds", "refund_id"),
            ):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{SCHEMA}.{table}', '{column}'),"
                    f' coalesce((SELECT max({column}) FROM "{SCHEMA}".{table}), 0) + 1, false)'
                )
    finally:
        await conn.close()
