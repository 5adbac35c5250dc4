"""The customer's own words in an e-mail: HTML turned into text, quoted earlier messages
dropped, and text a mail client would not show (hidden HTML) set apart. Used at intake
(the orchestrator) and by services reading e-mail text directly (the product service, for
requests that reach it without intake, e.g. evaluations)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from selectolax.lexbor import LexborHTMLParser

from services.common import wordlists


@dataclass(frozen=True)
class MailText:
    """An e-mail body as its reader sees it."""

    # The customer's own visible words: control characters, HTML, hidden HTML and quoted
    # replies removed (what `clean_body` returns).
    text: str
    # Text of the HTML that a mail client would not show (display:none, hidden, ...), one
    # line per run of hidden text, whitespace-normalised; "" for plain text. Evidence for
    # the reviewer, never instructions.
    hidden: str


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_IMPORTANT = re.compile(r"\s*!\s*important$")
_ZERO = re.compile(r"[+-]?(?:0+\.?0*|\.0+)(?:[a-z]+|%)?")
# Font sizes relative to the parent's: a child of a font-size:0 element stays at 0.
_RELATIVE_SIZE = re.compile(r"[\d.]+(?:em|ex|ch|%)|smaller|larger|inherit|unset|revert")


def _declarations(style: str) -> dict[str, str]:
    """The declarations of an inline style, lower-cased, whitespace-normalised, each
    property's winning value (the last one, unless an earlier one was !important)."""
    chosen: dict[str, tuple[str, bool]] = {}
    for declaration in _CSS_COMMENT.sub("", style).split(";"):
        name, colon, raw = declaration.partition(":")
        name = name.strip().lower()
        value, important = _IMPORTANT.subn("", " ".join(raw.lower().split()))
        if not colon or not name or (chosen.get(name, ("", False))[1] and not important):
            continue
        chosen[name] = (value, bool(important))
    return {name: value for name, (value, _) in chosen.items()}


def _is_zero(value: str) -> bool:
    return _ZERO.fullmatch(value) is not None


def _is_transparent(opacity: str) -> bool:
    """Opacity 0 (or so close to it that the text cannot be read)."""
    try:
        number = float(opacity.removesuffix("%")) / (100 if opacity.endswith("%") else 1)
    except ValueError:
        return False
    return number <= 0.05


# Quoted earlier messages in HTML replies live in <blockquote>; they are not the customer's
# new words. Neither are scripts, styles and the document's head.
_SKIPPED = frozenset({"script", "style", "head", "title", "blockquote"})
# Never rendered. (<noscript> is: a mail client runs no scripts, and the parser, like a
# browser without scripts, puts its content where it shows.)
_UNRENDERED = frozenset({"template"})


class _Element(NamedTuple):
    """An open element and how its content renders."""

    tag: str
    gone: bool  # not rendered at all, whatever its descendants say (display:none, ...)
    invisible: bool  # visibility:hidden; a descendant can set visibility:visible again
    no_font: bool  # font-size 0; a descendant can set an absolute size again
    skipped: bool  # not the customer's words nor hidden text: script, style, quoted replies

    @property
    def hidden(self) -> bool:
        return self.gone or self.invisible or self.no_font


_DOCUMENT = _Element("", gone=False, invisible=False, no_font=False, skipped=False)


def _child(parent: _Element, tag: str, attrs: list[tuple[str, str | None]]) -> _Element:
    """How an element's content renders, from its parent's and its own attributes."""
    values: dict[str, str] = {}
    for name, value in attrs:
        values.setdefault(name, value or "")  # browsers keep an attribute's first occurrence
    css = _declarations(values.get("style", ""))
    clipped = any(
        word in ("hidden", "clip")
        for name in ("overflow", "overflow-x", "overflow-y")
        for word in css.get(name, "").split()
    )
    gone = (
        parent.gone
        or tag in _UNRENDERED
        or "hidden" in values
        or css.get("display") == "none"
        or css.get("mso-hide") == "all"
        or _is_transparent(css.get("opacity", "1"))
        or _is_zero(css.get("max-height", ""))
        or (clipped and any(_is_zero(css.get(n, "")) for n in ("height", "width", "max-width")))
    )
    visibility = css.get("visibility")
    size = css.get("font-size", "inherit")
    return _Element(
        tag,
        gone=gone,
        invisible=visibility in ("hidden", "collapse")
        or (parent.invisible and visibility != "visible"),
        no_font=_is_zero(size) or (parent.no_font and bool(_RELATIVE_SIZE.fullmatch(size))),
        skipped=parent.skipped or tag in _SKIPPED,
    )


