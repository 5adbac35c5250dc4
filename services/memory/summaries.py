"""Tier-0 summaries of case messages: deterministic and extractive, no model."""

from __future__ import annotations

import re

SUMMARY_MAX_CHARS = 240
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_GREETING = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n]*\n", re.I)


def summarise_email(subject: str, body: str, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """A one-line summary: the subject and the first sentences of the body, greeting dropped."""
    text = _GREETING.sub("", body.strip(), count=1)
    text = " ".join(text.split())
    sentences = _SENTENCE_END.split(text) if text else []
    summary = subject.strip()
    for sentence in sentences:
        candidate = (
            f"{summary}: {sentence}"
            if summary and summary == subject.strip()
            else (f"{summary} {sentence}" if summary else sentence)
        )
        if len(candidate) > max_chars:
            break
        summary = candidate
    if not summary:
        summary = text[:max_chars]
    if len(summary) > max_chars:
        summary = summary[: max_chars - 1].rstrip() + "…"
    return summary
