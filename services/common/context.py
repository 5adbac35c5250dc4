"""Request-scoped identifiers carried through logs, gRPC metadata and NATS headers."""

from __future__ import annotations

from contextvars import ContextVar

job_id_var: ContextVar[str] = ContextVar("job_id", default="")
case_id_var: ContextVar[str] = ContextVar("case_id", default="")
request_id_var: ContextVar[str] = ContextVar("request_id", default="")

# gRPC metadata keys (lower case, as HTTP/2 requires) for each identifier.
METADATA_KEYS: dict[str, ContextVar[str]] = {
    "x-job-id": job_id_var,
    "x-case-id": case_id_var,
    "x-request-id": request_id_var,
}


def current_ids() -> dict[str, str]:
    """Returns the identifiers set in the current context, leaving out empty ones."""
    ids = {
        key.removeprefix("x-").replace("-", "_"): var.get() for key, var in METADATA_KEYS.items()
    }
    return {k: v for k, v in ids.items() if v}


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """The identifiers of the current context as gRPC metadata for an outgoing call."""
    return tuple((key, var.get()) for key, var in METADATA_KEYS.items() if var.get())
