"""Demo data of the product service: the shop's reference catalog, with every date moved
so that the same cases (stock, deliveries due, deliveries late) hold relative to `today`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import asyncpg

from crmctl.demo import REFERENCE_TODAY as REFERENCE_TODAY
from crmctl.demo import rows as _rows
from services.product.vocabulary import Vocabulary

SCHEMA = "product"

# Table columns, in the order of the records below.
PRODUCT_COLUMNS = (
    "product_id", "name", "size_us", "color", "material", "weight_kg", "brand", "price",
    "description",
)  # fmt: skip
DELIVERY_COLUMNS = (
    "id", "product_id", "quantity", "expected_date", "received_date", "supplier", "status",
)  # fmt: skip

ProductRecord = tuple[int, str, Decimal, str, str, Decimal, str, Decimal, str]
InventoryRecord = tuple[int, int]
DeliveryRecord = tuple[int, int, int, date, date | None, str, str]


def _date(value: str, shift: timedelta) -> date | None:
    return date.fromisoformat(value) + shift if value.strip() else None


def products() -> list[ProductRecord]:
    """The catalog rows, in the column order of the products table."""
    return [
        (
            int(r["product_id"]),
            r["product_name"],
            Decimal(r["size"]),
            r["color"],
            r["material"],
            Decimal(r["weight"]),
            r["brand"],
            Decimal(r["price"]),
            r["description"],
        )
        for r in _rows("shoe_characteristics.csv")
    ]


def vocabulary() -> Vocabulary:
    """The vocabulary of the reference catalog, as the service builds it from the database
    (for tests and offline evaluations)."""
    rows = products()
    return Vocabulary.build(
        brand_of_name={r[1]: r[6] for r in rows},
        colors=[r[3] for r in rows],
        materials=[r[4] for r in rows],
        descriptions={r[1]: r[8] for r in rows},
        materials_by_name={n: [r[4] for r in rows if r[1] == n] for n in {r[1] for r in rows}},
    )


def inventory() -> list[InventoryRecord]:
    """Stock on hand per product."""
    return [(int(r["product_id"]), int(r["quantity"])) for r in _rows("inventory.csv")]


def incoming_deliveries(today: date) -> list[DeliveryRecord]:
    """Supplier deliveries, dates moved by (today - REFERENCE_TODAY)."""
    shift = today - REFERENCE_TODAY
    out: list[DeliveryRecord] = []
    for r in _rows("incoming_deliveries.csv"):
        expected = _date(r["expected_date"], shift)
        assert expected is not None, f"delivery {r['delivery_id']} has no expected date"
        out.append(
            (
                int(r["delivery_id"]),
                int(r["product_id"]),
                int(r["quantity"]),
                expected,
                _date(r["received_date"], shift),
                r["supplier"],
                r["status"],
            )
        )
    return out


async def load_demo(owner_dsn: str, today: date) -> None:
    """Replaces the catalog with the reference data in one transaction; safe to re-run."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            # Children first; DELETE rather than TRUNCATE so searches running meanwhile
            # keep reading the old rows instead of waiting on an exclusive lock.
            for table in ("incoming_deliveries", "inventory", "products"):
                await conn.execute(f"DELETE FROM {SCHEMA}.{table}")
            await conn.copy_records_to_table(
                "products", schema_name=SCHEMA, columns=PRODUCT_COLUMNS, records=products()
            )
            await conn.copy_records_to_table(
                "inventory",
                schema_name=SCHEMA,
                columns=["product_id", "quantity"],
                records=inventory(),
            )
            await conn.copy_records_to_table(
                "incoming_deliveries",
                schema_name=SCHEMA,
                columns=DELIVERY_COLUMNS,
                records=incoming_deliveries(today),
            )
    finally:
        await conn.close()
