"""Tier-0 triage: topic and urgency from explicit cues, no model and no network.

This is the first, rule-based tier: each topic has cue patterns with weights, the
best-scoring topic wins, and hard urgency signals (injury, legal threats, "cannot
wait") are matched explicitly. The repeat rule is not decided here: the orchestrator
computes it from the case history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOPIC_PRODUCT = "product_availability_or_recommendation"
TOPIC_DELIVERY = "delivery_delay"
TOPIC_BILLING = "billing_dispute"
TOPIC_TRANSACTION = "transaction_inquiry"
TOPIC_COMPLAINT = "product_complaint"
TOPIC_OTHER = "other"

# (pattern, weight) per topic. Patterns are matched case-insensitively on word boundaries.
_TOPIC_CUES: dict[str, list[tuple[str, float]]] = {
    TOPIC_DELIVERY: [
        (r"where(?:'s| is) my (?:order|parcel|package|shoes|delivery)", 3.0),
        (r"\b(?:late|delayed|delay|overdue)\b", 1.5),
        (
            r"\b(?:hasn'?t|has not|haven'?t|have not|never|still not|not yet) (?:arrived|come|been delivered|received|shown up|turned up)",
            2.5,
        ),
        (r"\b(?:tracking|track)\b", 1.5),
        (r"\b(?:parcel|package|shipment|courier|carrier|fedex|ups|usps|dhl)\b", 1.0),
        (r"\b(?:in transit|out for delivery|not delivered|lost in the post|missing parcel)\b", 2.0),
        (r"\b(?:FDX|UPS|USPS|DHL|1Z)[A-Z0-9]{6,}\b", 2.0),
    ],
    TOPIC_PRODUCT: [
        (r"\b(?:in stock|out of stock|available|availability|back in stock|restock)\b", 2.5),
        (r"\bdo you (?:have|sell|carry|stock)\b", 2.5),
        (
            r"\b(?:recommend|recommendation|suggest|looking for|which shoe|what shoe|best shoe)\b",
            2.0,
        ),
        (r"\bsize\s*\d+(?:\.5)?\b", 1.5),
        (r"\b(?:any|got) (?:\w+ )?(?:shoes|sneakers|trainers|runners)\b", 1.0),
    ],
    TOPIC_BILLING: [
        (
            r"\b(?:charged twice|double charged|charged me twice|duplicate charge|two charges)\b",
            3.5,
        ),
        (
            r"\b(?:overcharged|wrong amount|incorrect (?:amount|charge|invoice)|charged (?:me )?(?:for|more))\b",
            3.0,
        ),
        (r"\b(?:dispute|chargeback|unauthori[sz]ed charge|billing error|invoice)\b", 2.0),
        (r"\bcharged\b.*\b(?:cancel+ed|never received|didn'?t order)\b", 3.0),
    ],
    TOPIC_TRANSACTION: [
        (
            r"\b(?:refund status|status of my refund|where is my refund|when will i (?:get|receive) my refund)\b",
            3.0,
        ),
        (
            r"\b(?:has my refund|refund been processed|payment (?:went through|status|confirmation)|did my payment)\b",
            3.0,
        ),
        (r"\b(?:return status|received my return|my return)\b", 2.0),
        (r"\brefund\b", 1.0),
    ],
    TOPIC_COMPLAINT: [
        (
            r"\b(?:defective|faulty|broken|damaged|torn|ripped|fell apart|falling apart|came apart|sole (?:came off|is peeling|peeling)|peeling)\b",
            3.0,
        ),
        (
            r"\b(?:wrong (?:size|colou?r|item|shoe|pair|model)|not as described|not what i ordered|different from the picture)\b",
            3.0,
        ),
        (r"\b(?:poor quality|bad quality|cheap quality|stitching|glue)\b", 2.0),
    ],
    TOPIC_OTHER: [
        (r"\b(?:job|career|partnership|sponsor|collaborat|press|marketing|seo|crypto)\w*\b", 2.0),
    ],
}

_NO_REPLY = re.compile(
    r"^\W*(?:thanks?|thank you|thx|cheers|great|perfect|got it|all (?:good|sorted)|received,? thanks?)"
    r"[\w\s,!.'\u2019-]{0,60}$",
    re.I,
)

# Hard urgency signals: (pattern, reason).
_URGENT_CUES: list[tuple[str, str]] = [
    (
        r"\b(?:injur\w*|hurt|bleed\w*|blister\w*|sprain\w*|twisted my ankle|hospital|doctor|fell|fall|burn\w*|allergic)\b",
        "injury or harm reported",
    ),
    (r"\b(?:unsafe|dangerous|safety|hazard|fire|smok\w*|toxic)\b", "safety risk reported"),
    (
        r"\b(?:lawyer|attorney|solicitor|legal action|sue|suing|lawsuit|court|small claims|trading standards|consumer protection)\b",
        "legal action threatened",
    ),
    (
        r"\b(?:can(?:no|')t wait|urgent\w*|asap|immediately|right now|emergency|time[- ]sensitive|need (?:it|them) (?:by|before|for) (?:tomorrow|tonight|friday|the weekend|my race|the race))\b",
        "customer says it cannot wait",
    ),
]


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


def _compiled(cues: list[tuple[str, float]]) -> list[tuple[re.Pattern[str], float]]:
    return [(re.compile(p, re.I), w) for p, w in cues]


_COMPILED = {topic: _compiled(cues) for topic, cues in _TOPIC_CUES.items()}
_URGENT = [(re.compile(p, re.I), reason) for p, reason in _URGENT_CUES]


def score_topics(text: str) -> dict[str, float]:
    """Sum of cue weights per topic."""
    return {
        topic: sum(w for pattern, w in cues if pattern.search(text))
        for topic, cues in _COMPILED.items()
    }


def urgency(text: str) -> str:
    """The first hard urgency signal found, or an empty string."""
    for pattern, reason in _URGENT:
        if pattern.search(text):
            return reason
    return ""


def triage(subject: str, body: str, history: list[str]) -> Triage:
    """Classifies one e-mail; `history` holds summaries of earlier case messages, oldest first."""
    text = f"{subject}\n{body}"
    reason = urgency(text)
    if _NO_REPLY.match(body.strip()) and not reason:
        return Triage(
            TOPIC_OTHER, False, "", 0.9, False, ["no reply needed: a thank-you or acknowledgement"]
        )
    scores = score_topics(text)
    # A short follow-up ("still nothing!") takes its topic from the case history.
    if max(scores.values()) < 1.5 and history:
        for past in reversed(history):
            past_scores = score_topics(past)
            best_past = max(past_scores, key=lambda t: past_scores[t])
            if past_scores[best_past] >= 1.5:
                scores[best_past] += 1.5
                break
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, best_score), second_score = ranked[0], ranked[1][1]
    strong = [t for t, s in ranked if s >= 3.0 and t != TOPIC_OTHER]
    reasons: list[str] = []
    requests: list[str] = []
    if best_score < 1.5:
        topic, confidence = TOPIC_OTHER, 0.5
        reasons.append("no clear request for a supported workflow")
    elif len(strong) > 1 and second_score >= 0.75 * best_score:
        topic, confidence = TOPIC_OTHER, 0.6
        requests = strong
        reasons.append("several different requests: " + ", ".join(strong))
    else:
        topic = best
        confidence = min(0.99, 0.5 + (best_score - second_score) / (2 * best_score + 1e-9))
        reasons.append(f"cues for {best} (score {best_score:.1f})")
    if reason:
        reasons.insert(0, reason)
    return Triage(topic, bool(reason), reason, round(confidence, 3), True, reasons, requests)
