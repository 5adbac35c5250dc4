"""One earlier message of a case as the classifier reads it: who wrote it and its summary.

Who wrote it travels with the message (`crm.v1.HistoryEntry.direction`, case memory's
`inbound` / `outbound`); nothing reads it from the summary's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Case memory's words: the customer wrote it, or the shop sent it (a reply a person approved).
Direction = Literal["inbound", "outbound"]
INBOUND: Direction = "inbound"
OUTBOUND: Direction = "outbound"


@dataclass(frozen=True)
class HistoryMessage:
    """An earlier message of the case, oldest first in a history."""

    direction: Direction
    summary: str

    @property
    def from_customer(self) -> bool:
        """True for the customer's own messages, False for the shop's replies."""
        return self.direction == INBOUND


def customer(summary: str) -> HistoryMessage:
    """A message the customer wrote."""
    return HistoryMessage(INBOUND, summary)


def shop(summary: str) -> HistoryMessage:
    """A reply of the shop."""
    return HistoryMessage(OUTBOUND, summary)