# Elements whose edges break a line.
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})


class _Reading:
    """The text of an HTML tree, what a mail client shows apart from what it does not."""

    def __init__(self) -> None:
        self.visible: list[str] = []
        # Runs of hidden text: a run ends at visible text, a block or a hidden element's edge.
        self.hidden_runs: list[list[str]] = []
        self._in_hidden_run = False

    def emit(self, text: str | None, where: _Element) -> None:
        if not text or where.skipped:
            return
        if not where.hidden:
            self.visible.append(text)
            self._in_hidden_run = self._in_hidden_run and not text.strip()
            return
        if not self._in_hidden_run:
            self.hidden_runs.append([])
            self._in_hidden_run = True
        self.hidden_runs[-1].append(text)

    def line_break(self, element: _Element) -> None:
        """A line break at the edge of a block element."""
        if element.skipped:
            return
        if element.hidden:
            self._in_hidden_run = False
        if not element.gone:  # hidden by visibility or font size, it still takes its lines
            self.visible.append("\n")

    def walk(self, root: Any) -> None:
        """The tree in document order: text is its parent's; an element renders by its
        parent's state and its own attributes, and breaks lines at its edges when a block.
        Iterative: a hostile e-mail may nest elements thousands deep."""
        stack: list[tuple[Any, _Element, bool]] = [(root, _DOCUMENT, False)]
        while stack:
            node, parent, closing = stack.pop()
            tag = node.tag
            if closing:  # `parent` is the element itself here
                if tag in _BLOCKS and tag != "br":
                    self.line_break(parent)
                continue
            if tag == "-text":
                self.emit(node.text_content, parent)
                continue
            if tag.startswith("-"):  # a comment or the doctype
                continue
            element = _child(parent, tag, list(node.attributes.items()))
            if element.hidden and not parent.hidden:
                self._in_hidden_run = False  # a hidden element of its own: a new run
            if tag in _BLOCKS:
                self.line_break(element)
            stack.append((node, element, True))
            children = []
            child = node.child
            while child is not None:
                children.append(child)
                child = child.next
            stack.extend((c, element, False) for c in reversed(children))


_LOOKS_HTML = re.compile(
    r"<(?:!doctype|html|head|body|div|p|br|hr|span|table|tr|td|th|blockquote|img|a|b|i|u|em"
    r"|strong|font|center|ul|ol|li|h[1-6]|style|script|meta|pre|svg|iframe|form|input"
    r"|section|article|main|header|footer|small|label|template|noscript|title|tbody)\b",
    re.I,
)
# A reply header ("On ... wrote:"): its words, per language, in data/mail.toml.
_QUOTE_HEADER = wordlists.load("services.common", "mail").pattern("quote_header")


def _read_html(body: str) -> tuple[str, str]:
    """The text a mail client shows of an HTML body, and the text it does not show. The
    tree is the one a browser builds (Lexbor's WHATWG parser, via selectolax): what it
    closes implicitly, and where, decides what a hiding element covers."""
    reading = _Reading()
    root = LexborHTMLParser(body).root
    if root is not None:
        reading.walk(root)
    hidden = (" ".join("".join(run).split()) for run in reading.hidden_runs)
    return "".join(reading.visible), "\n".join(run for run in hidden if run)


def html_to_text(body: str) -> str:
    """Plain text of an HTML body, without the text a mail client would not show; plain
    text is returned unchanged."""
    if not _LOOKS_HTML.search(body):
        return body
    return _read_html(body)[0]


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


def read_body(body: str) -> MailText:
    """The customer's own words (control characters, HTML, hidden HTML and quoted replies
    removed) and, apart, the text of the HTML that a mail client would not show."""
    text = without_controls(body)
    if not _LOOKS_HTML.search(text):
        return MailText(strip_quoted_reply(text), "")
    visible, hidden = _read_html(text)
    return MailText(strip_quoted_reply(visible), hidden)


def clean_body(body: str) -> str:
    """The customer's own words: control characters, HTML, hidden HTML and quoted replies
    removed."""
    return read_body(body).text
