"""Errors carry exactly one ErrorInfo whose reason is the ErrorCode name (AIP-193)."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

from crm.v1 import types_pb2
from services.common.errors import ServiceError, code_of_reason, reason_of


def test_reason_is_the_error_code_without_prefix_and_round_trips() -> None:
    assert reason_of(types_pb2.ERROR_CODE_DEPENDENCY_UNAVAILABLE) == "DEPENDENCY_UNAVAILABLE"
    assert code_of_reason("DEPENDENCY_UNAVAILABLE") == types_pb2.ERROR_CODE_DEPENDENCY_UNAVAILABLE
    assert code_of_reason("NO_SUCH_REASON") == types_pb2.ERROR_CODE_UNSPECIFIED


def test_status_has_one_error_info_with_domain_and_metadata() -> None:
    err = ServiceError(
        grpc.StatusCode.NOT_FOUND, types_pb2.ERROR_CODE_NOT_FOUND, "no job x", {"job_id": "x"}
    )
    status = err.to_status()
    assert status.code == grpc.StatusCode.NOT_FOUND
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    rich = status_pb2.Status.FromString(details)
    assert len(rich.details) == 1
    info = error_details_pb2.ErrorInfo()
    assert rich.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "NOT_FOUND",
        "crm.v1",
        {"job_id": "x"},
    )
