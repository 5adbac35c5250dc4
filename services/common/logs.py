"""JSON logs on stdout, each line carrying the job, case and request ids in context."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from services.common.context import current_ids
from services.common.tracing import current_trace_id


class _ContextIdsFilter(logging.Filter):
    """Copies the context's job/case/request ids and the trace id onto every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_ids().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        trace_id = current_trace_id()
        if trace_id and not hasattr(record, "trace_id"):
            record.trace_id = trace_id
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Sends JSON log lines to stdout, tagged with the service name."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_ContextIdsFilter())
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The NATS client logs every reconnect attempt at INFO; keep it to warnings.
    logging.getLogger("nats").setLevel(logging.WARNING)
