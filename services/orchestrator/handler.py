"""gRPC handler of the orchestrator: operators look jobs up by id or case."""

from __future__ import annotations

from typing import Any

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import orchestrator_pb2, orchestrator_pb2_grpc, types_pb2
from services.common.errors import ServiceError
from services.common.server import Deferred, found
from services.orchestrator import jetstream, job_store


def job_to_proto(record: job_store.JobRecord) -> orchestrator_pb2.Job:
    """The stored job with its decoded outcome."""
    created, updated = Timestamp(), Timestamp()
    created.FromDatetime(record.created_at)
    updated.FromDatetime(record.updated_at)
    job = orchestrator_pb2.Job(
        job_id=record.job_id,
        case_id=record.case_id,
        customer_id=record.customer_id,
        state=record.state.proto,
        delivery_attempts=record.delivery_attempts,
        create_time=created,
        update_time=updated,
        outcome_published=record.outcome_published_at is not None,
    )
    if record.outcome is not None:
        if record.outcome_subject == jetstream.DRAFT_READY:
            job.draft_ready.ParseFromString(record.outcome)
        elif record.outcome_subject == jetstream.MANUAL_HANDLING:
            job.manual_handling.ParseFromString(record.outcome)
        elif record.outcome_subject == jetstream.JOB_FAILED:
            job.job_failed.ParseFromString(record.outcome)
    return job


class OrchestratorHandler(orchestrator_pb2_grpc.OrchestratorServiceServicer):
    """Job look-ups over gRPC."""

    def __init__(self, pool: Deferred[asyncpg.Pool]) -> None:
        self._pool = pool

    async def GetJob(
        self, request: orchestrator_pb2.GetJobRequest, context: Any
    ) -> orchestrator_pb2.GetJobResponse:
        if not request.job_id:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                "job_id is required",
            )
        record = await job_store.get_job(self._pool.get(), request.job_id)
        job = found(record, f"no job {request.job_id}", job_id=request.job_id)
        return orchestrator_pb2.GetJobResponse(job=job_to_proto(job))

    async def ListJobs(
        self, request: orchestrator_pb2.ListJobsRequest, context: Any
    ) -> orchestrator_pb2.ListJobsResponse:
        size = request.page_size or 20
        if not 0 < size <= 200:
            raise ServiceError(
                grpc.StatusCode.INVALID_ARGUMENT,
                types_pb2.ERROR_CODE_INVALID_ARGUMENT,
                "page_size must be between 1 and 200",
            )
        records = await job_store.list_jobs(self._pool.get(), case_id=request.case_id, limit=size)
        return orchestrator_pb2.ListJobsResponse(jobs=[job_to_proto(r) for r in records])
