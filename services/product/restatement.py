"""What the product service understood, in plain English words, for the reviewer who
checks the reading behind the SQL: "Nike Air Max; size 10 — or else: Adidas
Ultraboost; size 10 — preferred, not required: colour Black"."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from services.product.measures import Bounds
from services.product.search import Constraints

_OR_ELSE = " — or else: "
_PREFERRED = " — preferred, not required: "


def restate(constraints: Constraints, needs: Sequence[str] = ()) -> str:
    """The constraints, their alternatives and wishes, and the needs, in plain words."""
    text = _OR_ELSE.join(_alternative(c) for c in constraints.alternatives if not c.empty)
    if constraints.preferred is not None and not constraints.preferred.narrows_nothing:
        text += _PREFERRED + _alternative(constraints.preferred)
    if needs:
        text += ("; " if text else "") + "needs: " + ", ".join(n.replace("_", " ") for n in needs)
    return text or "nothing specific"


def _alternative(c: Constraints) -> str:
    parts: list[str] = []
    which = [*c.product_names, *(f"any {b}" for b in c.brands_whole)]
    if which:
        parts.append(" or ".join(which))
    if c.colors:
        plain = "single-colour " if c.plain_colors else ""
        parts.append(f"{plain}colour {_one_of(c.colors)}")
    if c.materials:
        parts.append(f"material {_one_of(c.materials)}")
    if c.size_choices:
        parts.append("size " + " or ".join(_number(s) for s in c.size_choices))
    for label, bounds, unit in (
        ("size", c.size, ""),
        ("price", c.price, " USD"),
        ("weight", c.weight_kg, " kg"),
    ):
        if not (label == "size" and c.size_choices) and not bounds.empty:
            parts.append(f"{label} {_bounds(bounds)}{unit}")
    return "; ".join(parts)


def _one_of(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else "one of " + ", ".join(values)


def _number(value: Decimal) -> str:
    # Converted weights carry many digits (1.5 lb = 0.680388555 kg); three say enough.
    return format(value.quantize(Decimal("0.001")).normalize(), "f")


def _bounds(b: Bounds) -> str:
    if b.low is not None and b.low == b.high:
        return _number(b.low)
    words = []
    if b.low is not None:
        words.append(("over " if b.low_strict else "at least ") + _number(b.low))
    if b.high is not None:
        words.append(("under " if b.high_strict else "at most ") + _number(b.high))
    return " and ".join(words)
