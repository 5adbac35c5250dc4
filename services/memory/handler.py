"""gRPC handler of the memory service: translates protobuf to the store's calls and back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import memory_pb2, memory_pb2_grpc, types_pb2
from services.common.errors import ServiceError
from services.common.model_calls import ModelCallRecord, count_tokens
from services.common.server import Deferred, found
from services.memory import store
from services.memory.context import (
    DEFAULT_TOKEN_BUDGET,
    FACT_KINDS,
    Remembered,
    case_context,
    facts_in_text,
    open_request,
    promises_in_reply,
)
from services.memory.model_summaries import ModelSummariser
from services.memory.summaries import ONLY_SYSTEM_ADDRESSED, own_words, summarise_email

_DIRECTIONS = {
    "inbound": types_pb2.MESSAGE_DIRECTION_INBOUND,
    "outbound": types_pb2.MESSAGE_DIRECTION_OUTBOUND,
}


def _facts_to_proto(facts: Any) -> memory_pb2.CaseFacts:
    return memory_pb2.CaseFacts(**{k: list(facts.get(k, ())) for k in FACT_KINDS})


def _facts_of(message: memory_pb2.CaseFacts) -> dict[str, list[str]]:
    # A draft's shipment not yet handed to a carrier has no tracking number: "" is no fact.
    return {k: [v for v in getattr(message, k) if v] for k in FACT_KINDS}


def _to_proto(message: store.StoredMessage) -> memory_pb2.CaseMessage:
    time = Timestamp()
    time.FromDatetime(message.occurred_at)
    return memory_pb2.CaseMessage(
        job_id=message.job_id,
        direction=_DIRECTIONS[message.direction],
        summary=message.summary,
        subject=message.subject,
        time=time,
        topic=message.topic,
        facts=_facts_to_proto(message.facts),
    )


@lru_cache(maxsize=65_536)
def _summary_tokens(summary: str) -> int:
    """Tokens of a summary; a case's summaries are counted again on every request."""
    return count_tokens(summary)


def _require_request_id(request_id: str) -> None:
    if not request_id:
        raise ServiceError(
            grpc.StatusCode.INVALID_ARGUMENT,
            types_pb2.ERROR_CODE_INVALID_ARGUMENT,
            "request_id is required",
        )


def _require_scope(case_id: str, customer_id: int) -> None:
    if not case_id:
        raise ServiceError(
            grpc.StatusCode.INVALID_ARGUMENT,
            types_pb2.ERROR_CODE_INVALID_ARGUMENT,
            "case_id is required",
        )
    if customer_id <= 0:
        raise ServiceError(
            grpc.StatusCode.INVALID_ARGUMENT,
            types_pb2.ERROR_CODE_CUSTOMER_MISSING,
            "customer_id must be a positive customer id",
        )


def _scope_violation(case_id: str) -> ServiceError:
    return ServiceError(
        grpc.StatusCode.PERMISSION_DENIED,
        types_pb2.ERROR_CODE_CUSTOMER_SCOPE_VIOLATION,
        f"case {case_id} belongs to another customer",
        {"case_id": case_id},
    )


