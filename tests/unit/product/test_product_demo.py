"""The demo catalog: the reference data as shipped, dates moved to the given today."""

from __future__ import annotations

from datetime import date, timedelta

from crmctl.demo import product as demo


def test_the_demo_catalog_keeps_the_reference_product_ids() -> None:
    ids = [p[0] for p in demo.products()]
    assert ids == list(range(1, 101))
    assert {i for i, _ in demo.inventory()} == set(ids)


def test_delivery_dates_move_by_the_distance_from_the_reference_day() -> None:
    at_reference = demo.incoming_deliveries(demo.REFERENCE_TODAY)
    moved = demo.incoming_deliveries(demo.REFERENCE_TODAY + timedelta(days=10))
    assert at_reference[0][3] == date(2026, 1, 15)
    for before, after in zip(at_reference, moved, strict=True):
        assert after[3] - before[3] == timedelta(days=10)
        assert after[:3] == before[:3]
