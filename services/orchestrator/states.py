"""Where a job and a decision are in their lives: the states the orchestrator stores, named
here and nowhere else. Each value is the string stored in the state column (so the tables
need no migration); a job state maps to crm.v1.JobState."""

from __future__ import annotations

from enum import StrEnum

from crm.v1 import orchestrator_pb2


class JobState(StrEnum):
    """A job (one e-mail event): running until its one outcome is stored."""

    # Received and being worked on (or waiting for a dependency).
    RUNNING = "running"
    # A draft awaits a reviewer's decision.
    DRAFT_READY = "draft_ready"
    # Handed to a person before any draft (intake gate, rate limit, sender check).
    MANUAL_HANDLING = "manual_handling"
    # It failed; its outcome says why. A failed job can be re-driven from the dead letters.
    FAILED = "failed"

    @property
    def proto(self) -> orchestrator_pb2.JobState.ValueType:
        """The crm.v1.JobState of this state."""
        return _JOB_STATE_PROTO[self]


_JOB_STATE_PROTO: dict[JobState, orchestrator_pb2.JobState.ValueType] = {
    JobState.RUNNING: orchestrator_pb2.JOB_STATE_RUNNING,
    JobState.DRAFT_READY: orchestrator_pb2.JOB_STATE_DRAFT_READY,
    JobState.MANUAL_HANDLING: orchestrator_pb2.JOB_STATE_MANUAL_HANDLING,
    JobState.FAILED: orchestrator_pb2.JOB_STATE_FAILED,
}


class DecisionState(StrEnum):
    """A reviewer's decision on a draft (no proto enum: the CRM learns of a decision through
    crm.v1.ActionsExecuted, crm.v1.ReplyApproved or crm.v1.DecisionRefused)."""

    # Holds the job; its actions are being carried out.
    CARRYING_OUT = "carrying_out"
    # Carried out: its actions ran and its reply, if any, was approved.
    DONE = "done"
    # Refused with a reason; it does not hold the job.
    REFUSED = "refused"
