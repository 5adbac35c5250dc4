"""Tier-0 reading of one e-mail: topic and urgency from the pretrained encoder and its
trained heads, the case's open request for follow-ups, repeats counted by meaning, and the
few explicit rules of signals.py. Pure once the models are loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.classifier.heads import Heads
from services.classifier.history import HistoryMessage
from services.classifier.language import UNKNOWN, LanguageReader
from services.classifier.signals import claimed, hands_off_claim, needs_no_reply
from services.common.encoder import Encoder, Reading, Vector
from services.common.identifiers import Identifiers, mask_tracking_numbers, read_identifiers
from services.common.injection import (
    only_system_addressed,
    system_addressed,
    without_system_addressed,
)
from services.common.taxonomy import (
    LEVEL_HANDS_OFF,
    LEVEL_NONE,
    LEVEL_PRIORITY,
    TOPIC_OTHER,
)

# The repeat rule, the one place it is set (both tiers and training read it from here):
# "more than three times", so with 3 earlier askings of the same thing this one is a
# repeated request, hands_off (`Classification.repeated_request`; the orchestrator routes
# on that flag).
REPEAT_THRESHOLD = 3


@dataclass(frozen=True)
class OpenRequest:
    """The case's last customer request (from case memory)."""

    summary: str
    topic: str = ""
    identifiers: Identifiers = field(default_factory=Identifiers)
    answered: bool = False


@dataclass(frozen=True)
class Triage:
    """One reading of an e-mail: topic and urgency with the evidence for both."""

    topic: str
    urgent: bool
    urgency_reason: str
    confidence: float
    reply_needed: bool
    reasons: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    repeat_count: int = 0
    # The repeat rule's verdict on `repeat_count` (`repeated`).
    repeated_request: bool = False
    level: str = LEVEL_NONE
    language: str = UNKNOWN
    identifiers: Identifiers = field(default_factory=Identifiers)
    carried_identifiers: Identifiers = field(default_factory=Identifiers)
    low_confidence: bool = False
    suspected_injection: bool = False
    injection_evidence: list[str] = field(default_factory=list)
    only_injection: bool = False
    continues_open_request: bool = False


def repeated(repeats: int) -> bool:
    """The repeat rule: True when `repeats` earlier askings make this one too many."""
    return repeats >= REPEAT_THRESHOLD


def customer_messages(history: Sequence[HistoryMessage]) -> list[str]:
    """The summaries of the customer's own earlier messages (not the shop's replies)."""
    return [h.summary for h in history if h.from_customer]


def open_request_of(history: Sequence[HistoryMessage]) -> OpenRequest | None:
    """The open request as a history shows it: the customer's last message, answered when
    a reply of the shop follows it."""
    for index in range(len(history) - 1, -1, -1):
        message = history[index]
        if message.from_customer:
            return OpenRequest(
                summary=message.summary,
                identifiers=read_identifiers(message.summary),
                answered=any(not h.from_customer for h in history[index + 1 :]),
            )
    return None


def carried(follows: bool, open_request: OpenRequest | None, written: Identifiers) -> Identifiers:
    """The open request's identifiers for a follow-up that names none of its own."""
    names_none = not (written.tracking_numbers or written.order_numbers)
    if follows and open_request is not None and names_none:
        return open_request.identifiers
    return Identifiers()


def repeat_reason(repeats: int) -> str:
    """Why a repeated request is hands_off."""
    return f"the same request has now been made {repeats + 1} times in this case"


def model_text(subject: str, body: str, context: str = "") -> str:
    """What the heads read: the customer's own words (text addressed to an automated
    system is evidence, not a request), and for a follow-up the request it continues."""
    text = mask_tracking_numbers(without_system_addressed(f"{subject}\n{body}")).strip()
    return f"{text}\n{context}" if context else text


