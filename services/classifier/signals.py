"""The few explicit rules tier 0 keeps beside the encoder: harm and legal claims that must
never be missed (hands_off whatever the model says), the parts of a text that mention such
words without claiming them, and short notes that need no reply. Everything else (topic,
"a response is needed now", a defective item) is read by the trained heads.

Kept short on purpose: each pattern is a meaning the specification names, in the shop's
main languages, not a fix for one e-mail.
"""

from __future__ import annotations

import re

_HARM = re.compile(
    r"\b(?:injur\w*|bleed\w*|bled|blood|sprain\w*|fractur\w*|hospital\w*|emergency room|stitches|allergic reaction|rash"
    r"|herid[oa]s?|sangr\w*|verletz\w*|blutet?|krankenhaus|bless(?:é|ée|ure)s?|saign\w*|h[ôo]pital|ferit[oa]|ospedale"
    r"|machucad[oa]|gewond|ziekenhuis|krwaw\w*|szpital\w*|zrani\w*)\b",
    re.I,
)
_LEGAL = re.compile(
    r"\b(?:lawyers?|attorneys?|solicitors?|lawsuit|sue|suing|legal action|small claims|court|trading standards|ombudsman"
    r"|consumer (?:protection|rights) (?:agency|authority|office|council)|regulator|abogad[oa]|demanda|avocat|mise en demeure"
    r"|anwalt|rechtsanwalt|klage|avvocat[oi]|advogad[oa]|advocaat|prawnik\w*|pozew|rzecznik praw konsument\w*|uokik)\b",
    re.I,
)
# Mentions that are not claims: a profession, an old or feared injury, a denial.
_NOT_A_CLAIM = re.compile(
    r"\b(?:i'?m|i am|as|work as) an? (?:\w+ ){0,2}(?:lawyer|attorney|solicitor|nurse|doctor|surgeon)\b"
    r"|\b(?:don'?t|do not|never) want (?:to )?(?:get|have)\b[^.!?\n]{0,40}"
    r"|[^.!?\n]{0,60}\b(?:years? ago|back in (?:19|20)\d\d|last year)\b[^.!?\n]{0,20}",
    re.I,
)
_THANKS = re.compile(
    r"^(?:thanks?|thank you|thx|ty|cheers|great|perfect|got it|all (?:good|sorted)|received|noted|ok(?:ay)?|gracias|merci"
    r"|danke|grazie|obrigad[oa]|bedankt|dzi[eę]kuj[eę]|tack|kiitos|dank)\b[^?]{0,80}$",
    re.I,
)
_NO_ANSWER_NEEDED = re.compile(
    r"\b(?:no (?:need|reason) to (?:reply|respond|answer|write back)|no (?:reply|response|answer) (?:needed|necessary|required)"
    r"|no hace falta (?:responder|contestar)|pas besoin de r[ée]pondre|keine antwort n[öo]tig)\b",
    re.I,
)
_ASKS = re.compile(
    r"\b(?:but|still|please|pls|can you|could you|need|want|where|when|why|how|not|n'?t)\b", re.I
)


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
