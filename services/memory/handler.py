"""gRPC handler of the memory service: translates protobuf to the store's calls and back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import memory_pb2, memory_pb2_grpc, types_pb2
from services.common.errors import ServiceError
from services.common.server import Deferred
from services.memory import store
from services.memory.summaries import summarise_email

_DIRECTIONS = {
    "inbound": memory_pb2.MESSAGE_DIRECTION_INBOUND,
    "outbound": memory_pb2.MESSAGE_DIRECTION_OUTBOUND,
}


def _to_proto(message: store.StoredMessage) -> memory_pb2.CaseMessage:
    time = Timestamp()
    time.FromDatetime(message.occurred_at)
    return memory_pb2.CaseMessage(
        job_id=message.job_id,
        direction=_DIRECTIONS[message.direction],
        summary=message.summary,
        subject=message.subject,
        time=time,
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


class MemoryHandler(memory_pb2_grpc.MemoryServiceServicer):
    """Case memory over gRPC."""

    def __init__(self, pool: Deferred[asyncpg.Pool]) -> None:
        self._pool = pool

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
        try:
            message, created = await store.record_message(
                self._pool.get(),
                case_id=request.case_id,
                customer_id=request.customer_id,
                job_id=request.request_id,
                direction="inbound",
                subject=request.subject,
                body=request.body,
                summary=summarise_email(request.subject, request.body),
                occurred_at=received,
            )
        except store.CaseOwnedByAnotherCustomer as exc:
            raise _scope_violation(request.case_id) from exc
        return memory_pb2.RecordInboundEmailResponse(message=_to_proto(message), created=created)

    async def GetCaseHistory(
        self, request: memory_pb2.GetCaseHistoryRequest, context: Any
    ) -> memory_pb2.GetCaseHistoryResponse:
        _require_scope(request.case_id, request.customer_id)
        try:
            messages = await store.case_history(
                self._pool.get(),
                case_id=request.case_id,
                customer_id=request.customer_id,
                exclude_job_id=request.exclude_job_id,
            )
        except store.CaseOwnedByAnotherCustomer as exc:
            raise _scope_violation(request.case_id) from exc
        return memory_pb2.GetCaseHistoryResponse(messages=[_to_proto(m) for m in messages])
