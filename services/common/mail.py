"""The customer's own words in an e-mail: HTML turned into text, quoted earlier messages
dropped. Used at intake (the orchestrator) and by services reading e-mail text directly
(the product service, for requests that reach it without intake, e.g. evaluations)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML document, with line breaks at block elements."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4"})
    # Quoted earlier messages in HTML replies live in <blockquote>; they are not the customer's new words.
    _SKIPPED = frozenset({"script", "style", "head", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skip:
            self._skip -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_LOOKS_HTML = re.compile(
    r"<(?:!doctype|html|head|body|div|p|br|hr|span|table|tr|td|th|blockquote|img|a|b|i|u|em"
    r"|strong|font|center|ul|ol|li|h[1-6]|style|script|meta|pre|svg|iframe|form|input)\b",
    re.I,
)
_QUOTE_HEADER = re.compile(
    r"^(?:On .{4,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+|Le .+ a écrit ?:|Am .+ schrieb .+:)\s*$",
    re.I | re.M,
)


def html_to_text(body: str) -> str:
    """Plain text of an HTML body; plain text is returned unchanged."""
    if not _LOOKS_HTML.search(body):
        return body
    parser = _TextExtractor()
    parser.feed(body)
    parser.close()
    return html.unescape("".join(parser.parts))


def strip_quoted_reply(text: str) -> str:
    """Drops the quoted earlier conversation: '>' lines and everything after a reply header."""
    match = _QUOTE_HEADER.search(text)
    if match:
        text = text[: match.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    cleaned = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


# C0 control characters but tab, line feed and carriage return; DEL and C1 controls. NUL
# cannot be stored in PostgreSQL text at all, and terminal escapes mean nothing in an e-mail.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible characters (zero-width spaces and joiners, word joiner, byte-order mark, soft
# hyphen): an e-mail made only of them is empty.
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")


def without_controls(text: str) -> str:
    """The text without control and invisible characters (line breaks and tabs kept)."""
    return _INVISIBLE.sub("", _CONTROL.sub("", text))


def has_controls(text: str) -> bool:
    """True when the text holds a control character (other than line breaks and tabs)."""
    return _CONTROL.search(text) is not None


def clean_body(body: str) -> str:
    """The customer's own words: control characters, HTML and quoted replies removed."""
    return strip_quoted_reply(html_to_text(without_controls(body)))
