"""Security in transit is off by default, configured by settings, and checked for
half-done configurations; PostgreSQL TLS options in DATABASE_URL reach asyncpg as written."""

from __future__ import annotations

import ssl
from typing import Any

import asyncpg
import pytest
import trustme
from pydantic import ValidationError

from services.common import db
from services.common.settings import GrpcClientSettings, NatsClientSettings, ServiceSettings
from services.common.tls import ClientTls, ServerTls


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA certificate (PEM), made offline."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def tls_dsn(ca_file: str) -> str:
    return (
        "postgresql://orchestrator_app:pw@db.example:5432/crm"
        f"?sslmode=verify-full&sslrootcert={ca_file}"
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GRPC_TLS_CERT_FILE",
        "GRPC_TLS_KEY_FILE",
        "GRPC_TLS_CLIENT_CA_FILE",
        "GRPC_HEALTH_PORT",
        "GRPC_TLS_CA_FILE",
        "GRPC_TLS_CLIENT_CERT_FILE",
        "GRPC_TLS_CLIENT_KEY_FILE",
        "GRPC_TLS_SERVER_NAME",
        "NATS_USER",
        "NATS_PASSWORD",
        "NATS_TOKEN",
        "NATS_CREDS",
        "NATS_TLS_CA_FILE",
        "NATS_TLS_CERT_FILE",
        "NATS_TLS_KEY_FILE",
        "NATS_INBOX_PREFIX",
    ):
        monkeypatch.delenv(name, raising=False)


def test_everything_is_plaintext_and_unauthenticated_by_default() -> None:
    service = ServiceSettings()
    assert service.server_tls is None
    assert service.grpc_health_address is None
    assert GrpcClientSettings().client_tls is None
    assert NatsClientSettings().nats_connect_options() == {"inbox_prefix": "_INBOX"}


def test_server_tls_and_the_health_port_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRPC_TLS_CERT_FILE", "/tls/tls.crt")
    monkeypatch.setenv("GRPC_TLS_KEY_FILE", "/tls/tls.key")
    monkeypatch.setenv("GRPC_TLS_CLIENT_CA_FILE", "/tls/ca.crt")
    monkeypatch.setenv("GRPC_HOST", "0.0.0.0")
    monkeypatch.setenv("GRPC_HEALTH_PORT", "8086")
    settings = ServiceSettings()
    assert settings.server_tls == ServerTls("/tls/tls.crt", "/tls/tls.key", "/tls/ca.crt")
    assert settings.server_tls.mutual
    assert settings.grpc_health_address == "0.0.0.0:8086"


@pytest.mark.parametrize(
    "fields",
    [
        {"grpc_tls_cert_file": "/tls/tls.crt"},
        {"grpc_tls_key_file": "/tls/tls.key"},
        {"grpc_tls_client_ca_file": "/tls/ca.crt"},
    ],
)
def test_a_half_configured_server_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(**fields)


def test_client_tls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_TLS_CA_FILE", "/tls/ca.crt")
    monkeypatch.setenv("GRPC_TLS_CLIENT_CERT_FILE", "/tls/client.crt")
    monkeypatch.setenv("GRPC_TLS_CLIENT_KEY_FILE", "/tls/client.key")
    monkeypatch.setenv("GRPC_TLS_SERVER_NAME", "classifier.crm.svc")
    assert GrpcClientSettings().client_tls == ClientTls(
        "/tls/ca.crt", "/tls/client.crt", "/tls/client.key", "classifier.crm.svc"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"grpc_tls_client_cert_file": "/c.crt", "grpc_tls_client_key_file": "/c.key"},
        {"grpc_tls_ca_file": "/ca.crt", "grpc_tls_client_cert_file": "/c.crt"},
    ],
)
def test_a_half_configured_client_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GrpcClientSettings(**fields)


def test_nats_user_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_USER", "orchestrator")
    monkeypatch.setenv("NATS_PASSWORD", "s3cret")
    monkeypatch.setenv("NATS_INBOX_PREFIX", "_INBOX_orchestrator")
    settings = NatsClientSettings()
    assert settings.nats_connect_options() == {
        "inbox_prefix": "_INBOX_orchestrator",
        "user": "orchestrator",
        "password": "s3cret",
    }
    assert "s3cret" not in repr(settings)


def test_nats_token_and_credentials_file() -> None:
    token = NatsClientSettings(nats_token="t0ken").nats_connect_options()
    assert token["token"] == "t0ken"
    creds = NatsClientSettings(nats_creds="/nats/orchestrator.creds").nats_connect_options()
    assert creds["user_credentials"] == "/nats/orchestrator.creds"


def test_nats_tls_builds_a_verifying_context(ca_file: str) -> None:
    options = NatsClientSettings(nats_tls_ca_file=ca_file).nats_connect_options()
    context = options["tls"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(
    "fields",
    [
        {"nats_user": "a", "nats_token": "t"},
        {"nats_token": "t", "nats_creds": "/x.creds"},
        {"nats_password": "p"},
        {"nats_tls_cert_file": "/c.crt", "nats_tls_key_file": "/c.key"},
    ],
)
def test_conflicting_nats_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NatsClientSettings(**fields)


async def test_the_pool_gets_the_database_url_with_its_tls_options_unchanged(
    monkeypatch: pytest.MonkeyPatch, ca_file: str
) -> None:
    seen: dict[str, Any] = {}

    async def fake_create_pool(dsn: str, **kwargs: Any) -> object:
        seen["dsn"] = dsn
        seen.update(kwargs)
        return object()

    monkeypatch.setattr(asyncpg, "create_pool", fake_create_pool)
    await db.create_pool(
        tls_dsn(ca_file),
        schema="orchestrator",
        application="orchestrator",
        min_size=1,
        max_size=2,
        timeout_seconds=1,
    )
    assert seen["dsn"] == tls_dsn(ca_file)
    assert "ssl" not in seen  # nothing overrides what the DSN says


def test_asyncpg_reads_verify_full_from_the_database_url(ca_file: str) -> None:
    from asyncpg import connect_utils

    parse: Any = connect_utils._parse_connect_dsn_and_args  # what asyncpg.connect runs
    _, params = parse(
        dsn=tls_dsn(ca_file),
        host=None,
        port=None,
        user=None,
        password=None,
        passfile=None,
        database=None,
        ssl=None,
        service=None,
        servicefile=None,
        direct_tls=None,
        server_settings=None,
        target_session_attrs=None,
        krbsrvname=None,
        gsslib=None,
    )
    assert isinstance(params.ssl, ssl.SSLContext)
    assert params.ssl.verify_mode == ssl.CERT_REQUIRED
    assert params.ssl.check_hostname


def test_a_certificate_that_fails_verification_is_not_retried() -> None:
    assert db.retryable_connect_error(ConnectionRefusedError())
    assert db.retryable_connect_error(asyncpg.CannotConnectNowError())
    assert not db.retryable_connect_error(ssl.SSLCertVerificationError("self-signed"))
    assert not db.retryable_connect_error(ValueError())


def test_channels_balance_round_robin_and_retry_brief_outages() -> None:
    import json

    from services.common.server import _SERVICE_CONFIG

    config = json.loads(_SERVICE_CONFIG)
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["methodConfig"][0]["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
