"""Settings shared by every service, read from environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service reads from its environment. Subclasses add their own fields."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    grpc_host: str = Field("127.0.0.1", description="Address the gRPC server binds to.")
    grpc_port: int = Field(0, description="gRPC port; 0 picks a free port (tests).")
    shutdown_grace_seconds: float = Field(
        10.0, description="On SIGTERM, how long in-flight calls may finish before the stop."
    )
    metrics_port: int | None = Field(
        None,
        description="Port of the Prometheus /metrics endpoint; unset turns it off, 0 picks "
        "a free port.",
    )
    metrics_host: str = Field("0.0.0.0", description="Address the /metrics endpoint binds to.")

    @property
    def grpc_address(self) -> str:
        """host:port the server listens on."""
        return f"{self.grpc_host}:{self.grpc_port}"


class DatabaseSettings(ServiceSettings):
    """Settings of a service that owns a PostgreSQL schema."""

    database_url: str = Field(
        description="DSN of the service's runtime role (owns no tables; only the grants it needs)."
    )
    migration_database_url: str = Field(
        "", description="DSN of the schema owner role, used to apply migrations."
    )
    migrate_on_start: bool = Field(
        True, description="Apply pending migrations at start-up (needs MIGRATION_DATABASE_URL)."
    )
    db_runtime_role: str = Field(
        "", description="Role the migrations grant access to; defaults to the DATABASE_URL user."
    )
    db_pool_min_size: int = Field(1, description="Connections kept open in the pool.")
    db_pool_max_size: int = Field(10, description="Most connections the pool opens.")
    db_connect_timeout_seconds: float = Field(
        60.0, description="How long start-up waits for PostgreSQL before giving up."
    )


class ShopDaySettings(DatabaseSettings):
    """Settings of a service whose rules depend on the shop's 'today' (lateness, restocks)."""

    shop_today: date | None = Field(
        None,
        description="The shop's 'today' (YYYY-MM-DD), pinned in tests and demos; "
        "unset or empty means the current UTC date.",
    )

    @field_validator("shop_today", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # SHOP_TODAY= (set but empty) in a deployment means "use the clock".
        return None if value == "" else value

    def today(self) -> date:
        """The pinned day, or the current UTC date. Policy code receives it, never reads a clock."""
        return self.shop_today or datetime.now(UTC).date()
