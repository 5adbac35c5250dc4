"""The language of an e-mail, by py3langid (a pretrained naive-Bayes identifier over byte
n-grams, shipped in its package; no network)."""

from __future__ import annotations

from typing import Any

UNKNOWN = "und"
# The languages a customer of the shop writes in (BCP 47 primary subtags). Restricting the
# identifier to them keeps a short English line from being read as, say, Latin.
LANGUAGES = (
    "en", "es", "de", "fr", "it", "pt", "nl", "pl", "sv", "da", "no", "fi", "tr", "cs", "sk",
    "ro", "el", "ru", "uk", "hu", "hr", "ca", "ja", "zh", "ko", "ar", "he", "hi",
)  # fmt: skip
# Below this normalised probability the language is not known ("refund??").
MIN_PROBABILITY = 0.5


class LanguageReader:
    """Reads the language of texts; the model loads once (about 3 s, so in the background)."""

    def __init__(self) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(LANGUAGES))

    def language(self, text: str) -> str:
        """The BCP 47 primary subtag of the text's language, or 'und'."""
        if not any(ch.isalpha() for ch in text):
            return UNKNOWN
        code, probability = self._identifier.classify(text)
        return str(code) if probability >= MIN_PROBABILITY else UNKNOWN
