"""Catalog SQL against the real PostgreSQL: the guard and the read-only runtime role.

(a) Every hostile string of tests/data/sql_hostile.txt is refused by the service's path
    (the guard, before anything reaches the database), and is also sent as it is, with
    asyncpg's simple-query protocol (stacked statements included), as the runtime role
    product_app in the envelope every search runs in: a read-only transaction under a
    statement timeout. The "# @db" line above each entry says what PostgreSQL must do
    with it: `refused` (the role cannot run it, even in a read-write transaction),
    `envelope` (the read-only transaction or the timeout refuses it) or `runs` (nothing
    in PostgreSQL can tell it from a search: a missing LIMIT, a catalog view every role
    may read; only the guard refuses those). Nothing changes in the database either way.
(b) On a generated catalog of 50,000 products, in a database of its own, a search through
    the service's handler and store returns at most 500 rows.
(c) The statement timeout cancels a slow query after about the configured time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest
import pytest_asyncio

from crm.v1 import product_pb2
from services.common.db import apply_migrations, create_pool
from services.common.errors import ServiceError
from services.common.server import Deferred
from services.product import handler as product_handler
from services.product import store
from services.product.guard import MAX_LIMIT, UnsafeQuery, check_query
from services.product.handler import ProductHandler
from services.product.main import MIGRATIONS, SCHEMA, ProductSettings
from services.product.measures import Bounds
from services.product.search import Constraints, build_query
from services.product.vocabulary import Vocabulary
from tests.conftest import REFERENCE_TODAY, Mesh

pytestmark = pytest.mark.asyncio(loop_scope="session")

DATA = Path(__file__).resolve().parents[1] / "data"
# Short, so that the corpus's slow entries cost little; (c) uses the configured one.
CORPUS_TIMEOUT_MS = 250
CONFIGURED_TIMEOUT_MS: int = ProductSettings.model_fields["search_statement_timeout_ms"].default
BIG_DATABASE = "crm_big"
BIG_ROWS = 50_000
BRANDS = ["Nike", "Adidas", "Puma", "Asics", "Hoka", "Vans", "Crocs", "Brooks", "Saucony"]
COLORS = ["Black", "White", "Red", "Blue", "Green", "Grey", "Navy"]
MATERIALS = ["Leather", "Mesh", "Suede", "Canvas", "Knit"]


def hostile_corpus() -> list[tuple[int, str, str]]:
    """(line number, what PostgreSQL does with it, string) of every hostile entry."""
    entries: list[tuple[int, str, str]] = []
    expectation = ""
    for n, line in enumerate((DATA / "sql_hostile.txt").read_text("utf-8").splitlines(), 1):
        if line.startswith("# @db"):
            expectation = line.removeprefix("# @db").strip()
        elif line.strip() and not line.startswith("#"):
            assert expectation in ("refused", "envelope", "runs"), f"line {n}: no '# @db'"
            entries.append((n, expectation, line))
    return entries


def legitimate_corpus() -> list[str]:
    lines = (DATA / "sql_legitimate.txt").read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def on_database(dsn: str, database: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{database}").geturl()


# Everything a hostile string could change: the catalog's rows, the schema's objects, the
# runtime role's privileges and settings, roles, large objects.
FINGERPRINT = """
SELECT
  (SELECT count(*) FROM product.products) AS products,
  (SELECT count(*) FROM product.inventory) AS inventory,
  (SELECT count(*) FROM product.incoming_deliveries) AS deliveries,
  (SELECT md5(string_agg(p::text, '|' ORDER BY product_id)) FROM product.products p) AS products_md5,
  (SELECT md5(string_agg(i::text, '|' ORDER BY product_id)) FROM product.inventory i) AS inventory_md5,
  (SELECT md5(string_agg(d::text, '|' ORDER BY id)) FROM product.incoming_deliveries d) AS deliveries_md5,
  (SELECT count(*) FROM pg_class WHERE relnamespace = 'product'::regnamespace) AS relations,
  (SELECT count(*) FROM pg_proc WHERE pronamespace = 'product'::regnamespace) AS functions,
  (SELECT array_agg(relacl::text ORDER BY relname) FROM pg_class
     WHERE relnamespace = 'product'::regnamespace) AS grants,
  (SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles) AS roles,
  (SELECT count(*) FROM pg_db_role_setting) AS role_settings,
  (SELECT count(*) FROM pg_largeobject_metadata) AS large_objects,
  (SELECT count(*) FROM pg_namespace) AS schemas
