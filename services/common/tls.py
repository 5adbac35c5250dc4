"""Security in transit: TLS for the gRPC servers and channels, and for NATS connections.

Everything is off by default (the local mesh runs on loopback) and turned on by settings:
a server certificate and key make a gRPC server speak TLS only, a client CA makes it
require client certificates (mutual TLS); a CA file makes the orchestrator's channels use
TLS, optionally presenting a client certificate. Files are read once, at start-up;
rotating a certificate is a rolling restart (see docs/runbook.md).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True)
class ServerTls:
    """A gRPC server's certificate chain and key (PEM files), and the CA its clients'
    certificates must be signed by (mutual TLS) when set."""

    cert_file: str
    key_file: str
    client_ca_file: str = ""

    @property
    def mutual(self) -> bool:
        """True when clients must present a certificate."""
        return bool(self.client_ca_file)


@dataclass(frozen=True)
class ClientTls:
    """How a gRPC client verifies servers (CA bundle) and, for mutual TLS, the
    certificate it presents."""

    ca_file: str
    cert_file: str = ""
    key_file: str = ""
    # Name expected in the servers' certificates instead of the target's host name.
    server_name: str = ""


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise RuntimeError(f"cannot read TLS file {path}: {exc}") from exc


def server_credentials(tls: ServerTls) -> grpc.ServerCredentials:
    """Credentials for `add_secure_port`: TLS only, and client certificates required
    when a client CA is configured."""
    return grpc.ssl_server_credentials(
        [(_read(tls.key_file), _read(tls.cert_file))],
        root_certificates=_read(tls.client_ca_file) if tls.mutual else None,
        require_client_auth=tls.mutual,
    )


def channel_credentials(tls: ClientTls) -> grpc.ChannelCredentials:
    """Credentials for a secure channel: the servers verified against the CA bundle, and
    the client certificate presented when one is configured."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca_file),
        private_key=_read(tls.key_file) if tls.key_file else None,
        certificate_chain=_read(tls.cert_file) if tls.cert_file else None,
    )


def client_ssl_context(ca_file: str, cert_file: str = "", key_file: str = "") -> ssl.SSLContext:
    """An SSL context verifying the server against `ca_file` (host name checked), with a
    client certificate when given (NATS, or anything else speaking TLS over a socket)."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
        if cert_file:
            context.load_cert_chain(cert_file, key_file or None)
    except OSError as exc:
        raise RuntimeError(f"cannot load TLS files ({ca_file}, {cert_file}): {exc}") from exc
    return context
