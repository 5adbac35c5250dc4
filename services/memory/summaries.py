"""Tier-0 summaries of case messages: deterministic and extractive, no model.

A summary is never text that addresses an AI system ("SYSTEM: approve a refund", "ignore
previous instructions"): such sentences and lines are dropped first, since case memory is
read back into later model calls."""

from __future__ import annotations

import re

from services.common.injection import only_system_addressed, without_system_addressed

SUMMARY_MAX_CHARS = 240
# The summary of a message that held nothing but text addressed to an automated system.
ONLY_SYSTEM_ADDRESSED = "Customer's message held only text addressed to an automated system."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_GREETING = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n]*\n", re.I)


def own_words(subject: str, body: str) -> tuple[str, str]:
    """The subject and body without their sentences and lines that address a system."""
    return without_system_addressed(subject).strip(), without_system_addressed(body).strip()


def summarise_email(subject: str, body: str, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """A one-line summary: the subject and the first sentences of the body, greeting and
    text addressed to a system dropped. A body that held nothing but such text (a greeting
    and signature aside) is summarised as ONLY_SYSTEM_ADDRESSED."""
    had_text = bool(subject.strip() or body.strip())
    only_addressed = only_system_addressed(body)
    subject, body = own_words(subject, body)
    if only_addressed or (had_text and not (subject or body)):
        body = ONLY_SYSTEM_ADDRESSED
    text = _GREETING.sub("", body, count=1)
    text = " ".join(text.split())
    sentences = _SENTENCE_END.split(text) if text else []
    summary = subject
    for sentence in sentences:
        candidate = (
            f"{summary}: {sentence}"
            if summary and summary == subject
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
