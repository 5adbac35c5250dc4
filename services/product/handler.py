"""gRPC handler of the product service: reads the request, searches, answers in protobuf."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import product_pb2, product_pb2_grpc, types_pb2
from services.common.errors import ServiceError
from services.common.server import Deferred
from services.product import store
from services.product.availability import Availability, Delivery, Status, availability_of
from services.product.search import DEFAULT_LIMIT, Constraints, build_query, understand
from services.product.vocabulary import Vocabulary

log = logging.getLogger(__name__)

# Only the start of a very long e-mail (quoted history, signatures) is read: the question
# is at the top, and it bounds the matching work per call.
MAX_TEXT_CHARS = 8_000

_STATUSES = {
    Status.IN_STOCK: product_pb2.AVAILABILITY_STATUS_IN_STOCK,
    Status.INCOMING: product_pb2.AVAILABILITY_STATUS_INCOMING,
    Status.INCOMING_DELAYED: product_pb2.AVAILABILITY_STATUS_INCOMING_DELAYED,
    Status.UNAVAILABLE: product_pb2.AVAILABILITY_STATUS_UNAVAILABLE,
}


def _money(value: Decimal | None) -> str:
    return "" if value is None else format(value.quantize(Decimal("0.01")), "f")


def _size(value: Decimal | None) -> float:
    return 0.0 if value is None else float(value)


def constraints_to_proto(c: Constraints) -> product_pb2.SearchConstraints:
    """The constraints as the reviewer sees them."""
    return product_pb2.SearchConstraints(
        brands=c.brands,
        product_names=c.product_names,
        colors=c.colors,
        materials=c.materials,
        size_min=_size(c.size_min),
        size_max=_size(c.size_max),
        price_min=_money(c.price_min),
        price_max=_money(c.price_max),
    )


def midnight_utc(day: date) -> Timestamp:
    """A date as a Timestamp at 00:00 UTC."""
    stamp = Timestamp()
    stamp.FromDatetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    return stamp


def _delivery_to_proto(d: Delivery) -> product_pb2.IncomingDelivery:
    return product_pb2.IncomingDelivery(
        quantity=d.quantity, expected_time=midnight_utc(d.expected_date), supplier=d.supplier
    )


def product_to_proto(p: store.Product, a: Availability) -> product_pb2.ProductAvailability:
    """A product with its availability."""
    return product_pb2.ProductAvailability(
        product=product_pb2.Product(
            product_id=p.product_id,
            name=p.name,
            brand=p.brand,
            size_us=float(p.size_us),
            color=p.color,
            material=p.material,
            weight_kg=float(p.weight_kg),
            price=_money(p.price),
            description=p.description,
        ),
        quantity_on_hand=a.quantity_on_hand,
        status=_STATUSES[a.status],
        incoming=[_delivery_to_proto(d) for d in a.incoming],
    )


class ProductHandler(product_pb2_grpc.ProductServiceServicer):
    """Product search over gRPC."""

    def __init__(
        self,
        pool: Deferred[asyncpg.Pool],
        vocabulary: Deferred[Vocabulary],
        today: Callable[[], date],
        *,
        statement_timeout_ms: int = 2_000,
        max_rows: int = DEFAULT_LIMIT,
    ) -> None:
        self._pool = pool
        self._vocabulary = vocabulary
        self._today = today
        self._statement_timeout_ms = statement_timeout_ms
        self._max_rows = max_rows

    async def SearchProducts(
        self, request: product_pb2.SearchProductsRequest, context: Any
    ) -> product_pb2.SearchProductsResponse:
        """Reads the constraints of the customer's words, declines or searches, and returns
        the matches with their availability on the shop's today."""
        if request.customer_id <= 0:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_CUSTOMER_MISSING,
                "customer_id must be a positive customer id",
            )
        vocabulary = self._vocabulary.get()
        understood = understand(request.text[:MAX_TEXT_CHARS], vocabulary)
        constraints = constraints_to_proto(understood.constraints)
        if not understood.answerable:
            log.info("search declined", extra={"reason": understood.decline_reason})
            return product_pb2.SearchProductsResponse(
                answerable=False,
                decline_reason=understood.decline_reason,
                constraints=constraints,
            )
        sql = build_query(understood.constraints, self._max_rows)
        pool = self._pool.get()
        try:
            result = await store.search(pool, sql, statement_timeout_ms=self._statement_timeout_ms)
        except asyncpg.QueryCanceledError as exc:
            raise ServiceError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                types_pb2.ERROR_CODE_INTERNAL,
                f"the catalog search took longer than {self._statement_timeout_ms} ms",
            ) from exc
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise ServiceError(
                grpc.StatusCode.UNAVAILABLE,
                types_pb2.ERROR_CODE_DEPENDENCY_UNAVAILABLE,
                f"the catalog database is unreachable: {exc}",
            ) from exc
        today = self._today()
        matches = [
            product_to_proto(
                p,
                availability_of(
                    result.quantity_on_hand.get(p.product_id, 0),
                    result.deliveries.get(p.product_id, ()),
                    today,
                ),
            )
            for p in result.products
        ]
        log.info("search answered", extra={"matches": len(matches)})
        return product_pb2.SearchProductsResponse(
            answerable=True, constraints=constraints, sql=sql, matches=matches
        )
