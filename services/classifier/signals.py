"""The few explicit rules tier 0 keeps beside the encoder: harm and legal claims that must
never be missed (hands_off whatever the model says), the parts of a text that mention such
words without claiming them, and short notes that need no reply. Everything else (topic,
"a response is needed now", a defective item) is read by the trained heads.

Kept short on purpose: each pattern is a meaning the specification names, in the shop's
main languages, not a fix for one e-mail. The words are data, one section per language:
`services/classifier/data/signals.toml`.
"""

from __future__ import annotations

from services.common import wordlists

_WORDS = wordlists.load("services.classifier", "signals")  # data/signals.toml
_HARM = _WORDS.pattern("harm")
_LEGAL = _WORDS.pattern("legal")
# Mentions that are not claims: a profession, an old or feared injury, a denial.
_NOT_A_CLAIM = _WORDS.pattern("not_a_claim")
_THANKS = _WORDS.pattern("thanks")
_NO_ANSWER_NEEDED = _WORDS.pattern("no_answer_needed")
_ASKS = _WORDS.pattern("asks")


def claimed(text: str) -> str:
    """The text without parts that mention harm or law without claiming them."""
    return _NOT_A_CLAIM.sub(" ", text)


def hands_off_claim(text: str) -> str:
    """Why a person must take over at once (harm or a legal claim), or ''."""
    text = claimed(text)
    if _HARM.search(text):
        return "harm to a person reported"
    if _LEGAL.search(text):
        return "legal issue raised"
    return ""


def needs_no_reply(body: str) -> bool:
    """A short thank-you or acknowledgement that asks nothing, or a note that says no
    answer is needed and asks nothing else."""
    text = " ".join(body.split())
    if "?" in text:
        return False
    stated = _NO_ANSWER_NEEDED.search(text) is not None
    rest = _NO_ANSWER_NEEDED.sub(" ", text)
    return ((stated and len(text) <= 300) or bool(_THANKS.match(text))) and not _ASKS.search(rest)