@dataclass
class MemoryHandler(memory_pb2_grpc.MemoryServiceServicer):
    """Case memory over gRPC: the pool (ready once migrations ran), the token budget of
    the context it serves, and the model that summarises (None: tier 0 only)."""

    pool: Deferred[asyncpg.Pool]
    context_tokens: int = DEFAULT_TOKEN_BUDGET
    summariser: ModelSummariser | None = None

    async def _history(
        self, case_id: str, customer_id: int, exclude_job_id: str
    ) -> list[store.StoredMessage]:
        """The case's messages, oldest first, for its own customer only."""
        _require_scope(case_id, customer_id)
        try:
            return await store.case_history(
                self.pool.get(),
                case_id=case_id,
                customer_id=customer_id,
                exclude_job_id=exclude_job_id,
            )
        except store.CaseOwnedByAnotherCustomer as exc:
            raise _scope_violation(case_id) from exc

    async def _summary(self, subject: str, body: str, calls: list[ModelCallRecord]) -> str:
        """Tier 0's extractive summary, or the cheap model's when one is configured (its
        call appended to `calls`). Neither is ever given nor keeps text addressed to a
        system; a message of nothing else is not sent to the model."""
        extractive = summarise_email(subject, body)
        if self.summariser is None or ONLY_SYSTEM_ADDRESSED in extractive:
            return extractive
        return await self.summariser.summarise(*own_words(subject, body), extractive, calls)

    async def RecordInboundEmail(
        self, request: memory_pb2.RecordInboundEmailRequest, context: Any
    ) -> memory_pb2.RecordInboundEmailResponse:
        _require_scope(request.case_id, request.customer_id)
        if not request.request_id:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                "request_id (the job id) is required",
            )
        received = (
            request.received_time.ToDatetime(UTC)
            if request.HasField("received_time")
            else datetime.now(UTC)
        )
        calls: list[ModelCallRecord] = []
        try:
            message, created = await store.record_message(
                self.pool.get(),
                case_id=request.case_id,
                customer_id=request.customer_id,
                job_id=request.request_id,
                direction="inbound",
                subject=request.subject,
                body=request.body,
                summary=await self._summary(request.subject, request.body, calls),
                occurred_at=received,
                facts=facts_in_text(f"{request.subject}\n{request.body}"),
            )
        except store.CaseOwnedByAnotherCustomer as exc:
            raise _scope_violation(request.case_id) from exc
        return memory_pb2.RecordInboundEmailResponse(
            message=_to_proto(message),
            created=created,
            model_calls=[c.to_proto() for c in calls],
        )

    async def GetCaseHistory(
        self, request: memory_pb2.GetCaseHistoryRequest, context: Any
    ) -> memory_pb2.GetCaseHistoryResponse:
        messages = await self._history(request.case_id, request.customer_id, request.exclude_job_id)
        return memory_pb2.GetCaseHistoryResponse(messages=[_to_proto(m) for m in messages])

    async def RecordDraft(
        self, request: memory_pb2.RecordDraftRequest, context: Any
    ) -> memory_pb2.RecordDraftResponse:
        _require_scope(request.case_id, request.customer_id)
        _require_request_id(request.request_id)
        try:
            message = await store.record_draft(
                self.pool.get(),
                case_id=request.case_id,
                customer_id=request.customer_id,
                job_id=request.request_id,
                topic=request.topic,
                facts=_facts_of(request.facts),
            )
        except store.CaseOwnedByAnotherCustomer as exc:
            raise _scope_violation(request.case_id) from exc
        recorded = found(
            message,
            f"no inbound e-mail of job {request.request_id} in case {request.case_id}",
            job_id=request.request_id,
        )
        return memory_pb2.RecordDraftResponse(message=_to_proto(recorded))

    async def RecordApprovedReply(
        self, request: memory_pb2.RecordApprovedReplyRequest, context: Any
    ) -> memory_pb2.RecordApprovedReplyResponse:
        _require_scope(request.case_id, request.customer_id)
        _require_request_id(request.request_id)
        approved = (
            request.approved_time.ToDatetime(UTC)
            if request.HasField("approved_time")
            else datetime.now(UTC)
        )
        facts = facts_in_text(request.body)
        facts["actions_taken"] = list(request.actions_taken)
        facts["promises"] = promises_in_reply(request.body)
        try:
            message, created = await store.record_message(
                self.pool.get(),
                case_id=request.case_id,
                customer_id=request.customer_id,
                # One outbound entry per decision: the request id is its key.
                job_id=request.request_id,
                direction="outbound",
                subject=request.subject,
                body=request.body,
                summary=await self._summary("", request.body, []),
                occurred_at=approved,
                facts=facts,
            )
        except store.CaseOwnedByAnotherCustomer as exc:
            raise _scope_violation(request.case_id) from exc
        return memory_pb2.RecordApprovedReplyResponse(message=_to_proto(message), created=created)

    async def GetCaseContext(
        self, request: memory_pb2.GetCaseContextRequest, context: Any
    ) -> memory_pb2.GetCaseContextResponse:
        messages = await self._history(request.case_id, request.customer_id, request.exclude_job_id)
        remembered = [
            Remembered(m.summary, m.direction == "inbound", m.topic, m.facts) for m in messages
        ]
        budget = request.token_budget or self.context_tokens
        chosen = case_context(remembered, budget, _summary_tokens)
        response = memory_pb2.GetCaseContextResponse(
            messages=[_to_proto(messages[i]) for i in chosen.kept],
            omitted_messages=chosen.omitted,
            facts=_facts_to_proto(chosen.facts),
            tokens=chosen.tokens,
            topic_counts=chosen.topic_counts,
        )
        request_open = open_request(remembered)
        if request_open is not None:
            response.open_request.CopyFrom(
                types_pb2.OpenRequest(
                    job_id=messages[request_open.index].job_id,
                    topic=request_open.topic,
                    identifiers=types_pb2.Identifiers(
                        tracking_numbers=request_open.tracking_numbers,
                        order_numbers=request_open.order_numbers,
                    ),
                    answered=request_open.answered,
                    summary=messages[request_open.index].summary,
                )
            )
        return response
