"""The demo shop: sample data and its loaders, for `crmctl run`, the tests, the bench and the
evaluations. Development only: the project's wheel leaves this package out (pyproject.toml),
so no service image holds it, and no module under services/ imports it
(tests/unit/test_demo_apart.py).

One module per service schema, each with `async def load_demo(owner_dsn, today)` (see
crmctl.stack.DEMO_LOADERS). The reference data in data/ was written as if today were
REFERENCE_TODAY; the loaders move every date by the same offset, so the same cases hold
on the day the demo is loaded.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

DATA = Path(__file__).parent / "data"
# The day the reference data was written for.
REFERENCE_TODAY = date(2026, 1, 29)


def rows(name: str) -> Iterator[dict[str, str]]:
    """The rows of one CSV file of data/, as dictionaries by column name."""
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)
