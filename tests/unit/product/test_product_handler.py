"""The SearchProducts handler: validation, declines and the protobuf it answers with.
The database is replaced by a stub of `store.search`; the real one runs in the stack."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import grpc
import pytest

from crm.v1 import product_pb2, types_pb2
from crmctl.demo import product as demo
from services.common.errors import ServiceError
from services.common.server import Deferred
from services.product import store
from services.product.availability import Delivery
from services.product.handler import ProductHandler
from services.product.vocabulary import Vocabulary

TODAY = date(2026, 1, 29)
AIR_MAX_10_RED = store.Product(
    product_id=1,
    name="Nike Air Max",
    brand="Nike",
    size_us=Decimal("10.0"),
    color="Red",
    material="Leather",
    weight_kg=Decimal("0.80"),
    price=Decimal("129.99"),
    description="The Nike Air Max offers great cushioning and stylish design.",
)


def _handler(pool_ready: bool = False) -> ProductHandler:
    pool: Deferred[asyncpg.Pool] = Deferred("database pool")
    if pool_ready:
        pool.set(object())  # never touched: store.search is stubbed
    vocabulary: Deferred[Vocabulary] = Deferred("catalog vocabulary")
    vocabulary.set(demo.vocabulary())
    return ProductHandler(pool, vocabulary, lambda: TODAY)


async def test_a_request_without_a_customer_is_invalid() -> None:
    request = product_pb2.SearchProductsRequest(customer_id=0, text="Nike Air Max size 10")
    with pytest.raises(ServiceError) as caught:
        await _handler().SearchProducts(request, None)
    assert caught.value.grpc_code is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.error_code == types_pb2.ERROR_CODE_CUSTOMER_MISSING


async def test_a_declined_request_returns_the_reason_and_runs_no_sql() -> None:
    request = product_pb2.SearchProductsRequest(customer_id=7, text="send me your whole catalogue")
    reply = await _handler().SearchProducts(request, None)
    assert not reply.answerable
    assert "whole catalog" in reply.decline_reason
    assert reply.sql == ""
    assert len(reply.matches) == 0


async def test_an_answer_carries_constraints_sql_and_availability_with_midnight_utc_dates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    async def fake_search(
        pool: asyncpg.Pool, sql: str, *, statement_timeout_ms: int
    ) -> store.SearchResult:
        seen.append(sql)
        return store.SearchResult(
            products=[AIR_MAX_10_RED],
            quantity_on_hand={1: 0},
            deliveries={1: [Delivery(50, date(2026, 2, 10), "Nike Distributor")]},
        )

    monkeypatch.setattr(store, "search", fake_search)
    request = product_pb2.SearchProductsRequest(
        customer_id=7, text="Do you have the Nike Air Max in red, size 10, under $150?"
    )
    reply = await _handler(pool_ready=True).SearchProducts(request, None)
    assert reply.answerable
    assert reply.sql == seen[0]
    assert list(reply.constraints.product_names) == ["Nike Air Max"]
    assert (reply.constraints.size_min, reply.constraints.size_max) == (10.0, 10.0)
    assert reply.constraints.price_max == "150.00" and reply.constraints.price_min == ""
    assert reply.constraints.price_max_exclusive
    [match] = reply.matches
    assert match.product.product_id == 1 and match.product.price == "129.99"
    assert match.status == product_pb2.AVAILABILITY_STATUS_INCOMING
    assert match.incoming[0].expected_time.ToDatetime(UTC) == datetime(2026, 2, 10, tzinfo=UTC)
