"""Labelled triage cases (evals/triage/*.jsonl), read the same way by training and evaluation."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from services.common.jsonl import read_jsonl
from services.common.mail import clean_body
from services.common.taxonomy import LEVEL_NONE, LEVEL_PRIORITY, TopicName, UrgencyName


class Expected(BaseModel):
    """The labels of a case."""

    topic: TopicName
    urgent: bool
    # The level (docs/classification-spec.md); older cases without it read as priority
    # when urgent.
    urgency: UrgencyName | None = None
    # The e-mail's language (BCP 47 primary subtag), when the labeller gave it.
    language: str | None = None

    def level(self) -> str:
        """The urgency level, consistent with `urgent`."""
        if self.urgency is not None:
            return self.urgency
        return LEVEL_PRIORITY if self.urgent else LEVEL_NONE


class TriageCase(BaseModel):
    """One labelled e-mail with its case history (summaries of earlier messages, oldest first)."""

    id: str
    email: str
    history: list[str] = Field(default_factory=list)
    customer_id: int = 0
    expected: Expected | None = None

    def subject_and_body(self) -> tuple[str, str]:
        """The e-mail as the service sees it: subject apart, body cleaned as intake does."""
        subject, body = split_subject(self.email)
        return subject, clean_body(body)


def split_subject(email: str) -> tuple[str, str]:
    """('subject', 'body') of an e-mail whose first line may be 'Subject: ...'."""
    first, _, rest = email.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest
    return "", email


def load_cases(path: Path) -> list[TriageCase]:
    """Reads a JSON-lines file of cases; a bad line fails with its line number."""
    return read_jsonl(path, TriageCase)
