"""Errors as google.rpc.Status with exactly one ErrorInfo, whose reason is an ErrorCode (AIP-193)."""

from __future__ import annotations

from typing import NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from crm.v1 import types_pb2

ERROR_DOMAIN = "crm.v1"
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def reason_of(code: types_pb2.ErrorCode.ValueType) -> str:
    """The ErrorInfo reason for an ErrorCode: its name without the ERROR_CODE_ prefix."""
    return types_pb2.ErrorCode.Name(code).removeprefix("ERROR_CODE_")


def code_of_reason(reason: str) -> types_pb2.ErrorCode.ValueType:
    """The ErrorCode for an ErrorInfo reason; UNSPECIFIED when the reason is unknown."""
    try:
        return types_pb2.ErrorCode.Value("ERROR_CODE_" + reason)
    except ValueError:
        return types_pb2.ERROR_CODE_UNSPECIFIED


class ServiceError(Exception):
    """A failure a handler reports to its caller as a gRPC status with an ErrorInfo."""

    def __init__(
        self,
        grpc_code: grpc.StatusCode,
        error_code: types_pb2.ErrorCode.ValueType,
        message: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.grpc_code = grpc_code
        self.error_code = error_code
        self.message = message
        self.metadata = metadata or {}

    def to_status(self) -> grpc.Status:
        """Builds the rich gRPC status carrying one google.rpc.ErrorInfo."""
        info = error_details_pb2.ErrorInfo(
            reason=reason_of(self.error_code), domain=ERROR_DOMAIN, metadata=self.metadata
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        status = status_pb2.Status(
            code=getattr(code_pb2, self.grpc_code.name), message=self.message, details=[detail]
        )
        result: grpc.Status = rpc_status.to_status(status)
        return result


async def abort(context: grpc.aio.ServicerContext[object, object], error: ServiceError) -> NoReturn:
    """Ends the call with the error's rich status."""
    await context.abort_with_status(error.to_status())
    raise AssertionError("abort_with_status returned")  # pragma: no cover


def error_info_of(exc: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    """Reads the ErrorInfo of a failed call, if the server sent one."""
    for key, value in exc.trailing_metadata() or ():
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
                    return info
    return None


def error_code_of(exc: grpc.aio.AioRpcError) -> types_pb2.ErrorCode.ValueType:
    """The ErrorCode of a failed call; UNSPECIFIED when the server sent none."""
    info = error_info_of(exc)
    return code_of_reason(info.reason) if info else types_pb2.ERROR_CODE_UNSPECIFIED
