"""Data access of the product service: the catalog vocabulary, and search results with
their stock and pending supplier deliveries. The runtime role can only read."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from services.product.availability import PENDING, Delivery
from services.product.guard import RESULT_COLUMNS, CheckedQuery, check_query
from services.product.vocabulary import Vocabulary


@dataclass(frozen=True)
class Product:
    """A catalog row: one model in one size and colour."""

    product_id: int
    name: str
    brand: str
    size_us: Decimal
    color: str
    material: str
    weight_kg: Decimal
    price: Decimal
    description: str


@dataclass(frozen=True)
class SearchResult:
    """Matching products with their stock on hand and pending deliveries, read together."""

    products: list[Product]
    quantity_on_hand: dict[int, int]
    deliveries: dict[int, list[Delivery]]


async def load_vocabulary(pool: asyncpg.Pool) -> Vocabulary:
    """The catalog's product names (with brand and description), colours and materials."""
    async with pool.acquire() as conn:
        names = await conn.fetch("SELECT DISTINCT name, brand, description FROM products")
        colors = await conn.fetch("SELECT DISTINCT color FROM products")
        materials = await conn.fetch("SELECT DISTINCT name, material FROM products")
    return Vocabulary.build(
        brand_of_name={r["name"]: r["brand"] for r in names},
        colors=[r["color"] for r in colors],
        materials=[r["material"] for r in materials],
        descriptions=_descriptions(names),
        materials_by_name=_grouped(materials, "material"),
    )


def _grouped(rows: list[asyncpg.Record], column: str) -> dict[str, list[str]]:
    """The values of a column per product name."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        out[r["name"]].append(r[column])
    return dict(out)


def _descriptions(rows: list[asyncpg.Record]) -> dict[str, str]:
    """One text per model: its distinct descriptions joined (most models have one)."""
    texts: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["description"] and r["description"] not in texts[r["name"]]:
            texts[r["name"]].append(r["description"])
    return {name: " ".join(sorted(parts)) for name, parts in texts.items()}


async def search(pool: asyncpg.Pool, sql: str, *, statement_timeout_ms: int) -> SearchResult:
    """Runs a query that passed the guard (`search.build_query`, `llm.adopt`), then reads
    the stock and pending deliveries of the products it found, in one read-only snapshot
    under a statement timeout."""
    # Only bounded reads of the catalog ever run, and what runs is the query as written
    # back from the tree the guard checked; text that did not come from the guard is
    # checked here.
    checked = sql if isinstance(sql, CheckedQuery) else check_query(sql)
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        # SET LOCAL takes no parameters; set_config(..., true) is its parameterised form.
        await conn.execute(
            "SELECT set_config('statement_timeout', $1, true)", f"{statement_timeout_ms}ms"
        )
        rows = await conn.fetch(str(checked))  # asyncpg takes exactly str
        products = [Product(**{c: r[c] for c in RESULT_COLUMNS}) for r in rows]
        ids = [p.product_id for p in products]
        stock_rows = await conn.fetch(
            "SELECT product_id, quantity FROM inventory WHERE product_id = ANY($1::bigint[])", ids
        )
        delivery_rows = await conn.fetch(
            """
            SELECT product_id, quantity, expected_date, received_date, supplier, status
            FROM incoming_deliveries
            WHERE product_id = ANY($1::bigint[]) AND status = $2 AND received_date IS NULL
            ORDER BY product_id, expected_date, id
            """,
            ids,
            PENDING,
        )
    deliveries: dict[int, list[Delivery]] = defaultdict(list)
    for r in delivery_rows:
        deliveries[r["product_id"]].append(
            Delivery(
                quantity=r["quantity"],
                expected_date=r["expected_date"],
                supplier=r["supplier"],
                status=r["status"],
                received_date=r["received_date"],
            )
        )
    return SearchResult(
        products=products,
        quantity_on_hand={r["product_id"]: r["quantity"] for r in stock_rows},
        deliveries=dict(deliveries),
    )
