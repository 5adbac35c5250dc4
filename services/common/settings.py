"""Settings shared by every service, read from environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.tls import ClientTls, ServerTls, client_ssl_context


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
    grpc_tls_cert_file: str = Field(
        "",
        description="PEM certificate chain of the gRPC server; with GRPC_TLS_KEY_FILE the "
        "server speaks TLS only. Empty: plaintext (loopback, the local mesh).",
    )
    grpc_tls_key_file: str = Field("", description="PEM private key of GRPC_TLS_CERT_FILE.")
    grpc_tls_client_ca_file: str = Field(
        "",
        description="PEM CA bundle; when set (with TLS on), clients must present a "
        "certificate signed by it (mutual TLS).",
    )
    grpc_health_port: int | None = Field(
        None,
        description="Extra plaintext port serving only the standard health service, for "
        "probes that cannot speak TLS (the kubelet's gRPC probe); unset: off, 0: a free port.",
    )

    @model_validator(mode="after")
    def _server_tls_is_complete(self) -> ServiceSettings:
        if bool(self.grpc_tls_cert_file) != bool(self.grpc_tls_key_file):
            raise ValueError("GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE must be set together")
        if self.grpc_tls_client_ca_file and not self.grpc_tls_cert_file:
            raise ValueError(
                "GRPC_TLS_CLIENT_CA_FILE needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE"
            )
        return self

    @property
    def grpc_address(self) -> str:
        """host:port the server listens on."""
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def server_tls(self) -> ServerTls | None:
        """The gRPC server's TLS configuration, or None for plaintext."""
        if not self.grpc_tls_cert_file:
            return None
        return ServerTls(
            self.grpc_tls_cert_file, self.grpc_tls_key_file, self.grpc_tls_client_ca_file
        )

    @property
    def grpc_health_address(self) -> str | None:
        """host:port of the plaintext health-only listener, or None when it is off."""
        if self.grpc_health_port is None:
            return None
        return f"{self.grpc_host}:{self.grpc_health_port}"


class GrpcClientSettings(BaseSettings):
    """How a process calls the services over gRPC (the orchestrator, crmctl): plaintext by
    default, TLS when a CA bundle is configured, mutual TLS with a client certificate."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    grpc_tls_ca_file: str = Field(
        "",
        description="PEM CA bundle the services' certificates are verified against; set: "
        "calls to the services use TLS. Empty: plaintext.",
    )
    grpc_tls_client_cert_file: str = Field(
        "", description="PEM certificate presented to the services (mutual TLS)."
    )
    grpc_tls_client_key_file: str = Field(
        "", description="PEM private key of GRPC_TLS_CLIENT_CERT_FILE."
    )
    grpc_tls_server_name: str = Field(
        "",
        description="Name expected in the services' certificates instead of the host name "
        "of each address (e.g. when addresses are IPs).",
    )

    @model_validator(mode="after")
    def _client_tls_is_complete(self) -> GrpcClientSettings:
        if bool(self.grpc_tls_client_cert_file) != bool(self.grpc_tls_client_key_file):
            raise ValueError(
                "GRPC_TLS_CLIENT_CERT_FILE and GRPC_TLS_CLIENT_KEY_FILE must be set together"
            )
        if self.grpc_tls_client_cert_file and not self.grpc_tls_ca_file:
            raise ValueError("a client certificate needs GRPC_TLS_CA_FILE (TLS on)")
        return self

    @property
    def client_tls(self) -> ClientTls | None:
        """TLS for the channels to the services, or None for plaintext."""
        if not self.grpc_tls_ca_file:
            return None
        return ClientTls(
            ca_file=self.grpc_tls_ca_file,
            cert_file=self.grpc_tls_client_cert_file,
            key_file=self.grpc_tls_client_key_file,
            server_name=self.grpc_tls_server_name,
        )


class NatsClientSettings(BaseSettings):
    """How a process authenticates to NATS and verifies it (the orchestrator, crmctl).

    One way to authenticate at most: user and password, a token, or a credentials file
    (JWT and NKey seed). TLS: a `tls://` URL, or NATS_TLS_CA_FILE (the server verified
    against that CA), with a client certificate when the server asks for one.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    nats_user: str = Field("", description="NATS user name (with NATS_PASSWORD).")
    nats_password: SecretStr = Field(SecretStr(""), description="Password of NATS_USER.")
    nats_token: SecretStr = Field(SecretStr(""), description="NATS authentication token.")
    nats_creds: str = Field(
        "", description="Path of a NATS credentials file (.creds: user JWT and NKey seed)."
    )
    nats_tls_ca_file: str = Field(
        "",
        description="PEM CA bundle the NATS server's certificate is verified against; set: "
        "the connection uses TLS.",
    )
    nats_tls_cert_file: str = Field(
        "", description="PEM client certificate for NATS servers that verify clients."
    )
    nats_tls_key_file: str = Field("", description="PEM private key of NATS_TLS_CERT_FILE.")
    nats_inbox_prefix: str = Field(
        "_INBOX",
        description="Prefix of this client's reply subjects (JetStream acknowledgements and "
        "API replies); a per-user prefix lets NATS permissions keep users out of each "
        "other's replies (docs/nats-permissions.conf).",
    )

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> NatsClientSettings:
        ways = [
            bool(self.nats_user),
            bool(self.nats_token.get_secret_value()),
            bool(self.nats_creds),
        ]
        if sum(ways) > 1:
            raise ValueError("set one of NATS_USER (and NATS_PASSWORD), NATS_TOKEN or NATS_CREDS")
        if self.nats_password.get_secret_value() and not self.nats_user:
            raise ValueError("NATS_PASSWORD needs NATS_USER")
        if bool(self.nats_tls_cert_file) != bool(self.nats_tls_key_file):
            raise ValueError("NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE must be set together")
        if self.nats_tls_cert_file and not self.nats_tls_ca_file:
            raise ValueError("a NATS client certificate needs NATS_TLS_CA_FILE")
        return self

    def nats_connect_options(self) -> dict[str, Any]:
        """Keyword arguments of `nats.connect` for authentication, TLS and the inbox prefix
        (credentials from the URL, nats://user:password@host, still work when none is set)."""
        options: dict[str, Any] = {"inbox_prefix": self.nats_inbox_prefix}
        if self.nats_user:
            options["user"] = self.nats_user
            options["password"] = self.nats_password.get_secret_value()
        if self.nats_token.get_secret_value():
            options["token"] = self.nats_token.get_secret_value()
        if self.nats_creds:
            options["user_credentials"] = self.nats_creds
        if self.nats_tls_ca_file:
            options["tls"] = client_ssl_context(
                self.nats_tls_ca_file, self.nats_tls_cert_file, self.nats_tls_key_file
            )
        return options


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