class Triager:
    """Reads e-mails with the loaded encoder, heads and language identifier."""

    def __init__(self, encoder: Encoder, heads: Heads, languages: LanguageReader) -> None:
        self.encoder = encoder
        self.heads = heads
        self.languages = languages

    def classify(
        self,
        subject: str,
        body: str,
        history: Sequence[HistoryMessage],
        earlier_topic_counts: Mapping[str, int] | None = None,
        open_request: OpenRequest | None = None,
        hidden_content: str = "",
    ) -> Triage:
        """The reading of one e-mail in the light of its case. `open_request` defaults to
        the one `history` shows; the repeat rule counts the earlier customer messages of
        `history`, or `earlier_topic_counts` (the whole case) when that finds more."""
        text = f"{subject}\n{body}".strip()
        if open_request is None:
            open_request = open_request_of(history)
        common = self.deterministic(subject, body, hidden_content)
        written: Identifiers = common["identifiers"]
        claim = hands_off_claim(text)
        if needs_no_reply(body) and not claim:
            return Triage(
                TOPIC_OTHER,
                False,
                "",
                0.9,
                False,
                ["no reply needed: a thank-you or note"],
                **common,
            )
        if common["only_injection"]:
            return Triage(
                TOPIC_OTHER,
                False,
                "",
                1.0,
                True,
                ["only text addressed to an automated system"],
                **common,
            )
        own = self.encoder.read(model_text(subject, body))
        own_probs = self.heads.topic_probabilities(own.vector[None, :])[0]
        reading, probs, follows = own, own_probs, False
        best = int(own_probs.argmax())
        sure = own_probs[best] >= self.heads.thresholds.own_topic
        if open_request is not None and not sure:
            # No topic of its own ("any news?"): read it as the continuation of the open
            # request. A message surely read as `other` alone ("photo attached", an
            # unrelated question) stays what it is.
            reading = self.encoder.read(model_text(subject, body, open_request.summary))
            probs = self.heads.topic_probabilities(reading.vector[None, :])[0]
            follows = True
        order = np.argsort(probs)[::-1]
        topic, confidence = self.heads.topics[int(order[0])], float(probs[order[0]])
        # Also an e-mail that reads well alone continues the open request when it asks
        # about the same thing ("still not here" after "where is FDX486159753?").
        follows = topic != TOPIC_OTHER and (
            follows or (open_request is not None and topic == self._topic_of(open_request))
        )
        reasons = [
            f"topic: {topic} (p={confidence:.2f})"
            + (" as the continuation of the case's open request" if follows else "")
        ]
        requests = self._requests(own, topic)
        repeats = self._repeats(topic, reading.vector, history)
        if topic != TOPIC_OTHER and earlier_topic_counts:
            repeats = max(repeats, earlier_topic_counts.get(topic, 0))
        # The level head reads only what the customer claims, as the rules do: "I'm a
        # lawyer" or "I don't want blisters" is not a legal issue or harm.
        said = claimed(model_text(subject, body))
        claims = own if said == model_text(subject, body) else self.encoder.read(said)
        level, reason = self._urgency(claims, claim, repeats)
        if reason:
            reasons.insert(0, reason)
        return Triage(
            topic=topic,
            urgent=level != LEVEL_NONE,
            urgency_reason=reason,
            confidence=round(confidence, 3),
            reply_needed=True,
            reasons=reasons,
            requests=requests,
            repeat_count=repeats,
            repeated_request=repeated(repeats),
            level=level,
            carried_identifiers=carried(follows, open_request, written),
            low_confidence=confidence < self.heads.thresholds.low_confidence,
            continues_open_request=follows,
            **common,
        )

    def deterministic(self, subject: str, body: str, hidden_content: str = "") -> dict[str, Any]:
        """What every tier reports the same way, read by code rather than by a model: the
        language, the identifiers written in the e-mail, and text addressing the system."""
        text = f"{subject}\n{body}".strip()
        injected = system_addressed(f"{text}\n{hidden_content}")
        return {
            "language": self.languages.language(body or subject),
            "identifiers": read_identifiers(text),
            "suspected_injection": bool(injected),
            "injection_evidence": injected,
            "only_injection": bool(injected) and only_system_addressed(text),
        }

    def repeat_count(
        self, topic: str, subject: str, body: str, history: Sequence[HistoryMessage]
    ) -> int:
        """How many earlier customer messages of `history` ask what this e-mail asks."""
        if not customer_messages(history):
            return 0
        return self._repeats(topic, self.encoder.read(model_text(subject, body)).vector, history)

    def _topic_of(self, request: OpenRequest) -> str:
        """The open request's topic: as case memory recorded it, else as read now."""
        if request.topic:
            return request.topic
        vector = self.encoder.read(request.summary, remember=True).vector
        return self.heads.topics[int(self.heads.topic_probabilities(vector[None, :])[0].argmax())]

    def _requests(self, own: Reading, topic: str) -> list[str]:
        """The e-mail's request as 'topic: sentence', the sentence read most surely as the
        topic; none for `other`. Tier 0 reads one request per e-mail: telling a second
        request apart from its sentences lowered topic accuracy out of fold at every
        threshold tried, so several requests reach a person only when the topic head reads
        the e-mail as `other` (or the LLM tier lists them)."""
        if topic == TOPIC_OTHER:
            return []
        column = self.heads.topics.index(topic)
        rows = self.heads.topic_probabilities(own.sentence_vectors)
        return [f"{topic}: {own.sentences[int(rows[:, column].argmax())][:200]}"]

    def _repeats(self, topic: str, current: Vector, history: Sequence[HistoryMessage]) -> int:
        """Earlier customer messages asking the same thing, by meaning: read as the same
        topic, or at least `same_request` close to this e-mail. Notes that ask nothing
        ("thanks!") are not askings."""
        earlier = [h for h in customer_messages(history) if not needs_no_reply(h)]
        if not earlier:
            return 0
        vectors = self.encoder.embed(earlier)
        topics = self.heads.topic_probabilities(vectors).argmax(axis=1)
        similar = vectors @ current >= self.heads.thresholds.same_request
        return sum(
            1
            for t, alike in zip(topics, similar, strict=True)
            if self.heads.topics[int(t)] != TOPIC_OTHER
            and (alike or self.heads.topics[int(t)] == topic)
        )

    def _urgency(self, claims: Reading, claim: str, repeats: int) -> tuple[str, str]:
        """(level, reason): a harm or legal claim and a fourth asking are hands_off; else
        the urgency head decides whether and how urgent, from what the customer claims:
        the e-mail as a whole mixed with its most urgent sentence."""
        if claim:
            return LEVEL_HANDS_OFF, claim
        if repeated(repeats):
            return LEVEL_HANDS_OFF, repeat_reason(repeats)
        whole = self.heads.level_probabilities(claims.vector[None, :])[0]
        rows = self.heads.level_probabilities(claims.sentence_vectors)
        sentence = rows[int((rows[:, 1] + rows[:, 2]).argmax())]
        mix = self.heads.thresholds.urgent_sentence_weight
        p = (1 - mix) * whole + mix * sentence
        urgent = float(p[1] + p[2])
        if urgent < self.heads.thresholds.urgent:
            return LEVEL_NONE, ""
        level = LEVEL_HANDS_OFF if p[2] > p[1] else LEVEL_PRIORITY
        what = (
            "harm, a legal issue or a threat"
            if level == LEVEL_HANDS_OFF
            else "a missing or defective item, or an answer needed now"
        )
        return level, f"the wording reads as {what} (urgency model p={urgent:.2f})"
