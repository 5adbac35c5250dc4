"""Labelled triage cases (evals/triage/*.jsonl), read the same way by training and evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from services.classifier.history import INBOUND, OUTBOUND, HistoryMessage
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


# Legacy form of a history entry: a bare text line, the shop's replies marked by starting
# with this. The triage sets carry the direction explicitly; the e2e and hostile corpora
# (evals/e2e, evals/hostile) and feedback exported before the direction was recorded are
# still text lines. This is the one place that reads the prefix: such a line is converted
# here, once, when a file is loaded, and nothing downstream looks at the words again.
LEGACY_SHOP_PREFIX = "Support replied"


def history_entry(value: object) -> object:
    """A history entry as written in a file: `{"direction": "inbound" | "outbound",
    "summary": ...}`, or a legacy text line (converted by its prefix)."""
    if isinstance(value, str):
        shop = value.strip().startswith(LEGACY_SHOP_PREFIX)
        return HistoryMessage(OUTBOUND if shop else INBOUND, value)
    return value


# A case's earlier message in a labelled file (triage, e2e and hostile cases).
HistoryEntry = Annotated[HistoryMessage, BeforeValidator(history_entry)]


class TriageCase(BaseModel):
    """One labelled e-mail with its case history (summaries of earlier messages with who
    wrote them, oldest first)."""

    id: str
    email: str
    history: list[HistoryEntry] = Field(default_factory=list)
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