"""


@dataclass
class Databases:
    """Connections and a runtime-role pool on the mesh's crm database."""

    superuser: asyncpg.Connection
    runtime_pool: asyncpg.Pool
    runtime_dsn: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def crm(mesh: Mesh) -> AsyncIterator[Databases]:
    # The superuser connection stays open: hostile strings aimed at superuser sessions
    # (pg_terminate_backend...) then always find one, and must be refused.
    superuser = await asyncpg.connect(on_database(mesh.stack.superuser_dsn, "crm"))
    runtime_dsn = mesh.stack.runtime_dsn(SCHEMA)
    pool = await create_pool(
        runtime_dsn,
        schema=SCHEMA,
        application="test-sql-security",
        min_size=1,
        max_size=2,
        timeout_seconds=10,
    )
    try:
        yield Databases(superuser, pool, runtime_dsn)
    finally:
        await pool.close()
        await superuser.close()


async def fingerprint(db: Databases) -> dict[str, object]:
    row = await db.superuser.fetchrow(FINGERPRINT)
    assert row is not None
    return dict(row)


async def run_as_runtime_role(dsn: str, sql: str, *, read_only: bool, timeout_ms: int) -> None:
    """Sends `sql` as it is over a fresh connection of the runtime role, in a transaction
    (read-only like every search, or read-write) that is always rolled back."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        transaction = conn.transaction(readonly=read_only, isolation="repeatable_read")
        await transaction.start()
        try:
            await conn.execute(
                "SELECT set_config('statement_timeout', $1, true)", f"{timeout_ms}ms"
            )
            await conn.execute(sql)  # no arguments: the simple protocol, stacked statements too
        finally:
            if not conn.is_closed() and conn.is_in_transaction():
                await transaction.rollback()
    finally:
        if not conn.is_closed():
            await conn.close(timeout=5)


async def postgres_error(statement: Awaitable[None]) -> asyncpg.PostgresError | None:
    """The error PostgreSQL answered with, or None when the statement ran."""
    try:
        await statement
    except asyncpg.PostgresError as exc:
        return exc
    return None


@pytest.mark.parametrize(
    ("expectation", "sql"),
    [pytest.param(e, sql, id=f"hostile:{n}:{sql[:50]}") for n, e, sql in hostile_corpus()],
)
async def test_a_hostile_string_is_refused_by_the_guard_and_changes_nothing_in_postgresql(
    crm: Databases, expectation: str, sql: str
) -> None:
    before = await fingerprint(crm)

    # The service's path: the store refuses it before it takes a connection.
    with pytest.raises(UnsafeQuery):
        await store.search(crm.runtime_pool, sql, statement_timeout_ms=CORPUS_TIMEOUT_MS)

    # Sent as it is, as the runtime role, in the envelope every search runs in.
    in_envelope = await postgres_error(
        run_as_runtime_role(crm.runtime_dsn, sql, read_only=True, timeout_ms=CORPUS_TIMEOUT_MS)
    )
    if expectation == "runs":
        assert in_envelope is None, (
            f"PostgreSQL now refuses {sql!r} ({in_envelope!r}): "
            "move it under '# @db refused' or '# @db envelope' in sql_hostile.txt"
        )
    else:
        assert in_envelope is not None, f"the runtime role ran {sql!r} in a read-only search"
    if expectation == "refused":
        # Not the read-only transaction's doing: the role itself cannot run it.
        alone = await postgres_error(
            run_as_runtime_role(crm.runtime_dsn, sql, read_only=False, timeout_ms=CORPUS_TIMEOUT_MS)
        )
        assert alone is not None, f"the runtime role ran {sql!r} in a read-write transaction"
        assert not isinstance(alone, asyncpg.QueryCanceledError), f"{sql!r} only timed out"

    assert await fingerprint(crm) == before, f"{sql!r} changed the database"


async def test_every_legitimate_query_runs_for_the_runtime_role_within_the_row_cap(
    crm: Databases,
) -> None:
    failures = []
    async with crm.runtime_pool.acquire() as conn:
        for sql in legitimate_corpus():
            try:
                async with conn.transaction(readonly=True):
                    rows = await conn.fetch(str(check_query(sql)))
                assert len(rows) <= MAX_LIMIT
            except (asyncpg.PostgresError, AssertionError) as exc:
                failures.append(f"{sql}\n    {exc!r}")
    assert not failures, "\n".join(failures)


@dataclass
class BigCatalog:
    """A database of its own with the product schema and BIG_ROWS generated products."""

    owner_dsn: str
    pool: asyncpg.Pool
    vocabulary: Vocabulary


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def big_catalog(mesh: Mesh) -> AsyncIterator[BigCatalog]:
    """The product schema, migrated as in production, in a database the test creates and
    drops: the shared catalog of the other tests never sees these rows."""
    superuser_dsn = on_database(mesh.stack.superuser_dsn, "postgres")
    owner_dsn = on_database(mesh.stack.owner_dsn(SCHEMA), BIG_DATABASE)
    runtime_dsn = on_database(mesh.stack.runtime_dsn(SCHEMA), BIG_DATABASE)
    owner_role, runtime_role = urlsplit(owner_dsn).username, urlsplit(runtime_dsn).username
    assert owner_role and runtime_role
    admin = await asyncpg.connect(superuser_dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {BIG_DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {BIG_DATABASE}")
        await admin.execute(f"REVOKE ALL ON DATABASE {BIG_DATABASE} FROM PUBLIC")
        await admin.execute(f"GRANT CREATE, CONNECT ON DATABASE {BIG_DATABASE} TO {owner_role}")
        await admin.execute(f"GRANT CONNECT ON DATABASE {BIG_DATABASE} TO {runtime_role}")
        await apply_migrations(
            owner_dsn, schema=SCHEMA, folder=MIGRATIONS, runtime_role=runtime_role
        )
        owner = await asyncpg.connect(owner_dsn, server_settings={"search_path": SCHEMA})
        try:
            await owner.execute(
                """
                INSERT INTO products
                    (product_id, name, size_us, color, material, weight_kg, brand, price,
                     description)
                SELECT i,
                       ($2::text[])[1 + i % cardinality($2::text[])] || ' Model ' || (i % 97),
                       5 + (i % 21) * 0.5,
                       ($3::text[])[1 + i % cardinality($3::text[])],
                       ($4::text[])[1 + i % cardinality($4::text[])],
                       0.3 + (i % 10) * 0.1,
                       ($2::text[])[1 + i % cardinality($2::text[])],
                       19.99 + (i % 300),
                       'Generated model ' || i || ': a light, durable shoe for everyday wear.'
                FROM generate_series(1, $1::int) AS i
                """,
                BIG_ROWS,
                BRANDS,
                COLORS,
                MATERIALS,
            )
            await owner.execute(
                "INSERT INTO inventory SELECT i, i % 20 FROM generate_series(1, $1::int) i",
                BIG_ROWS,
            )
            await owner.execute(
                """
                INSERT INTO incoming_deliveries
                SELECT i, i, 10, $2::date, NULL, 'Generated Supplier', 'pending'
                FROM generate_series(1, $1::int, 7) i
                """,
                BIG_ROWS,
                REFERENCE_TODAY,
            )
            await owner.execute("ANALYZE products, inventory, incoming_deliveries")
        finally:
            await owner.close()
        pool = await create_pool(
            runtime_dsn,
            schema=SCHEMA,
            application="test-sql-security-big",
            min_size=1,
            max_size=2,
            timeout_seconds=10,
        )
        try:
            vocabulary = await store.load_vocabulary(pool)
            yield BigCatalog(owner_dsn, pool, vocabulary)
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {BIG_DATABASE} WITH (FORCE)")
        await admin.close()


def big_handler(catalog: BigCatalog, *, max_rows: int, timeout_ms: int) -> ProductHandler:
    pool: Deferred[asyncpg.Pool] = Deferred("database pool")
    pool.set(catalog.pool)
    vocabulary: Deferred[Vocabulary] = Deferred("catalog vocabulary")
    vocabulary.set(catalog.vocabulary)
    return ProductHandler(
        pool,
        vocabulary,
        lambda: REFERENCE_TODAY,
        statement_timeout_ms=timeout_ms,
        max_rows=max_rows,
    )


async def test_the_generated_catalog_is_big_and_only_in_its_own_database(
    crm: Databases, big_catalog: BigCatalog
) -> None:
    owner = await asyncpg.connect(big_catalog.owner_dsn)
    try:
        assert await owner.fetchval("SELECT count(*) FROM product.products") == BIG_ROWS
    finally:
        await owner.close()
    shared = await crm.superuser.fetchval("SELECT count(*) FROM product.products")
    assert shared < BIG_ROWS


async def test_a_search_through_the_service_returns_at_most_500_rows_of_a_big_catalog(
    big_catalog: BigCatalog,
) -> None:
    # Even a handler configured for more rows than allowed gets at most MAX_LIMIT.
    handler = big_handler(big_catalog, max_rows=10 * BIG_ROWS, timeout_ms=CONFIGURED_TIMEOUT_MS)
    text = "Do you have anything from Nike under $1000?"
    started = time.monotonic()
    reply = await handler.SearchProducts(
        product_pb2.SearchProductsRequest(customer_id=7, text=text), None
    )
    elapsed = time.monotonic() - started
    assert reply.answerable
    matching = await big_catalog.pool.fetchval(
        "SELECT count(*) FROM products WHERE brand = 'Nike' AND price <= 1000"
    )
    assert matching > MAX_LIMIT  # the cap, not the catalog, decides how many come back
    assert len(reply.matches) == MAX_LIMIT
    assert reply.sql.endswith(f"LIMIT {MAX_LIMIT}")
    assert {m.product.brand for m in reply.matches} == {"Nike"}
    assert elapsed < CONFIGURED_TIMEOUT_MS / 1000  # an honest search is far from the timeout


async def test_the_store_returns_at_most_500_rows_and_never_runs_a_bigger_read(
    big_catalog: BigCatalog,
) -> None:
    everything = Constraints(price=Bounds(low=Decimal("0")))
    result = await store.search(
        big_catalog.pool,
        build_query(everything, limit=BIG_ROWS),
        statement_timeout_ms=CONFIGURED_TIMEOUT_MS,
    )
    assert len(result.products) == MAX_LIMIT
    assert len(result.quantity_on_hand) == MAX_LIMIT
    columns = "product_id, name, brand, size_us, color, material, weight_kg, price, description"
    for sql in (
        f"SELECT {columns} FROM products",
        f"SELECT {columns} FROM products LIMIT {BIG_ROWS}",
        f"SELECT {columns} FROM products LIMIT ALL",
        f"SELECT {columns} FROM products LIMIT 500 OFFSET 500",
    ):
        with pytest.raises(UnsafeQuery):
            await store.search(big_catalog.pool, sql, statement_timeout_ms=CONFIGURED_TIMEOUT_MS)


# A query the guard would never pass: every pair of the 50,000 products, 2.5 billion rows.
SLOW_QUERY = "SELECT count(*) AS product_id FROM products a CROSS JOIN products b"


async def test_the_statement_timeout_cancels_a_slow_query_after_the_configured_time(
    big_catalog: BigCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Suppose the guard let a slow query through: the envelope the store runs every search
    # in still cancels it, and the handler answers DEADLINE_EXCEEDED.
    monkeypatch.setattr(store, "check_query", lambda sql: sql)
    monkeypatch.setattr(product_handler, "build_query", lambda constraints, limit: SLOW_QUERY)
    handler = big_handler(big_catalog, max_rows=MAX_LIMIT, timeout_ms=CONFIGURED_TIMEOUT_MS)
    request = product_pb2.SearchProductsRequest(customer_id=7, text="Nike in size 10")
    started = time.monotonic()
    with pytest.raises(ServiceError) as caught:
        await handler.SearchProducts(request, None)
    elapsed = time.monotonic() - started
    assert caught.value.grpc_code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert isinstance(caught.value.__cause__, asyncpg.QueryCanceledError)
    configured = CONFIGURED_TIMEOUT_MS / 1000
    assert configured * 0.9 <= elapsed <= configured + 1.5, elapsed
