"""gRPC handler of the product service: reads the request, searches, answers in protobuf."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import product_pb2, product_pb2_grpc, types_pb2
from services.common.errors import ServiceError
from services.common.mail import clean_body
from services.common.model_calls import ModelCallRecord
from services.common.server import Deferred
from services.product import store
from services.product.availability import Availability, Delivery, Status, availability_of
from services.product.declines import DECLINE_INJECTION, DECLINE_WHOLE_CATALOG
from services.product.guard import UnsafeQuery
from services.product.llm import LlmProductReader, ProposalFailed, adopt
from services.product.matching import (
    MAX_ALTERNATIVES,
    narrowed_to,
    relaxations,
    too_broad_without_a_need,
)
from services.product.meaning import Meaning
from services.product.restatement import restate
from services.product.search import DEFAULT_LIMIT, Constraints, build_query
from services.product.understanding import (
    Understanding,
    fitted_by_meaning,
    needs_unrecognised,
    understand,
)
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


def _number(value: Decimal | None) -> float:
    return 0.0 if value is None else float(value)


def constraints_to_proto(c: Constraints) -> product_pb2.SearchConstraints:
    """The constraints as the reviewer sees them."""
    return product_pb2.SearchConstraints(
        otherwise=[constraints_to_proto(o) for o in c.otherwise],
        preferred=None if c.preferred is None else constraints_to_proto(c.preferred),
        brands=c.brands,
        product_names=c.product_names,
        colors=c.colors,
        materials=c.materials,
        size_min=_number(c.size.low),
        size_max=_number(c.size.high),
        price_min=_money(c.price.low),
        price_max=_money(c.price.high),
        price_min_exclusive=c.price.low_strict,
        price_max_exclusive=c.price.high_strict,
        weight_min_kg=_number(c.weight_kg.low),
        weight_max_kg=_number(c.weight_kg.high),
        weight_min_exclusive=c.weight_kg.low_strict,
        weight_max_exclusive=c.weight_kg.high_strict,
        plain_colors=c.plain_colors,
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
        llm: LlmProductReader | None = None,
        meaning: Meaning | None = None,
    ) -> None:
        self._pool = pool
        self._vocabulary = vocabulary
        self._today = today
        self._statement_timeout_ms = statement_timeout_ms
        self._max_rows = max_rows
        self._llm = llm
        self._meaning = meaning

    async def SearchProducts(
        self, request: product_pb2.SearchProductsRequest, context: Any
    ) -> product_pb2.SearchProductsResponse:
        """Reads the constraints of the customer's words, declines or searches, and returns
        every product satisfying them with its availability on the shop's today."""
        answer = await self._answer(request.customer_id, request.text, by_need=False)
        return product_pb2.SearchProductsResponse(
            answerable=answer.understood.answerable,
            decline_reason=answer.understood.decline_reason,
            constraints=constraints_to_proto(answer.understood.constraints),
            sql=answer.sql,
            matches=answer.matches,
            alternatives=answer.alternatives,
            tier=answer.tier,
            fallback_reason=answer.fallback_reason,
            model_calls=[c.to_proto() for c in answer.model_calls],
            reading=restate(answer.understood.constraints),
        )

    async def MatchProducts(
        self, request: product_pb2.MatchProductsRequest, context: Any
    ) -> product_pb2.MatchProductsResponse:
        """Reads the constraints and needs of the customer's words, declines or returns the
        products that fit best (see `matching`), or near alternatives when none does."""
        answer = await self._answer(request.customer_id, request.text, by_need=True)
        return product_pb2.MatchProductsResponse(
            answerable=answer.understood.answerable,
            decline_reason=answer.understood.decline_reason,
            constraints=constraints_to_proto(answer.understood.constraints),
            sql=answer.sql,
            matches=answer.matches,
            alternatives=answer.alternatives,
            needs=answer.understood.needs.describe(),
            tier=answer.tier,
            fallback_reason=answer.fallback_reason,
            no_match_reason=answer.no_match_reason,
            model_calls=[c.to_proto() for c in answer.model_calls],
            reading=restate(answer.understood.constraints, answer.understood.needs.describe()),
        )

    async def _answer(self, customer_id: int, text: str, *, by_need: bool) -> _Answer:
        if customer_id <= 0:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_CUSTOMER_MISSING,
                "customer_id must be a positive customer id",
            )
        # The customer's own words: a quoted earlier message is not part of the request.
        text = clean_body(text[:MAX_TEXT_CHARS])
        vocabulary = self._vocabulary.get()
        understood = understand(text, vocabulary, by_need=by_need)
        if by_need and self._meaning is not None and needs_unrecognised(understood):
            # A need the thesaurus does not know, read by the encoder (off the loop).
            closest = await asyncio.to_thread(self._meaning.closest, text, vocabulary.descriptions)
            if closest is not None:
                understood = fitted_by_meaning(understood, closest, vocabulary)
        fallback_reason = ""
        calls: list[ModelCallRecord] = []
        # The hard declines stand whatever a model would say.
        if self._llm is not None and understood.decline_reason not in _HARD_DECLINES:
            try:
                answer = await self._answer_by_model(text, understood, by_need=by_need, calls=calls)
                return dataclasses.replace(answer, model_calls=calls)
            except (ProposalFailed, UnsafeQuery) as exc:
                fallback_reason = str(exc)[:300]
                log.warning(
                    "LLM product tier failed; tier 0 answers", extra={"error": fallback_reason}
                )
        answer = await self._answer_by_rules(understood, by_need=by_need)
        return dataclasses.replace(answer, fallback_reason=fallback_reason, model_calls=calls)

    async def _answer_by_model(
        self, text: str, understood: Understanding, *, by_need: bool, calls: list[ModelCallRecord]
    ) -> _Answer:
        assert self._llm is not None
        proposal = await self._llm.propose(
            text, self._vocabulary.get(), by_need=by_need, calls=calls
        )
        if not proposal.answerable:
            declined = dataclasses.replace(
                understood,
                answerable=False,
                decline_reason=proposal.decline_reason or "the model found nothing to look up",
            )
            return _Answer(declined, tier="llm")
        sql = adopt(proposal.sql, self._max_rows)
        try:
            matches = await self._run(sql)
        except (asyncpg.PostgresError, ServiceError) as exc:
            # A query that passed the guard can still be wrong (a type error, too slow).
            raise ProposalFailed(f"the proposed query failed: {exc}") from exc
        answered = dataclasses.replace(understood, answerable=True, decline_reason="")
        return _Answer(
            answered,
            sql,
            matches,
            tier="llm",
            no_match_reason=(
                product_pb2.NO_MATCH_REASON_UNSPECIFIED
                if matches
                else product_pb2.NO_MATCH_REASON_CONSTRAINTS_EXCLUDE
            ),
        )

    async def _answer_by_rules(self, understood: Understanding, *, by_need: bool) -> _Answer:
        if not understood.answerable:
            log.info("product request declined", extra={"reason": understood.decline_reason})
            return _Answer(understood)
        constraints = understood.constraints
        fit = understood.fit
        if fit.found and not fit.models:
            # Another brand's model fits the need better than any the customer named: no
            # match; the better fits, under the customer's other constraints, are alternatives.
            others = narrowed_to(
                constraints, fit.best_anywhere, self._vocabulary.get().brand_of_name
            )
            better = await self._run(build_query(others, MAX_ALTERNATIVES))
            log.info("product request answered", extra={"matches": 0, "alternatives": len(better)})
            return _Answer(
                understood,
                "",
                [],
                better,
                no_match_reason=product_pb2.NO_MATCH_REASON_BETTER_FIT_ELSEWHERE,
            )
        if fit.found:
            constraints = narrowed_to(constraints, fit.models, self._vocabulary.get().brand_of_name)
        sql = build_query(constraints, self._max_rows)
        matches = await self._run(sql)
        alternatives: list[product_pb2.ProductAvailability] = []
        if by_need and too_broad_without_a_need(fit, (m.product.name for m in matches)):
            log.info("product need not understood", extra={"found": len(matches)})
            return _Answer(
                understood,
                sql,
                [],
                matches[:MAX_ALTERNATIVES],
                no_match_reason=product_pb2.NO_MATCH_REASON_NEED_NOT_UNDERSTOOD,
            )
        if not matches:
            for relaxed in relaxations(constraints):
                alternatives = await self._run(build_query(relaxed, MAX_ALTERNATIVES))
                if alternatives:
                    break
        log.info(
            "product request answered",
            extra={"matches": len(matches), "alternatives": len(alternatives)},
        )
        return _Answer(
            understood,
            sql,
            matches,
            alternatives,
            no_match_reason=(
                product_pb2.NO_MATCH_REASON_UNSPECIFIED
                if matches
                else product_pb2.NO_MATCH_REASON_CONSTRAINTS_EXCLUDE
            ),
        )

    async def _run(self, sql: str) -> list[product_pb2.ProductAvailability]:
        """Runs a checked catalog query; the products found with their availability."""
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
        return [
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


# Declines no model may overrule: SQL or instructions in the e-mail, bulk enumeration.
_HARD_DECLINES = frozenset({DECLINE_INJECTION, DECLINE_WHOLE_CATALOG})


@dataclass(frozen=True)
class _Answer:
    """A request read, and what the catalog returned for it."""

    understood: Understanding
    sql: str = ""
    matches: list[product_pb2.ProductAvailability] = field(default_factory=list)
    alternatives: list[product_pb2.ProductAvailability] = field(default_factory=list)
    tier: str = "0"
    fallback_reason: str = ""
    no_match_reason: product_pb2.NoMatchReason.ValueType = product_pb2.NO_MATCH_REASON_UNSPECIFIED
    model_calls: list[ModelCallRecord] = field(default_factory=list)
