"""Tier-0 triage: topic from the topic model, hard signals from explicit cues, and the
repeat rule counted from the case history. Pure once the model is loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.classifier.cues import (
    TOPIC_OTHER,
    claims_only,
    evidence,
    needs_no_reply,
    request_segments,
    score_topics,
    urgency,
)
from services.classifier.topic_model import TopicModel, Vector

# "More than three times": with 3 earlier askings of the same thing, this one is urgent.
REPEAT_THRESHOLD = 3
# A follow-up this short ("still nothing!!") is read together with the case's last message.
SHORT_FOLLOW_UP_WORDS = 12
# A part of a split e-mail counts as a request when the model is at least this sure of it.
SEGMENT_MIN_PROBABILITY = 0.5
# Two topics whose explicit cues both score at least this much are two different requests.
MULTI_REQUEST_CUE_SCORE = 3.0
# An earlier message this similar (cosine of embeddings) to the new one asks the same thing.
SAME_REQUEST_SIMILARITY = 0.6
# History summaries of the shop's own replies start like this; they are not askings.
_SUPPORT_PREFIXES = ("support replied", "support:", "we replied", "shop replied", "agent replied")


@dataclass(frozen=True)
class Triage:
    """Topic and urgency with the evidence for both."""

    topic: str
    urgent: bool
    urgency_reason: str
    confidence: float
    reply_needed: bool
    reasons: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    repeat_count: int = 0


def customer_messages(history: Sequence[str]) -> list[str]:
    """The summaries of the customer's own earlier messages (not the shop's replies)."""
    return [h for h in history if not h.strip().lower().startswith(_SUPPORT_PREFIXES)]


def model_text(subject: str, body: str, history: Sequence[str]) -> str:
    """What the topic model reads: the e-mail, plus the case's last customer message when
    the e-mail is a short follow-up that means nothing alone."""
    text = f"{subject}\n{body}".strip()
    earlier = customer_messages(history)
    if earlier and len(body.split()) < SHORT_FOLLOW_UP_WORDS:
        text += "\n" + earlier[-1]
    return text


class Triager:
    """Classifies e-mails with a loaded topic model."""

    def __init__(self, model: TopicModel) -> None:
        self.model = model

    def classify(
        self,
        subject: str,
        body: str,
        history: Sequence[str],
        earlier_topic_counts: Mapping[str, int] | None = None,
    ) -> Triage:
        """Topic, urgency, reasons and detected requests of one e-mail. The repeat rule
        counts the earlier askings in `history`, or in `earlier_topic_counts` (the whole
        case, per topic) when that finds more."""
        text = f"{subject}\n{body}"
        hard_signal = urgency(text)
        if needs_no_reply(body) and not hard_signal:
            return Triage(
                TOPIC_OTHER,
                False,
                "",
                0.9,
                False,
                ["no reply needed: a thank-you or acknowledgement"],
            )
        reasons: list[str] = []
        current = model_text(subject, body, history)
        earlier = history_texts(history)
        # The urgency model reads only what the customer claims, like the hard signals do.
        claimed = claims_only(current)
        extra = [claimed] if claimed != current else []
        probs, urgent_probs, embeddings = self.model.analyse([current, *earlier, *extra])
        urgent_probability = float(urgent_probs[-1] if extra else urgent_probs[0])
        probs, embeddings = probs[: 1 + len(earlier)], embeddings[: 1 + len(earlier)]
        order = np.argsort(probs[0])[::-1]
        topic, confidence = self.model.topics[order[0]], float(probs[0][order[0]])
        several = self._several_requests(text)
        requests = [f"{t}: {evidence(text, t)}" for t in several]
        if several:
            topic = TOPIC_OTHER
            reasons.append("several different requests: " + ", ".join(several))
        else:
            reasons.append(f"topic model: {topic} (p={confidence:.2f})")
        earlier_topics = [self.model.topics[int(i)] for i in probs[1:].argmax(axis=1)]
        repeats = count_repeats(topic, earlier_topics, embeddings[0], embeddings[1:])
        if topic != TOPIC_OTHER and earlier_topic_counts:
            repeats = max(repeats, earlier_topic_counts.get(topic, 0))
        urgent_reason = hard_signal
        if not urgent_reason and repeats >= REPEAT_THRESHOLD:
            urgent_reason = f"the same request has now been made {repeats + 1} times in this case"
        if not urgent_reason and urgent_probability >= self.model.urgent_threshold:
            urgent_reason = f"the wording says a person should act now (urgency model p={urgent_probability:.2f})"
        if urgent_reason:
            reasons.insert(0, urgent_reason)
        return Triage(
            topic=topic,
            urgent=bool(urgent_reason),
            urgency_reason=urgent_reason,
            confidence=round(confidence, 3),
            reply_needed=True,
            reasons=reasons,
            requests=requests,
            repeat_count=repeats,
        )

    def _several_requests(self, text: str) -> list[str]:
        """Different topics asked for in one e-mail, from its parts split at markers such as
        "also" or "2)", or from two topics with strong explicit cues."""
        topics: list[str] = []
        segments = request_segments(text)
        if len(segments) > 1:
            for row in self.model.probabilities(segments):
                best = int(row.argmax())
                topic = self.model.topics[best]
                if (
                    topic != TOPIC_OTHER
                    and row[best] >= SEGMENT_MIN_PROBABILITY
                    and topic not in topics
                ):
                    topics.append(topic)
        scores = score_topics(text)
        strong = [
            t
            for t in self.model.topics
            if t != TOPIC_OTHER and t not in topics and scores[t] >= MULTI_REQUEST_CUE_SCORE
        ]
        # Cues of two topics in one clause usually describe one problem ("tracking says
        # the label is damaged"); two requests are asked in different clauses.
        sentences = {t: evidence(text, t, clauses=True) for t in [*topics, *strong]}
        for t in strong:
            if not topics or any(sentences[t] != sentences[other] for other in topics):
                topics.append(t)
        return topics if len(topics) > 1 else []

    def repeat_count(self, topic: str, history: Sequence[str], current: str) -> int:
        """How many earlier customer messages of the case asked for the same thing as `current`."""
        earlier = history_texts(history)
        if not earlier:
            return 0
        probs, _, embeddings = self.model.analyse([current, *earlier])
        earlier_topics = [self.model.topics[int(i)] for i in probs[1:].argmax(axis=1)]
        return count_repeats(topic, earlier_topics, embeddings[0], embeddings[1:])


def history_texts(history: Sequence[str]) -> list[str]:
    """The customer's earlier messages, each read in the light of the ones before it."""
    earlier = customer_messages(history)
    return [model_text("", summary, earlier[:i]) for i, summary in enumerate(earlier)]


def count_repeats(
    topic: str, earlier_topics: Sequence[str], current: Vector, earlier: Vector
) -> int:
    """Earlier messages asking the same thing: the same topic (not `other`), or for any
    topic nearly the same meaning (cosine of embeddings at least SAME_REQUEST_SIMILARITY)."""
    if not len(earlier_topics):
        return 0
    norms = np.linalg.norm(earlier, axis=1) * np.linalg.norm(current) + 1e-9
    similar = (earlier @ current) / norms >= SAME_REQUEST_SIMILARITY
    return sum(
        1
        for t, alike in zip(earlier_topics, similar, strict=True)
        if alike or (t == topic and topic != TOPIC_OTHER)
    )
