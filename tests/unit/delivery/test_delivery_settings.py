"""The delivery service's environment: its port and the shop's pinned 'today'."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.delivery.main import DeliverySettings


@pytest.fixture(autouse=True)
def _database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://delivery_app@127.0.0.1/crm")
    monkeypatch.delenv("SHOP_TODAY", raising=False)
    monkeypatch.delenv("GRPC_PORT", raising=False)


def test_the_default_grpc_port_is_50053() -> None:
    assert DeliverySettings().grpc_port == 50053


def test_shop_today_pins_the_day_the_policy_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TODAY", "2026-01-29")
    assert DeliverySettings().today() == date(2026, 1, 29)


@pytest.mark.parametrize("value", [None, ""])
def test_unset_or_empty_shop_today_means_the_current_utc_date(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("SHOP_TODAY", value)
    settings = DeliverySettings()
    assert settings.shop_today is None
    assert settings.today() == datetime.now(UTC).date()
